package gan

import (
	torch "gogan/cgo"
	"gogan/data"
	"gogan/report"
)

// InputChannels is the channels images are decoded to for Input: RGB for
// a Lab translation, else the generator's input channels.
func (t Translation) InputChannels() int {
	if t.Lab {
		return 3
	}
	return t.InputNC
}

// Input is the generator's input made from same-sized images (decoded to
// InputChannels) on the host: their pixels normalised to [-1, 1], or the L
// of their CIE Lab as the colorization dataset makes it.
func (t Translation) Input(ims []*data.Image) *torch.Tensor {
	if !t.Lab {
		return ImagesTensor(ims)
	}
	return imagesTensor(ims, data.LabL)
}

// Output is the generator's output y on the input x as images in [-1, 1]:
// y itself, or for a Lab translation the RGB of x's L and y's ab.
func (t Translation) Output(x, y *torch.Tensor) report.Images {
	if !t.Lab {
		return report.ToImages(y)
	}
	return labImages(x, y)
}

// PNG is how a translation's outputs become 8-bit images, as the
// references' test.py writes them: tensor2im's truncation of [-1, 1] to
// 0..255; Lab outputs are lab2rgb's bytes already (labImages).
func (t Translation) PNG() report.GridOptions {
	return report.GridOptions{NRow: 1, FixedRange: true, Lo: -1, Hi: 1, Truncate: !t.Lab}
}

// labImages is the RGB of batches of normalised L and ab as the
// colorization model's lab2rgb makes it (8 bits a channel), as images in
// [-1, 1] whose grid (report.MakeGrid) gives back those bytes.
func labImages(l, ab *torch.Tensor) report.Images {
	L, AB := report.ToImages(l), report.ToImages(ab)
	plane := L.H * L.W
	out := report.Images{N: L.N, C: 3, H: L.H, W: L.W, Data: make([]float32, L.N*3*plane)}
	for i := range L.N {
		rgb := data.LabImage(L.Data[i*plane:(i+1)*plane], AB.Data[i*2*plane:(i+1)*2*plane], L.W, L.H)
		dst := out.Data[i*3*plane : (i+1)*3*plane]
		for p := range plane {
			for c := range 3 {
				dst[c*plane+p] = float32(rgb.Pix[3*p+c])/255*2 - 1
			}
		}
	}
	return out
}
