package report_test

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gogan/cgo/torchtest"
	"gogan/report"
)

// saveImageScript is what pytorch/examples dcgan does with its samples:
// vutils.save_image(fake.detach(), path, normalize=True).
const saveImageScript = `
import sys, json, numpy as np, torch, torchvision.utils as vutils
for case in json.load(open(sys.argv[1])):
    x = np.fromfile(case["bin"], dtype="<f4").reshape(case["shape"])
    vutils.save_image(torch.from_numpy(x), case["png"], normalize=True)
print("torchvision", __import__("torchvision").__version__)
`

type gridCase struct {
	name string
	im   report.Images
}

func randImages(r *rand.Rand, n, c, h, w int, gen func() float32) report.Images {
	im := report.Images{Data: make([]float32, n*c*h*w), N: n, C: c, H: h, W: w}
	for i := range im.Data {
		im.Data[i] = gen()
	}
	return im
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestMakeGridMatchesTorchvision feeds the same tensors to MakeGrid and to
// torchvision's save_image(normalize=True) and requires identical pixels:
// both compute in float32 in the same order (clamp, sub, div, *255, +0.5,
// truncate), so there is no rounding slack to allow.
func TestMakeGridMatchesTorchvision(t *testing.T) {
	systemPython := torchtest.Python(t)
	if out, err := exec.Command(systemPython, "-c", "import torchvision").CombinedOutput(); err != nil {
		t.Fatalf("%s has no torchvision (Debian python3-torchvision: run make setup): %s", systemPython, out)
	}
	r := rand.New(rand.NewSource(42))
	tanh := func() float32 { return float32(math.Tanh(r.NormFloat64() * 1.5)) }
	cases := []gridCase{
		{"dcgan64_gray28", randImages(r, 64, 1, 28, 28, tanh)},
		{"rgb_partial_row", randImages(r, 11, 3, 16, 12, tanh)},
		{"single_image", randImages(r, 1, 3, 20, 20, tanh)},
		{"wide_range", randImages(r, 9, 1, 8, 8, func() float32 { return float32(r.NormFloat64() * 40) })},
		{"narrow_range", randImages(r, 5, 3, 6, 6, func() float32 { return 0.3 + float32(r.Float64()*1e-3) })},
		// a range below norm_range's floor of 1e-5, which then divides
		{"tiny_range", randImages(r, 4, 1, 6, 6, func() float32 { return 0.3 + float32(r.Float64()*4e-6) })},
		{"constant", randImages(r, 3, 1, 5, 5, func() float32 { return 0.25 })},
	}
	dir := t.TempDir()
	var spec []string
	for _, c := range cases {
		bin := filepath.Join(dir, c.name+".bin")
		f, err := os.Create(bin)
		if err != nil {
			t.Fatal(err)
		}
		if err := binary.Write(f, binary.LittleEndian, c.im.Data); err != nil {
			t.Fatal(err)
		}
		f.Close()
		spec = append(spec, fmt.Sprintf(`{"bin": %q, "png": %q, "shape": [%d, %d, %d, %d]}`,
			bin, filepath.Join(dir, c.name+".torch.png"), c.im.N, c.im.C, c.im.H, c.im.W))
	}
	specPath := filepath.Join(dir, "cases.json")
	os.WriteFile(specPath, []byte("["+strings.Join(spec, ",")+"]"), 0o644)
	script := filepath.Join(dir, "save.py")
	os.WriteFile(script, []byte(saveImageScript), 0o644)
	out, err := exec.Command(systemPython, script, specPath).CombinedOutput()
	if err != nil {
		t.Fatalf("torchvision: %v\n%s", err, out)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))

	for _, c := range cases {
		want := readPNG(t, filepath.Join(dir, c.name+".torch.png"))
		got, err := report.MakeGrid(c.im, report.DCGANGrid)
		if err != nil {
			t.Fatal(err)
		}
		// Through our PNG encoder too, as the run folder gets it.
		ours := filepath.Join(dir, c.name+".go.png")
		if err := report.SavePNG(ours, got); err != nil {
			t.Fatal(err)
		}
		gotImg := readPNG(t, ours)
		if gotImg.Bounds() != want.Bounds() {
			t.Errorf("%s: size %v, torchvision %v", c.name, gotImg.Bounds(), want.Bounds())
			continue
		}
		diff := 0
		b := want.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r1, g1, b1, a1 := gotImg.At(x, y).RGBA()
				r2, g2, b2, a2 := want.At(x, y).RGBA()
				if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
					if diff < 3 {
						t.Errorf("%s: pixel (%d,%d) = %d,%d,%d want %d,%d,%d", c.name, x, y, r1>>8, g1>>8, b1>>8, r2>>8, g2>>8, b2>>8)
					}
					diff++
				}
			}
		}
		if diff > 0 {
			t.Errorf("%s: %d pixels differ", c.name, diff)
		}
	}
}

func TestMakeGridLayout(t *testing.T) {
	// 10 images of 4x3: 8 per row -> 2 rows; padding 2 around and between.
	im := report.Images{Data: make([]float32, 10*1*4*3), N: 10, C: 1, H: 4, W: 3}
	for i := range im.Data {
		im.Data[i] = 1 // every image white...
	}
	im.Data[9*12] = -1 // ...except the first pixel of image 9 (black), which sets the range
	g, err := report.MakeGrid(im, report.DCGANGrid)
	if err != nil {
		t.Fatal(err)
	}
	if g.Bounds().Dx() != 8*(3+2)+2 || g.Bounds().Dy() != 2*(4+2)+2 {
		t.Fatalf("size %v", g.Bounds())
	}
	at := func(x, y int) uint8 { return g.NRGBAAt(x, y).R }
	if at(0, 0) != 0 || at(2, 2) != 255 || at(5, 2) != 0 || at(7, 2) != 255 {
		t.Fatal("padding/image positions wrong in row 0")
	}
	// image 9 is row 1, column 1: origin (1*5+2, 1*6+2)
	if at(7, 8) != 0 || at(8, 8) != 255 {
		t.Fatalf("image 9 origin: %d %d", at(7, 8), at(8, 8))
	}
	// empty cells of the last row stay pad colour
	if at(30, 10) != 0 {
		t.Fatal("empty cell not padded")
	}
	if _, err := report.MakeGrid(report.Images{Data: make([]float32, 5), N: 1, C: 1, H: 2, W: 2}, report.GridOptions{}); err == nil {
		t.Fatal("bad length accepted")
	}
	if _, err := report.MakeGrid(report.Images{Data: make([]float32, 8), N: 1, C: 2, H: 2, W: 2}, report.GridOptions{}); err == nil {
		t.Fatal("2 channels accepted")
	}
}

func TestPix2PixGrid(t *testing.T) {
	n, h, w := 2, 4, 4
	fill := func(c int, v func(i int) float32) report.Images {
		im := report.Images{Data: make([]float32, n*c*h*w), N: n, C: c, H: h, W: w}
		for i := range im.Data {
			im.Data[i] = v(i / (c * h * w))
		}
		return im
	}
	in := fill(1, func(int) float32 { return -1 })                  // gray input, black
	out := fill(3, func(i int) float32 { return 0 })                // mid gray
	tgt := fill(3, func(i int) float32 { return float32(i)*2 - 1 }) // example 0 black, 1 white
	g, err := report.Pix2PixGrid(in, out, tgt, 2)
	if err != nil {
		t.Fatal(err)
	}
	if g.Bounds().Dx() != 3*(w+2)+2 || g.Bounds().Dy() != n*(h+2)+2 {
		t.Fatalf("size %v", g.Bounds())
	}
	px := func(col, row int) uint8 { return g.NRGBAAt(col*(w+2)+2, row*(h+2)+2).R }
	// fixed [-1,1] range: -1 -> 0, 0 -> 128 (127.5 + 0.5 truncated), 1 -> 255
	if px(0, 0) != 0 || px(1, 0) != 128 || px(2, 0) != 0 || px(2, 1) != 255 || px(1, 1) != 128 {
		t.Fatalf("triplets: %d %d %d / %d %d", px(0, 0), px(1, 0), px(2, 0), px(1, 1), px(2, 1))
	}
	if _, err := report.Pix2PixGrid(in, out, fill(1, func(int) float32 { return 0 }), 2); err == nil {
		t.Fatal("output/target channel mismatch accepted")
	}
}
