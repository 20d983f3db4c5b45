package data

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// labColours is a spread of 8-bit colours: every gray, and a lattice of
// every value of R against every third G and every fifth B.
func labColours() []uint8 {
	var px []uint8
	for v := 0; v < 256; v++ {
		px = append(px, uint8(v), uint8(v), uint8(v))
	}
	for r := 0; r < 256; r++ {
		for g := 0; g < 256; g += 3 {
			for b := 0; b < 256; b += 5 {
				px = append(px, uint8(r), uint8(g), uint8(b))
			}
		}
	}
	return px
}

func float32s(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// TestLabIsTheColorizationDatasets: the batch values of a colour are those
// of pytorch-CycleGAN-and-pix2pix's ColorizationDataset (skimage's rgb2lab,
// astype(float32), L/50 - 1 and ab/110 in float32).
func TestLabIsTheColorizationDatasets(t *testing.T) {
	px := labColours()
	n := len(px) / 3
	out := pil(t, `
import sys, numpy as np
from skimage import color
px = np.frombuffer(sys.stdin.buffer.read(), np.uint8).reshape(1, -1, 3)
lab = color.rgb2lab(px).astype(np.float32)[0]
A = lab[:, 0] / np.float32(50.0) - np.float32(1.0)
B = lab[:, 1:] / np.float32(110.0)
sys.stdout.buffer.write(np.concatenate([A, B[:, 0], B[:, 1]]).astype('<f4').tobytes())
`, px)
	want := float32s(out)
	if len(want) != 3*n {
		t.Fatalf("reference gave %d values, want %d", len(want), 3*n)
	}
	im := &Image{W: n, H: 1, C: 3, Pix: px}
	got := make([]float32, 3*n)
	putLab(im, LabL, got[:n])
	putLab(im, LabAB, got[n:])
	differ, worst := 0, 0.0
	for i := range got {
		if got[i] != want[i] {
			differ++
			worst = max(worst, math.Abs(float64(got[i]-want[i])))
		}
	}
	// float64 rounding (pow, cbrt and the 3x3 product in another order)
	// may move a float32 by one step at most, and very rarely.
	t.Logf("%d colours: %d of %d values differ, by at most %g", n, differ, len(got), worst)
	if worst > 1e-6 || differ > len(got)/10000 {
		t.Fatalf("%d of %d values differ from skimage's, by up to %g", differ, len(got), worst)
	}
}

// TestLabToRGBIsTheColorizationModels: lab2rgb of the model's visuals
// (skimage's lab2rgb of (L + 1) * 50 and ab * 110, times 255, truncated),
// on the batch values of real colours and on random generator outputs.
func TestLabToRGBIsTheColorizationModels(t *testing.T) {
	px := labColours()
	n := len(px) / 3
	norm := make([]float32, 3*n)
	im := &Image{W: n, H: 1, C: 3, Pix: px}
	putLab(im, LabL, norm[:n])
	putLab(im, LabAB, norm[n:])
	r := rand.New(rand.NewPCG(1, 2))
	extra := 20000 // outputs anywhere in [-1, 1], out of gamut too
	l, a, b := norm[:n], norm[n:2*n], norm[2*n:]
	for range extra {
		l, a, b = append(l, r.Float32()*2-1), append(a, r.Float32()*2-1), append(b, r.Float32()*2-1)
	}
	var in []byte
	for _, ch := range [][]float32{l, a, b} {
		for _, v := range ch {
			in = binary.LittleEndian.AppendUint32(in, math.Float32bits(v))
		}
	}
	out := pil(t, `
import sys, warnings, numpy as np, torch
from skimage import color
v = torch.from_numpy(np.frombuffer(sys.stdin.buffer.read(), '<f4').copy()).view(3, 1, 1, -1)
L, AB = v[0:1].view(1, 1, 1, -1), v[1:3].view(1, 2, 1, -1)
Lab = torch.cat([(L + 1.0) * 50.0, AB * 110.0], dim=1)[0].numpy()
Lab = np.transpose(Lab.astype(np.float64), (1, 2, 0))
with warnings.catch_warnings():
    warnings.simplefilter('ignore')
    rgb = color.lab2rgb(Lab) * 255
sys.stdout.buffer.write(rgb.astype(np.uint8).tobytes())
`, in)
	m := len(l)
	if len(out) != 3*m {
		t.Fatalf("reference gave %d bytes, want %d", len(out), 3*m)
	}
	ab := append(append([]float32(nil), a...), b...)
	got := LabImage(l, ab, m, 1)
	differ := 0
	for i, v := range got.Pix {
		if d := int(v) - int(out[i]); d != 0 {
			differ++
			if d > 1 || d < -1 {
				p := i / 3
				t.Fatalf("L %g a %g b %g: channel %d is %d, skimage's %d", l[p], a[p], b[p], i%3, v, out[i])
			}
		}
	}
	// The truncation turns a last-bit difference at an integer into one step.
	t.Logf("%d pixels: %d channels differ by one", m, differ)
	if differ > 3*m/10000 {
		t.Fatalf("%d of %d channels differ from skimage's", differ, 3*m)
	}
}
