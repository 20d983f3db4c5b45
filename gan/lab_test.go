package gan_test

import (
	"math/rand"
	"testing"

	torch "gogan/cgo"
	"gogan/data"
	"gogan/gan"
	"gogan/report"
)

// TestLabOutputIsLab2RGBsBytes: a colorization output (the input's L and
// G's ab), made an image as translate writes it (Output, then the PNG
// grid), is lab2rgb's bytes exactly (data.LabImage, skimage's: see
// data's TestLabToRGBIsTheColorizationModels), not a level off where the
// round trip through [-1, 1] rounds the wrong way.
func TestLabOutputIsLab2RGBsBytes(t *testing.T) {
	torch.LockThread()
	sc := torch.NewScope()
	defer sc.Close()
	const w, h = 32, 24
	r := rand.New(rand.NewSource(5))
	l, ab := make([]float32, w*h), make([]float32, 2*w*h)
	for i := range l {
		l[i] = r.Float32()*2 - 1
	}
	for i := range ab {
		ab[i] = r.Float32()*2 - 1
	}
	tr := gan.Translation{Lab: true}
	grid, err := report.MakeGrid(tr.Output(torch.FromFloat32(l, 1, 1, h, w), torch.FromFloat32(ab, 1, 2, h, w)), tr.PNG())
	if err != nil {
		t.Fatal(err)
	}
	want := data.LabImage(l, ab, w, h)
	diff := 0
	for p := range w * h {
		for c := range 3 {
			if got := grid.Pix[4*p+c]; got != want.Pix[3*p+c] {
				if diff < 3 {
					t.Errorf("pixel %d channel %d: %d, lab2rgb %d", p, c, got, want.Pix[3*p+c])
				}
				diff++
			}
		}
	}
	if diff > 0 {
		t.Errorf("%d of %d values differ from lab2rgb's", diff, 3*w*h)
	}
}
