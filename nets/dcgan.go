package nets

import torch "gogan/cgo"

// dcganStages is the number of up (down) sampling stages: 32 -> 3, 64 -> 4,
// 128 -> 5, 256 -> 6 (the first ConvTranspose2d makes 4x4 from 1x1).
func dcganStages(size int) int {
	n := 0
	for s := size; s > 4; s >>= 1 {
		n++
	}
	return n
}

// newDCGANGenerator is pytorch/examples dcgan's Generator (self.main) at 64,
// and the same pattern with one stage fewer (32) or more (128, 256): the
// first ConvTranspose2d gives ngf * size/8 channels, each stage halves them
// down to ngf, and the last makes OutputNC. At 32 with one channel that is
// 1,066,880 parameters.
func newDCGANGenerator(o Options, dev torch.Device) Module {
	nz, ngf, nc := int64(o.NZ), int64(o.NGF), int64(o.OutputNC)
	mult := int64(1) << (dcganStages(o.ImageSize) - 1)
	s := NewSequential(
		NewConvTranspose2d(ConvSpec{In: nz, Out: ngf * mult, Kernel: 4, Stride: 1, Padding: 0}, dev),
		NewBatchNorm2d(ngf*mult, true, true, dev),
		NewReLU(true),
	)
	for ; mult > 1; mult /= 2 {
		s.Append(NewConvTranspose2d(ConvSpec{In: ngf * mult, Out: ngf * mult / 2, Kernel: 4, Stride: 2, Padding: 1}, dev))
		s.Append(NewBatchNorm2d(ngf*mult/2, true, true, dev))
		s.Append(NewReLU(true))
	}
	s.Append(NewConvTranspose2d(ConvSpec{In: ngf, Out: nc, Kernel: 4, Stride: 2, Padding: 1}, dev))
	s.Append(NewTanh())
	return newWrapper("Generator", "main", s, nil)
}

// newDCGANDiscriminator is pytorch/examples dcgan's Discriminator: convolutions
// from InputNC to ndf * size/8 channels, a 4x4 convolution to one value and a
// Sigmoid; forward returns output.view(-1, 1).squeeze(1), shape [N].
func newDCGANDiscriminator(o Options, dev torch.Device) Module {
	ndf, nc := int64(o.NDF), int64(o.InputNC)
	s := NewSequential(
		NewConv2d(ConvSpec{In: nc, Out: ndf, Kernel: 4, Stride: 2, Padding: 1}, dev),
		NewLeakyReLU(0.2, true),
	)
	mult := int64(1)
	for i := 1; i < dcganStages(o.ImageSize); i++ {
		s.Append(NewConv2d(ConvSpec{In: ndf * mult, Out: ndf * mult * 2, Kernel: 4, Stride: 2, Padding: 1}, dev))
		s.Append(NewBatchNorm2d(ndf*mult*2, true, true, dev))
		s.Append(NewLeakyReLU(0.2, true))
		mult *= 2
	}
	s.Append(NewConv2d(ConvSpec{In: ndf * mult, Out: 1, Kernel: 4, Stride: 1, Padding: 0}, dev))
	s.Append(NewSigmoid())
	return newWrapper("Discriminator", "main", s, func(y *torch.Tensor) *torch.Tensor { return y.Reshape(-1) })
}
