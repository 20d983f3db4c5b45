package nets

import (
	"fmt"

	torch "gogan/cgo"
)

// pix2pixHD's generators (NVIDIA/pix2pixHD models/networks.py). Unlike
// pytorch-CycleGAN-and-pix2pix's ResnetGenerator every convolution has a
// bias, whatever the norm, and the depth is a parameter.

// hdGlobalLayers is GlobalGenerator's model list: ReflectionPad2d(3), a 7x7
// conv, nDown stride-2 convs doubling the width, nBlocks ResnetBlocks,
// nDown transposed convs halving it, ReflectionPad2d(3), a 7x7 conv to
// outputNC and Tanh.
func hdGlobalLayers(o Options, in, ngf int64, nDown, nBlocks int, dev torch.Device) []Module {
	norm := func(n int64) Module { return normLayer(o.Norm, n, dev) }
	ls := []Module{NewPad2d(torch.PadReflect, 3), NewConv2d(ConvSpec{In: in, Out: ngf, Kernel: 7, Bias: true}, dev), norm(ngf), NewReLU(true)}
	for i := 0; i < nDown; i++ {
		m := ngf << i
		ls = append(ls, NewConv2d(ConvSpec{In: m, Out: 2 * m, Kernel: 3, Stride: 2, Padding: 1, Bias: true}, dev), norm(2*m), NewReLU(true))
	}
	for i := 0; i < nBlocks; i++ {
		ls = append(ls, newResnetBlock(ngf<<nDown, o.PadType, o.Norm, false, true, dev))
	}
	for i := 0; i < nDown; i++ {
		m := ngf << (nDown - i)
		ls = append(ls, NewConvTranspose2d(ConvSpec{In: m, Out: m / 2, Kernel: 3, Stride: 2, Padding: 1, OutputPadding: 1, Bias: true}, dev),
			norm(m/2), NewReLU(true))
	}
	return append(ls, NewPad2d(torch.PadReflect, 3), NewConv2d(ConvSpec{In: ngf, Out: int64(o.OutputNC), Kernel: 7, Bias: true}, dev), NewTanh())
}

// newGlobalGenerator is GlobalGenerator(input_nc, output_nc, ngf,
// n_downsampling, n_blocks): its layers in one Sequential "model".
func newGlobalGenerator(o Options, dev torch.Device) Module {
	s := NewSequential(hdGlobalLayers(o, int64(o.InputNC), int64(o.NGF), o.NDownsampleGlobal, o.NBlocksGlobal, dev)...)
	return newWrapper("GlobalGenerator", "model", s, nil)
}

// newEncoder is pix2pixHD's Encoder(input_nc, output_nc, ngf,
// n_downsampling): GlobalGenerator's layers without residual blocks, in one
// Sequential "model". Its instance-wise average pooling, which needs the
// instance map, is the recipe's (gan/pix2pixhd).
func newEncoder(o Options, dev torch.Device) Module {
	s := NewSequential(hdGlobalLayers(o, int64(o.InputNC), int64(o.NGF), o.NDownsampleGlobal, 0, dev)...)
	return newWrapper("Encoder", "model", s, nil)
}

// localEnhancer is LocalEnhancer: a global generator of width
// ngf * 2^n_local_enhancers without its last three layers ("model"), run on
// the input downsampled n_local_enhancers times, and per enhancer n a
// front end "model{n}_1" on the input at its scale whose features are added
// to the coarser output before "model{n}_2" (residual blocks and an
// upsampling; the last one ends in the output convolution and Tanh).
type localEnhancer struct {
	Base
	global     *Sequential
	front, end []*Sequential
	down       *AvgPool2d
}

func newLocalEnhancer(o Options, dev torch.Device) Module {
	nLocal := o.NLocalEnhancers
	in, ngf := int64(o.InputNC), int64(o.NGF)
	gl := hdGlobalLayers(o, in, ngf<<nLocal, o.NDownsampleGlobal, o.NBlocksGlobal, dev)
	e := &localEnhancer{Base: newBase("LocalEnhancer", ""), global: NewSequential(gl[:len(gl)-3]...)}
	e.addChild("model", e.global)
	norm := func(n int64) Module { return normLayer(o.Norm, n, dev) }
	for n := 1; n <= nLocal; n++ {
		w := ngf << (nLocal - n)
		front := NewSequential(NewPad2d(torch.PadReflect, 3), NewConv2d(ConvSpec{In: in, Out: w, Kernel: 7, Bias: true}, dev), norm(w), NewReLU(true),
			NewConv2d(ConvSpec{In: w, Out: 2 * w, Kernel: 3, Stride: 2, Padding: 1, Bias: true}, dev), norm(2*w), NewReLU(true))
		end := NewSequential()
		for i := 0; i < o.NBlocksLocal; i++ {
			end.Append(newResnetBlock(2*w, o.PadType, o.Norm, false, true, dev))
		}
		end.Append(NewConvTranspose2d(ConvSpec{In: 2 * w, Out: w, Kernel: 3, Stride: 2, Padding: 1, OutputPadding: 1, Bias: true}, dev))
		end.Append(norm(w))
		end.Append(NewReLU(true))
		if n == nLocal {
			end.Append(NewPad2d(torch.PadReflect, 3))
			end.Append(NewConv2d(ConvSpec{In: ngf, Out: int64(o.OutputNC), Kernel: 7, Bias: true}, dev))
			end.Append(NewTanh())
		}
		e.addChild(fmt.Sprintf("model%d_1", n), front)
		e.addChild(fmt.Sprintf("model%d_2", n), end)
		e.front, e.end = append(e.front, front), append(e.end, end)
	}
	e.down = NewAvgPool2d(3, 2, 1, false)
	e.addChild("downsample", e.down)
	return e
}

// Forward builds the input pyramid, runs the global part on its coarsest
// level, then each enhancer from coarse to fine.
func (e *localEnhancer) Forward(x *torch.Tensor) *torch.Tensor {
	n := len(e.front)
	pyramid := []*torch.Tensor{x}
	for i := 0; i < n; i++ {
		pyramid = append(pyramid, call(e.down, pyramid[i]))
	}
	out := call(e.global, pyramid[n])
	for k := 1; k <= n; k++ {
		f := call(e.front[k-1], pyramid[n-k])
		sum := f.Add(out)
		f.Free()
		out.Free()
		out = call(e.end[k-1], sum)
		sum.Free()
	}
	for _, p := range pyramid[1:] {
		p.Free()
	}
	return out
}

// LocalPrefix is the state-dict prefix of a local generator's enhancer
// layers (pix2pixHD trains only these for niter_fix_global epochs):
// "model<n_local_enhancers>".
func LocalPrefix(o Options) string { return fmt.Sprintf("model%d", o.WithDefaults().NLocalEnhancers) }

// hdInputMultiple is what a pix2pixHD generator's input sides must be a
// multiple of: 2^n_downsample_global, times 2^n_local_enhancers for local.
func hdInputMultiple(o Options) int {
	o = o.WithDefaults()
	m := 1 << o.NDownsampleGlobal
	if o.Kind == "local" {
		m <<= o.NLocalEnhancers
	}
	return m
}
