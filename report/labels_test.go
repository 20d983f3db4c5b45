package report

import "testing"

// TestLabelColors: Cityscapes' colours for 35 classes (util.labelcolormap),
// the PASCAL VOC bit pattern otherwise, on the grids' [-1, 1] scale.
func TestLabelColors(t *testing.T) {
	rgb := func(im Images, p int) [3]int {
		plane := im.H * im.W
		var c [3]int
		for i := range c {
			c[i] = int((im.Data[i*plane+p]+1)*127.5 + 0.5)
		}
		return c
	}
	ids := Images{Data: []float32{7, 26, 0, 33}, N: 1, C: 1, H: 2, W: 2}
	city := LabelColors(ids, 35)
	for p, want := range [][3]int{{128, 64, 128}, {0, 0, 142}, {0, 0, 0}, {119, 11, 32}} { // road, car, unlabeled, bicycle
		if got := rgb(city, p); got != want {
			t.Errorf("cityscapes id %v: %v, want %v", ids.Data[p], got, want)
		}
	}
	voc := LabelColors(Images{Data: []float32{1, 2, 3, 15}, N: 1, C: 1, H: 2, W: 2}, 21)
	for p, want := range [][3]int{{128, 0, 0}, {0, 128, 0}, {128, 128, 0}, {192, 128, 128}} { // aeroplane, bicycle, bird, person
		if got := rgb(voc, p); got != want {
			t.Errorf("VOC id %d: %v, want %v", p, got, want)
		}
	}
	// Only 35 classes are Cityscapes': labelcolormap(36) and (200) are the
	// bit pattern, ids past 34 included (the values are pix2pixHD's
	// util.labelcolormap's).
	for _, c := range []struct {
		classes int
		ids     []float32
		want    [][3]int
	}{
		{36, []float32{7, 26, 35, 0}, [][3]int{{128, 128, 128}, {64, 192, 0}, {128, 128, 64}, {0, 0, 0}}},
		{200, []float32{150, 199, 35, 1}, [][3]int{{0, 224, 128}, {160, 160, 128}, {128, 128, 64}, {128, 0, 0}}},
	} {
		im := LabelColors(Images{Data: c.ids, N: 1, C: 1, H: 2, W: 2}, c.classes)
		for p, want := range c.want {
			if got := rgb(im, p); got != want {
				t.Errorf("%d classes, id %v: %v, want %v", c.classes, c.ids[p], got, want)
			}
		}
	}
}
