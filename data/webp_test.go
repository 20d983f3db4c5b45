package data

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWebPMatchesPIL: WebP files of each kind PIL writes (lossy at several
// qualities and odd sizes, with and without alpha, lossless, animated) and
// facades photos saved as LSUN's are (lossy WebP) decode to PIL's pixels
// bit for bit, as RGB and as L.
func TestWebPMatchesPIL(t *testing.T) {
	dir := t.TempDir()
	facades, _ := filepath.Glob(filepath.Join(facadesTrain(t), "*.jpg"))
	if len(facades) < 24 {
		t.Fatalf("%d facades photos, want 24 or more", len(facades))
	}
	facades = facades[:24]
	pil(t, `
import sys
from PIL import Image, ImageDraw
d = sys.argv[1]
def drawing(w, h, mode="RGB"):
    im = Image.new(mode, (w, h), (0, 0, 0, 0) if mode == "RGBA" else (0, 0, 0))
    dr = ImageDraw.Draw(im)
    for i in range(0, w, 5):
        dr.line([(i, 0), (w - 1 - i, h - 1)], fill=(i * 3 % 256, 255 - i % 256, (i * 11) % 256, 40 + i % 200), width=2)
    dr.ellipse([w // 8, h // 8, w // 2, h // 2], fill=(250, 20, 40, 255))
    return im
for w, h in ((97, 61), (64, 64), (1, 9), (33, 2)):
    im = drawing(w, h)
    im.save(d + "/lossy_q80_%dx%d.webp" % (w, h))
    im.save(d + "/lossy_q30_m6_%dx%d.webp" % (w, h), quality=30, method=6)
    im.save(d + "/lossless_%dx%d.webp" % (w, h), lossless=True)
    a = drawing(w, h, "RGBA")
    a.save(d + "/alpha_lossy_%dx%d.webp" % (w, h), quality=90)
    a.save(d + "/alpha_lossless_%dx%d.webp" % (w, h), lossless=True)
drawing(70, 50).convert("L").save(d + "/gray.webp")
drawing(40, 30).save(d + "/icc.webp", icc_profile=bytes(range(256)) * 12)  # the extended format (VP8X), an ICC profile before the image
frames = [drawing(80, 60), drawing(80, 60).rotate(90)]
frames[0].save(d + "/animated.webp", save_all=True, append_images=frames[1:], duration=100)
for i, f in enumerate(sys.argv[2:]):
    Image.open(f).convert("RGB").save(d + "/facade_%02d.webp" % i, quality=75)
`, nil, append([]string{dir}, facades...)...)
	files, _ := filepath.Glob(filepath.Join(dir, "*.webp"))
	if want := 4*5 + 3 + len(facades); len(files) != want {
		t.Fatalf("PIL wrote %d WebPs, want %d", len(files), want)
	}
	checkDecodesAsPIL(t, files)
}

// TestWebPErrors: what libwebp refuses is reported with the file's name.
func TestWebPErrors(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile("testdata/rgb.webp")
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		b    []byte
		want string
	}{
		"truncated.webp": {good[:len(good)/2], "truncated WebP image"},
		"header.webp":    {good[:14], "truncated WebP image"},
		"garbled.webp":   {append(bytes.Clone(good[:20]), bytes.Repeat([]byte{0x42}, 200)...), "corrupt WebP image"},
	} {
		p := write(t, filepath.Join(dir, name), c.b)
		_, err := LoadImage(p, 3)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want one naming the file and saying %q", name, err, c.want)
		}
		if _, err := imageHeader(p); name == "header.webp" && (err == nil || !strings.Contains(err.Error(), p)) {
			t.Errorf("%s: header error %v, want one naming the file", name, err)
		}
	}
}
