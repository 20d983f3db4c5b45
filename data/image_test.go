package data

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gogan/cgo/torchtest"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

func gradient(w, h int) *image.NRGBA {
	im := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			im.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / max(1, w-1)), uint8(y * 255 / max(1, h-1)), 100, 255})
		}
	}
	return im
}

func encode(t testing.TB, format string, im image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, im)
	case "jpg":
		err = jpeg.Encode(&b, im, &jpeg.Options{Quality: 95})
	case "gif":
		err = gif.Encode(&b, im, nil)
	case "bmp":
		err = bmp.Encode(&b, im)
	case "tif":
		err = tiff.Encode(&b, im, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func write(t testing.TB, path string, b []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func px(im *Image, x, y int) []uint8 { return im.Pix[(y*im.W+x)*im.C : (y*im.W+x+1)*im.C] }

func TestFormats(t *testing.T) {
	dir := t.TempDir()
	src := gradient(20, 10)
	for _, f := range []string{"png", "gif", "bmp", "tif", "jpg"} {
		p := write(t, filepath.Join(dir, "x."+f), encode(t, f, src))
		im, err := LoadImage(p, 3)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if im.W != 20 || im.H != 10 || im.C != 3 {
			t.Fatalf("%s: got %v", f, im)
		}
		got := px(im, 19, 9)
		tol := 0
		if f == "jpg" || f == "gif" { // lossy, palette
			tol = 40
		}
		for k, want := range []int{255, 255, 100} {
			if d := int(got[k]) - want; d > tol || d < -tol {
				t.Errorf("%s: pixel (19,9) = %v, want ~[255 255 100]", f, got)
				break
			}
		}
	}
	// WebP (lossless fixture made by testdata/make.py).
	im, err := LoadImage("testdata/rgb.webp", 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := px(im, 5, 5); got[0] != 80 || got[1] != 100 || got[2] != 128 {
		t.Errorf("webp pixel (5,5) = %v, want [80 100 128]", got)
	}
}

func TestConversions(t *testing.T) {
	dir := t.TempDir()
	// 16-bit gray: PIL's mode I, clipped to 255 as its convert('RGB') does.
	g16 := image.NewGray16(image.Rect(0, 0, 4, 4))
	g16.SetGray16(1, 1, color.Gray16{Y: 0x8042})
	g16.SetGray16(2, 2, color.Gray16{Y: 0x00c8})
	g16.SetGray16(3, 3, color.Gray16{Y: 0x0100})
	im, err := LoadImage(write(t, filepath.Join(dir, "g16.png"), encode(t, "png", g16)), 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ x, want int }{{0, 0}, {1, 255}, {2, 200}, {3, 255}} {
		if got := px(im, c.x, c.x); int(got[0]) != c.want || got[1] != got[0] || got[2] != got[0] {
			t.Errorf("16-bit gray at (%d,%d) -> %v, want %d", c.x, c.x, got, c.want)
		}
	}
	// 16-bit RGB with alpha.
	c64 := image.NewNRGBA64(image.Rect(0, 0, 4, 4))
	c64.SetNRGBA64(0, 0, color.NRGBA64{R: 0xff00, G: 0x1234, B: 0x0001, A: 0x8000})
	im, err = LoadImage(write(t, filepath.Join(dir, "c16.png"), encode(t, "png", c64)), 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := px(im, 0, 0); got[0] != 0xff || got[1] != 0x12 || got[2] != 0 {
		t.Errorf("16-bit RGBA -> %v, want [255 18 0]", got)
	}
	// Alpha is dropped, as PIL's convert('RGB') does: a fully transparent
	// pixel keeps its colour.
	a := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	a.SetNRGBA(0, 0, color.NRGBA{200, 100, 50, 0})
	a.SetNRGBA(1, 0, color.NRGBA{10, 20, 30, 128})
	im, err = LoadImage(write(t, filepath.Join(dir, "alpha.png"), encode(t, "png", a)), 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := px(im, 0, 0); got[0] != 200 || got[1] != 100 || got[2] != 50 {
		t.Errorf("transparent pixel -> %v, want [200 100 50]", got)
	}
	if got := px(im, 1, 0); got[0] != 10 || got[1] != 20 || got[2] != 30 {
		t.Errorf("half-transparent pixel -> %v, want [10 20 30]", got)
	}
	// Gray to RGB replicates; RGB to gray is PIL's L.
	g := image.NewGray(image.Rect(0, 0, 2, 2))
	g.SetGray(1, 0, color.Gray{77})
	im, err = LoadImage(write(t, filepath.Join(dir, "gray.png"), encode(t, "png", g)), 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := px(im, 1, 0); got[0] != 77 || got[1] != 77 || got[2] != 77 {
		t.Errorf("gray to RGB -> %v", got)
	}
	// A grayscale JPEG (Go's encoder writes one component for *image.Gray).
	gj := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range gj.Pix {
		gj.Pix[i] = 150
	}
	im, err = LoadImage(write(t, filepath.Join(dir, "gray.jpg"), encode(t, "jpg", gj)), 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := px(im, 8, 8); got[0] != got[1] || got[1] != got[2] || got[0] < 148 || got[0] > 152 {
		t.Errorf("gray JPEG to RGB -> %v, want ~150 x3", got)
	}
	rgb := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	rgb.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 255})
	im, err = LoadImage(write(t, filepath.Join(dir, "red.png"), encode(t, "png", rgb)), 1)
	if err != nil {
		t.Fatal(err)
	}
	if im.C != 1 || im.Pix[0] != 76 { // PIL: Image.new('RGB',(1,1),(255,0,0)).convert('L') == 76
		t.Errorf("red to L -> %v %v, want 76", im, im.Pix)
	}
	// CMYK JPEG (Adobe, inverted), converted with PIL's formula.
	im, err = LoadImage("testdata/cmyk.jpg", 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		x, y int
		want [3]int
	}{{2, 2, [3]int{255, 0, 0}}, {12, 2, [3]int{0, 127, 127}}, {12, 12, [3]int{255, 255, 255}}} {
		got := px(im, c.x, c.y)
		for k := range 3 {
			if d := int(got[k]) - c.want[k]; d > 3 || d < -3 {
				t.Errorf("CMYK pixel (%d,%d) -> %v, PIL gives %v", c.x, c.y, got, c.want)
				break
			}
		}
	}
}

// badFolder writes one good image and one of each kind of bad file.
func badFolder(t *testing.T) (dir string, bad map[string]string) {
	dir = t.TempDir()
	jpg := encode(t, "jpg", gradient(64, 48))
	write(t, filepath.Join(dir, "good.jpg"), jpg)
	write(t, filepath.Join(dir, "sub", "good2.png"), encode(t, "png", gradient(40, 40)))
	write(t, filepath.Join(dir, "notes.txt"), []byte("ignored: not an image extension"))
	bad = map[string]string{
		write(t, filepath.Join(dir, "empty.jpg"), nil):                                "empty file (0 bytes)",
		write(t, filepath.Join(dir, "truncated.jpg"), jpg[:len(jpg)/2]):               "truncated JPEG image",
		write(t, filepath.Join(dir, "sub", "text.png"), []byte("hello, I am text\n")): "not a PNG image (text file?)",
		// a Mac's copy of good.jpg's Finder metadata
		write(t, filepath.Join(dir, "._good.jpg"), append([]byte{0, 5, 0x16, 7, 0, 2, 0, 0}, make([]byte, 4088)...)): "a macOS AppleDouble file, not an image: the Finder's metadata of good.jpg, which a copy from a Mac leaves beside it as ._NAME; delete these files (find " + dir + " -name '._*' -delete)",
	}
	return dir, bad
}

// TestNonRegularFilesRefused: a named pipe and a link to a device with
// image names are refused by name in full and header validation, and as
// maps, where reading them would block for ever or never end; a link to
// nothing says so (not "stat gone.jpg: no such file", of a file listed).
func TestNonRegularFilesRefused(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "good.jpg"), encode(t, "jpg", gradient(64, 48)))
	fifo := filepath.Join(dir, "fifo.jpg")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero.png")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	gone, moved := filepath.Join(dir, "gone.jpg"), filepath.Join(t.TempDir(), "moved.jpg")
	if err := os.Symlink(moved, gone); err != nil {
		t.Fatal(err)
	}
	for _, validate := range []string{"full", "header"} {
		cfg := DefaultConfig(Folder)
		cfg.Root, cfg.ImageSize, cfg.Validate = dir, 32, validate
		done := make(chan error, 1)
		go func() {
			_, err := Open(context.Background(), cfg, nil)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), fifo+": is a named pipe (FIFO)") || !strings.Contains(err.Error(), zero+": is a device") ||
				!strings.Contains(err.Error(), gone+": is a link to "+moved+", which does not exist") {
				t.Errorf("validate %s: %v, want the three named", validate, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("validate %s: Open still reading after 30 s", validate)
		}
	}
	if _, err := LoadInstanceMap(fifo); err == nil || !strings.Contains(err.Error(), "named pipe") {
		t.Errorf("a named pipe as an instance map: %v", err)
	}
}

func TestBadFilesReportedTogether(t *testing.T) {
	dir, bad := badFolder(t)
	cfg := DefaultConfig(Folder)
	cfg.Root, cfg.ImageSize = dir, 32
	last, total := 0, 0
	_, err := Open(context.Background(), cfg, &OpenOptions{Progress: func(stage string, done, n int) {
		last, total = max(last, done), n
	}})
	if last != 6 || total != 6 {
		t.Errorf("progress reached %d of %d, want 6 of 6", last, total)
	}
	var ie *InvalidFilesError
	if !errors.As(err, &ie) {
		t.Fatalf("want *InvalidFilesError, got %v", err)
	}
	if len(ie.Files) != len(bad) {
		t.Errorf("got %d invalid files, want %d:\n%v", len(ie.Files), len(bad), err)
	}
	for path, want := range bad {
		if !strings.Contains(err.Error(), path+": "+want) {
			t.Errorf("error does not say %q for %s:\n%v", want, path, err)
		}
	}
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Errorf("errors.As(*FileError) fails on %T", err)
	}
	t.Logf("%v", err)
}

// TestInvalidFilesCapped: a folder of many invalid files names the first
// ten, then counts the rest by reason (a ._NAME file's reason, which names
// its image, grouped with the others'), and gives a crop's advice once at
// the end: a crop too large listed every file of the dataset, 400 lines
// for facades.
func TestInvalidFilesCapped(t *testing.T) {
	dir := t.TempDir()
	jpg := encode(t, "jpg", gradient(64, 48))
	write(t, filepath.Join(dir, "good.jpg"), jpg)
	for i := range 15 {
		write(t, filepath.Join(dir, fmt.Sprintf("e%02d.jpg", i)), nil)
	}
	for i := range 4 {
		write(t, filepath.Join(dir, fmt.Sprintf("t%d.jpg", i)), jpg[:len(jpg)/2])
	}
	for i := range 3 {
		write(t, filepath.Join(dir, "z", fmt.Sprintf("._g%d.jpg", i)), append([]byte{0, 5, 0x16, 7, 0, 2, 0, 0}, make([]byte, 4088)...))
	}
	cfg := DefaultConfig(Folder)
	cfg.Root, cfg.ImageSize = dir, 32
	_, err := Open(context.Background(), cfg, nil)
	var ie *InvalidFilesError
	if !errors.As(err, &ie) || len(ie.Files) != 22 {
		t.Fatalf("want all 22 invalid files, got %v", err)
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		"data: " + dir + ": 22 invalid files (set data.skip_invalid to skip them):",
		"  " + filepath.Join(dir, "e00.jpg") + ": empty file (0 bytes)",
		"  " + filepath.Join(dir, "e09.jpg") + ": empty file (0 bytes)",
		"  and 12 more files:",
		"    5 files: empty file (0 bytes)",
		"    4 files: truncated JPEG image",
		"    3 files like " + filepath.Join(dir, "z", "._g0.jpg") + ": a macOS AppleDouble file, not an image: the Finder's metadata of g0.jpg",
	}
	if len(lines) != 15 || lines[0] != want[0] || lines[1] != want[1] || lines[10] != want[2] || lines[11] != want[3] ||
		lines[12] != want[4] || !strings.HasPrefix(lines[13], want[5]) || !strings.HasPrefix(lines[14], want[6]) {
		t.Errorf("got\n%v\nwant 15 lines, as\n%s", err, strings.Join(want, "\n"))
	}

	// One reason for all: one line for the rest, the advice once.
	dir = t.TempDir()
	for i := range 30 {
		write(t, filepath.Join(dir, fmt.Sprintf("%02d.png", i)), encode(t, "png", gradient(40, 40)))
	}
	cfg = DefaultConfig(Folder)
	cfg.Root, cfg.Preprocess, cfg.CropSize, cfg.ImageSize = dir, Crop, 64, 64
	_, err = Open(context.Background(), cfg, nil)
	lines = strings.Split(fmt.Sprint(err), "\n")
	rest := "  and 20 more files, each: data.crop_size 64 is larger than the image 40x40"
	if len(lines) != 13 || lines[11] != rest || !strings.HasPrefix(lines[12], "give data.crop_size at most 40") ||
		strings.Count(fmt.Sprint(err), "give data.crop_size") != 1 {
		t.Errorf("got\n%v\nwant 10 files, then %q and the advice", err, rest)
	}
}

func TestSkipInvalid(t *testing.T) {
	dir, bad := badFolder(t)
	cfg := DefaultConfig(Folder)
	cfg.Root, cfg.ImageSize, cfg.SkipInvalid = dir, 32, true
	var logs bytes.Buffer
	d, err := Open(context.Background(), cfg, &OpenOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 2 || len(d.Skipped()) != len(bad) {
		t.Errorf("got %d samples, %d skipped; want 2, %d", d.Len(), len(d.Skipped()), len(bad))
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("want one warning, got %d:\n%s", n, logs.String())
	}
	for path := range bad {
		if !strings.Contains(logs.String(), path) {
			t.Errorf("warning does not list %s", path)
		}
	}
}

// TestHeaderValidation: with data.validate header a truncated JPEG passes the
// open and fails when a worker decodes it; with skip_invalid the next file
// takes its place.
func TestHeaderValidation(t *testing.T) {
	dir := t.TempDir()
	jpg := encode(t, "jpg", gradient(64, 48))
	write(t, filepath.Join(dir, "a.jpg"), jpg)
	trunc := write(t, filepath.Join(dir, "b.jpg"), jpg[:len(jpg)*2/3])
	cfg := DefaultConfig(Folder)
	cfg.Root, cfg.ImageSize, cfg.Validate, cfg.BatchSize, cfg.Shuffle = dir, 32, "header", 2, false
	d, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("header validation should pass a truncated JPEG: %v", err)
	}
	_, err = d.Sample(1, 0, 0)
	if err == nil || !strings.Contains(err.Error(), trunc) || !strings.Contains(err.Error(), "JPEG") {
		t.Errorf("want an error naming %s, got %v", trunc, err)
	}
	cfg.SkipInvalid = true
	var logs bytes.Buffer
	d, err = Open(context.Background(), cfg, &OpenOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLoader(d, d.Config().LoaderOptions(1))
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l.Close() // the workers are done writing to logs
	if b.N() != 2 || !strings.Contains(logs.String(), trunc) {
		t.Errorf("batch of %d; log %q", b.N(), logs.String())
	}
}

// TestLinksToFoldersAreNamed: a link to a folder below the root is not
// followed (the references' os.walk), as before, but no longer unsaid: a
// folder of only such links says it holds them (it called each a file
// "without an ending"), and one that has images too warns that the
// linked folders' images are left out. A link named x.png to a folder is
// not taken for an image.
func TestLinksToFoldersAreNamed(t *testing.T) {
	elsewhere := t.TempDir()
	write(t, filepath.Join(elsewhere, "a.png"), []byte{1})
	root := t.TempDir()
	for _, name := range []string{"city1", "city2.png"} {
		if err := os.Symlink(elsewhere, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig(Folder)
	cfg.Root = root
	_, err := Open(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "folder holds no images") ||
		!strings.Contains(err.Error(), "it holds no files, only 2 links to folders, which the walk does not follow (as the references' os.walk)") {
		t.Errorf("a folder of links to folders: %v", err)
	}
	logs := torchtest.CaptureLogs(t)
	own := write(t, filepath.Join(root, "sub", "b.png"), encode(t, "png", image.NewGray(image.Rect(0, 0, 4, 4))))
	files, err := ImagesUnder(root)
	if err != nil || len(files) != 1 || files[0] != own {
		t.Errorf("ImagesUnder: %v, %v; want only %s", files, err, own)
	}
	if !strings.Contains(logs.String(), "links to folders under "+root+" are not followed") || !strings.Contains(logs.String(), "links=2") {
		t.Errorf("no warning of the links left out: %q", logs.String())
	}
}

func TestMissingAndEmptyFolders(t *testing.T) {
	cfg := DefaultConfig(Folder)
	cfg.Root = filepath.Join(t.TempDir(), "nope")
	_, err := Open(context.Background(), cfg, nil)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "data.root" || !strings.Contains(err.Error(), "no such folder") || !strings.Contains(err.Error(), cfg.Root) {
		t.Errorf("missing folder: %v", err)
	}
	empty := t.TempDir()
	write(t, filepath.Join(empty, "readme.txt"), []byte("no images here"))
	cfg.Root = empty
	_, err = Open(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), empty+": folder holds no images") || !strings.Contains(err.Error(), "; it holds 1 file: 1 .txt") {
		t.Errorf("empty folder: %v", err)
	}
	// what it holds instead, most first: a phone's HEIC photos
	heic := t.TempDir()
	for i, name := range []string{"a.HEIC", "b.heic", "c.heic", "d.jfif", "notes", "e.avif", "f.x1", "g.x2", ".hidden", ".git/objects/ab", ".git/HEAD"} {
		write(t, filepath.Join(heic, "sub", name), []byte{byte(i)})
	}
	cfg.Root = heic
	if _, err = Open(context.Background(), cfg, nil); err == nil ||
		!strings.Contains(err.Error(), "; it holds 8 files: 3 .heic, 1 .avif, 1 .jfif, 1 .x1, 2 of other endings") {
		t.Errorf("a folder of HEIC photos: %v", err)
	}
	cfg.Root = t.TempDir()
	if _, err = Open(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), "folder holds no images") || !strings.Contains(err.Error(), "; it holds no files") {
		t.Errorf("a folder of nothing: %v", err)
	}
	// a data.root that is a link to such a folder (read as the folder, as
	// os.walk reads it) says what the folder holds, not the link
	linked := t.TempDir()
	for _, name := range []string{"a.heic", "b.heic", "c.a", "d.b", "e.c", "f.d"} {
		write(t, filepath.Join(linked, name), []byte{1})
	}
	link := filepath.Join(t.TempDir(), "photos")
	if err := os.Symlink(linked, link); err != nil {
		t.Fatal(err)
	}
	cfg.Root = link
	if _, err = Open(context.Background(), cfg, nil); err == nil ||
		!strings.Contains(err.Error(), link+": folder holds no images") || !strings.Contains(err.Error(), "; it holds 6 files: 2 .heic, 1 .a, 1 .b, 1 .c, 1 of other endings") {
		t.Errorf("a link to a folder of HEIC photos: %v", err)
	}
	archive := write(t, filepath.Join(empty, "facades.tar.gz"), []byte("\x1f\x8b not really"))
	for _, kind := range []string{Aligned, Unaligned} {
		c := DefaultConfig(kind)
		c.Root = empty
		if _, err := Open(context.Background(), c, nil); err == nil || !strings.Contains(err.Error(), empty) {
			t.Errorf("%s on an empty folder: %v", kind, err)
		}
		c.Root = archive
		if _, err := Open(context.Background(), c, nil); err == nil || !strings.Contains(err.Error(), archive) || !strings.Contains(err.Error(), "is not a folder: an archive? unpack it") {
			t.Errorf("%s on an archive: %v", kind, err)
		}
	}
}

// TestOddWidthAndCropTooLarge: an A|B image of odd width is cut at
// int(w/2) as the reference's AlignedDataset cuts it (B one column wider)
// and its halves take the crop placed in A; a preprocess that would resize
// the halves apart is refused naming the file, as is a crop that does not
// fit.
func TestOddWidthAndCropTooLarge(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "train", "ok.jpg"), encode(t, "jpg", gradient(64, 32)))
	oddIm := gradient(75, 40)
	odd := write(t, filepath.Join(dir, "train", "odd.png"), encode(t, "png", oddIm))
	small := write(t, filepath.Join(dir, "train", "small.png"), encode(t, "png", gradient(40, 20)))
	// too small as well, but for a larger crop than small.png's: the advice is small's
	smallish := write(t, filepath.Join(dir, "train", "a-smallish.png"), encode(t, "png", gradient(56, 28)))
	cfg := DefaultConfig(Aligned)
	cfg.Root, cfg.Preprocess, cfg.CropSize = dir, Crop, 32
	_, err := Open(context.Background(), cfg, nil)
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error()
	if strings.Contains(msg, odd) {
		t.Errorf("odd width refused with crop:\n%s", msg)
	}
	if !strings.Contains(msg, small+": data.crop_size 32 is larger than the image 20x20 (the A side of the A|B image 40x20)") {
		t.Errorf("crop too large not reported:\n%s", msg)
	}
	// with the way out a reference user knows, said once
	const fix = "give data.crop_size at most 20, or resize every image first, as pytorch-CycleGAN-and-pix2pix's default --preprocess does: --set data.preprocess=resize_and_crop, with data.load_size at least data.crop_size"
	if strings.Count(msg, fix) != 1 {
		t.Errorf("crop too large: want %q once in\n%s", fix, msg)
	}
	// a checkpoint's data (eval pix2pix) cannot change its crop
	trained := cfg
	trained.Trained = "run/checkpoints/step-00000001"
	if _, err := Open(context.Background(), trained, nil); err == nil || strings.Contains(err.Error(), "data.preprocess=") ||
		!strings.Contains(err.Error(), "checkpoint run/checkpoints/step-00000001 trained on crops of data.crop_size 32 (data.preprocess crop), which its generator keeps: give images that hold such a crop") {
		t.Errorf("crop too large for a checkpoint's data: %v", err)
	}
	// a file one pixel wide has no A half
	sliver := write(t, filepath.Join(dir, "train", "sliver.png"), encode(t, "png", gradient(1, 40)))
	if _, err := Open(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), sliver+": A|B image is 1x40: too narrow to hold two images") {
		t.Errorf("a 1-pixel-wide A|B file: %v", err)
	}
	os.Remove(sliver)
	// odd.png's halves, 37x40 and 38x40, take one crop: A's columns x..x+31
	// of the file, B's 37+x..37+x+31, every draw.
	os.Remove(small)
	os.Remove(smallish)
	d, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.Index(d.Files(), odd)
	for e := range uint64(20) {
		smp, err := d.Sample(i, 3, e)
		if err != nil {
			t.Fatal(err)
		}
		a, b := smp.A, smp.B
		if a.W != 32 || b.W != 32 || a.H != 32 || b.H != 32 {
			t.Fatalf("crops %dx%d and %dx%d", a.W, a.H, b.W, b.H)
		}
		// the gradient's red is the column: find the crop's and its flip
		r0, r1 := a.Pix[0], a.Pix[3*(a.W-1)]
		x := -1
		for c := range 75 {
			if oddIm.Pix[4*c] == min(r0, r1) {
				x = c
				break
			}
		}
		if x < 0 || x+32 > 37 {
			t.Fatalf("draw %d: A's crop (red %d..%d) is not in A", e, r0, r1)
		}
		if b.Pix[0] != oddIm.Pix[4*(37+x)] && b.Pix[0] != oddIm.Pix[4*(37+x+31)] {
			t.Fatalf("draw %d: A's crop starts at column %d, B's red %d is not column %d's", e, x, b.Pix[0], 37+x)
		}
		if (r0 > r1) != (b.Pix[0] > b.Pix[3*(b.W-1)]) {
			t.Fatalf("draw %d: A and B flipped apart", e)
		}
	}
	// resize_and_crop resizes both halves to load_size square: fine.
	cfg.Preprocess, cfg.LoadSize = ResizeAndCrop, 36
	if _, err := Open(context.Background(), cfg, nil); err != nil {
		t.Errorf("odd width with resize_and_crop: %v", err)
	}
	// scale_width to 32: 32x34 and 32x33, refused naming the file.
	cfg.Preprocess, cfg.LoadSize = ScaleWidthAndCrop, 32
	_, err = Open(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), odd+": A|B image is 75x40: its halves, 37 and 38 wide") || strings.Contains(err.Error(), "ok.jpg") {
		t.Errorf("odd width with scale_width_and_crop: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	cfg := DefaultConfig(Aligned)
	cfg.Root = "/x"
	cfg.Preprocess = "squash"
	cfg.Direction = "sideways"
	cfg.Channels = 2
	cfg.BatchSize = -1
	err := cfg.Check()
	for _, want := range []string{
		`data.preprocess: "squash": must be one of resize_and_crop`,
		`data.direction: "sideways": must be one of AtoB, BtoA`,
		`data.channels: 2: must be 1 or 3`,
		`data.batch_size: -1: must be positive`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
	cfg = DefaultConfig(Aligned)
	cfg.Root, cfg.LoadSize, cfg.CropSize = "/x", 200, 256
	if err := cfg.Check(); err == nil || !strings.Contains(err.Error(), "data.crop_size: 256: is larger than data.load_size 200") {
		t.Errorf("crop > load: %v", err)
	}
	// a resize every image would fail is refused before any is read; the
	// largest square within PIL's limit is not
	cfg.LoadSize, cfg.CropSize = 1000000000, 256
	if err := cfg.Check(); err == nil || !strings.Contains(err.Error(), "data.load_size: 1000000000: resizes every image to 1000000000x1000000000") || !strings.Contains(err.Error(), "at most 9459") {
		t.Errorf("load_size 1e9: %v", err)
	}
	if maxSquareSide*maxSquareSide > MaxImagePixels || (maxSquareSide+1)*(maxSquareSide+1) <= MaxImagePixels {
		t.Errorf("maxSquareSide %d is not the largest square side within %d pixels", maxSquareSide, MaxImagePixels)
	}
	cfg.LoadSize = maxSquareSide
	if err := cfg.Check(); err != nil {
		t.Errorf("load_size %d: %v", maxSquareSide, err)
	}
}

// TestPNGCutShort: a PNG cut anywhere inside its image data is reported as
// truncated (Go's decoder calls it "not enough pixel data"), naming the file.
func TestPNGCutShort(t *testing.T) {
	dir := t.TempDir()
	im := image.NewRGBA(image.Rect(0, 0, 64, 64))
	x := uint32(1)
	for i := range im.Pix {
		x = x*1103515245 + 12345
		im.Pix[i] = uint8(x >> 16)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, im); err != nil {
		t.Fatal(err)
	}
	full := buf.Bytes()
	for _, n := range []int{100, 1000, len(full) / 2, len(full) - 20} {
		p := write(t, filepath.Join(dir, "cut"+strconv.Itoa(n)+".png"), full[:n])
		_, err := LoadImage(p, 3)
		if err == nil || !strings.Contains(err.Error(), "truncated PNG image") || !strings.Contains(err.Error(), p) {
			t.Errorf("a PNG of %d bytes cut to %d: %v, want a truncated PNG naming the file", len(full), n, err)
		}
	}
}

// TestPNGBadChecksum: a PNG whose image data's CRC is wrong (which PIL
// opens: it does not check it) is refused as corrupt, naming the file and
// saying to save it again, not to convert a PNG to PNG.
func TestPNGBadChecksum(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	i := bytes.Index(b, []byte("IDAT"))
	n := int(b[i-4])<<24 | int(b[i-3])<<16 | int(b[i-2])<<8 | int(b[i-1])
	b[i+4+n] ^= 0xff // the first byte of IDAT's CRC
	p := write(t, filepath.Join(t.TempDir(), "crc.png"), b)
	_, err := LoadImage(p, 1)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "corrupt PNG image: a chunk's checksum is wrong") ||
		!strings.Contains(err.Error(), "save it again as a new PNG") {
		t.Errorf("a PNG with a wrong IDAT checksum: %v", err)
	}
}

// TestSplitFolderAsRoot: a data.root that is a split folder itself (val/
// read as phase train) is read, with a warning naming it; a folder of A|B
// images without split folders says where it reads.
func TestSplitFolderAsRoot(t *testing.T) {
	logs := torchtest.CaptureLogs(t)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "val", "1.jpg"), encode(t, "jpg", gradient(64, 32)))
	write(t, filepath.Join(dir, "flat", "1.jpg"), encode(t, "jpg", gradient(64, 32)))
	cfg := DefaultConfig(Aligned)
	cfg.Root, cfg.Preprocess, cfg.CropSize = filepath.Join(dir, "val"), Crop, 32
	if _, err := Open(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "is the val split itself, read as data.phase train") {
		t.Errorf("a split folder as data.root: logs %q", logs.String())
	}
	cfg.Root = filepath.Join(dir, "flat")
	if _, err := Open(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "no train/ folder in data.root: reading the A|B images directly under "+cfg.Root) {
		t.Errorf("a flat folder as data.root: logs %q", logs.String())
	}
}

// TestABFoldersInsideASplitRefused: a split folder holding A/ and B/
// (datasets/NAME/train/A, train/B: pairs, or two domains, kept in two
// folders) is refused, saying where gogan reads such folders; read as A|B
// images each photo was cut in halves and trained on silently (the
// reference's make_dataset walks it the same way). The layouts it names
// open.
func TestABFoldersInsideASplitRefused(t *testing.T) {
	dir := t.TempDir()
	for _, side := range []string{"A", "B"} {
		write(t, filepath.Join(dir, "train", side, "1.jpg"), encode(t, "jpg", gradient(32, 32)))
		write(t, filepath.Join(dir, "train", side, "2.jpg"), encode(t, "jpg", gradient(32, 32)))
	}
	for _, c := range []struct {
		kind  string
		wants []string
	}{
		{Aligned, []string{filepath.Join(dir, "train") + " holds folders A/ and B/", "cut in halves", filepath.Join(dir, "A", "train") + "/", filepath.Join(dir, "B", "train") + "/", "combine_A_and_B.py"}},
		{Unaligned, []string{filepath.Join(dir, "train") + " holds folders A/ and B/", "cut in halves", filepath.Join(dir, "trainA") + "/", filepath.Join(dir, "trainB") + "/"}},
	} {
		cfg := DefaultConfig(c.kind)
		cfg.Root, cfg.Preprocess, cfg.CropSize = dir, Crop, 16
		_, err := Open(context.Background(), cfg, nil)
		for _, w := range c.wants {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s data with train/A and train/B: %v; want it to say %q", c.kind, err, w)
			}
		}
	}
	// moved where the message says, they open: pairs, and two domains
	moved := t.TempDir()
	for _, side := range []string{"A", "B"} {
		os.MkdirAll(filepath.Join(moved, side), 0o755)
		if err := os.Rename(filepath.Join(dir, "train", side), filepath.Join(moved, side, "train")); err != nil {
			t.Fatal(err)
		}
	}
	for _, kind := range []string{Aligned, Unaligned} {
		cfg := DefaultConfig(kind)
		cfg.Root, cfg.Preprocess, cfg.CropSize = moved, Crop, 16
		d, err := Open(context.Background(), cfg, nil)
		if err != nil {
			t.Fatalf("%s data in A/train and B/train: %v", kind, err)
		}
		if d.Len() != 2 {
			t.Errorf("%s data in A/train and B/train: %d samples, want 2", kind, d.Len())
		}
	}
}

// TestSplitFoldersInAnotherCaseRefused: split folders named in another
// case (TrainA/ and TrainB/, traina/, Train/ and Test/) are refused, naming
// the renames, for unaligned and aligned data. They were not taken as the
// splits (the names are joined exactly, as the references join them; the
// references then fail), so every image under data.root, of every split
// and both domains, was cut in halves as an A|B image and trained on
// without a word. Renamed, they open as the splits.
func TestSplitFoldersInAnotherCaseRefused(t *testing.T) {
	for _, c := range []struct {
		kind    string
		folders []string
		renames []string
	}{
		{Unaligned, []string{"TrainA", "TrainB", "testA", "testB"}, []string{"TrainA/ to trainA/", "TrainB/ to trainB/"}},
		{Unaligned, []string{"traina", "trainb"}, []string{"traina/ to trainA/", "trainb/ to trainB/"}},
		{Aligned, []string{"Train", "Test"}, []string{"Train/ to train/", "Test/ to test/"}},
	} {
		dir := t.TempDir()
		for _, f := range c.folders {
			write(t, filepath.Join(dir, f, "1.jpg"), encode(t, "jpg", gradient(64, 32)))
			write(t, filepath.Join(dir, f, "2.jpg"), encode(t, "jpg", gradient(64, 32)))
		}
		cfg := DefaultConfig(c.kind)
		cfg.Root, cfg.Preprocess, cfg.CropSize = dir, Crop, 16
		_, err := Open(context.Background(), cfg, nil)
		for _, w := range append(c.renames, "named in lower case") {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s data in %v: %v; want it to say %q", c.kind, c.folders, err, w)
			}
		}
		for _, r := range c.renames {
			from, to, _ := strings.Cut(r, "/ to ")
			if err := os.Rename(filepath.Join(dir, from), filepath.Join(dir, strings.TrimSuffix(to, "/"))); err != nil {
				t.Fatal(err)
			}
		}
		d, err := Open(context.Background(), cfg, nil)
		if err != nil || d.Len() != 2 {
			t.Errorf("%s data in %v renamed: %v", c.kind, c.folders, err)
		}
	}
	// Aligned data in TrainA/ and TrainB/: renamed, they would still be
	// CycleGAN's unpaired domains, which is what it is told at once (a
	// rename's advice led to a second refusal).
	dir := t.TempDir()
	for _, f := range []string{"TrainA", "TrainB"} {
		write(t, filepath.Join(dir, f, "1.jpg"), encode(t, "jpg", gradient(64, 32)))
	}
	cfg := DefaultConfig(Aligned)
	cfg.Root, cfg.Preprocess, cfg.CropSize = dir, Crop, 16
	_, err := Open(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "has TrainA/, TrainB/, CycleGAN's unpaired domains") || strings.Contains(err.Error(), "rename") {
		t.Errorf("aligned data in TrainA/ and TrainB/: %v; want CycleGAN's layout named, no rename", err)
	}
}

// TestFoldersReadAsABImagesWarned: a data.root without split folders whose
// images sit in folders of their own (horses/ and zebras/: two domains
// named otherwise than trainA/ and trainB/) is read as A|B images, every
// image cut in halves, where the references fail (no trainA/, no train/):
// a warning names the folders and the layout that reads them as domains
// or pairs. CycleGAN's fallback said nothing; pix2pix's an info line.
func TestFoldersReadAsABImagesWarned(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"horses", "zebras"} {
		write(t, filepath.Join(dir, f, "1.jpg"), encode(t, "jpg", gradient(64, 32)))
	}
	for kind, wants := range map[string][]string{
		Unaligned: {"level=WARN", "no trainA/ and trainB/", "horses/, zebras/", filepath.Join(dir, "trainA") + "/", filepath.Join(dir, "trainB") + "/"},
		Aligned:   {"level=WARN", "no train/ folder", "horses/, zebras/", filepath.Join(dir, "A", "train") + "/", filepath.Join(dir, "trainA") + "/"},
	} {
		logs := torchtest.CaptureLogs(t)
		cfg := DefaultConfig(kind)
		cfg.Root, cfg.Preprocess, cfg.CropSize = dir, Crop, 16
		if _, err := Open(context.Background(), cfg, nil); err != nil {
			t.Fatal(err)
		}
		for _, w := range wants {
			if !strings.Contains(logs.String(), w) {
				t.Errorf("%s data in horses/ and zebras/: logs %q; want them to say %q", kind, logs.String(), w)
			}
		}
	}
}

// TestNoValidFileSaysSo: a crop larger than every image (data.crop_size
// 512 on 256-pixel facades) makes each file invalid; the error says that no
// valid one is left instead of offering data.skip_invalid, which would
// skip them all. One valid file among them keeps the offer.
func TestNoValidFileSaysSo(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "train", "1.jpg"), encode(t, "jpg", gradient(64, 32)))
	write(t, filepath.Join(dir, "train", "2.jpg"), encode(t, "jpg", gradient(64, 32)))
	cfg := DefaultConfig(Aligned)
	cfg.Root, cfg.Preprocess, cfg.CropSize = dir, Crop, 48
	_, err := Open(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "2 invalid files, and no valid one (skipping them would leave nothing to read") ||
		strings.Contains(err.Error(), "data.skip_invalid") || !strings.Contains(err.Error(), "data.crop_size 48") {
		t.Errorf("every file too small: %v", err)
	}
	write(t, filepath.Join(dir, "train", "3.jpg"), encode(t, "jpg", gradient(128, 64)))
	_, err = Open(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "2 invalid files (set data.skip_invalid to skip them)") {
		t.Errorf("two files too small of three: %v", err)
	}
}

// TestOpenFileLimitIsNoInvalidFile: a file that cannot be opened because
// the process has as many files open as RLIMIT_NOFILE allows (ulimit -n) is
// not an invalid file: data.skip_invalid does not skip it (a good file left
// out of the training data, as it did: 312 of the facades' 400 at ulimit -n
// 14 with 8 workers), and the error names the limit to raise instead of
// saying to set data.skip_invalid or fix the file. Both at the open and when
// a sample is read (headers-only validation).
func TestOpenFileLimitIsNoInvalidFile(t *testing.T) {
	dir := t.TempDir()
	jpg := encode(t, "jpg", gradient(64, 48))
	for _, n := range []string{"a.jpg", "b.jpg", "c.jpg"} {
		write(t, filepath.Join(dir, n), jpg)
	}
	// withOpenFiles runs f with the soft limit at the files open now (the
	// gap filled), so that every open fails with EMFILE.
	withOpenFiles := func(f func()) {
		var lim syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Skip(err)
		}
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip(err)
		}
		low := lim
		low.Cur = uint64(len(fds) - 1) // the ReadDir's own is closed again
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
			t.Skip(err)
		}
		defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		for { // and any an os.File's finalizer closed since
			fd, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
			if err != nil {
				break
			}
			defer syscall.Close(fd)
		}
		f()
	}
	check := func(what string, err error) {
		t.Helper()
		var fe *FileError
		var ie *InvalidFilesError
		switch {
		case err == nil:
			t.Errorf("%s: no error at the open-file limit", what)
		case !errors.Is(err, syscall.EMFILE) || errors.As(err, &fe) || errors.As(err, &ie):
			t.Errorf("%s: want the open-file limit's error (not an invalid file), got %T: %v", what, err, err)
		case !strings.Contains(err.Error(), "ulimit -n") || strings.Contains(err.Error(), "skip_invalid"):
			t.Errorf("%s: want the limit named, not skip_invalid: %v", what, err)
		}
	}
	for _, skip := range []bool{false, true} {
		cfg := DefaultConfig(Folder)
		cfg.Root, cfg.ImageSize, cfg.SkipInvalid, cfg.Workers = dir, 32, skip, 2
		var err error
		withOpenFiles(func() { _, err = Open(context.Background(), cfg, nil) })
		check(fmt.Sprintf("open, skip_invalid %v", skip), err)

		cfg.Validate, cfg.Shuffle = "header", false
		var logs bytes.Buffer
		d, err := Open(context.Background(), cfg, &OpenOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		withOpenFiles(func() { _, err = d.Sample(0, 0, 0) })
		check(fmt.Sprintf("sample, skip_invalid %v", skip), err)
		if strings.Contains(logs.String(), "skipping") {
			t.Errorf("skip_invalid %v: a good file skipped: %s", skip, logs.String())
		}
		if _, err := d.Sample(0, 0, 0); err != nil {
			t.Errorf("skip_invalid %v: the file, once it can be opened: %v", skip, err)
		}
	}
}
