package report

// LabelColors paints a batch of class-id maps ([N, 1, H, W], ids as
// floats) in pix2pixHD's colours (util.labelcolormap): Cityscapes' own for
// 35 classes, otherwise the PASCAL VOC bit pattern. The result is RGB on
// the grids' [-1, 1] scale.
func LabelColors(ids Images, classes int) Images {
	cmap := labelColormap(classes)
	plane := ids.H * ids.W
	out := Images{Data: make([]float32, ids.N*3*plane), N: ids.N, C: 3, H: ids.H, W: ids.W}
	for n := 0; n < ids.N; n++ {
		for p := 0; p < plane; p++ {
			id := int(ids.Data[n*ids.C*plane+p])
			var rgb [3]uint8
			if id >= 0 && id < len(cmap) {
				rgb = cmap[id]
			}
			for c := 0; c < 3; c++ {
				out.Data[(n*3+c)*plane+p] = float32(rgb[c])/127.5 - 1
			}
		}
	}
	return out
}

// cityscapesColors are Cityscapes' label colours by id (labels.py).
var cityscapesColors = [35][3]uint8{{0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {111, 74, 0}, {81, 0, 81},
	{128, 64, 128}, {244, 35, 232}, {250, 170, 160}, {230, 150, 140}, {70, 70, 70}, {102, 102, 156}, {190, 153, 153},
	{180, 165, 180}, {150, 100, 100}, {150, 120, 90}, {153, 153, 153}, {153, 153, 153}, {250, 170, 30}, {220, 220, 0},
	{107, 142, 35}, {152, 251, 152}, {70, 130, 180}, {220, 20, 60}, {255, 0, 0}, {0, 0, 142}, {0, 0, 70},
	{0, 60, 100}, {0, 0, 90}, {0, 0, 110}, {0, 80, 100}, {0, 0, 230}, {119, 11, 32}, {0, 0, 142}}

func labelColormap(n int) [][3]uint8 {
	if n == len(cityscapesColors) {
		return cityscapesColors[:]
	}
	cmap := make([][3]uint8, n)
	for i := range cmap {
		id := i
		var r, g, b uint8
		for j := 0; j < 8 && id > 0; j++ {
			r |= uint8(id&1) << (7 - j)
			g |= uint8(id>>1&1) << (7 - j)
			b |= uint8(id>>2&1) << (7 - j)
			id >>= 3
		}
		cmap[i] = [3]uint8{r, g, b}
	}
	return cmap
}
