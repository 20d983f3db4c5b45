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
	bounds []int // xmin, n per output pixel
	k      []int32
}

func precompute(inSize, outSize int, f Filter) coeffs {
	scale := float64(inSize) / float64(outSize)
	filterscale := max(scale, 1.0)
	support := f.support() * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{ksize: ksize, bounds: make([]int, 2*outSize), k: make([]int32, outSize*ksize)}
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
		c.bounds[2*xx], c.bounds[2*xx+1] = xmin, xmax
	}
	return c
}

func clip8(v int32) uint8 {
	if v <= 0 {
		return 0
	}
	v >>= precisionBits
	if v > 255 {
		return 255
	}
	return uint8(v)
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
			ya = cv.bounds[0]
			yb = cv.bounds[2*oh-2] + cv.bounds[2*oh-1]
		}
		tmp := NewImage(ow, yb-ya, C)
		for y := ya; y < yb; y++ {
			in := src.Pix[y*src.W*C : (y+1)*src.W*C]
			out := tmp.Pix[(y-ya)*ow*C : (y-ya+1)*ow*C]
			horizontalRow(in, out, C, &ch)
		}
		if h == src.H {
			return tmp
		}
		for i := 0; i < oh; i++ {
			cv.bounds[2*i] -= ya
		}
		img = tmp
	} else if x0 != 0 || ow != w {
		img = CropImage(src, x0, 0, ow, src.H)
	}
	if h == src.H {
		return CropImage(img, 0, y0, ow, oh)
	}
	out := NewImage(ow, oh, C)
	rowLen := ow * C
	acc := make([]int32, rowLen)
	for yy := 0; yy < oh; yy++ {
		ymin, n := cv.bounds[2*yy], cv.bounds[2*yy+1]
		k := cv.k[yy*cv.ksize : yy*cv.ksize+n]
		rows := img.Pix[ymin*rowLen : (ymin+n)*rowLen]
		verticalRow(rows, rowLen, k, acc, out.Pix[yy*rowLen:(yy+1)*rowLen])
	}
	return out
}

// sub keeps the coefficients of outputs [o, o+n).
func (c coeffs) sub(o, n int) coeffs {
	return coeffs{ksize: c.ksize, bounds: c.bounds[2*o : 2*(o+n)], k: c.k[o*c.ksize : (o+n)*c.ksize]}
}

// horizontalRow resamples one row. Sums are PIL's, per channel and in the
// same order; the loops are specialised for L and RGB.
func horizontalRow(in, out []uint8, C int, ch *coeffs) {
	const half = int32(1 << (precisionBits - 1))
	w := len(out) / C
	for xx := 0; xx < w; xx++ {
		xmin, n := ch.bounds[2*xx], ch.bounds[2*xx+1]
		k := ch.k[xx*ch.ksize : xx*ch.ksize+n]
		switch C {
		case 1:
			s := in[xmin : xmin+n]
			ss := half
			for j, kv := range k {
				ss += int32(s[j]) * kv
			}
			out[xx] = clip8(ss)
		case 3:
			s := in[xmin*3 : (xmin+n)*3]
			s0, s1, s2 := half, half, half
			for j, kv := range k {
				q := s[j*3 : j*3+3 : j*3+3]
				s0 += int32(q[0]) * kv
				s1 += int32(q[1]) * kv
				s2 += int32(q[2]) * kv
			}
			o := out[xx*3 : xx*3+3 : xx*3+3]
			o[0], o[1], o[2] = clip8(s0), clip8(s1), clip8(s2)
		default:
			for c := 0; c < C; c++ {
				ss := half
				for j, kv := range k {
					ss += int32(in[(xmin+j)*C+c]) * kv
				}
				out[xx*C+c] = clip8(ss)
			}
		}
	}
}

// verticalRow computes one output row from the n input rows it reads,
// accumulating row by row (integer sums are exact, so the order does not
// change PIL's result) for sequential memory access.
func verticalRow(rows []uint8, rowLen int, k []int32, acc []int32, out []uint8) {
	const half = int32(1 << (precisionBits - 1))
	acc = acc[:rowLen]
	j := 0
	if len(k)%2 == 1 {
		r0, k0 := rows[:rowLen], k[0]
		for i, v := range r0 {
			acc[i] = half + int32(v)*k0
		}
		j = 1
	} else {
		for i := range acc {
			acc[i] = half
		}
	}
	for ; j+1 < len(k); j += 2 {
		r0 := rows[j*rowLen : (j+1)*rowLen]
		r1 := rows[(j+1)*rowLen : (j+2)*rowLen]
		r1 = r1[:len(r0)]
		a := acc[:len(r0)]
		k0, k1 := k[j], k[j+1]
		for i, v := range r0 {
			a[i] += int32(v)*k0 + int32(r1[i])*k1
		}
	}
	out = out[:len(acc)]
	for i, v := range acc {
		out[i] = clip8(v)
	}
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
