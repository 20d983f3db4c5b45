package data

import "math"

// Edge maps for the derived edges->image pairs, drawn as pix2pix's
// edges2shoes are: dark edges on a white background.

// sobelMag returns the Sobel gradient magnitude and direction of a gray image
// (borders replicated).
func sobelMag(g *Image) (mag []float32, dir []uint8) {
	w, h := g.W, g.H
	mag = make([]float32, w*h)
	dir = make([]uint8, w*h)
	at := func(x, y int) float32 {
		x = max(0, min(w-1, x))
		y = max(0, min(h-1, y))
		return float32(g.Pix[y*w+x])
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			gx := at(x+1, y-1) + 2*at(x+1, y) + at(x+1, y+1) - at(x-1, y-1) - 2*at(x-1, y) - at(x-1, y+1)
			gy := at(x-1, y+1) + 2*at(x, y+1) + at(x+1, y+1) - at(x-1, y-1) - 2*at(x, y-1) - at(x+1, y-1)
			mag[y*w+x] = float32(math.Hypot(float64(gx), float64(gy)))
			// Quantise the gradient direction to 0, 45, 90, 135 degrees.
			a := math.Atan2(float64(gy), float64(gx)) * 180 / math.Pi
			if a < 0 {
				a += 180
			}
			switch {
			case a < 22.5 || a >= 157.5:
				dir[y*w+x] = 0
			case a < 67.5:
				dir[y*w+x] = 1
			case a < 112.5:
				dir[y*w+x] = 2
			default:
				dir[y*w+x] = 3
			}
		}
	}
	return mag, dir
}

// SobelEdges returns 255 minus the Sobel magnitude scaled so that the
// strongest edge of the image is black.
func SobelEdges(g *Image) *Image {
	g = toGray(g)
	mag, _ := sobelMag(g)
	var m float32
	for _, v := range mag {
		m = max(m, v)
	}
	out := NewImage(g.W, g.H, 1)
	for i, v := range mag {
		e := float32(0)
		if m > 0 {
			e = v / m * 255
		}
		out.Pix[i] = 255 - uint8(e+0.5)
	}
	return out
}

// CannyEdges is Canny's detector: 5x5 Gaussian blur (sigma 1), Sobel, thinning
// by non-maximum suppression, and hysteresis between thresholds set relative
// to the image's strongest gradient (so it needs no tuning per dataset).
func CannyEdges(g *Image) *Image {
	g = gaussian5(toGray(g))
	w, h := g.W, g.H
	mag, dir := sobelMag(g)
	var m float32
	for _, v := range mag {
		m = max(m, v)
	}
	out := NewImage(w, h, 1)
	for i := range out.Pix {
		out.Pix[i] = 255
	}
	if m == 0 {
		return out
	}
	hi, lo := 0.25*m, 0.1*m
	offs := [4][2]int{{1, 0}, {1, 1}, {0, 1}, {-1, 1}}
	// 0: no edge, 1: weak, 2: strong
	state := make([]uint8, w*h)
	get := func(x, y int) float32 {
		if x < 0 || y < 0 || x >= w || y >= h {
			return 0
		}
		return mag[y*w+x]
	}
	var stack []int
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			v := mag[i]
			if v < lo {
				continue
			}
			o := offs[dir[i]]
			if v < get(x+o[0], y+o[1]) || v < get(x-o[0], y-o[1]) {
				continue
			}
			if v >= hi {
				state[i] = 2
				stack = append(stack, i)
			} else {
				state[i] = 1
			}
		}
	}
	// Hysteresis: weak pixels connected to strong ones become edges.
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out.Pix[i] = 0
		x, y := i%w, i/w
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				nx, ny := x+dx, y+dy
				if nx < 0 || ny < 0 || nx >= w || ny >= h {
					continue
				}
				if j := ny*w + nx; state[j] == 1 {
					state[j] = 2
					stack = append(stack, j)
				}
			}
		}
	}
	return out
}

// gaussian5 blurs with the separable binomial kernel [1 4 6 4 1]/16.
func gaussian5(g *Image) *Image {
	w, h := g.W, g.H
	k := [5]int{1, 4, 6, 4, 1}
	tmp := make([]int, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			s := 0
			for j, kv := range k {
				xx := max(0, min(w-1, x+j-2))
				s += kv * int(g.Pix[y*w+xx])
			}
			tmp[y*w+x] = s
		}
	}
	out := NewImage(w, h, 1)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			s := 0
			for j, kv := range k {
				yy := max(0, min(h-1, y+j-2))
				s += kv * tmp[yy*w+x]
			}
			out.Pix[y*w+x] = uint8((s + 128) / 256)
		}
	}
	return out
}
