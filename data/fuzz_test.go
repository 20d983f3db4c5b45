package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/image/tiff"
)

// checkFileErr asserts the contract of a reader's error: a *FileError that
// names path and says what is wrong.
func checkFileErr(t *testing.T, path string, err error) {
	t.Helper()
	var fe *FileError
	if !errors.As(err, &fe) || fe.Path != path || len(fe.Err.Error()) < 8 || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %q (%T) does not name %s and the fault", err, err, path)
	}
}

// allocated is the bytes f allocates.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestIDXHugeHeader: dimensions that overflow, or that claim gigabytes the
// file does not hold, are errors that cost no big allocation.
func TestIDXHugeHeader(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct {
		data []byte
		want string
	}{
		// 2^31 * 8 * 2^30 wraps to 0 in 64 bits.
		"overflow":        {idxBytes(0x803, []int{1 << 31, 8, 1 << 30}, nil), "IDX dimensions [2147483648 8 1073741824] are implausibly large"},
		"16 GiB claimed":  {idxBytes(0x803, []int{1 << 16, 1 << 16, 4}, make([]byte, 10)), "need 17179869184 bytes of data, file has 10"},
		"gzip 4 GiB":      {gz(idxBytes(0x803, []int{1 << 16, 1 << 14, 4}, make([]byte, 3<<20))), "need 4294967296 bytes of data, more than a gzip file of"},
		"largest allowed": {idxBytes(0x804, []int{1 << 16, 1 << 16, 2, 2}, nil), "file has 0"},
	}
	for name, c := range cases {
		p := write(t, filepath.Join(dir, name), c.data)
		var err error
		if n := allocated(func() { _, err = ReadIDX(p) }); n > 32<<20 {
			t.Errorf("%s: allocated %d MiB", name, n>>20)
		}
		if err == nil || !strings.Contains(err.Error(), p+": ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want %q naming the file, got %v", name, c.want, err)
		}
	}
}

// TestImageHugeHeader: an image whose header claims more pixels than its
// file could hold is refused before it is decoded.
func TestImageHugeHeader(t *testing.T) {
	dir := t.TempDir()
	small := encode(t, "png", gradient(4, 4))
	// Rewrite the PNG's IHDR to 30000 x 30000 (and fix its CRC).
	huge := bytes.Clone(small)
	binary.BigEndian.PutUint32(huge[16:], 30000)
	binary.BigEndian.PutUint32(huge[20:], 30000)
	binary.BigEndian.PutUint32(huge[29:], crc32.ChecksumIEEE(huge[12:29]))
	jpg := encode(t, "jpg", gradient(4, 4))
	i := bytes.Index(jpg, []byte{0xff, 0xc0}) // SOF0: length, precision, height, width
	binary.BigEndian.PutUint16(jpg[i+5:], 30000)
	binary.BigEndian.PutUint16(jpg[i+7:], 30000)
	for name, b := range map[string][]byte{"huge.png": huge, "huge.jpg": jpg} {
		p := write(t, filepath.Join(dir, name), b)
		var err error
		if n := allocated(func() { _, err = LoadImage(p, 3) }); n > 32<<20 {
			t.Errorf("%s: allocated %d MiB", name, n>>20)
		}
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "30000x30000 pixels") {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := imageHeader(p); err == nil || !strings.Contains(err.Error(), "30000x30000 pixels") {
			t.Errorf("%s header: %v", name, err)
		}
	}
}

// TestLargePhotoIsNoBomb: an image of more pixels than gogan decodes
// (PIL's MAX_IMAGE_PIXELS, past which PIL warns and torchvision still
// reads it) in a file large enough to hold them (a 100-megapixel camera's
// photo) is refused saying so, and to downscale it, not as a corrupt
// header or a decompression bomb, which a header claiming more than its
// file could hold is.
func TestLargePhotoIsNoBomb(t *testing.T) {
	dir := t.TempDir()
	b := encode(t, "png", gradient(4, 4))
	binary.BigEndian.PutUint32(b[16:], 10000)
	binary.BigEndian.PutUint32(b[20:], 9000)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	bomb := write(t, filepath.Join(dir, "bomb.png"), b)
	photo := write(t, filepath.Join(dir, "photo.png"), append(bytes.Clone(b), make([]byte, 1<<20)...))
	if _, err := LoadImage(bomb, 3); err == nil || !strings.Contains(err.Error(), "decompression bomb") {
		t.Errorf("a header of 10000x9000 pixels in %d bytes: %v", len(b), err)
	}
	for _, read := range []func(string) error{
		func(p string) error { _, err := LoadImage(p, 3); return err },
		func(p string) error { _, err := imageHeader(p); return err },
	} {
		err := read(photo)
		if err == nil || !strings.Contains(err.Error(), photo+": image of 10000x9000 = 90000000 pixels: more than the 89478485 pixels gogan decodes of one image") ||
			!strings.Contains(err.Error(), "downscale it") || strings.Contains(err.Error(), "bomb") {
			t.Errorf("a 10000x9000 image in 1 MiB: %v", err)
		}
	}
	// a 24-megapixel photo is within what gogan decodes: not refused
	binary.BigEndian.PutUint32(b[16:], 6000)
	binary.BigEndian.PutUint32(b[20:], 4000)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	photo24 := write(t, filepath.Join(dir, "photo24.png"), append(bytes.Clone(b), make([]byte, 1<<20)...))
	if h, err := imageHeader(photo24); err != nil || h.Width != 6000 || h.Height != 4000 {
		t.Errorf("a 6000x4000 image in 1 MiB: %+v, %v", h, err)
	}
}

// TestJPEGScanLimit: a progressive JPEG whose last scan repeats 600 times
// (each scan is a pass over the whole image) is refused, not decoded for
// minutes.
func TestJPEGScanLimit(t *testing.T) {
	prog := pil(t, `
import io, sys
from PIL import Image
b = io.BytesIO()
Image.new("RGB", (64, 48), (90, 160, 30)).save(b, "JPEG", progressive=True)
sys.stdout.buffer.write(b.getvalue())
`, nil)
	last := bytes.LastIndex(prog, []byte{0xff, 0xda}) // the last SOS, to the EOI
	eoi := len(prog) - 2
	many := append(bytes.Clone(prog[:eoi]), bytes.Repeat(prog[last:eoi], 600)...)
	many = append(many, 0xff, 0xd9)
	if _, err := decodeJPEG("many.jpg", prog, 3); err != nil {
		t.Fatalf("the progressive file itself: %v", err)
	}
	_, err := decodeJPEG("many.jpg", many, 3)
	if err == nil || !strings.Contains(err.Error(), "many.jpg") || !strings.Contains(err.Error(), "more than 500 progressive scans") {
		t.Fatalf("600 scans: %v", err)
	}
}

// FuzzReadIDX: any bytes read as an IDX file give a consistent array or an
// error naming the file.
func FuzzReadIDX(f *testing.F) {
	img := make([]byte, 3*4*5)
	for i := range img {
		img[i] = byte(i)
	}
	f.Add(idxBytes(0x803, []int{3, 4, 5}, img))
	f.Add(idxBytes(0x801, []int{4}, []byte{1, 2, 3, 4}))
	f.Add(gz(idxBytes(0x803, []int{3, 4, 5}, img)))
	f.Add(idxBytes(0x803, []int{1 << 31, 8, 1 << 30}, nil))
	f.Add(idxBytes(0x803, []int{1 << 16, 1 << 16, 4}, img))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := readIDX("fuzz-idx", bytes.NewReader(b), int64(len(b)))
		if err != nil {
			checkFileErr(t, "fuzz-idx", err)
			return
		}
		n := 1
		for _, d := range m.Dims {
			n *= d
		}
		if len(m.Dims) < 1 || len(m.Dims) > 4 || n != len(m.Data) {
			t.Fatalf("dimensions %v with %d bytes", m.Dims, len(m.Data))
		}
	})
}

// checkImage asserts a decoded image's invariants.
func checkImage(t *testing.T, im *Image, c int) {
	t.Helper()
	if im.W <= 0 || im.H <= 0 || im.C != c || len(im.Pix) != im.W*im.H*c {
		t.Fatalf("%v with %d bytes, want %d channels", im, len(im.Pix), c)
	}
}

// FuzzDecodeJPEG feeds bytes to the libjpeg-turbo decoder, whole and for
// the header alone.
func FuzzDecodeJPEG(f *testing.F) {
	f.Add(encode(f, "jpg", gradient(16, 12)), false)
	gray := image.NewGray(image.Rect(0, 0, 9, 7))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 5)
	}
	f.Add(encode(f, "jpg", gray), true)
	cmyk, err := os.ReadFile("testdata/cmyk.jpg")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(cmyk, false)
	f.Add([]byte{0xff, 0xd8, 0xff}, false)
	f.Fuzz(func(t *testing.T, b []byte, gray bool) {
		if len(b) == 0 {
			return
		}
		c := 3
		if gray {
			c = 1
		}
		if im, err := decodeJPEG("fuzz.jpg", b, c); err != nil {
			checkFileErr(t, "fuzz.jpg", err)
		} else {
			checkImage(t, im, c)
		}
		if _, err := jpegHeader("fuzz.jpg", b); err != nil {
			checkFileErr(t, "fuzz.jpg", err)
		}
	})
}

// FuzzDecodeImage feeds files to the generic loader (every format a folder
// may hold; JPEGs go to libjpeg-turbo) and to the header reader that a
// dataset scan uses.
func FuzzDecodeImage(f *testing.F) {
	src := gradient(7, 5)
	for _, format := range []string{"png", "gif", "bmp", "tif", "jpg"} {
		f.Add(encode(f, format, src))
	}
	g16 := image.NewGray16(image.Rect(0, 0, 3, 2))
	g16.SetGray16(1, 1, color.Gray16{Y: 0xabcd})
	f.Add(encode(f, "png", g16))
	f.Add(encode(f, "png", image.NewGray(image.Rect(0, 0, 5, 3))))
	var b bytes.Buffer
	if err := tiff.Encode(&b, src, &tiff.Options{Compression: tiff.Deflate, Predictor: true}); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	for _, name := range []string{"rgb.webp", "lossy-alpha.webp", "animated.webp"} {
		webp, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(webp)
	}
	f.Add([]byte("just some text"))
	path := filepath.Join(f.TempDir(), "fuzz.img")
	f.Fuzz(func(t *testing.T, b []byte) { decodeFuzzed(t, path, b, false) })
}

// decodeFuzzed writes b to path and reads it as the data package reads
// images: the header reader and the decoder, as 1 and 3 channels, give a
// whole image or an error naming the file; with sameSize the decoded image
// is the size its header says.
func decodeFuzzed(t *testing.T, path string, b []byte, sameSize bool) {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, herr := imageHeader(path)
	if herr != nil {
		checkFileErr(t, path, herr)
	}
	for _, c := range []int{1, 3} {
		im, err := LoadImage(path, c)
		if err != nil {
			checkFileErr(t, path, err)
			return
		}
		checkImage(t, im, c)
		if sameSize && herr == nil && (im.W != cfg.Width || im.H != cfg.Height) {
			t.Fatalf("header says %dx%d, decoded %dx%d", cfg.Width, cfg.Height, im.W, im.H)
		}
	}
}
