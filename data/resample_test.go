package data

import (
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// pilResize resizes raw pixels given on stdin with PIL, so that Go's
// resampler is compared on exactly the same input.
const pilResize = `
import sys
from PIL import Image
w, h, c, ow, oh, f = sys.argv[1:7]
mode = 'RGB' if c == '3' else 'L'
im = Image.frombytes(mode, (int(w), int(h)), sys.stdin.buffer.read())
f = {'bicubic': Image.BICUBIC, 'bilinear': Image.BILINEAR, 'nearest': Image.NEAREST}[f]
sys.stdout.buffer.write(im.resize((int(ow), int(oh)), f).tobytes())
`

// pilDecode prints PIL's convert('RGB') (or 'L') of a file: the decode that
// torchvision's loaders use.
const pilDecode = `
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert('RGB')
if sys.argv[2] == 'L': im = im.convert('L')
sys.stdout.buffer.write(im.tobytes())
`

// TestResizeMatchesPIL: on the same pixels, Resize equals PIL's resize bit
// for bit (up- and downsizing, both axes, each filter, RGB and L).
func TestResizeMatchesPIL(t *testing.T) {
	path := filepath.Join(facadesDir(t), "1.jpg")
	src, err := LoadImage(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := splitAB(src) // 256x256 photo
	gray := toGray(a)
	cases := []struct {
		im     *Image
		w, h   int
		filter string
	}{
		{a, 286, 286, "bicubic"}, // pix2pix load_size
		{a, 64, 64, "bilinear"},  // DCGAN image_size, 4x down
		{a, 100, 37, "bicubic"},  // odd factors, anisotropic
		{a, 256, 300, "bicubic"}, // vertical only
		{a, 301, 256, "bilinear"},
		{src, 286, 143, "bicubic"},
		{gray, 64, 64, "bicubic"},
		{gray, 999, 17, "bilinear"},
		{a, 97, 131, "nearest"},
		// PIL's nearest adds up the step per pixel: 256 -> 286 (pix2pixHD's
		// load_size for label maps) picks other pixels than floor((x+0.5)*a).
		{a, 286, 286, "nearest"},
		{gray, 286, 572, "nearest"},
		{gray, 7, 300, "nearest"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%dx%dx%d-%dx%d-%s", c.im.W, c.im.H, c.im.C, c.w, c.h, c.filter), func(t *testing.T) {
			want := pil(t, pilResize, c.im.Pix, strconv.Itoa(c.im.W), strconv.Itoa(c.im.H), strconv.Itoa(c.im.C),
				strconv.Itoa(c.w), strconv.Itoa(c.h), c.filter)
			got := Resize(c.im, c.w, c.h, parseFilter(c.filter))
			if len(got.Pix) != len(want) {
				t.Fatalf("got %d bytes, PIL %d", len(got.Pix), len(want))
			}
			mean, maxd := absDiff(got.Pix, want)
			if maxd != 0 {
				t.Errorf("differs from PIL: mean abs diff %.4f, max %d (levels of 255)", mean, maxd)
			}
		})
	}
}

// TestDecodeMatchesPIL: Go's JPEG decode plus libjpeg-style fancy chroma
// upsampling lands within a few hundredths of a level of PIL's on average
// (the IDCTs differ by rounding); without the fancy upsampling it was 1.76
// mean, 68 max on this file.
func TestDecodeMatchesPIL(t *testing.T) {
	dir := facadesDir(t)
	var sum float64
	worst := 0
	files := []string{"1.jpg", "57.jpg", "200.jpg", "400.jpg"}
	for _, f := range files {
		p := filepath.Join(dir, f)
		want := pil(t, pilDecode, nil, p, "RGB")
		im, err := LoadImage(p, 3)
		if err != nil {
			t.Fatal(err)
		}
		mean, maxd := absDiff(im.Pix, want)
		sum += mean
		worst = max(worst, maxd)
	}
	mean := sum / float64(len(files))
	t.Logf("Go vs PIL decode of %d facades JPEGs: mean abs diff %.4f, max %d (levels of 255)", len(files), mean, worst)
	if mean > 0.1 || worst > 8 {
		t.Errorf("decode too far from PIL's: mean %.4f, max %d", mean, worst)
	}
	// Gray: PIL's convert('L') of the RGB image.
	p := filepath.Join(dir, "1.jpg")
	want := pil(t, pilDecode, nil, p, "L")
	g, err := LoadImage(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := absDiff(g.Pix, want); m > 0.1 {
		t.Errorf("gray decode mean abs diff %.4f", m)
	}
}

// TestPipelineMatchesTorchvision: pix2pix's deterministic part (load, split,
// bicubic resize to 286) end to end, Go against PIL.
func TestPipelineMatchesTorchvision(t *testing.T) {
	p := filepath.Join(facadesDir(t), "1.jpg")
	want := pil(t, `
import sys
from PIL import Image
ab = Image.open(sys.argv[1]).convert('RGB')
w, h = ab.size
a = ab.crop((0, 0, w // 2, h)).resize((286, 286), Image.BICUBIC)
sys.stdout.buffer.write(a.tobytes())
`, nil, p)
	ab, err := LoadImage(p, 3)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := splitAB(ab)
	got := Resize(a, 286, 286, Bicubic)
	mean, maxd := absDiff(got.Pix, want)
	t.Logf("decode+resize 286 bicubic vs PIL: mean abs diff %.4f, max %d", mean, maxd)
	if mean > 0.1 {
		t.Errorf("mean abs diff %.4f > 0.1", mean)
	}
}

// TestResizeRegion: resizing only a region equals resizing all and cropping.
func TestResizeRegion(t *testing.T) {
	r := newRNG(1)
	for trial := range 200 {
		c := []int{1, 3}[trial%2]
		src := NewImage(5+r.Intn(60), 5+r.Intn(60), c)
		for i := range src.Pix {
			src.Pix[i] = uint8(r.Uint64())
		}
		w, h := 1+r.Intn(80), 1+r.Intn(80)
		switch trial % 5 {
		case 0:
			w = src.W
		case 1:
			h = src.H
		}
		f := Filter(r.Intn(3))
		ow, oh := 1+r.Intn(w), 1+r.Intn(h)
		x0, y0 := r.Intn(w-ow+1), r.Intn(h-oh+1)
		want := CropImage(Resize(src, w, h, f), x0, y0, ow, oh)
		got := resizeRegion(src, w, h, f, x0, y0, ow, oh)
		if got.W != ow || got.H != oh || !slicesEqual(got.Pix, want.Pix) {
			t.Fatalf("trial %d: %v -> %dx%d (%v) region %d,%d %dx%d differs", trial, src, w, h, f, x0, y0, ow, oh)
		}
	}
}

func slicesEqual(a, b []uint8) bool { return string(a) == string(b) }

// The vertical-first order, taken for images whose horizontal first pass
// would need more than maxFirstPass bytes, gives PIL's order's pixels up to
// the 8-bit rounding between the passes (on a smooth picture, as photos
// are); a 1 x 5,000,000 image resizes to
// 128 x 128 without the 1.9 GB first pass; scale_width of such a sliver is
// refused.
func TestResizeVerticalFirst(t *testing.T) {
	r := newRNG(2)
	for trial := range 100 {
		c := []int{1, 3}[trial%2]
		src := NewImage(2+r.Intn(40), 2+r.Intn(200), c)
		// A smooth picture (noise makes bicubic's lobes clip between the
		// passes, differently in each order, as no photo does).
		for i := range src.Pix {
			x, y := float64(i/c%src.W), float64(i/c/src.W)
			src.Pix[i] = uint8(128 + 50*math.Sin(x/3) + 50*math.Cos(y/5) + float64(r.Intn(8)))
		}
		w, h, f := 1+r.Intn(60), 1+r.Intn(60), Filter(1+r.Intn(2))
		if w == src.W || h == src.H {
			continue
		}
		pil := Resize(src, w, h, f)
		got := resizeVerticalFirst(src, precompute(src.W, w, f), precompute(src.H, h, f))
		maxDiff, sum := 0, 0
		for i := range got.Pix {
			d := int(got.Pix[i]) - int(pil.Pix[i])
			maxDiff, sum = max(maxDiff, d, -d), sum+max(d, -d)
		}
		if maxDiff > 1 || float64(sum)/float64(len(got.Pix)) > 0.5 {
			t.Fatalf("trial %d: %v -> %dx%d (%v): differs from PIL's order by up to %d, %.2f on average", trial, src, w, h, f, maxDiff, float64(sum)/float64(len(got.Pix)))
		}
	}
	tall := NewImage(1, 5_000_000, 3)
	for i := range tall.Pix {
		tall.Pix[i] = 200
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	tr := Transform{Mode: ResizeAndCrop, LoadSize: 143, CropSize: 128, Filter: Bicubic}
	out, err := tr.Apply(tall, Params{})
	runtime.ReadMemStats(&after)
	if err != nil || out.W != 128 || out.H != 128 || out.Pix[0] != 200 || out.Pix[len(out.Pix)-1] != 200 {
		t.Fatalf("1x5000000 to 128x128: %v %v", out, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<20 {
		t.Errorf("resizing a 1x5000000 image allocated %d MB", alloc>>20)
	}
	sw := Transform{Mode: ScaleWidth, LoadSize: 128, CropSize: 128, Filter: Bicubic}
	if _, err := sw.Apply(tall, Params{}); err == nil || !strings.Contains(err.Error(), "resizes to 128x640000000") {
		t.Errorf("scale_width of a 1x5000000 image: %v", err)
	}
}
