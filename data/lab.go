package data

import "math"

// CIE Lab (illuminant D65, 2° observer) as scikit-image's rgb2lab and
// lab2rgb compute it, in float64: pytorch-CycleGAN-and-pix2pix's
// colorization dataset calls the one and its colorization model the other.
// The batch holds L/50 - 1 (the generator's input, "A") and ab/110 (its
// target, "B"), in float32 as the reference's dataset makes them.

// LabPart says which channels of CIE Lab a batch tensor holds.
type LabPart int

const (
	NotLab LabPart = iota // an ordinary image
	LabL                  // L/50 - 1: one channel
	LabAB                 // a/110, b/110: two channels
)

// Channels is the part's channel count (0 for NotLab).
func (p LabPart) Channels() int {
	switch p {
	case LabL:
		return 1
	case LabAB:
		return 2
	}
	return 0
}

// xyzFromRGB is scikit-image's sRGB to XYZ matrix and rgbFromXYZ its
// inverse as scipy.linalg.inv computes it (the float64 values it prints).
var (
	xyzFromRGB = [3][3]float64{{0.412453, 0.357580, 0.180423}, {0.212671, 0.715160, 0.072169}, {0.019334, 0.119193, 0.950227}}
	rgbFromXYZ = [3][3]float64{
		{3.2404813432005266, -1.5371515162713183, -0.4985363261688878},
		{-0.9692549499965682, 1.8759900014898907, 0.04155592655829284},
		{0.055646639135177166, -0.20404133836651123, 1.0573110696453443}}
	whiteD65 = [3]float64{0.95047, 1., 1.08883}
)

// linearRGB is each 8-bit value's linear light: img_as_float's v * (1/255),
// then the sRGB curve undone.
var linearRGB = func() (t [256]float64) {
	for k := range t {
		v := float64(k) * (1. / 255)
		if v > 0.04045 {
			t[k] = math.Pow((v+0.055)/1.055, 2.4)
		} else {
			t[k] = v / 12.92
		}
	}
	return t
}()

// RGBToLab is skimage.color.rgb2lab of one 8-bit pixel, cast to float32
// (the dataset's astype(np.float32)).
func RGBToLab(r, g, b uint8) (L, A, B float32) {
	lin := [3]float64{linearRGB[r], linearRGB[g], linearRGB[b]}
	var f [3]float64
	for i := range f {
		m := xyzFromRGB[i]
		t := (lin[0]*m[0] + lin[1]*m[1] + lin[2]*m[2]) / whiteD65[i]
		if t > 0.008856 {
			f[i] = math.Cbrt(t)
		} else {
			f[i] = 7.787*t + 16./116.
		}
	}
	return float32(116.*f[1] - 16.), float32(500.0 * (f[0] - f[1])), float32(200.0 * (f[1] - f[2]))
}

// putLab writes the part of im's CIE Lab (im is RGB) as C x H x W floats,
// normalised as the colorization dataset: L/50 - 1, or a/110 and b/110.
func putLab(im *Image, part LabPart, dst []float32) {
	n := im.W * im.H
	for i := 0; i < n; i++ {
		p := im.Pix[3*i : 3*i+3]
		l, a, b := RGBToLab(p[0], p[1], p[2])
		if part == LabL {
			dst[i] = l/50.0 - 1.0
		} else {
			dst[i], dst[n+i] = a/110.0, b/110.0
		}
	}
}

// LabToRGB is the colorization model's lab2rgb of one pixel: the batch's
// normalised L and ab back to Lab in float32 ((L + 1) * 50, ab * 110), then
// skimage.color.lab2rgb in float64, times 255 and truncated to 8 bits as
// its saved images are (util.tensor2im's astype(np.uint8)).
func LabToRGB(l, a, b float32) (uint8, uint8, uint8) {
	L, A, B := float64((l+1.0)*50.0), float64(a*110.0), float64(b*110.0)
	y := (L + 16.) / 116.
	xyz := [3]float64{A/500. + y, y, y - B/200.}
	xyz[2] = max(xyz[2], 0) // "Color data out of range: Z < 0"
	for i, v := range xyz {
		if v > 0.2068966 {
			v = math.Pow(v, 3.)
		} else {
			v = (v - 16.0/116.) / 7.787
		}
		xyz[i] = v * whiteD65[i]
	}
	var rgb [3]uint8
	for i := range rgb {
		m := rgbFromXYZ[i]
		v := xyz[0]*m[0] + xyz[1]*m[1] + xyz[2]*m[2]
		if v > 0.0031308 {
			v = 1.055*math.Pow(v, 1/2.4) - 0.055
		} else {
			v *= 12.92
		}
		rgb[i] = uint8(min(max(v, 0), 1) * 255)
	}
	return rgb[0], rgb[1], rgb[2]
}

// LabImage is the RGB image of normalised L (one H x W plane) and ab (two),
// pixel by pixel as LabToRGB.
func LabImage(l, ab []float32, w, h int) *Image {
	n := w * h
	out := NewImage(w, h, 3)
	for i := 0; i < n; i++ {
		out.Pix[3*i], out.Pix[3*i+1], out.Pix[3*i+2] = LabToRGB(l[i], ab[i], ab[n+i])
	}
	return out
}
