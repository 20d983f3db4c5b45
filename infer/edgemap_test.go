package infer

import (
	"testing"

	"gogan/data"
)

// TestNotAnEdgeMap: a Canny map (black lines on white) and a Sobel one
// (light grays, lines in mid-grays) pass; a photo of mid-grays is called one
// under canny alone (Sobel's maps are grays); a mostly dark input, light
// lines on black, is said to want inverting under either.
func TestNotAnEdgeMap(t *testing.T) {
	img := func(fill func(i int) uint8) *data.Image {
		im := &data.Image{W: 20, H: 10, C: 1, Pix: make([]uint8, 200)}
		for i := range im.Pix {
			im.Pix[i] = fill(i)
		}
		return im
	}
	lines := func(line, bg uint8) func(int) uint8 { // a line every 6th pixel, 17%
		return func(i int) uint8 { return map[bool]uint8{true: line, false: bg}[i%6 == 0] }
	}
	for _, c := range []struct {
		name, detector string
		im             *data.Image
		want           string
	}{
		{"canny map", "canny", img(lines(0, 255)), ""},
		{"sobel map", "sobel", img(lines(120, 230)), ""},
		{"photo", "canny", img(func(i int) uint8 { return uint8(60 + i%140) }), "photo"},
		{"contrasty photo", "canny", img(func(i int) uint8 { return []uint8{128, 128, 128, 128, 0, 0, 0, 255, 255, 255}[i%10] }), "photo"}, // 40% mid-grays
		{"photo under sobel", "sobel", img(func(i int) uint8 { return uint8(130 + i%70) }), ""},
		{"inverted canny", "canny", img(lines(255, 0)), "dark"},
		{"inverted sobel", "sobel", img(lines(120, 20)), "dark"},
	} {
		if kind, why := notAnEdgeMap(c.im, c.detector); kind != c.want || (kind == "") != (why == "") {
			t.Errorf("%s: %q (%s), want %q", c.name, kind, why, c.want)
		}
	}
}
