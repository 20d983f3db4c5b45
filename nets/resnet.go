package nets

import torch "gogan/cgo"

func padMode(padType string) torch.PadMode {
	if padType == "replicate" {
		return torch.PadReplicate
	}
	return torch.PadReflect
}

// resnetBlock is ResnetBlock: out = x + conv_block(x), conv_block =
// [pad, conv3, norm, ReLU, (Dropout(0.5)), pad, conv3, norm], the pads being
// ReflectionPad2d(1), ReplicationPad2d(1) or (zero) the convolutions' padding=1.
type resnetBlock struct {
	Base
	convBlock *Sequential
}

func newResnetBlock(dim int64, padType, norm string, dropout, bias bool, dev torch.Device) *resnetBlock {
	s := NewSequential()
	p := int64(0)
	pad := func() {
		if padType == "zero" {
			p = 1
		} else {
			s.Append(NewPad2d(padMode(padType), 1))
		}
	}
	pad()
	s.Append(NewConv2d(ConvSpec{In: dim, Out: dim, Kernel: 3, Padding: p, Bias: bias}, dev))
	s.Append(normLayer(norm, dim, dev))
	s.Append(NewReLU(true))
	if dropout {
		s.Append(NewDropout(0.5))
	}
	pad()
	s.Append(NewConv2d(ConvSpec{In: dim, Out: dim, Kernel: 3, Padding: p, Bias: bias}, dev))
	s.Append(normLayer(norm, dim, dev))
	b := &resnetBlock{Base: newBase("ResnetBlock", ""), convBlock: s}
	b.row = true
	b.addChild("conv_block", s)
	return b
}

func (b *resnetBlock) Forward(x *torch.Tensor) *torch.Tensor {
	h := call(b.convBlock, x)
	out := x.Add(h)
	h.Free()
	return out
}

// newResnetGenerator is ResnetGenerator(input_nc, output_nc, ngf, norm_layer,
// use_dropout, n_blocks, padding_type): ReflectionPad2d(3), a 7x7 conv, two
// stride-2 downsamplings, n_blocks ResnetBlocks at ngf*4, two transposed
// upsamplings, ReflectionPad2d(3), a 7x7 conv (with bias) and Tanh.
func newResnetGenerator(o Options, nBlocks int, dev torch.Device) Module {
	ngf, bias := int64(o.NGF), useBias(o.Norm)
	s := NewSequential(
		NewPad2d(torch.PadReflect, 3),
		NewConv2d(ConvSpec{In: int64(o.InputNC), Out: ngf, Kernel: 7, Bias: bias}, dev),
		normLayer(o.Norm, ngf, dev),
		NewReLU(true),
	)
	for i := 0; i < 2; i++ {
		mult := int64(1) << i
		s.Append(NewConv2d(ConvSpec{In: ngf * mult, Out: ngf * mult * 2, Kernel: 3, Stride: 2, Padding: 1, Bias: bias}, dev))
		s.Append(normLayer(o.Norm, ngf*mult*2, dev))
		s.Append(NewReLU(true))
	}
	for i := 0; i < nBlocks; i++ {
		s.Append(newResnetBlock(ngf*4, o.PadType, o.Norm, o.Dropout, bias, dev))
	}
	for i := 0; i < 2; i++ {
		mult := int64(1) << (2 - i)
		s.Append(NewConvTranspose2d(ConvSpec{In: ngf * mult, Out: ngf * mult / 2, Kernel: 3, Stride: 2, Padding: 1,
			OutputPadding: 1, Bias: bias}, dev))
		s.Append(normLayer(o.Norm, ngf*mult/2, dev))
		s.Append(NewReLU(true))
	}
	s.Append(NewPad2d(torch.PadReflect, 3))
	s.Append(NewConv2d(ConvSpec{In: ngf, Out: int64(o.OutputNC), Kernel: 7, Bias: true}, dev))
	s.Append(NewTanh())
	return newWrapper("ResnetGenerator", "model", s, nil)
}
