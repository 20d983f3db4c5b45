package nets

import torch "gogan/cgo"

// newNLayerDiscriminator is pytorch-CycleGAN-and-pix2pix's NLayerDiscriminator
// (self.model): a 4x4 stride-2 conv (with bias) and LeakyReLU(0.2); n-1
// stride-2 conv / norm / LeakyReLU blocks, widths ndf * min(2^n, 8); one
// stride-1 block; a 4x4 stride-1 conv to one channel (with bias). Padding 1
// throughout. basic is n = 3, the 70x70 PatchGAN.
func newNLayerDiscriminator(o Options, n int, dev torch.Device) Module {
	ndf, bias := int64(o.NDF), useBias(o.Norm)
	s := NewSequential(
		NewConv2d(ConvSpec{In: int64(o.InputNC), Out: ndf, Kernel: 4, Stride: 2, Padding: 1, Bias: true}, dev),
		NewLeakyReLU(0.2, true),
	)
	mult, prev := int64(1), int64(1)
	for i := 1; i < n; i++ {
		prev, mult = mult, min(int64(1)<<i, 8)
		s.Append(NewConv2d(ConvSpec{In: ndf * prev, Out: ndf * mult, Kernel: 4, Stride: 2, Padding: 1, Bias: bias}, dev))
		s.Append(normLayer(o.Norm, ndf*mult, dev))
		s.Append(NewLeakyReLU(0.2, true))
	}
	prev, mult = mult, min(int64(1)<<n, 8)
	s.Append(NewConv2d(ConvSpec{In: ndf * prev, Out: ndf * mult, Kernel: 4, Stride: 1, Padding: 1, Bias: bias}, dev))
	s.Append(normLayer(o.Norm, ndf*mult, dev))
	s.Append(NewLeakyReLU(0.2, true))
	s.Append(NewConv2d(ConvSpec{In: ndf * mult, Out: 1, Kernel: 4, Stride: 1, Padding: 1, Bias: true}, dev))
	return newWrapper("NLayerDiscriminator", "model", s, nil)
}

// newPixelDiscriminator is PixelDiscriminator (self.net): 1x1 convolutions
// InputNC -> ndf -> 2 ndf -> 1 with LeakyReLU(0.2) and a norm, a 1x1 PatchGAN.
func newPixelDiscriminator(o Options, dev torch.Device) Module {
	ndf, bias := int64(o.NDF), useBias(o.Norm)
	s := NewSequential(
		NewConv2d(ConvSpec{In: int64(o.InputNC), Out: ndf, Kernel: 1, Bias: true}, dev),
		NewLeakyReLU(0.2, true),
		NewConv2d(ConvSpec{In: ndf, Out: ndf * 2, Kernel: 1, Bias: bias}, dev),
		normLayer(o.Norm, ndf*2, dev),
		NewLeakyReLU(0.2, true),
		NewConv2d(ConvSpec{In: ndf * 2, Out: 1, Kernel: 1, Bias: bias}, dev),
	)
	return newWrapper("PixelDiscriminator", "net", s, nil)
}
