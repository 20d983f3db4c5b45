package data

import "testing"

// TestColourless: a photo is gray only where every pixel has R = G = B: a
// tint in one channel (R = G, B apart) or one coloured pixel among gray
// ones, the last included, is colour.
func TestColourless(t *testing.T) {
	rgb := func(px ...uint8) *Image { return &Image{W: len(px) / 3, H: 1, C: 3, Pix: px} }
	for name, c := range map[string]struct {
		im   *Image
		want bool
	}{
		"gray":           {rgb(10, 10, 10, 200, 200, 200, 0, 0, 0), true},
		"one channel":    {&Image{W: 2, H: 1, C: 1, Pix: []uint8{3, 250}}, true},
		"blue tint":      {rgb(10, 10, 60, 200, 200, 250), false},
		"red tint":       {rgb(60, 10, 10, 250, 200, 200), false},
		"second pixel":   {rgb(10, 10, 10, 20, 30, 20, 0, 0, 0), false},
		"last pixel":     {rgb(10, 10, 10, 20, 20, 20, 0, 0, 9), false},
		"last pixel's G": {rgb(10, 10, 10, 20, 20, 20, 7, 0, 7), false},
	} {
		if got := colourless(c.im); got != c.want {
			t.Errorf("%s: colourless %v, want %v", name, got, c.want)
		}
	}
}
