package nets

import torch "gogan/cgo"

// unetBlock is UnetSkipConnectionBlock: self.model is a Sequential
// [downconv, submodule, uprelu, upconv, tanh] (outermost),
// [downrelu, downconv, uprelu, upconv, upnorm] (innermost) or
// [downrelu, downconv, downnorm, submodule, uprelu, upconv, upnorm, (dropout)].
type unetBlock struct {
	Base
	model     *Sequential
	outermost bool
}

// newUnetBlock builds the block as the reference does, convolutions in the
// same order (downconv before upconv), so a seed gives PyTorch's weights.
// Biases: the convolutions have one only with instance norm (use_bias),
// except the outermost upconv, which always has one.
func newUnetBlock(outerNC, innerNC, inputNC int64, sub Module, outermost, innermost bool, norm string,
	dropout bool, dev torch.Device) *unetBlock {
	bias := useBias(norm)
	if inputNC == 0 {
		inputNC = outerNC
	}
	downconv := NewConv2d(ConvSpec{In: inputNC, Out: innerNC, Kernel: 4, Stride: 2, Padding: 1, Bias: bias}, dev)
	up := func(in int64, b bool) Module {
		return NewConvTranspose2d(ConvSpec{In: in, Out: outerNC, Kernel: 4, Stride: 2, Padding: 1, Bias: b}, dev)
	}
	var s *Sequential
	switch {
	case outermost:
		s = NewSequential(downconv, sub, NewReLU(true), up(innerNC*2, true), NewTanh())
	case innermost:
		upconv := up(innerNC, bias)
		s = NewSequential(NewLeakyReLU(0.2, true), downconv, NewReLU(true), upconv, normLayer(norm, outerNC, dev))
	default:
		downnorm := normLayer(norm, innerNC, dev)
		upnorm := normLayer(norm, outerNC, dev)
		upconv := up(innerNC*2, bias)
		s = NewSequential(NewLeakyReLU(0.2, true), downconv, downnorm, sub, NewReLU(true), upconv, upnorm)
		if dropout {
			s.Append(NewDropout(0.5))
		}
	}
	b := &unetBlock{Base: newBase("UnetSkipConnectionBlock", ""), model: s, outermost: outermost}
	b.row = true
	b.addChild("model", s)
	return b
}

// Forward is the block's forward: model(x) outermost, else
// torch.cat([x, model(x)], 1). The first layer there is LeakyReLU(0.2,
// inplace=True), which overwrites x before torch.cat reads it, so the block
// output carries leaky_relu(x), not x, as the reference's does.
func (b *unetBlock) Forward(x *torch.Tensor) *torch.Tensor {
	y := call(b.model, x)
	if b.outermost {
		return y
	}
	out := torch.Cat([]*torch.Tensor{x, y}, 1)
	y.Free()
	return out
}

// newUnetGenerator is UnetGenerator(input_nc, output_nc, num_downs, ngf,
// norm_layer, use_dropout): self.model is the outermost block, built from the
// innermost out, as the reference does.
func newUnetGenerator(o Options, numDowns int, dev torch.Device) Module {
	ngf := int64(o.NGF)
	blk := newUnetBlock(ngf*8, ngf*8, 0, nil, false, true, o.Norm, false, dev)
	for i := 0; i < numDowns-5; i++ {
		blk = newUnetBlock(ngf*8, ngf*8, 0, blk, false, false, o.Norm, o.Dropout, dev)
	}
	blk = newUnetBlock(ngf*4, ngf*8, 0, blk, false, false, o.Norm, false, dev)
	blk = newUnetBlock(ngf*2, ngf*4, 0, blk, false, false, o.Norm, false, dev)
	blk = newUnetBlock(ngf, ngf*2, 0, blk, false, false, o.Norm, false, dev)
	outer := newUnetBlock(int64(o.OutputNC), ngf, int64(o.InputNC), blk, true, false, o.Norm, false, dev)
	return newWrapper("UnetGenerator", "model", outer, nil)
}
