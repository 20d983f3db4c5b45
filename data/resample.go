package data

import "math"

// Filter is a resampling filter with PIL's semantics.
type Filter int

const (
	Nearest Filter = iota
	Bilinear
	Bicubic
)

func parseFilter(s string) Filter {
	switch s {
	case "bilinear":
		return Bilinear
	case "nearest":
		return Nearest
	}
	return Bicubic
}

func (f Filter) support() float64 {
	if f == Bicubic {
		return 2
	}
	return 1
}

func (f Filter) eval(x float64) float64 {
	if x < 0 {
		x = -x
	}
	switch f {
	case Bilinear:
		if x < 1 {
			return 1 - x
		}
	case Bicubic: // Keys cubic with a = -0.5, as PIL
		const a = -0.5
		if x < 1 {
			return ((a+2)*x-(a+3))*x*x + 1
		}
		if x < 2 {
			return (((x-5)*x+8)*x - 4) * a
		}
	}
	return 0
}

// PIL's fixed point for 8-bit resampling (Resample.c): 22 fractional bits.
const precisionBits = 32 - 8 - 2

// coeffs is precompute_coeffs + normalize_coeffs_8bpc from PIL's Resample.c:
// for each output pixel, the first input pixel, how many follow, and their
// integer weights. The filter's support grows with the downscale factor, which
// is what makes PIL's (and so torchvision's) downsizing antialiased.
type coeffs struct {
	ksize  int
	bounds []int32 // xmin, n per output pixel
	k      []int32
}

func precompute(inSize, outSize int, f Filter) coeffs {
	scale := float64(inSize) / float64(outSize)
	filterscale := max(scale, 1.0)
	support := f.support() * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{ksize: ksize, bounds: make([]int32, 2*outSize), k: make([]int32, outSize*ksize)}
	w := make([]float64, ksize)
	ss := 1.0 / filterscale
	for xx := 0; xx < outSize; xx++ {
		center := (float64(xx) + 0.5) * scale
		xmin := int(center - support + 0.5) // C's truncating cast
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		ww := 0.0
		for x := 0; x < xmax; x++ {
			w[x] = f.eval((float64(x+xmin) - center + 0.5) * ss)
			ww += w[x]
		}
		k := c.k[xx*ksize : (xx+1)*ksize]
		for x := 0; x < xmax; x++ {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				k[x] = int32(-0.5 + v*(1<<precisionBits))
			} else {
				k[x] = int32(0.5 + v*(1<<precisionBits))
			}
		}
		c.bounds[2*xx], c.bounds[2*xx+1] = int32(xmin), int32(xmax)
	}
	return c
}

// Resize resamples to w x h as PIL's Image.resize does for 8-bit L and RGB
// images: a horizontal pass into an 8-bit intermediate holding only the rows
// the vertical pass reads, then the vertical pass, with the same coefficients
// and rounding, so the result matches PIL's bit for bit.
func Resize(src *Image, w, h int, f Filter) *Image {
	if w == src.W && h == src.H {
		return &Image{W: w, H: h, C: src.C, Pix: append([]uint8(nil), src.Pix...)}
	}
	return resizeRegion(src, w, h, f, 0, 0, w, h)
}

// resizeRegion returns the ow x oh region at (x0, y0) of Resize(src, w, h, f),
// computing only that region: a resize followed by a crop, as pix2pix's
// resize_and_crop, costs the crop's share of the work.
func resizeRegion(src *Image, w, h int, f Filter, x0, y0, ow, oh int) *Image {
	if f == Nearest {
		return resizeNearest(src, w, h, x0, y0, ow, oh)
	}
	C := src.C
	if src.W == 0 || src.H == 0 {
		return NewImage(ow, oh, C) // nothing to sample: black, as PIL's zero weights give
	}
	img := src
	var cv coeffs
	if h != src.H {
		cv = precompute(src.H, h, f).sub(y0, oh)
	}
	if w != src.W {
		ch := precompute(src.W, w, f).sub(x0, ow)
		// Rows of the source that the vertical pass reads.
		ya, yb := y0, y0+oh
		if h != src.H {
			ya = int(cv.bounds[0])
			yb = int(cv.bounds[2*oh-2] + cv.bounds[2*oh-1])
			xa, xb := int(ch.bounds[0]), int(ch.bounds[2*ow-2]+ch.bounds[2*ow-1])
			if first := int64(ow) * int64(yb-ya) * int64(C); first > maxFirstPass && int64(xb-xa)*int64(oh)*int64(C) < first {
				return resizeVerticalFirst(src, ch, cv)
			}
		}
		tmp := NewImage(ow, yb-ya, C)
		resampleH(src.Pix[ya*src.W*C:], src.W*C, tmp.Pix, yb-ya, C, ch)
		if h == src.H {
			return tmp
		}
		for i := 0; i < oh; i++ {
			cv.bounds[2*i] -= int32(ya)
		}
		img = tmp
	} else if x0 != 0 || ow != w {
		img = CropImage(src, x0, 0, ow, src.H)
	}
	if h == src.H {
		return CropImage(img, 0, y0, ow, oh)
	}
	out := NewImage(ow, oh, C)
	resampleV(img.Pix, ow*C, out.Pix, cv)
	return out
}

// maxFirstPass bounds the bytes of PIL's horizontal first pass (the output's
// width times the source rows the second pass reads): a photo needs a few
// megabytes (the largest gogan decodes, 89 M pixels, to 4096 columns about
// 100 MB); an image far taller than wide (1x16000000 to 128 columns) would
// need gigabytes.
const maxFirstPass = 512 << 20

// resizeVerticalFirst resizes with the vertical pass first, over the source
// columns the horizontal pass reads: for images past maxFirstPass, whose
// intermediate it keeps at the output's height. Its 8-bit rounding between
// the passes is then not PIL's (no photo is shaped so).
func resizeVerticalFirst(src *Image, ch, cv coeffs) *Image {
	C, ow, oh := src.C, len(ch.bounds)/2, len(cv.bounds)/2
	xa, xb := int(ch.bounds[0]), int(ch.bounds[2*ow-2]+ch.bounds[2*ow-1])
	cols := src
	if xa != 0 || xb != src.W {
		cols = CropImage(src, xa, 0, xb-xa, src.H)
	}
	tmp := NewImage(xb-xa, oh, C)
	resampleV(cols.Pix, (xb-xa)*C, tmp.Pix, cv)
	for i := 0; i < ow; i++ {
		ch.bounds[2*i] -= int32(xa)
	}
	out := NewImage(ow, oh, C)
	resampleH(tmp.Pix, (xb-xa)*C, out.Pix, oh, C, ch)
	return out
}

// sub keeps the coefficients of outputs [o, o+n).
func (c coeffs) sub(o, n int) coeffs {
	return coeffs{ksize: c.ksize, bounds: c.bounds[2*o : 2*(o+n)], k: c.k[o*c.ksize : (o+n)*c.ksize]}
}

// resizeNearest is PIL's NEAREST resize of 8-bit L, P and RGB images (and of
// 32-bit I, the mode Pillow 9 opens 16-bit gray PNGs in): ImagingScaleAffine
// in Geometry.c, which tabulates the source column of output x as int(xo),
// xo starting at a/2 and growing by a = in/out per column, added up in
// float64 (the same for rows). The running sum is not floor((x + 0.5) * a):
// where that product is an integer the sum can fall just below it and pick the
// pixel before (2 -> 7 columns: output 3 reads column 0, not 1; 256 -> 286
// differs too). The ow x oh region at (x0, y0) of the w x h result is made.
func resizeNearest(src *Image, w, h, x0, y0, ow, oh int) *Image {
	C := src.C
	out := NewImage(ow, oh, C)
	xs := nearestIndex(src.W, w, x0, ow)
	ys := nearestIndex(src.H, h, y0, oh)
	for y, iy := range ys {
		row := src.Pix[iy*src.W*C : (iy+1)*src.W*C]
		o := out.Pix[y*ow*C : (y+1)*ow*C]
		if C == 1 {
			for x, ix := range xs {
				o[x] = row[ix]
			}
			continue
		}
		for x, ix := range xs {
			copy(o[x*C:(x+1)*C], row[ix*C:(ix+1)*C])
		}
	}
	return out
}

// nearestIndex is PIL's table of source positions for outputs [o0, o0+n) of
// a resize from in to out pixels (ImagingScaleAffine's xintab): the sum runs
// from output 0 so that it rounds as PIL's does.
func nearestIndex(in, out, o0, n int) []int {
	a := float64(in) / float64(out)
	xo := a * 0.5
	idx := make([]int, n)
	for x := 0; x < o0+n; x++ {
		if x >= o0 {
			// PIL leaves a position past the edge unwritten (black); the
			// sum stays below in for every size, the min is a guard.
			idx[x-o0] = min(in-1, int(xo))
		}
		xo += a
	}
	return idx
}
