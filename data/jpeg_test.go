package data

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestJPEGMatchesPIL: every facades training pair, and JPEGs of each kind
// PIL writes (4:2:0, 4:2:2, 4:4:4, progressive, greyscale, odd sizes),
// decode to PIL's pixels bit for bit, as RGB and as L.
func TestJPEGMatchesPIL(t *testing.T) {
	dir := t.TempDir()
	// PIL writes the synthetic files, so they are what the reference reads.
	pil(t, `
import sys
from PIL import Image, ImageDraw
d = sys.argv[1]
im = Image.new("RGB", (97, 61))
dr = ImageDraw.Draw(im)
for i in range(0, 97, 6):
    dr.line([(i, 0), (96 - i, 60)], fill=(i * 2 % 256, 255 - i, (i * 7) % 256), width=3)
dr.ellipse([10, 10, 50, 40], fill=(250, 20, 40))
im.save(d + "/s420.jpg", quality=90, subsampling=2)
im.save(d + "/s422.jpg", quality=75, subsampling=1)
im.save(d + "/s444.jpg", quality=95, subsampling=0)
im.save(d + "/progressive.jpg", quality=80, progressive=True)
im.convert("L").save(d + "/gray.jpg", quality=85)
`, nil, dir)
	files, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if len(files) != 5 {
		t.Fatalf("PIL wrote %d JPEGs, want 5", len(files))
	}
	if fd := filepath.Join(repoRoot(t), "..", "shared", "data", "facades", "train"); isDir(fd) {
		facades, _ := filepath.Glob(filepath.Join(fd, "*.jpg"))
		if len(facades) != 400 {
			t.Fatalf("%d facades JPEGs in %s, want 400", len(facades), fd)
		}
		files = append(files, facades...)
	} else {
		t.Logf("facades not found at %s: synthetic JPEGs only", fd)
	}
	checkDecodesAsPIL(t, files)
}

// checkDecodesAsPIL: every file decodes through LoadImage, as RGB and as
// L, to PIL's pixels bit for bit (Image.open(f).convert(...)), and its
// header (imageHeader) gives PIL's size.
func checkDecodesAsPIL(t *testing.T, files []string) {
	t.Helper()
	out := pil(t, `
import sys, hashlib
from PIL import Image
for line in sys.stdin.read().split("\n"):
    if not line:
        continue
    im = Image.open(line)
    print(hashlib.sha256(im.convert("RGB").tobytes()).hexdigest(), hashlib.sha256(im.convert("L").tobytes()).hexdigest(), im.size[0], im.size[1])
`, []byte(strings.Join(files, "\n")))
	want := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(want) != len(files) {
		t.Fatalf("PIL hashed %d files, want %d", len(want), len(files))
	}
	bad := 0
	for i, f := range files {
		fields := strings.Fields(want[i])
		cfg, err := imageHeader(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%d %d", cfg.Width, cfg.Height); got != fields[2]+" "+fields[3] {
			t.Errorf("%s: header says %s, PIL %s %s", f, got, fields[2], fields[3])
		}
		for k, c := range []int{3, 1} {
			im, err := LoadImage(f, c)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(im.Pix)
			if got := hex.EncodeToString(sum[:]); got != fields[k] {
				bad++
				if bad <= 5 {
					t.Errorf("%s as %d channels: pixels differ from PIL's", f, c)
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d decodes differ from PIL", bad, 2*len(files))
	}
}

// TestJPEGErrors: what libjpeg refuses is reported with the file's name.
func TestJPEGErrors(t *testing.T) {
	dir := t.TempDir()
	jpg := encode(t, "jpg", gradient(64, 48))
	for name, c := range map[string]struct {
		b    []byte
		want string
	}{
		"truncated.jpg": {jpg[:len(jpg)/2], "truncated JPEG image"},
		"header.jpg":    {jpg[:20], "JPEG"},
		"garbled.jpg":   {append(append([]byte{}, jpg[:3]...), bytes.Repeat([]byte{0x42}, 200)...), "corrupt JPEG image"},
	} {
		p := write(t, filepath.Join(dir, name), c.b)
		_, err := LoadImage(p, 3)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want one naming the file and saying %q", name, err, c.want)
		}
	}
}

// TestCMYKJPEGWithoutAdobeMarkerAsPIL: PIL reads every CMYK JPEG inverted,
// as Adobe writes them ("assume adobe conventions"), whether or not the file
// has Adobe's APP14 marker. testdata/cmyk.jpg with its marker cut out (the
// marker says transform 0: plain CMYK either way) decodes to the same pixels
// as PIL's, not to their inverse (a black image where the colours were).
func TestCMYKJPEGWithoutAdobeMarkerAsPIL(t *testing.T) {
	b, err := os.ReadFile("testdata/cmyk.jpg")
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte{0xff, 0xee})
	if i < 0 || !bytes.HasPrefix(b[i+4:], []byte("Adobe")) {
		t.Fatal("testdata/cmyk.jpg has no Adobe APP14 marker")
	}
	n := int(b[i+2])<<8 | int(b[i+3])
	stripped := append(append([]byte{}, b[:i]...), b[i+2+n:]...)
	p := write(t, filepath.Join(t.TempDir(), "cmyk-no-adobe.jpg"), stripped)
	var got *Image
	for _, c := range []int{3, 1} {
		want, err := LoadImage("testdata/cmyk.jpg", c)
		if err != nil {
			t.Fatal(err)
		}
		if got, err = LoadImage(p, c); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Pix, want.Pix) {
			t.Errorf("%d channels: without the Adobe marker pixel (2,2) is %v, with it %v (PIL reads both alike)", c, px(got, 2, 2), px(want, 2, 2))
		}
	}
	// PIL's own decode of the file without the marker.
	want := pil(t, pilDecode, nil, p, "RGB")
	got, err = LoadImage(p, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Pix, want) {
		t.Errorf("CMYK JPEG without an Adobe marker: gogan's pixels differ from PIL's")
	}
}
