package nets

import (
	"fmt"

	torch "gogan/cgo"
)

// multiscale is pix2pixHD's MultiscaleDiscriminator: NumD of pix2pixHD's own
// NLayerDiscriminator, which differs from pytorch-CycleGAN-and-pix2pix's: the
// padding is ceil((4-1)/2) = 2, every convolution has a bias, and the widths
// are min(ndf * 2^n, 512). Its keys follow pix2pixHD so that its weights load:
// layer{i}.{k}.* (one Sequential per scale), or with GetIntermFeat
// scale{i}_layer{j}.{k}.* (one Sequential per block: the first conv and
// LeakyReLU, then conv / norm / LeakyReLU blocks, then the last conv). As in
// pix2pixHD, the full-resolution input goes to the last-registered
// discriminator (i = NumD-1) and each further scale, average-pooled by
// AvgPool2d(3, stride 2, padding 1, count_include_pad=False), to the previous
// one. pix2pixHD's use_sigmoid (a parameterless last layer) is the
// recipe's loss's (losses.SigmoidLogits): these return logits.
type multiscale struct {
	Base
	numD   int
	interm bool
	ds     [][]*Sequential // ds[i]: discriminator i's blocks (one when !interm)
	down   *AvgPool2d
}

func newMultiscaleDiscriminator(o Options, dev torch.Device) Module {
	m := &multiscale{Base: newBase("MultiscaleDiscriminator", ""), numD: o.NumD, interm: o.GetIntermFeat}
	for i := 0; i < o.NumD; i++ {
		blocks := hdNLayerBlocks(o, dev)
		if o.GetIntermFeat {
			for j, b := range blocks {
				m.addChild(fmt.Sprintf("scale%d_layer%d", i, j), b)
			}
			m.ds = append(m.ds, blocks)
			continue
		}
		all := NewSequential()
		for _, b := range blocks {
			for _, l := range b.layers {
				all.Append(l)
			}
		}
		m.addChild(fmt.Sprintf("layer%d", i), all)
		m.ds = append(m.ds, []*Sequential{all})
	}
	m.down = NewAvgPool2d(3, 2, 1, false)
	m.addChild("downsample", m.down)
	return m
}

// hdNLayerBlocks is pix2pixHD's NLayerDiscriminator's sequence of blocks.
func hdNLayerBlocks(o Options, dev torch.Device) []*Sequential {
	const kw, padw = 4, 2
	nf := int64(o.NDF)
	blocks := []*Sequential{NewSequential(
		NewConv2d(ConvSpec{In: int64(o.InputNC), Out: nf, Kernel: kw, Stride: 2, Padding: padw, Bias: true}, dev),
		NewLeakyReLU(0.2, true),
	)}
	for n := 1; n < o.NLayers; n++ {
		prev := nf
		nf = min(nf*2, 512)
		blocks = append(blocks, NewSequential(
			NewConv2d(ConvSpec{In: prev, Out: nf, Kernel: kw, Stride: 2, Padding: padw, Bias: true}, dev),
			normLayer(o.Norm, nf, dev),
			NewLeakyReLU(0.2, true),
		))
	}
	prev := nf
	nf = min(nf*2, 512)
	blocks = append(blocks, NewSequential(
		NewConv2d(ConvSpec{In: prev, Out: nf, Kernel: kw, Stride: 1, Padding: padw, Bias: true}, dev),
		normLayer(o.Norm, nf, dev),
		NewLeakyReLU(0.2, true),
	))
	blocks = append(blocks, NewSequential(
		NewConv2d(ConvSpec{In: nf, Out: 1, Kernel: kw, Stride: 1, Padding: padw, Bias: true}, dev),
	))
	return blocks
}

// Forward is the full-resolution scale's prediction.
func (m *multiscale) Forward(x *torch.Tensor) *torch.Tensor { return m.forwardFirst(x) }

func (m *multiscale) forwardFirst(x *torch.Tensor) *torch.Tensor {
	feats := m.single(m.ds[m.numD-1], x)
	for _, f := range feats[:len(feats)-1] {
		f.Free()
	}
	return feats[len(feats)-1]
}

// single is singleD_forward: every block's output (interm), or the prediction.
func (m *multiscale) single(blocks []*Sequential, x *torch.Tensor) []*torch.Tensor {
	out := make([]*torch.Tensor, 0, len(blocks))
	h := x
	for _, b := range blocks {
		h = call(b, h)
		out = append(out, h)
	}
	return out
}

func (m *multiscale) forwardAll(x *torch.Tensor) [][]*torch.Tensor {
	res := make([][]*torch.Tensor, 0, m.numD)
	in := x
	for i := 0; i < m.numD; i++ {
		res = append(res, m.single(m.ds[m.numD-1-i], in))
		if i != m.numD-1 {
			d := call(m.down, in)
			if in != x {
				in.Free()
			}
			in = d
		}
	}
	if in != x {
		in.Free()
	}
	return res
}
