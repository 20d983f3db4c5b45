package data

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gogan/cgo/torchtest"
)

func TestFacadesAligned(t *testing.T) {
	dir := facadesDir(t)
	for i, root := range []string{dir, filepath.Dir(dir)} { // .../train, or its parent with phase train
		cfg := DefaultConfig(Aligned)
		cfg.Root, cfg.Direction = root, "BtoA"
		if i > 0 {
			cfg.Validate = "header" // the full decode of all 400 is tested once
		}
		d, err := Open(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		a, b, u := d.Shape()
		if d.Len() != 400 || a != [3]int{3, 256, 256} || b != a || !u {
			t.Fatalf("%s: %d samples, shapes %v %v", root, d.Len(), a, b)
		}
	}
	// BtoA gives AtoB's pair swapped, with the same crop and flip.
	cfg := DefaultConfig(Aligned)
	cfg.Root, cfg.Validate = dir, "header"
	ab, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Direction = "BtoA"
	ba, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s1, err := ab.Sample(7, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ba.Sample(7, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s1.A.Pix, s2.B.Pix) || !slices.Equal(s1.B.Pix, s2.A.Pix) {
		t.Error("BtoA is not AtoB swapped")
	}
	if slices.Equal(s1.A.Pix, s1.B.Pix) {
		t.Error("A and B are the same image")
	}
}

// mirrorPair is an A|B image whose halves are the same asymmetric picture, so
// that A == B after the transform exactly when both got the same crop and flip.
func mirrorPair(w, h int) *image.NRGBA {
	im := image.NewNRGBA(image.Rect(0, 0, 2*w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA{uint8(x * 7), uint8(y * 5), uint8((x * y) % 251), 255}
			im.SetNRGBA(x, y, c)
			im.SetNRGBA(x+w, y, c)
		}
	}
	return im
}

func TestPairsShareCropAndFlip(t *testing.T) {
	dir := t.TempDir()
	for i := range 3 {
		write(t, filepath.Join(dir, "train", string(rune('a'+i))+".png"), encode(t, "png", mirrorPair(36, 30)))
	}
	cfg := DefaultConfig(Aligned)
	cfg.Root, cfg.LoadSize, cfg.CropSize = dir, 40, 24
	d, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for epoch := range uint64(20) {
		s, err := d.Sample(1, 9, epoch)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.A.Pix, s.B.Pix) {
			t.Fatalf("epoch %d: A and B differ: different crop or flip", epoch)
		}
		seen[string(s.A.Pix)] = true
	}
	if len(seen) < 10 {
		t.Errorf("only %d distinct crops in 20 epochs", len(seen))
	}
	// Same thing from two folders A/ and B/ with matching names; an unmatched
	// file is reported.
	two := t.TempDir()
	half := mirrorPair(36, 30).SubImage(image.Rect(0, 0, 36, 30))
	for _, n := range []string{"x.png", "y.png"} {
		write(t, filepath.Join(two, "A", n), encode(t, "png", half))
		write(t, filepath.Join(two, "B", n), encode(t, "png", half))
	}
	lonely := write(t, filepath.Join(two, "A", "z.png"), encode(t, "png", half))
	badA := write(t, filepath.Join(two, "A", "w.png"), []byte("not a png"))
	badB := write(t, filepath.Join(two, "B", "w.png"), nil)
	bigB := write(t, filepath.Join(two, "B", "v.png"), encode(t, "png", gradient(40, 30)))
	write(t, filepath.Join(two, "A", "v.png"), encode(t, "png", half))
	cfg.Root = two
	_, err = Open(context.Background(), cfg, nil)
	for _, want := range []string{
		lonely + ": no matching file z.png",
		badA + ": not a PNG image (text file?)",
		badB + ": empty file (0 bytes)",
		bigB + ": is 40x30 but its A image",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
	cfg.SkipInvalid = true
	d, err = Open(context.Background(), cfg, &OpenOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 2 {
		t.Errorf("two-folder pairs: %d", d.Len())
	}
	for epoch := range uint64(5) {
		s, err := d.Sample(0, 3, epoch)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.A.Pix, s.B.Pix) {
			t.Fatal("A/ B/ pairs: different crop or flip")
		}
	}
}

func TestUnaligned(t *testing.T) {
	dir := t.TempDir()
	for i := range 5 {
		write(t, filepath.Join(dir, "trainA", string(rune('a'+i))+".png"), encode(t, "png", gradient(30+i, 30)))
	}
	for i := range 3 {
		write(t, filepath.Join(dir, "trainB", string(rune('a'+i))+".jpg"), encode(t, "jpg", gradient(40, 30+i)))
	}
	cfg := DefaultConfig(Unaligned)
	cfg.Root, cfg.LoadSize, cfg.CropSize, cfg.OutputNC = dir, 32, 28, 1
	d, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b, _ := d.Shape()
	if d.Len() != 5 || a != [3]int{3, 28, 28} || b != [3]int{1, 28, 28} {
		t.Fatalf("len %d shapes %v %v", d.Len(), a, b)
	}
	s, err := d.Sample(4, 0, 0)
	if err != nil || s.A.C != 3 || s.B.C != 1 {
		t.Fatalf("%v %v", s, err)
	}
	// Kept on a device: each stream's images once, at their own channels.
	set, _, _, _ := checkExport(t, d, 5)
	if got, want := shapes(set), "A[5 3 32 32] B[3 1 32 32]"; got != want {
		t.Errorf("export: %s, want %s", got, want)
	}
}

func TestDerivedPairs(t *testing.T) {
	fashionRoot(t)
	cfg := DefaultConfig(Edges)
	cfg.LoadSize, cfg.CropSize, cfg.MaxSamples = 36, 32, 100
	for _, det := range []string{"canny", "sobel"} {
		cfg.EdgeDetector = det
		d, err := Open(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		a, b, _ := d.Shape()
		if a != [3]int{1, 32, 32} || b != a {
			t.Fatalf("shapes %v %v", a, b)
		}
		dark := 0
		for i := range 20 {
			s, err := d.Sample(i, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range s.A.Pix {
				if v < 128 {
					dark++
				}
			}
		}
		frac := float64(dark) / (20 * 32 * 32)
		t.Logf("%s: %.1f%% edge pixels", det, 100*frac)
		if frac < 0.02 || frac > 0.5 {
			t.Errorf("%s: %.3f of pixels are edges", det, frac)
		}
	}
	// gray2color from a colour folder: A is PIL's L of B.
	dir := t.TempDir()
	write(t, filepath.Join(dir, "c.png"), encode(t, "png", gradient(40, 40)))
	g := DefaultConfig(Gray2Color)
	g.Root, g.Source, g.LoadSize, g.CropSize = dir, Folder, 36, 32
	d, err := Open(context.Background(), g, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := d.Sample(0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.A.C != 1 || s.B.C != 3 || !slices.Equal(s.A.Pix, toGray(s.B).Pix) {
		t.Errorf("gray2color: A %v B %v", s.A, s.B)
	}
}

// TestDerivedPairsBtoA: gray2color and edges with data.direction BtoA from
// DefaultConfig: the photo is the input (Batch A, its channels) and the
// gray image or edge map the 1-channel target. DefaultConfig set InputNC 1
// for them whatever the direction, so BtoA swapped the sides' channels: a
// 1-channel photo in and a 3-channel gray image as the target.
func TestDerivedPairsBtoA(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "c.png"), encode(t, "png", gradient(40, 40)))
	for _, kind := range []string{Gray2Color, Edges} {
		g := DefaultConfig(kind)
		g.Root, g.Source, g.LoadSize, g.CropSize, g.Direction = dir, Folder, 36, 32, "BtoA"
		d, err := Open(context.Background(), g, nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := d.Sample(0, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if a, b, _ := d.Shape(); s.A.C != 3 || s.B.C != 1 || a[0] != 3 || b[0] != 1 {
			t.Errorf("%s BtoA: A %d channels, B %d (shapes %v %v); want the photo's 3 in, 1 out", kind, s.A.C, s.B.C, a, b)
		}
		if kind == Gray2Color && !slices.Equal(s.B.Pix, toGray(s.A).Pix) {
			t.Errorf("gray2color BtoA: B is not the gray of A")
		}
		// a channel count given for the map's side is its own (the
		// reference's edges2shoes has 3-channel edge maps)
		for _, way := range []string{"AtoB", "BtoA"} {
			g := DefaultConfig(kind)
			g.Root, g.Source, g.LoadSize, g.CropSize, g.Direction = dir, Folder, 36, 32, way
			if way == "AtoB" {
				g.InputNC = 3
			} else {
				g.OutputNC = 3
			}
			d, err := Open(context.Background(), g, nil)
			if err != nil {
				t.Fatal(err)
			}
			if a, b, _ := d.Shape(); a[0] != 3 || b[0] != 3 {
				t.Errorf("%s %s with the map's side given 3 channels: shapes %v %v, want 3 and 3", kind, way, a, b)
			}
		}
	}
}

func TestInMemory(t *testing.T) {
	dir := facadesDir(t)
	cfg := DefaultConfig(Aligned)
	cfg.Root, cfg.MaxSamples = dir, 20
	disk, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.InMemory = true
	mem, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		s1, _ := disk.Sample(i, 5, 1)
		s2, _ := mem.Sample(i, 5, 1)
		if !slices.Equal(s1.A.Pix, s2.A.Pix) || !slices.Equal(s1.B.Pix, s2.B.Pix) {
			t.Fatalf("sample %d differs in memory", i)
		}
	}
}

// A data.root with folders of other splits but none for data.phase is
// refused, for every layout: reading all of data.root would train on the
// test split too. A folder of images with no split folders is read as it is.
func TestMissingPhaseIsRefused(t *testing.T) {
	ab := encode(t, "png", gradient(64, 32))
	img := encode(t, "png", gradient(32, 32))
	cases := []struct {
		name    string
		kind    string
		files   []string
		refused string // "" = opens
	}{
		{"aligned train/ test/", Aligned, []string{"train/a.png", "test/b.png"}, "has train/ and test/ but no val/: set data.phase (gogan eval and features: --phase) to a split it has (train or test), or make val/ holding the val split"},
		{"aligned train/", Aligned, []string{"train/a.png"}, "has train/ but no val/"},
		{"aligned A/train B/train", Aligned, []string{"A/train/a.png", "B/train/a.png"}, "has train/ but no val/"},
		{"aligned train_A train_B", Aligned, []string{"train_A/a.png", "train_B/a.png"}, "has train_A/ but no val_A/: set data.phase (gogan eval and features: --phase) to a split it has (train), or make val_A/ and val_B/ holding the val split"},
		{"aligned flat", Aligned, []string{"a.png", "b.png"}, ""},
		{"aligned A/val B/", Aligned, []string{"A/val/a.png", "B/a.png"}, "is a split folder but"},
		{"aligned val/", Aligned, []string{"train/a.png", "val/b.png"}, ""},
		{"unaligned trainA trainB", Unaligned, []string{"trainA/a.png", "trainB/a.png"}, "has trainA/ but no valA/: set data.phase (gogan eval and features: --phase) to a split it has (train), or make valA/ and valB/ holding the val split"},
		{"unaligned A/train B/train", Unaligned, []string{"A/train/a.png", "B/train/a.png"}, "has train/ but no val/"},
		{"unaligned A|B train/", Unaligned, []string{"train/a.png", "test/a.png"}, "has train/ and test/ but no val/"},
		{"unaligned A|B flat", Unaligned, []string{"a.png"}, ""},
		// CycleGAN's layout is no A|B pairs, whatever the split
		{"aligned trainA trainB", Aligned, []string{"trainA/a.png", "trainB/a.png"}, "has trainA/, trainB/, CycleGAN's unpaired domains, but no val/ of A|B pairs"},
		{"aligned trainA valA valB", Aligned, []string{"trainA/a.png", "valA/a.png", "valB/b.png"}, "has trainA/, valA/, valB/, CycleGAN's"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				b := ab
				if strings.Contains(f, "A/") || strings.Contains(f, "B/") || strings.Contains(f, "_A") || strings.Contains(f, "_B") {
					b = img
				}
				write(t, filepath.Join(dir, f), b)
			}
			cfg := DefaultConfig(tc.kind)
			cfg.Root, cfg.Phase, cfg.LoadSize, cfg.CropSize = dir, "val", 32, 32
			d, err := Open(context.Background(), cfg, nil)
			if tc.refused == "" {
				if err != nil {
					t.Fatal(err)
				}
				d.Close()
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || (ce.Key != "data.phase" && ce.Key != "data.root") || !strings.Contains(err.Error(), tc.refused) {
				t.Fatalf("want a data.phase or data.root error saying %q, got %v", tc.refused, err)
			}
		})
	}
}

// TestBtoAOnPix2PixHDFolders: pix2pixHD's {phase}_A/{phase}_B folders read
// with data.direction=BtoA swap them (as asked) with a warning that
// pix2pixHD goes from _A to _B; AtoB says nothing.
func TestBtoAOnPix2PixHDFolders(t *testing.T) {
	dir := t.TempDir()
	img := encode(t, "png", gradient(32, 32))
	write(t, filepath.Join(dir, "train_A", "a.png"), img)
	write(t, filepath.Join(dir, "train_B", "a.png"), img)
	for _, direction := range []string{"AtoB", "BtoA"} {
		cfg := DefaultConfig(Aligned)
		cfg.Root, cfg.LoadSize, cfg.CropSize, cfg.Direction = dir, 32, 32, direction
		var logs bytes.Buffer
		d, err := Open(context.Background(), cfg, &OpenOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		d.Close()
		warned := strings.Contains(logs.String(), "pix2pixHD, which has no direction, always goes from train_A/ to train_B/")
		if warned != (direction == "BtoA") {
			t.Errorf("%s: warning %v:\n%s", direction, warned, logs.String())
		}
	}
}

// TestPairsInTwoFolders: aligned data of data.label_nc 0 keeps its pairs in
// two folders where openAligned reads {phase}_A/ and {phase}_B/ (either one
// there is that layout) or A/ and B/ (both), else A|B images.
func TestPairsInTwoFolders(t *testing.T) {
	for _, c := range []struct {
		dirs []string
		want bool
	}{
		{[]string{"train_A", "train_B"}, true},
		{[]string{"train_A"}, true},
		{[]string{"train_B"}, true},
		{[]string{"A", "B"}, true},
		{[]string{"A"}, false},
		{[]string{"train"}, false},
		{[]string{"test_A", "test_B"}, false},
		{nil, false},
	} {
		root := t.TempDir()
		for _, d := range c.dirs {
			if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if got := PairsInTwoFolders(root, "train"); got != c.want {
			t.Errorf("folders %v: PairsInTwoFolders = %v, want %v", c.dirs, got, c.want)
		}
	}
}

// TestMissingRootSaysHowToFetch: a data.root named as a dataset the
// references download, missing, names the command that fetches it.
func TestMissingRootSaysHowToFetch(t *testing.T) {
	base := t.TempDir()
	for _, c := range []struct {
		kind, root string
		labels     int
		want       string
	}{
		{Aligned, "facades", 0, "scripts/download-dataset facades fetches it"},
		{Aligned, "cityscapes", 35, "scripts/download-dataset cityscapes-hd"},
		{Unaligned, "horse2zebra", 0, "scripts/download-dataset cyclegan horse2zebra fetches it"},
		{Aligned, "mine", 0, "no such folder"},
	} {
		cfg := DefaultConfig(c.kind)
		cfg.Root, cfg.LabelNC = filepath.Join(base, c.root), c.labels
		if c.labels > 0 {
			cfg.InputNC = 1
		}
		_, err := Open(context.Background(), cfg, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "no such folder") {
			t.Errorf("%s %s: %v, want %q", c.kind, c.root, err, c.want)
		}
	}
}

// TestUnlistedExtensionsWarned: the references' make_dataset lists only
// its IMG_EXTENSIONS, matched case-sensitively (pytorch-CycleGAN-and-pix2pix:
// .jpg .JPG ... .tif .TIFF; pix2pixHD: no .tif, only .tiff); gogan's scan
// also takes .Png, .gif, .webp, .pgm, .pnm and .tif for pix2pixHD's
// layout. Such files are read, with a warning that names one and says the
// reference's run would leave them out; folders of listed names get none.
func TestUnlistedExtensionsWarned(t *testing.T) {
	png1 := encode(t, "png", gradient(40, 20))
	root := t.TempDir()
	for _, n := range []string{"a.jpg", "b.Png", "c.gif", "d.PNG", "e.png"} {
		b := png1
		if n == "c.gif" {
			b = encode(t, "gif", gradient(40, 20))
		}
		write(t, filepath.Join(root, "train", n), b)
	}
	clean := t.TempDir()
	for _, n := range []string{"a.PNG", "b.png", "c.JPEG"} {
		write(t, filepath.Join(clean, "train", n), png1)
	}
	hd := t.TempDir()
	for _, side := range []string{"train_A", "train_B"} {
		write(t, filepath.Join(hd, side, "1.png"), encode(t, "png", gradient(20, 20)))
		write(t, filepath.Join(hd, side, "2.tif"), encode(t, "tif", gradient(20, 20)))
	}
	// one such file is "it", not "1 of the images ... have extensions"
	one := t.TempDir()
	for _, n := range []string{"a.jpg", "b.Jpg"} {
		write(t, filepath.Join(one, "train", n), png1)
	}
	for _, c := range []struct {
		root, want, them string
	}{
		{root, "2 of the images under " + filepath.Join(root, "train") + " have extensions that pytorch-CycleGAN-and-pix2pix's make_dataset does not list", "them"},
		{clean, "", ""},
		{hd, "2 of the images under " + hd + " have extensions that pix2pixHD's make_dataset does not list", "them"},
		{one, "1 of the images under " + filepath.Join(one, "train") + " has an extension that pytorch-CycleGAN-and-pix2pix's make_dataset does not list (.jpg .JPG .jpeg .JPEG .png .PNG .ppm .PPM .bmp .BMP .tif .TIF .tiff .TIFF, case-sensitive), " +
			filepath.Join(one, "train", "b.Jpg") + ": gogan reads it", "it"},
	} {
		logs := torchtest.CaptureLogs(t)
		cfg := DefaultConfig(Aligned)
		cfg.Root, cfg.LoadSize, cfg.CropSize = c.root, 20, 16
		d, err := Open(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		n := d.Len()
		d.Close()
		got := logs.String()
		if c.want == "" {
			if strings.Contains(got, "make_dataset does not list") {
				t.Errorf("%s: warned of listed extensions: %s", c.root, got)
			}
			continue
		}
		if !strings.Contains(got, c.want) || !strings.Contains(got, "the reference's run would leave "+c.them+" out; rename or convert "+c.them+" to train") {
			t.Errorf("%s: logs %q, want a warning saying %q", c.root, got, c.want)
		}
		if want := map[string]int{root: 5, hd: 2, one: 2}[c.root]; n != want {
			t.Errorf("%s: %d samples, want %d (the files are still read)", c.root, n, want)
		}
	}
}

// TestPairFoldersByStem: pairs kept in two folders whose files differ only in
// their extension (a sketch a.png, its photo a.jpg; B.PNG and B.png) pair
// up, as they pair by name when the extensions agree; a stem that names two
// files on a side (c.png beside c.jpg in B/) pairs by the exact name alone,
// and the rest are lone files.
func TestPairFoldersByStem(t *testing.T) {
	dir := t.TempDir()
	im := gradient(24, 24)
	for _, f := range []string{"A/train/a.png", "A/train/B.PNG", "A/train/c.png", "A/train/d.png", "A/train/e.png"} {
		write(t, filepath.Join(dir, f), encode(t, "png", im))
	}
	write(t, filepath.Join(dir, "B/train/a.jpg"), encode(t, "jpg", im))
	for _, f := range []string{"B/train/B.png", "B/train/c.png", "B/train/c.jpg", "B/train/e.jpg", "B/train/e.webp"} {
		write(t, filepath.Join(dir, f), encode(t, "png", im))
	}
	cfg := DefaultConfig(Aligned)
	cfg.Root, cfg.LoadSize, cfg.CropSize = dir, 24, 16
	// the lone files of A/ and B/ are named under the folder holding both
	if _, err := Open(context.Background(), cfg, nil); err == nil || !strings.HasPrefix(err.Error(), "data: "+dir+": 5 invalid files") {
		t.Errorf("want the lone files named under %s, got %v", dir, err)
	}
	cfg.SkipInvalid = true
	d, err := Open(context.Background(), cfg, &OpenOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, f := range d.files {
		ra, _ := filepath.Rel(dir, f)
		rb, _ := filepath.Rel(dir, d.filesB[i])
		got = append(got, ra+"="+rb)
	}
	want := []string{"A/train/B.PNG=B/train/B.png", "A/train/a.png=B/train/a.jpg", "A/train/c.png=B/train/c.png"}
	if !slices.Equal(got, want) {
		t.Errorf("pairs %q, want %q", got, want)
	}
	var lone []string
	for _, f := range d.Skipped() {
		r, _ := filepath.Rel(dir, f.Path)
		lone = append(lone, r)
	}
	slices.Sort(lone)
	if wantLone := []string{"A/train/d.png", "A/train/e.png", "B/train/c.jpg", "B/train/e.jpg", "B/train/e.webp"}; !slices.Equal(lone, wantLone) {
		t.Errorf("lone files %q, want %q", lone, wantLone)
	}
}

// TestColorizationWarnsOfGrayPhotos: a gray photo among a colorization
// run's colour ones (a 1-channel JPEG, or an RGB file of R = G = B) is
// trained on as the reference trains on it, with ab targets of 0, which
// teach the generator to leave photos gray: a warning names such files,
// whether the files are decoded at open or only their headers read.
func TestColorizationWarnsOfGrayPhotos(t *testing.T) {
	dir := t.TempDir()
	g := gradient(40, 32)
	gray := image.NewGray(g.Rect)
	draw.Draw(gray, gray.Rect, g, image.Point{}, draw.Src)
	grayRGB := image.NewNRGBA(g.Rect)
	draw.Draw(grayRGB, grayRGB.Rect, gray, image.Point{}, draw.Src)
	write(t, filepath.Join(dir, "train", "colour.png"), encode(t, "png", g))
	write(t, filepath.Join(dir, "train", "bw.jpg"), encode(t, "jpg", gray))
	write(t, filepath.Join(dir, "train", "sub", "scan.png"), encode(t, "png", grayRGB))
	for _, c := range []struct {
		validate string
		want     string
	}{
		{"full", "2 of 3 photos under " + filepath.Join(dir, "train") + " are gray"},
		{"header", "1 of 3 photos under " + filepath.Join(dir, "train") + " are gray"}, // the JPEG's one component
	} {
		cfg := DefaultConfig(Colorization)
		cfg.Root, cfg.LoadSize, cfg.CropSize, cfg.Validate = dir, 32, 32, c.validate
		var logs bytes.Buffer
		d, err := Open(context.Background(), cfg, &OpenOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		d.Close()
		if !strings.Contains(logs.String(), c.want) || !strings.Contains(logs.String(), "bw.jpg") || strings.Contains(logs.String(), "colour.png") {
			t.Errorf("validate %s: want a warning saying %q, naming bw.jpg and not colour.png:\n%s", c.validate, c.want, logs.String())
		}
	}
	// scoring a trained generator on them says nothing
	cfg := DefaultConfig(Colorization)
	cfg.Root, cfg.LoadSize, cfg.CropSize, cfg.Trained = dir, 32, 32, "run"
	var logs bytes.Buffer
	d, err := Open(context.Background(), cfg, &OpenOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if strings.Contains(logs.String(), "gray") {
		t.Errorf("eval's data warn of gray photos:\n%s", logs.String())
	}
}
