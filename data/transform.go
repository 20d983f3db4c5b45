package data

import (
	"cmp"
	"fmt"
	"math"
	"strings"
)

// Transform is the geometric part of the references' preprocessing, applied to
// 8-bit images before they are normalised: pytorch-CycleGAN-and-pix2pix's
// get_transform (preprocess modes, flip) and pytorch/examples dcgan's
// Resize + CenterCrop.
type Transform struct {
	Mode      string // one of the Preprocess modes
	LoadSize  int
	CropSize  int
	ImageSize int
	Filter    Filter
	Flip      bool // random horizontal flip with probability 1/2
	// NoneMultiple and ScaleWidthAspect are Config's.
	NoneMultiple     int
	ScaleWidthAspect bool
}

// Params are the random choices for one sample. A pair's A and B use the
// same Params, so they get the same crop and the same flip.
type Params struct {
	RX, RY uint64 // crop position draws
	Flip   bool
}

func drawParams(r *rng) Params {
	return Params{RX: r.Uint64(), RY: r.Uint64(), Flip: r.Uint64()&1 == 1}
}

func newTransform(c Config) Transform {
	return Transform{
		Mode: c.Preprocess, LoadSize: c.LoadSize, CropSize: c.CropSize, ImageSize: c.ImageSize,
		Filter: parseFilter(c.Interp), Flip: !c.NoFlip, NoneMultiple: c.NoneMultiple, ScaleWidthAspect: c.ScaleWidthAspect,
	}
}

// Random reports whether the transform draws random numbers (crop or flip):
// when it does not, a decoded and transformed dataset can be cached as is.
func (t Transform) Random() bool { return t.randomCrop() || t.Flip }

// randomCrop reports whether the mode crops at a random position.
func (t Transform) randomCrop() bool { return CropsAtRandom(t.Mode) }

// CropsAtRandom reports whether data.preprocess mode crops (at a random
// position in training; a fixed one where a command asks for it).
func CropsAtRandom(mode string) bool {
	switch mode {
	case ResizeAndCrop, Crop, ScaleWidthAndCrop:
		return true
	}
	return false
}

// resized is the size after the resize step of mode, before any crop.
func (t Transform) resized(w, h int) (int, int) {
	switch t.Mode {
	case ResizeAndCrop:
		return t.LoadSize, t.LoadSize
	case ScaleWidth, ScaleWidthAndCrop:
		if t.ScaleWidthAspect {
			return scaleWidthSize(w, h, t.LoadSize, 0)
		}
		return scaleWidthSize(w, h, t.LoadSize, t.CropSize)
	case PreprocessNone:
		// __make_power_2: int(round(side / base) * base), Python's round
		m := cmp.Or(t.NoneMultiple, 4)
		return roundToEven(float64(w)/float64(m)) * m, roundToEven(float64(h)/float64(m)) * m
	case ResizeCenterCrop:
		return shorterSide(w, h, t.ImageSize)
	}
	return w, h
}

// OutputSize is the size a w x h input comes out as, or an error when the
// crop does not fit (the references fail there too, or pad with black).
func (t Transform) OutputSize(w, h int) (int, int, error) {
	if w <= 0 || h <= 0 {
		return 0, 0, fmt.Errorf("image %dx%d has no pixels", w, h)
	}
	rw, rh := t.resized(w, h)
	if rw <= 0 || rh <= 0 {
		return 0, 0, fmt.Errorf("image %dx%d resizes to nothing (%dx%d) with data.preprocess %s", w, h, rw, rh, t.Mode)
	}
	// scale_width keeps the aspect ratio: a sliver of an image (1x5000000)
	// would resize to gigapixels; a load size can ask for them too.
	if int64(rw)*int64(rh) > MaxImagePixels {
		why := "lower data.load_size"
		switch {
		case t.Mode == ResizeCenterCrop: // DCGAN's: the shorter side to data.image_size
			why = "its aspect ratio is extreme, or lower data.image_size"
		case t.Mode == PreprocessNone:
			why = "the image is too large"
		case (t.Mode == ScaleWidth || t.Mode == ScaleWidthAndCrop) && rh > 4*rw:
			why = "its aspect ratio is extreme"
		}
		return 0, 0, fmt.Errorf("image %dx%d resizes to %dx%d with data.preprocess %s: more than the %d pixels gogan makes of an image (%s)",
			w, h, rw, rh, t.Mode, MaxImagePixels, why)
	}
	switch t.Mode {
	case ResizeAndCrop, Crop, ScaleWidthAndCrop:
		if t.CropSize > rw || t.CropSize > rh {
			return 0, 0, &CropError{Crop: t.CropSize, Mode: t.Mode, W: w, H: h, RW: rw, RH: rh}
		}
		return t.CropSize, t.CropSize, nil
	case ResizeCenterCrop:
		return t.ImageSize, t.ImageSize, nil
	}
	return rw, rh, nil
}

// CropError is a crop larger than an image as data.preprocess resizes it.
type CropError struct {
	Crop   int
	Mode   string
	W, H   int // the image's size
	RW, RH int // as resized
	// Side, for an A|B file, is the side (A or B) that is W wide, of a
	// file FileW x H.
	Side  string
	FileW int
}

func (e *CropError) Error() string {
	var notes []string
	if e.Side != "" {
		notes = append(notes, fmt.Sprintf("the %s side of the A|B image %dx%d", e.Side, e.FileW, e.H))
	}
	if e.RW != e.W || e.RH != e.H {
		notes = append(notes, fmt.Sprintf("resized to %dx%d by data.preprocess %s", e.RW, e.RH, e.Mode))
	}
	how := ""
	if len(notes) > 0 {
		how = " (" + strings.Join(notes, ", ") + ")"
	}
	return fmt.Sprintf("data.crop_size %d is larger than the image %dx%d%s", e.Crop, e.W, e.H, how)
}

// fits is the largest crop the image takes.
func (e *CropError) fits() int { return min(e.RW, e.RH) }

// cropFix is the way out of crops larger than images, the largest crop
// that fits them all being fits: for a run, a smaller crop or resizing
// every image first (the references' default preprocess, which a user of
// theirs knows); for the data of a checkpoint trained (its name), whose
// crop is its generator's, other images.
func cropFix(e *CropError, fits int, trained string) string {
	if trained != "" {
		return fmt.Sprintf("checkpoint %s trained on crops of data.crop_size %d (data.preprocess %s), which its generator keeps: give images that hold such a crop", trained, e.Crop, e.Mode)
	}
	fix := fmt.Sprintf("give data.crop_size at most %d", fits)
	if e.Mode == ResizeAndCrop {
		return fix + ", or a larger data.load_size"
	}
	return fix + ", or resize every image first, as pytorch-CycleGAN-and-pix2pix's default --preprocess does: --set data.preprocess=resize_and_crop, with data.load_size at least data.crop_size"
}

// Apply runs the transform on im with the sample's random choices.
func (t Transform) Apply(im *Image, p Params) (*Image, error) {
	if _, _, err := t.OutputSize(im.W, im.H); err != nil {
		return nil, err
	}
	rw, rh := t.resized(im.W, im.H)
	x, y, cw, ch := t.place(rw, rh, p)
	if rw != im.W || rh != im.H {
		im = resizeRegion(im, rw, rh, t.Filter, x, y, cw, ch)
	} else {
		im = CropImage(im, x, y, cw, ch)
	}
	if t.Flip && p.Flip {
		im = FlipH(im)
	}
	return im, nil
}

// place is the crop's region in the rw x rh resized image.
func (t Transform) place(rw, rh int, p Params) (x, y, cw, ch int) {
	switch t.Mode {
	case ResizeAndCrop, Crop, ScaleWidthAndCrop:
		cw, ch = t.CropSize, t.CropSize
		return int(p.RX % uint64(rw-cw+1)), int(p.RY % uint64(rh-ch+1)), cw, ch
	case ResizeCenterCrop:
		cw, ch = t.ImageSize, t.ImageSize
		// torchvision's center_crop rounds half to even.
		return roundToEven(float64(rw-cw) / 2), roundToEven(float64(rh-ch) / 2), cw, ch
	}
	return 0, 0, rw, rh
}

// resizeOnly is Apply without the random crop and the flip (a center crop
// stays): the image a dataset kept on a device holds, to be cropped and
// flipped there where Dataset.Locate says.
func (t Transform) resizeOnly(im *Image) *Image {
	rw, rh := t.resized(im.W, im.H)
	x, y, cw, ch := 0, 0, rw, rh
	if !t.randomCrop() {
		x, y, cw, ch = t.place(rw, rh, Params{})
	}
	if rw != im.W || rh != im.H {
		return resizeRegion(im, rw, rh, t.Filter, x, y, cw, ch)
	}
	return CropImage(im, x, y, cw, ch)
}

// TestPreprocess is how the references test a run trained with preprocess
// mode, without random crops: test.py's default resize to the crop
// (load_size = crop_size); a scale_width_and_crop run at scale_width
// (pytorch-CycleGAN-and-pix2pix's docs/tips.md for high resolution); a crop
// or none run at each image's own size (pix2pixHD's test_1024p.sh tests its
// crop-trained model with --resize_or_crop none).
func TestPreprocess(mode string) string {
	switch mode {
	case ScaleWidth, ScaleWidthAndCrop:
		return ScaleWidth
	case Crop, PreprocessNone:
		return PreprocessNone
	}
	return ResizeAndCrop
}

// TestLoad is the load size the references test a run of load_size load
// and crop_size crop at in testMode (TestPreprocess's): the training width
// for scale_width; otherwise the crop (test.py's default load_size is the
// default crop_size, so its resize_and_crop resizes to the crop; none reads
// no load size).
func TestLoad(testMode string, load, crop int) int {
	if testMode == ScaleWidth {
		return load
	}
	return crop
}

// scaleWidthSize is __scale_width: width to target, height keeping the aspect
// ratio but at least crop so that a later crop fits (crop 0: pix2pixHD's,
// the aspect ratio whatever the height).
func scaleWidthSize(w, h, target, crop int) (int, int) {
	if w == target && h >= crop {
		return w, h
	}
	return target, int(max(float64(target)*float64(h)/float64(w), float64(crop)))
}

// shorterSide is torchvision's Resize(size) for an int size.
func shorterSide(w, h, size int) (int, int) {
	if w <= h {
		return size, int(float64(size*h) / float64(w))
	}
	return int(float64(size*w) / float64(h)), size
}

// roundToEven is Python 3's round().
func roundToEven(x float64) int { return int(math.RoundToEven(x)) }

// CropImage copies the w x h region at (x, y); the caller checks bounds.
func CropImage(im *Image, x, y, w, h int) *Image {
	if x == 0 && y == 0 && w == im.W && h == im.H {
		return im
	}
	out := NewImage(w, h, im.C)
	rl := w * im.C
	for r := 0; r < h; r++ {
		off := ((y+r)*im.W + x) * im.C
		copy(out.Pix[r*rl:(r+1)*rl], im.Pix[off:off+rl])
	}
	return out
}

// FlipH mirrors left to right.
func FlipH(im *Image) *Image {
	out := NewImage(im.W, im.H, im.C)
	C := im.C
	for y := 0; y < im.H; y++ {
		in := im.Pix[y*im.W*C : (y+1)*im.W*C]
		o := out.Pix[y*im.W*C : (y+1)*im.W*C]
		for x := 0; x < im.W; x++ {
			copy(o[(im.W-1-x)*C:(im.W-x)*C], in[x*C:(x+1)*C])
		}
	}
	return out
}

// normLUT is ToTensor followed by Normalize(0.5, 0.5), computed in float32 the
// way torchvision does, so that values match it exactly.
var normLUT [256]float32

func init() {
	for i := range normLUT {
		v := float32(i) / 255
		normLUT[i] = (v - 0.5) / 0.5
	}
}

// Normalize is one 8-bit sample as the loader's batches hold it: torchvision's
// ToTensor then Normalize(0.5, 0.5), in float32 as it computes them.
func Normalize(v uint8) float32 { return normLUT[v] }

// putCHW writes im as C x H x W floats in [-1, 1].
func putCHW(im *Image, dst []float32) {
	n := im.W * im.H
	if im.C == 1 {
		for i, v := range im.Pix[:n] {
			dst[i] = normLUT[v]
		}
		return
	}
	r, g, b := dst[:n], dst[n:2*n], dst[2*n:3*n]
	for i := 0; i < n; i++ {
		p := im.Pix[3*i : 3*i+3]
		r[i], g[i], b[i] = normLUT[p[0]], normLUT[p[1]], normLUT[p[2]]
	}
}

// putCHWRaw writes im as C x H x W floats holding the 8-bit values
// themselves (class ids, 0/1 boundaries): pix2pixHD's ToTensor()*255, which
// gives back every value 0..255 exactly in float32.
func putCHWRaw(im *Image, dst []float32) {
	n := im.W * im.H
	C := im.C
	for c := 0; c < C; c++ {
		d := dst[c*n : (c+1)*n]
		for i := range d {
			d[i] = float32(im.Pix[i*C+c])
		}
	}
}

// putCHWU8 writes im as C x H x W bytes.
func putCHWU8(im *Image, dst []uint8) {
	n := im.W * im.H
	if im.C == 1 {
		copy(dst, im.Pix[:n])
		return
	}
	for c := 0; c < im.C; c++ {
		plane := dst[c*n : (c+1)*n]
		for i := range plane {
			plane[i] = im.Pix[i*im.C+c]
		}
	}
}
