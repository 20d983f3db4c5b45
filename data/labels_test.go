package data

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// grayMap is an 8-bit gray image with the values f(x, y).
func grayMap(w, h int, f func(x, y int) int) *image.Gray {
	im := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			im.SetGray(x, y, color.Gray{uint8(f(x, y))})
		}
	}
	return im
}

// gray16Map is a 16-bit gray image with the values f(x, y).
func gray16Map(w, h int, f func(x, y int) int) *image.Gray16 {
	im := image.NewGray16(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			im.SetGray16(x, y, color.Gray16{uint16(f(x, y))})
		}
	}
	return im
}

// palettedMap is a paletted image of indices f(x, y) whose palette colours
// are unlike their indices (so that reading colours instead shows).
func palettedMap(w, h, n int, f func(x, y int) int) *image.Paletted {
	pal := make(color.Palette, n)
	for i := range pal {
		pal[i] = color.RGBA{uint8(250 - 9*i), uint8(13 * i), 77, 255}
	}
	im := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			im.SetColorIndex(x, y, uint8(f(x, y)))
		}
	}
	return im
}

// labelIDs varies from pixel to pixel, so that a nearest resize reading
// the wrong source pixel shows.
func labelIDs(seed int) func(x, y int) int {
	return func(x, y int) int { return (x*7/5 + (y*3/4)*3 + seed) % 20 }
}

// instIDs has Cityscapes-like 16-bit ids whose stripes 26001 and 26257
// (26001+256) share their low byte, an 8-bit region, and background 0.
func instIDs(x, y int) int {
	switch {
	case x < 4:
		return 0
	case y < 3:
		return 5
	}
	return 26001 + 256*((x/3)%2) + 1000*(y/4)
}

// refEdges is Pix2PixHDModel.get_edges, line by line, on an id map.
func refEdges(t []int32, w, h int) []uint8 {
	e := make([]uint8, w*h)
	at := func(x, y int) int { return y*w + x }
	for y := 0; y < h; y++ {
		for x := 1; x < w; x++ { // edge[:,:,:,1:] |= t[:,:,:,1:] != t[:,:,:,:-1]
			if t[at(x, y)] != t[at(x-1, y)] {
				e[at(x, y)] = 1
			}
		}
		for x := 0; x+1 < w; x++ { // edge[:,:,:,:-1] |= t[:,:,:,1:] != t[:,:,:,:-1]
			if t[at(x+1, y)] != t[at(x, y)] {
				e[at(x, y)] = 1
			}
		}
	}
	for y := 1; y < h; y++ {
		for x := 0; x < w; x++ {
			if t[at(x, y)] != t[at(x, y-1)] {
				e[at(x, y)] = 1
			}
		}
	}
	for y := 0; y+1 < h; y++ {
		for x := 0; x < w; x++ {
			if t[at(x, y+1)] != t[at(x, y)] {
				e[at(x, y)] = 1
			}
		}
	}
	return e
}

// writeHD writes n samples of pix2pixHD's layout under root: {phase}_label
// (8-bit gray maps, the last one paletted), {phase}_img (photos) and
// {phase}_inst (16-bit instance maps), with Cityscapes' differing suffixes.
func writeHD(t *testing.T, root, phase string, n, w, h int) {
	t.Helper()
	for i := range n {
		base := fmt.Sprintf("city_%06d", i)
		var lab image.Image = grayMap(w, h, labelIDs(i))
		if i == n-1 {
			lab = palettedMap(w, h, 20, labelIDs(i))
		}
		write(t, filepath.Join(root, phase+"_label", base+"_gtFine_labelIds.png"), encode(t, "png", lab))
		write(t, filepath.Join(root, phase+"_img", base+"_leftImg8bit.png"), encode(t, "png", noisyPhoto(w, h, i)))
		write(t, filepath.Join(root, phase+"_inst", base+"_gtFine_instanceIds.png"), encode(t, "png", gray16Map(w, h, instIDs)))
	}
}

// noisyPhoto is an RGB picture with detail at every pixel.
func noisyPhoto(w, h, seed int) *image.NRGBA {
	im := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := (x*37 + y*91 + seed*53 + x*y*7) % 256
			im.SetNRGBA(x, y, color.NRGBA{uint8(v), uint8(x * 255 / w), uint8(255 - v/2), 255})
		}
	}
	return im
}

// pilHD is the reference's transform of one sample (pix2pixHD's
// get_transform: Scale to load_size, __crop, __flip) done by PIL: the label
// map with NEAREST, the photo with the given filter, the instance map with
// NEAREST; it prints the label bytes, the RGB photo, the int32 instance ids.
// Pillow 9 (Debian's) opens a 16-bit gray PNG in mode I, whose NEAREST
// resize gogan reproduces; later Pillows open it as I;16, whose NEAREST
// rounds differently at some pixels (floor((x+0.5)*in/out) rather than a
// running sum), so the map is converted to I first there.
const pilHD = `
import struct, sys
from PIL import Image
lab, img, inst, load, x, y, c, flip, f = sys.argv[1:10]
load, x, y, c, flip = int(load), int(x), int(y), int(c), flip == '1'
f = {'bicubic': Image.BICUBIC, 'bilinear': Image.BILINEAR}[f]
def tf(im, method):
    im = im.resize((load, load), method)
    im = im.crop((x, y, x + c, y + c))
    if flip:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    return im
L = tf(Image.open(lab), Image.NEAREST)
assert L.mode in ('L', 'P'), L.mode
B = tf(Image.open(img).convert('RGB'), f)
I = Image.open(inst)
if I.mode == 'I;16':
    I = I.convert('I')  # see the comment above
I = tf(I, Image.NEAREST)
assert I.mode == 'I', I.mode
out = sys.stdout.buffer
out.write(L.tobytes())
out.write(B.tobytes())
out.write(struct.pack('<%di' % (c * c), *I.getdata()))
`

// TestLabelMapsMatchPIL: with data.label_nc and data.instance, A holds the
// class ids of PIL's nearest resize, crop and flip of the label map (gray and
// paletted), B PIL's photo with the same crop and flip, and inst get_edges of
// PIL's transformed 16-bit instance map; up- and downscaling, both flips.
func TestLabelMapsMatchPIL(t *testing.T) {
	root := t.TempDir()
	const w, h = 40, 30
	writeHD(t, root, "train", 3, w, h)
	for _, c := range []struct {
		load, crop int
		interp     string
	}{{57, 48, "bicubic"}, {27, 24, "bilinear"}} {
		t.Run(fmt.Sprintf("load%d-crop%d-%s", c.load, c.crop, c.interp), func(t *testing.T) {
			cfg := DefaultConfig(Aligned)
			cfg.Root, cfg.LoadSize, cfg.CropSize, cfg.Interp = root, c.load, c.crop, c.interp
			cfg.LabelNC, cfg.Instance = 20, true
			d, err := Open(context.Background(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			ts, u := d.TensorShapes()
			want := []TensorShape{{Name: "A", Shape: [3]int{1, c.crop, c.crop}, Raw: true}, {Name: "B", Shape: [3]int{3, c.crop, c.crop}}, {Name: InstTensor, Shape: [3]int{1, c.crop, c.crop}, Raw: true}}
			if !u || !slices.Equal(ts, want) || d.Len() != 3 {
				t.Fatalf("len %d, tensors %v (uniform %v), want %v", d.Len(), ts, u, want)
			}
			flips := map[bool]int{}
			for i := range 3 {
				for epoch := range uint64(3) {
					s, err := d.Sample(i, 7, epoch)
					if err != nil {
						t.Fatal(err)
					}
					p := drawParams(newRNG(7, epoch, uint64(i)))
					x := int(p.RX % uint64(c.load-c.crop+1))
					y := int(p.RY % uint64(c.load-c.crop+1))
					flips[p.Flip]++
					flip := "0"
					if p.Flip {
						flip = "1"
					}
					n := c.crop * c.crop
					ref := pil(t, pilHD, nil, d.Files()[i], d.FilesB()[i], d.FilesInst()[i], strconv.Itoa(c.load),
						strconv.Itoa(x), strconv.Itoa(y), strconv.Itoa(c.crop), flip, c.interp)
					if len(ref) != n+3*n+4*n {
						t.Fatalf("PIL gave %d bytes", len(ref))
					}
					if !s.LabelMap || s.A.C != 1 || !slices.Equal(s.A.Pix, ref[:n]) {
						t.Errorf("sample %d epoch %d (flip %v): class ids differ from PIL's nearest resize", i, epoch, p.Flip)
					}
					if s.B.C != 3 || !slices.Equal(s.B.Pix, ref[n:4*n]) {
						t.Errorf("sample %d epoch %d: photo differs from PIL's", i, epoch)
					}
					ids := make([]int32, n)
					for k := range ids {
						ids[k] = int32(binary.LittleEndian.Uint32(ref[4*n+4*k:]))
					}
					if s.Inst == nil || s.Inst.C != 1 || !slices.Equal(s.Inst.Pix, refEdges(ids, c.crop, c.crop)) {
						t.Errorf("sample %d epoch %d: boundaries differ from get_edges of PIL's instance map", i, epoch)
					}
				}
			}
			if flips[true] == 0 || flips[false] == 0 {
				t.Errorf("flips drawn: %v; want both", flips)
			}
		})
	}
}

// TestLabelBatches: the loader's batches hold the ids and boundaries as raw
// floats (and bytes), the photo normalised; the buffers are BatchBytes'; the
// batches are the same with any number of workers, in memory or not.
func TestLabelBatches(t *testing.T) {
	root := t.TempDir()
	writeHD(t, root, "train", 5, 40, 30)
	cfg := DefaultConfig(Aligned)
	cfg.Root, cfg.LoadSize, cfg.CropSize, cfg.LabelNC, cfg.Instance = root, 36, 32, 20, true
	cfg.BatchSize, cfg.Workers = 2, 0
	d, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := d.Config().LoaderOptions(3)
	if got, want := d.BatchBytes(o), []int{2 * 32 * 32 * 4, 2 * 3 * 32 * 32 * 4, 2 * 32 * 32 * 4, 32 * 32 * 4, 3 * 32 * 32 * 4, 32 * 32 * 4}; !slices.Equal(got, want) {
		t.Errorf("BatchBytes %v, want %v", got, want)
	}
	epoch := func(cfg Config, dtype string) [][]Tensor {
		d, err := Open(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		o := d.Config().LoaderOptions(3)
		o.DType = dtype
		l, err := NewLoader(d, o)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var out [][]Tensor
		for {
			b, err := l.Next(context.Background())
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			var ts []Tensor
			for _, x := range b.Tensors { // copies: the buffers go back
				x.F32, x.U8, x.Buf = slices.Clone(x.F32), slices.Clone(x.U8), nil
				ts = append(ts, x)
			}
			out = append(out, ts)
			b.Release()
		}
	}
	base := epoch(cfg, "float32")
	if len(base) != 3 {
		t.Fatalf("%d batches", len(base))
	}
	perm := Permutation(5, 3, 0)
	for k, ts := range base {
		if len(ts) != 3 || ts[0].Name != "A" || ts[1].Name != "B" || ts[2].Name != InstTensor {
			t.Fatalf("batch %d tensors %v", k, ts)
		}
		nb := ts[0].Shape[0]
		for j, sh := range [][4]int{{nb, 1, 32, 32}, {nb, 3, 32, 32}, {nb, 1, 32, 32}} {
			if ts[j].Shape != sh || ts[j].Raw != (j != 1) {
				t.Errorf("batch %d %s: shape %v raw %v", k, ts[j].Name, ts[j].Shape, ts[j].Raw)
			}
		}
		for m := range nb {
			s, err := d.Sample(perm[2*k+m], 3, 0)
			if err != nil {
				t.Fatal(err)
			}
			n := 32 * 32
			for q := range n {
				if ts[0].F32[m*n+q] != float32(s.A.Pix[q]) || ts[2].F32[m*n+q] != float32(s.Inst.Pix[q]) {
					t.Fatalf("batch %d sample %d: raw value %v/%v, want %d/%d", k, m, ts[0].F32[m*n+q], ts[2].F32[m*n+q], s.A.Pix[q], s.Inst.Pix[q])
				}
				if ts[1].F32[3*m*n+q] != Normalize(s.B.Pix[3*q]) {
					t.Fatalf("batch %d sample %d: photo not normalised", k, m)
				}
			}
		}
	}
	same := func(what string, got [][]Tensor) {
		t.Helper()
		for k := range base {
			for j := range base[k] {
				if !slices.Equal(got[k][j].F32, base[k][j].F32) {
					t.Errorf("%s: batch %d %s differs", what, k, base[k][j].Name)
				}
			}
		}
	}
	c := cfg
	c.Workers = 3
	same("3 workers", epoch(c, "float32"))
	c.InMemory = true
	same("in memory", epoch(c, "float32"))
	c.InMemory, c.Validate = false, "header"
	same("header validation", epoch(c, "float32"))
	u8 := epoch(cfg, "uint8")
	for k := range base {
		for j, x := range base[k] {
			if !x.Raw {
				continue
			}
			for q, v := range u8[k][j].U8 {
				if float32(v) != x.F32[q] {
					t.Fatalf("uint8 batch %d %s differs from the float32 one", k, x.Name)
				}
			}
		}
	}
	// data.max_samples keeps the first samples.
	c = cfg
	c.MaxSamples = 2
	if d, err := Open(context.Background(), c, nil); err != nil || d.Len() != 2 {
		t.Errorf("max_samples 2: %v, %v", d, err)
	}
}

// TestInstanceMap16Bit: 16-bit instance ids are kept whole: 26001 and 26257
// share their low byte and still make a boundary; an 8-bit map works too.
func TestInstanceMap16Bit(t *testing.T) {
	dir := t.TempDir()
	ids := []int{26001, 26001, 26257, 26257, 26257, 513, 1}
	p := write(t, filepath.Join(dir, "i16.png"), encode(t, "png", gray16Map(len(ids), 1, func(x, _ int) int { return ids[x] })))
	im, err := LoadInstanceMap(p)
	if err != nil {
		t.Fatal(err)
	}
	if im.C != 2 || im.Pix[0] != 26001>>8 || im.Pix[1] != 26001&255 || im.Pix[4] != 26257>>8 || im.Pix[5] != 26257&255 {
		t.Fatalf("instance map %v %v", im, im.Pix)
	}
	if got, want := InstanceEdges(im).Pix, []uint8{0, 1, 1, 0, 1, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("edges %v, want %v", got, want)
	}
	// 8-bit, two rows: vertical neighbours count too.
	p8 := write(t, filepath.Join(dir, "i8.png"), encode(t, "png", grayMap(3, 2, func(x, y int) int { return []int{4, 4, 4, 4, 9, 4}[y*3+x] })))
	im, err = LoadInstanceMap(p8)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := InstanceEdges(im).Pix, []uint8{0, 1, 0, 1, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("8-bit edges %v, want %v", got, want)
	}
	// A paletted label map gives its indices, not its colours.
	pp := write(t, filepath.Join(dir, "p.png"), encode(t, "png", palettedMap(20, 1, 20, func(x, _ int) int { return 19 - x })))
	lab, err := LoadLabelMap(pp, 20)
	if err != nil {
		t.Fatal(err)
	}
	for x, v := range lab.Pix {
		if int(v) != 19-x {
			t.Fatalf("paletted label map: %v", lab.Pix)
		}
	}
}

// openLogs opens cfg's data and returns what they logged.
func openLogs(t *testing.T, cfg Config) string {
	t.Helper()
	var logs bytes.Buffer
	if _, err := Open(context.Background(), cfg, &OpenOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))}); err != nil {
		t.Fatal(err)
	}
	return logs.String()
}

// TestJPEGMapsWarned: label or instance maps saved as JPEG decode (gray
// JPEGs are single-channel, as the reference reads them too) but hold ids
// never drawn at their region borders: opening the data warns, naming the
// folder, how many and a file; PNG maps open without a word of it.
func TestJPEGMapsWarned(t *testing.T) {
	root := t.TempDir()
	writeHD(t, root, "train", 3, 20, 20)
	cfg := DefaultConfig(Aligned)
	cfg.Root, cfg.LoadSize, cfg.CropSize, cfg.LabelNC, cfg.Instance = root, 20, 16, 40, true
	if logs := openLogs(t, cfg); strings.Contains(logs, "JPEG") {
		t.Errorf("PNG maps: %s", logs)
	}
	lab := filepath.Join(root, "train_label", "city_000001_gtFine_labelIds")
	if err := os.Remove(lab + ".png"); err != nil {
		t.Fatal(err)
	}
	write(t, lab+".jpg", encode(t, "jpg", grayMap(20, 20, labelIDs(1))))
	inst := filepath.Join(root, "train_inst", "city_000000_gtFine_instanceIds")
	if err := os.Remove(inst + ".png"); err != nil {
		t.Fatal(err)
	}
	write(t, inst+".jpeg", encode(t, "jpg", grayMap(20, 20, func(x, y int) int { return x / 10 })))
	logs := openLogs(t, cfg)
	for _, want := range []string{
		"1 of the 3 label maps in " + filepath.Join(root, "train_label") + " are JPEG files (" + lab + ".jpg)",
		"1 of the 3 instance maps in " + filepath.Join(root, "train_inst") + " are JPEG files (" + inst + ".jpeg)",
		"save the maps as PNG",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("want %q in the warnings:\n%s", want, logs)
		}
	}
	// Its compression made an id past the 20 classes drawn: that is said,
	// not that data.label_nc should be raised.
	_, err := LoadLabelMap(lab+".jpg", 20)
	if err == nil || !strings.Contains(err.Error(), "it is a JPEG file, whose lossy compression") || strings.Contains(err.Error(), "raise data.label_nc") {
		t.Errorf("JPEG label map with an id past data.label_nc: %v", err)
	}
}

// TestOutOfStepFoldersWarned: pix2pixHD's folders pair by sorted position;
// a photo missing and another in its place (the counts agree) puts every
// pair after it out of step, which the reference trains on silently. The
// data warn, naming a pair and the file named as its label map (Cityscapes'
// names differ by their endings); folders in step, or named each their own
// way, open without that warning.
func TestOutOfStepFoldersWarned(t *testing.T) {
	root := t.TempDir()
	writeHD(t, root, "train", 4, 20, 20)
	cfg := DefaultConfig(Aligned)
	cfg.Root, cfg.LoadSize, cfg.CropSize, cfg.LabelNC, cfg.Instance = root, 20, 16, 20, true
	if logs := openLogs(t, cfg); strings.Contains(logs, "out of step") {
		t.Errorf("folders in step: %s", logs)
	}
	img := filepath.Join(root, "train_img")
	if err := os.Rename(filepath.Join(img, "city_000000_leftImg8bit.png"), filepath.Join(img, "city_000009_leftImg8bit.png")); err != nil {
		t.Fatal(err)
	}
	logs := openLogs(t, cfg)
	want := filepath.Join(root, "train_label") + " and " + img + " pair their files by sorted position (as pix2pixHD's AlignedDataset), and 3 pairs are out of step: " +
		filepath.Join(root, "train_label", "city_000001_gtFine_labelIds.png") + " is paired with " + filepath.Join(img, "city_000002_leftImg8bit.png") +
		", but " + filepath.Join(img, "city_000001_leftImg8bit.png") + " is its namesake"
	if !strings.Contains(logs, want) || strings.Contains(logs, "train_inst pair") {
		t.Errorf("want %q in the warnings, and nothing of the instance maps:\n%s", want, logs)
	}
	// photos named each their own way are not judged
	for i := range 4 {
		from := fmt.Sprintf("city_%06d_leftImg8bit.png", []int{1, 2, 3, 9}[i])
		if err := os.Rename(filepath.Join(img, from), filepath.Join(img, fmt.Sprintf("photo%d.png", i))); err != nil {
			t.Fatal(err)
		}
	}
	if logs := openLogs(t, cfg); strings.Contains(logs, "out of step") {
		t.Errorf("photos named otherwise: %s", logs)
	}
}

// TestOutOfStepCutsWholeEndings: the ending cut off each folder's names is
// a whole one (from a '_', '-' or '.' on), never the digits names share at
// their end: 1.png and 11.png are not cut to nothing and 1, so 11.png is not said to
// have 1.png as its namesake; Cityscapes' endings are cut as before.
func TestOutOfStepCutsWholeEndings(t *testing.T) {
	if w := outOfStep("a", []string{"a/1.png", "a/11.png"}, "b", []string{"b/1.png", "b/2.png"}); w != "" {
		t.Errorf("1.png, 11.png beside 1.png, 2.png: %s", w)
	}
	if w := outOfStep("a", []string{"a/10.png", "a/20.png"}, "b", []string{"b/2.png", "b/3.png"}); w != "" {
		t.Errorf("10.png, 20.png beside 2.png, 3.png: %s", w)
	}
	// a map saved as JPEG among PNGs: its name is compared without its
	// extension, as the others'
	w := outOfStep("l", []string{"l/000.png", "l/001.png", "l/002.jpg"}, "i", []string{"i/001.png", "i/002.png", "i/009.png"})
	if !strings.Contains(w, "2 pairs are out of step: l/001.png is paired with i/002.png, but i/001.png is its namesake") {
		t.Errorf("000.png, 001.png, 002.jpg beside 001.png, 002.png, 009.png: %q", w)
	}
	w = outOfStep("l", []string{"l/x_000019_gtFine_labelIds.png", "l/y_000019_gtFine_labelIds.png", "l/z_000019_gtFine_labelIds.png"},
		"i", []string{"i/w_000019_leftImg8bit.png", "i/x_000019_leftImg8bit.png", "i/y_000019_leftImg8bit.png"})
	if !strings.Contains(w, "2 pairs are out of step: l/x_000019_gtFine_labelIds.png is paired with i/w_000019_leftImg8bit.png, but i/x_000019_leftImg8bit.png is its namesake") {
		t.Errorf("Cityscapes' names out of step: %q", w)
	}
}

// TestOutOfStepInstanceMapsWarned: the instance maps pair with the label
// maps by sorted position too: an instance map missing and another in its
// place (the counts agree) is warned of as a photo is, naming the instance
// folder; the photos, in step, are not.
func TestOutOfStepInstanceMapsWarned(t *testing.T) {
	root := t.TempDir()
	writeHD(t, root, "train", 4, 20, 20)
	inst := filepath.Join(root, "train_inst")
	if err := os.Rename(filepath.Join(inst, "city_000000_gtFine_instanceIds.png"), filepath.Join(inst, "city_000009_gtFine_instanceIds.png")); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig(Aligned)
	cfg.Root, cfg.LoadSize, cfg.CropSize, cfg.LabelNC, cfg.Instance = root, 20, 16, 20, true
	var logs bytes.Buffer
	if _, err := Open(context.Background(), cfg, &OpenOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))}); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(root, "train_label") + " and " + inst + " pair their files by sorted position (as pix2pixHD's AlignedDataset), and 3 pairs are out of step: " +
		filepath.Join(root, "train_label", "city_000001_gtFine_labelIds.png") + " is paired with " + filepath.Join(inst, "city_000002_gtFine_instanceIds.png") +
		", but " + filepath.Join(inst, "city_000001_gtFine_instanceIds.png") + " is its namesake"
	if !strings.Contains(logs.String(), want) || strings.Contains(logs.String(), "train_img pair") {
		t.Errorf("want %q in the warnings, and nothing of the photos:\n%s", want, logs.String())
	}
}

// TestJPEGPhotosOfTwoFoldersNotWarned: with data.label_nc 0, pix2pixHD's
// {phase}_A/ holds input images, not label maps: JPEG photos there (and in
// {phase}_B/) are no maps, and open without a word of JPEG maps.
func TestJPEGPhotosOfTwoFoldersNotWarned(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"train_A/0.jpg", "train_A/1.jpg", "train_B/0.jpg", "train_B/1.jpg"} {
		write(t, filepath.Join(root, f), encode(t, "jpg", gradient(20, 20)))
	}
	cfg := DefaultConfig(Aligned)
	cfg.Root, cfg.LoadSize, cfg.CropSize = root, 20, 16
	var logs bytes.Buffer
	if _, err := Open(context.Background(), cfg, &OpenOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "JPEG") {
		t.Errorf("JPEG photos of train_A/ taken for label maps:\n%s", logs.String())
	}
}

// TestLabelErrors: the mistakes of label and instance maps are reported with
// the file, the value and what to do.
func TestLabelErrors(t *testing.T) {
	open := func(cfg Config) (*Dataset, error) {
		return Open(context.Background(), cfg, &OpenOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}
	hd := func(t *testing.T) (string, Config) {
		root := t.TempDir()
		writeHD(t, root, "train", 3, 20, 20)
		cfg := DefaultConfig(Aligned)
		cfg.Root, cfg.LoadSize, cfg.CropSize, cfg.LabelNC, cfg.Instance = root, 20, 16, 20, true
		return root, cfg
	}
	wantErr := func(t *testing.T, err error, want ...string) {
		t.Helper()
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("want %q in %v", w, err)
			}
		}
	}
	t.Run("id beyond label_nc", func(t *testing.T) {
		root, cfg := hd(t)
		bad := write(t, filepath.Join(root, "train_label", "city_000001_gtFine_labelIds.png"),
			encode(t, "png", grayMap(20, 20, func(x, y int) int {
				if x == 17 && y == 3 {
					return 25
				}
				return x
			})))
		_, err := open(cfg)
		wantErr(t, err, bad+": label map has class id 25 (at x=17, y=3) but data.label_nc is 20, so ids must be 0..19",
			"raise data.label_nc to at least 26")
		if err != nil && strings.Contains(err.Error(), "pixels to ignore") {
			t.Errorf("id 25 said to be an ignore label: %v", err)
		}
		// id label_nc itself is one past the one-hot's channels (pix2pixHD's
		// scatter_ into label_nc planes fails on it)
		cfg.LabelNC = 25
		_, err = open(cfg)
		wantErr(t, err, bad+": label map has class id 25 (at x=17, y=3) but data.label_nc is 25, so ids must be 0..24")
		cfg.LabelNC = 26
		if _, err := open(cfg); err != nil {
			t.Errorf("label_nc 26: %v", err)
		}
		// Found when the sample is read after a header-only validation.
		cfg.LabelNC, cfg.Validate = 20, "header"
		d, err := open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.Sample(1, 0, 0)
		wantErr(t, err, bad, "class id 25", "data.label_nc is 20")
		// skip_invalid drops the sample, all of its files together.
		cfg.Validate, cfg.SkipInvalid = "full", true
		if d, err = open(cfg); err != nil || d.Len() != 2 || slices.Contains(d.Files(), bad) ||
			len(d.FilesB()) != 2 || len(d.FilesInst()) != 2 || strings.Contains(d.FilesB()[1], "000001") {
			t.Errorf("skip_invalid: %v %v", d, err)
		}
	})
	t.Run("ignore label 255", func(t *testing.T) {
		// Cityscapes' *_labelTrainIds.png: 19 classes and 255 for the
		// pixels to ignore, not a 256th class
		root, cfg := hd(t)
		bad := write(t, filepath.Join(root, "train_label", "city_000001_gtFine_labelTrainIds.png"),
			encode(t, "png", grayMap(20, 20, func(x, y int) int {
				if y == 0 {
					return 255
				}
				return x % 19
			})))
		if err := os.Remove(filepath.Join(root, "train_label", "city_000001_gtFine_labelIds.png")); err != nil {
			t.Fatal(err)
		}
		cfg.LabelNC = 19
		_, err := open(cfg)
		wantErr(t, err, bad+": label map has class id 255 (at x=0, y=0) but data.label_nc is 19", "raise data.label_nc to at least 256",
			"if 255 marks pixels to ignore (as in Cityscapes' *_labelTrainIds.png), give those pixels a class below data.label_nc", "*_labelIds.png (ids 0..33, data.label_nc 35)")
	})
	t.Run("RGB label map", func(t *testing.T) {
		root, cfg := hd(t)
		bad := write(t, filepath.Join(root, "train_label", "city_000002_gtFine_labelIds.png"), encode(t, "png", gradient(20, 20)))
		for _, v := range []string{"full", "header"} {
			cfg.Validate = v
			_, err := open(cfg)
			wantErr(t, err, bad, "label map is an RGB image", "label maps with data.label_nc>0 must be single-channel class-id images")
		}
		jpg := write(t, filepath.Join(root, "train_label", "city_000002_gtFine_labelIds.jpg"), encode(t, "jpg", gradient(20, 20)))
		if _, err := LoadLabelMap(jpg, 20); err == nil || !strings.Contains(err.Error(), "label map is an RGB image") {
			t.Errorf("RGB JPEG label map: %v", err)
		}
		rgbInst := write(t, filepath.Join(t.TempDir(), "inst.png"), encode(t, "png", gradient(20, 20)))
		if _, err := LoadInstanceMap(rgbInst); err == nil || !strings.Contains(err.Error(), "instance maps must be single-channel") {
			t.Errorf("RGB instance map: %v", err)
		}
		// gray with alpha (PIL's LA; Go decodes it as NRGBA) is named so
		la := filepath.Join(t.TempDir(), "la.png")
		pil(t, "import sys\nfrom PIL import Image\nImage.new('LA', (8, 8), (3, 255)).save(sys.argv[1])", nil, la)
		if _, err := LoadInstanceMap(la); err == nil || !strings.Contains(err.Error(), "instance map is a gray and alpha (LA) image") {
			t.Errorf("LA instance map: %v", err)
		}
	})
	t.Run("counts differ", func(t *testing.T) {
		root, cfg := hd(t)
		write(t, filepath.Join(root, "train_img", "city_000003_leftImg8bit.png"), encode(t, "png", gradient(20, 20)))
		_, err := open(cfg)
		wantErr(t, err, filepath.Join(root, "train_label")+" has 3 images but "+filepath.Join(root, "train_img")+" has 4", "sorted position")
		// Folders naming their files alike get the lone files listed.
		two := t.TempDir()
		for _, n := range []string{"a", "b", "c"} {
			write(t, filepath.Join(two, "train_A", n+".png"), encode(t, "png", gradient(20, 20)))
			if n != "b" {
				write(t, filepath.Join(two, "train_B", n+".jpg"), encode(t, "jpg", gradient(20, 20)))
			}
		}
		c := DefaultConfig(Aligned)
		c.Root, c.LoadSize, c.CropSize = two, 20, 16
		_, err = open(c)
		wantErr(t, err, "has 3 images but", "has 2", "without a partner of the same name: "+filepath.Join(two, "train_A", "b")+".*")
		// The instance maps are counted too.
		root, cfg = hd(t)
		write(t, filepath.Join(root, "train_inst", "zz.png"), encode(t, "png", gray16Map(20, 20, instIDs)))
		_, err = open(cfg)
		wantErr(t, err, filepath.Join(root, "train_inst")+" has 4")
		// Cityscapes' names, alike but for each folder's ending: the map
		// without its instance map is named.
		root, cfg = hd(t)
		if err := os.Remove(filepath.Join(root, "train_inst", "city_000001_gtFine_instanceIds.png")); err != nil {
			t.Fatal(err)
		}
		_, err = open(cfg)
		wantErr(t, err, filepath.Join(root, "train_inst")+" has 2", "without a partner of the same name: "+filepath.Join(root, "train_label", "city_000001")+"*")
	})
	t.Run("size differs", func(t *testing.T) {
		root, cfg := hd(t)
		bad := write(t, filepath.Join(root, "train_inst", "city_000000_gtFine_instanceIds.png"), encode(t, "png", gray16Map(22, 20, instIDs)))
		_, err := open(cfg)
		wantErr(t, err, bad+": is 22x20 but its label map")
	})
	t.Run("layouts", func(t *testing.T) {
		root, cfg := hd(t)
		cfg.Phase = "val"
		_, err := open(cfg)
		wantErr(t, err, "data.label_nc=20 reads pix2pixHD's layout: val_label/", filepath.Join(root, "val_label"))
		// Instance maps missing.
		cfg.Phase = "train"
		root2 := t.TempDir()
		writeHD(t, root2, "train", 2, 20, 20)
		if err := os.RemoveAll(filepath.Join(root2, "train_inst")); err != nil {
			t.Fatal(err)
		}
		cfg.Root = root2
		_, err = open(cfg)
		wantErr(t, err, "data.no_instance", "no folder "+filepath.Join(root2, "train_inst"), "data.no_instance=true")
		cfg.Instance = false
		d, err := open(cfg)
		if err != nil || d.Instance() || d.Len() != 2 {
			t.Fatalf("label maps without instance maps: %v %v", d, err)
		}
		if s, err := d.Sample(1, 0, 0); err != nil || s.Inst != nil || len(s.Images()) != 2 || !s.Images()[0].Raw {
			t.Errorf("sample without instance maps: %v", err)
		}
		// Instance maps refused for A|B images and A/ B/ folders.
		ab := t.TempDir()
		write(t, filepath.Join(ab, "train", "1.png"), encode(t, "png", mirrorPair(20, 20)))
		c := DefaultConfig(Aligned)
		c.Root, c.LoadSize, c.CropSize, c.Instance = ab, 20, 16, true
		_, err = open(c)
		wantErr(t, err, "data.no_instance", "have no instance maps", "data.no_instance=true")
		c.Instance = false
		if d, err := open(c); err != nil || d.Len() != 1 || d.Instance() {
			t.Errorf("A|B images: %v %v", d, err)
		}
	})
	t.Run("config", func(t *testing.T) {
		for _, c := range []struct {
			cfg  Config
			want string
		}{
			{Config{Dataset: Unaligned, Root: "x", LabelNC: 3}, "data.label_nc: 3: only applies to data.dataset=aligned"},
			{Config{Dataset: Folder, Root: "x", Instance: true}, "data.instance: true: only applies to data.dataset=aligned"},
			{Config{Dataset: Aligned, Root: "x", LabelNC: 300}, "data.label_nc: 300: must be 0"},
			{Config{Dataset: Aligned, Root: "x", LabelNC: 35, Direction: "BtoA"}, "data.direction: \"BtoA\": with data.label_nc=35 the label map is always the input"},
		} {
			if err := c.cfg.Check(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%+v: want %q, got %v", c.cfg, c.want, err)
			}
		}
		// input_nc is not the label map's: any value passes.
		if err := (Config{Dataset: Aligned, Root: "x", LabelNC: 35, InputNC: 35}).Check(); err != nil {
			t.Errorf("input_nc with label_nc: %v", err)
		}
	})
	var ce *ConfigError
	_, err := open(Config{Dataset: Aligned, Root: t.TempDir(), Instance: true})
	if !errors.As(err, &ce) || ce.Key != "data.no_instance" || strings.Contains(err.Error(), "data.Config") {
		t.Errorf("instance without maps (the user's key named, data.no_instance): %v", err)
	}
}

// TestPix2PixHDFoldersImages: with data.label_nc 0, {phase}_A and {phase}_B
// are paired by sorted position, A is a normalised image, and instance maps
// from {phase}_inst get the pair's crop and flip.
func TestPix2PixHDFoldersImages(t *testing.T) {
	root := t.TempDir()
	half := mirrorPair(36, 30).SubImage(image.Rect(0, 0, 36, 30))
	for i := range 4 {
		write(t, filepath.Join(root, "train_A", fmt.Sprintf("%d_input.png", i)), encode(t, "png", half))
		write(t, filepath.Join(root, "train_B", fmt.Sprintf("%d_photo.png", i)), encode(t, "png", half))
		// The instance ids follow the picture's columns: the boundaries are
		// vertical lines, mirrored by a flip.
		write(t, filepath.Join(root, "train_inst", fmt.Sprintf("%d.png", i)), encode(t, "png", gray16Map(36, 30, func(x, _ int) int { return 300 + x/5 })))
	}
	cfg := DefaultConfig(Aligned)
	cfg.Root, cfg.LoadSize, cfg.CropSize, cfg.Instance = root, 40, 24, true
	d, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := d.TensorShapes()
	if d.Len() != 4 || len(ts) != 3 || ts[0] != (TensorShape{Name: "A", Shape: [3]int{3, 24, 24}}) || ts[2] != (TensorShape{Name: InstTensor, Shape: [3]int{1, 24, 24}, Raw: true}) {
		t.Fatalf("len %d tensors %v", d.Len(), ts)
	}
	seen := map[string]bool{}
	for epoch := range uint64(12) {
		s, err := d.Sample(2, 5, epoch)
		if err != nil {
			t.Fatal(err)
		}
		if s.LabelMap || !slices.Equal(s.A.Pix, s.B.Pix) {
			t.Fatalf("epoch %d: A and B differ: different crop or flip", epoch)
		}
		// Recompute the boundaries from the instance map by the sample's draw.
		inst, _ := LoadInstanceMap(d.FilesInst()[2])
		tf := d.Transform()
		tf.Filter = Nearest
		want, _ := tf.Apply(inst, drawParams(newRNG(5, epoch, 2)))
		if !slices.Equal(s.Inst.Pix, InstanceEdges(want).Pix) {
			t.Fatalf("epoch %d: boundaries differ", epoch)
		}
		seen[string(s.Inst.Pix)] = true
	}
	if len(seen) < 3 {
		t.Errorf("%d distinct boundary maps in 12 epochs", len(seen))
	}
	cfg.Direction, cfg.MaxSamples = "BtoA", 2
	if d, err = Open(context.Background(), cfg, nil); err != nil || d.Len() != 2 {
		t.Fatalf("BtoA, max_samples: %v %v", d, err)
	}
}

// TestLabelMap16Bit: a 16-bit gray label map is read as its values, the
// class ids, as an 8-bit one is (pix2pixHD cannot read one: PIL opens it in
// mode I, ToTensor leaves its values unscaled and its *255 makes every id
// but 0 a one-hot channel past label_nc). Values past label_nc are refused
// naming the file and the value; past 255, saying what the file may be: an
// instance map (Cityscapes' *_instanceIds.png), or an 8-bit map widened to
// 16 bits (each id times 257).
func TestLabelMap16Bit(t *testing.T) {
	dir := t.TempDir()
	ids := []int{0, 19, 7, 3, 19, 0}
	p := write(t, filepath.Join(dir, "l16.png"), encode(t, "png", gray16Map(len(ids), 1, func(x, _ int) int { return ids[x] })))
	lab, err := LoadLabelMap(p, 20)
	if err != nil {
		t.Fatal(err)
	}
	for x, v := range lab.Pix {
		if int(v) != ids[x] {
			t.Fatalf("16-bit label map: ids %v, want %v", lab.Pix, ids)
		}
	}
	if _, err := LoadLabelMap(p, 19); err == nil || !strings.Contains(err.Error(), p+": label map has class id 19 (at x=1, y=0)") ||
		!strings.Contains(err.Error(), "raise data.label_nc to at least 20") {
		t.Errorf("16-bit id 19, label_nc 19: %v", err)
	}
	inst := write(t, filepath.Join(dir, "inst.png"), encode(t, "png", gray16Map(3, 1, func(x, _ int) int { return []int{7, 26001, 26002}[x] })))
	_, err = LoadLabelMap(inst, 35)
	for _, want := range []string{inst + ": label map has class id 26002 (at x=2, y=0)", "16-bit gray", "instance map", "_inst"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("16-bit instance ids as a label map: %v, want %q", err, want)
		}
	}
	wide := write(t, filepath.Join(dir, "wide.png"), encode(t, "png", gray16Map(len(ids), 1, func(x, _ int) int { return ids[x] * 257 })))
	_, err = LoadLabelMapFor(wide, 20, "runs/hd")
	for _, want := range []string{wide + ": label map has class id 4883", "runs/hd", "multiples of 257", "save it as 8-bit gray"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("an 8-bit map widened to 16 bits: %v, want %q", err, want)
		}
	}
}

// TestOtherSplitsLabelMapsWithLabelNC0: with data.label_nc 0, a root whose
// label maps are another split's (train_label/ where eval pix2pix reads
// test) is refused with a way on that reads the split asked for or names
// the other: renamed train_A/ as the refusal said, data.phase val still
// found no val_A/. Beside train_A/ (a root of both layouts), that
// rename was impossible: the refusal is missingSplit's, naming train_A/.
func TestOtherSplitsLabelMapsWithLabelNC0(t *testing.T) {
	img := encode(t, "png", gradient(16, 16))
	open := func(root, phase string) error {
		cfg := DefaultConfig(Aligned)
		cfg.Root, cfg.Phase, cfg.LoadSize, cfg.CropSize = root, phase, 16, 16
		d, err := Open(context.Background(), cfg, nil)
		if err == nil {
			d.Close()
		}
		return err
	}

	root := t.TempDir()
	for _, f := range []string{"train_label/0.png", "train_img/0.png"} {
		write(t, filepath.Join(root, f), img)
	}
	err := open(root, "val")
	var ce *ConfigError
	for _, want := range []string{"read from val_A/ (inputs) and val_B/ (targets) for data.phase val", root + " has no val_A/ and holds " + filepath.Join(root, "train_label"),
		"put the val split's input images in " + filepath.Join(root, "val_A") + "/ and its targets in " + filepath.Join(root, "val_B") + "/",
		"with data.phase train (gogan eval and features: --phase train)", "rename train_label/ to train_A/ and train_img/ to train_B/"} {
		if !errors.As(err, &ce) || ce.Key != "data.label_nc" || !strings.Contains(err.Error(), want) {
			t.Fatalf("train_label/ read as data.phase val: want a data.label_nc refusal saying %q, got %v", want, err)
		}
	}
	// the way on it gives opens
	for from, to := range map[string]string{"train_label": "train_A", "train_img": "train_B"} {
		if err := os.Rename(filepath.Join(root, from), filepath.Join(root, to)); err != nil {
			t.Fatal(err)
		}
	}
	if err := open(root, "train"); err != nil {
		t.Fatalf("renamed as the refusal says, with data.phase train: %v", err)
	}

	// both layouts of the train split
	root = t.TempDir()
	for _, f := range []string{"train_label/0.png", "train_img/0.png", "train_A/0.png", "train_B/0.png"} {
		write(t, filepath.Join(root, f), img)
	}
	err = open(root, "test")
	if !errors.As(err, &ce) || ce.Key != "data.phase" || !strings.Contains(err.Error(), root+" has train_A/ but no test_A/") || strings.Contains(err.Error(), "rename") {
		t.Fatalf("train_label/ and train_A/ read as data.phase test: want missingSplit's refusal naming train_A/, got %v", err)
	}
	if err := open(root, "train"); err != nil {
		t.Fatalf("data.phase train: %v", err)
	}
}

// TestMissingSplitOfTwoFoldersWithInstanceMaps: pix2pixHD's train_A/,
// train_B/ and train_inst/ read with instance maps for data.phase test (eval
// pix2pix's default of a label_nc 0 run) are refused for the missing
// test_A/, as without instance maps: the refusal said the root had
// neither layout and to turn instance maps off, which left it missing.
func TestMissingSplitOfTwoFoldersWithInstanceMaps(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"train_A/0.png", "train_B/0.png"} {
		write(t, filepath.Join(root, f), encode(t, "png", gradient(16, 16)))
	}
	write(t, filepath.Join(root, "train_inst", "0.png"), encode(t, "png", grayMap(16, 16, func(x, y int) int { return x / 8 })))
	for _, inst := range []bool{false, true} {
		cfg := DefaultConfig(Aligned)
		cfg.Root, cfg.Phase, cfg.LoadSize, cfg.CropSize, cfg.Instance = root, "test", 16, 16, inst
		_, err := Open(context.Background(), cfg, nil)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Key != "data.phase" || !strings.Contains(err.Error(), root+" has train_A/ but no test_A/") {
			t.Errorf("data.instance=%v: want missingSplit's refusal naming train_A/, got %v", inst, err)
		}
	}
}

// TestRGBLabelMapsOfIDs: class ids saved as an 8-bit RGB PNG (R = G = B, a
// label map converted to RGB by mistake) are read as those ids, as
// pix2pixHD reads them: its ToTensor()*255 of the RGB map, one-hot encoded
// by encode_input's scatter_ along the channels, sets the one class of each
// pixel (every channel holds the same id). A colour-coded RGB map is still
// refused, naming a pixel whose channels differ, in both validations.
func TestRGBLabelMapsOfIDs(t *testing.T) {
	root := t.TempDir()
	writeHD(t, root, "train", 3, 20, 20)
	labels, err := filepath.Glob(filepath.Join(root, "train_label", "*.png"))
	if err != nil || len(labels) != 3 {
		t.Fatal(labels, err)
	}
	// every map as RGB of its ids (the paletted one's indices, not colours)
	pil(t, `import sys
import numpy as np
from PIL import Image
for p in sys.argv[1:]:
    a = np.array(Image.open(p))
    Image.fromarray(np.stack([a, a, a], -1)).save(p)
`, nil, labels...)
	// pix2pixHD: aligned_dataset's transform_A(A) * 255.0 (ToTensor, no
	// resize here), Pix2PixHDModel.encode_input's one-hot
	ref := pil(t, `import sys
import torch
from PIL import Image
import torchvision.transforms as transforms
for p in sys.argv[1:]:
    A = Image.open(p)
    assert A.mode == 'RGB', A.mode
    label_map = (transforms.ToTensor()(A) * 255.0).unsqueeze(0)
    size = label_map.size()
    oneHot_size = (size[0], 20, size[2], size[3])
    input_label = torch.FloatTensor(torch.Size(oneHot_size)).zero_()
    input_label = input_label.scatter_(1, label_map.data.long(), 1.0)
    assert (input_label.sum(1) == 1).all()
    sys.stdout.buffer.write(input_label.argmax(1).to(torch.uint8).numpy().tobytes())
`, nil, labels...)
	for i, p := range labels {
		im, err := LoadLabelMap(p, 20)
		if err != nil {
			t.Fatalf("RGB map of ids: %v", err)
		}
		if want := ref[i*400 : (i+1)*400]; im.C != 1 || !slices.Equal(im.Pix, want) {
			t.Errorf("%s: ids %v, pix2pixHD's one-hot gives %v", p, im.Pix, want)
		}
	}
	cfg := DefaultConfig(Aligned)
	cfg.Root, cfg.LoadSize, cfg.CropSize, cfg.LabelNC, cfg.Instance = root, 20, 16, 20, true
	for _, v := range []string{"full", "header"} {
		cfg.Validate = v
		d, err := Open(context.Background(), cfg, nil)
		if err != nil {
			t.Fatalf("validate %s: %v", v, err)
		}
		if _, err := d.Sample(0, 1, 0); err != nil {
			t.Fatalf("validate %s: %v", v, err)
		}
		d.Close()
	}
	// a colour-coded map: refused, in both validations
	colour := image.NewRGBA(image.Rect(0, 0, 20, 20))
	for i := range colour.Pix {
		colour.Pix[i] = 255
	}
	colour.Pix[colour.PixOffset(3, 2)+1] = 9
	write(t, labels[1], encode(t, "png", colour))
	for _, v := range []string{"full", "header"} {
		cfg.Validate = v
		_, err := Open(context.Background(), cfg, &OpenOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err == nil || !strings.Contains(err.Error(), labels[1]+": label map is an RGB image") ||
			!strings.Contains(err.Error(), "its channels differ at x=3, y=2: R, G, B = 255, 9, 255") {
			t.Errorf("validate %s: colour-coded RGB map: %v", v, err)
		}
	}
	// one whose blue alone differs (R = G)
	colour.Pix[colour.PixOffset(3, 2)+1] = 255
	colour.Pix[colour.PixOffset(5, 4)+2] = 7
	write(t, labels[1], encode(t, "png", colour))
	if _, err := LoadLabelMap(labels[1], 20); err == nil || !strings.Contains(err.Error(), "its channels differ at x=5, y=4: R, G, B = 255, 255, 7") {
		t.Errorf("an RGB map whose B differs from R = G: %v", err)
	}
}
