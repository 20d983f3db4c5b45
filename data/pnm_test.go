package data

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPNMAsPIL: Netpbm images (raw and plain, gray and colour, with
// comments, maxval 255 and below) decode to PIL's pixels, in 1 and 3
// channels, and a folder scan picks .ppm, .pgm and .pnm up; a truncated
// file and a 16-bit one are refused naming the file.
func TestPNMAsPIL(t *testing.T) {
	dir := t.TempDir()
	raw := func(magic string, w, h, maxval int, comment string, f func(i int) byte) []byte {
		n := w * h
		if magic == "P6" {
			n *= 3
		}
		b := []byte(fmt.Sprintf("%s\n%s%d %d\n%d\n", magic, comment, w, h, maxval))
		for i := range n {
			b = append(b, f(i))
		}
		return b
	}
	plain := func(magic string, w, h, maxval int, f func(i int) byte) []byte {
		n := w * h
		if magic == "P3" {
			n *= 3
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "%s # plain\n%d %d %d\n", magic, w, h, maxval)
		for i := range n {
			fmt.Fprintf(&sb, "%d ", f(i))
			if i%7 == 6 {
				sb.WriteString("\n")
			}
		}
		return []byte(sb.String())
	}
	files := map[string][]byte{
		"rgb.ppm":    raw("P6", 5, 3, 255, "# made by a test\n", func(i int) byte { return byte(i * 17) }),
		"gray.pgm":   raw("P5", 4, 4, 255, "", func(i int) byte { return byte(255 - i*13) }),
		"low.pgm":    raw("P5", 3, 2, 100, "", func(i int) byte { return byte(i * 19) }),
		"lowrgb.pnm": raw("P6", 2, 2, 31, "", func(i int) byte { return byte(i * 3 % 32) }),
		"plain.ppm":  plain("P3", 3, 2, 255, func(i int) byte { return byte(i * 14) }),
		"plaing.pgm": plain("P2", 2, 3, 200, func(i int) byte { return byte(i * 33) }),
		// maxval 10: ties (3/10*255 = 76.5) round to even, as Python's round;
		// raw samples above maxval clip to 255
		"ten.pgm":  raw("P5", 4, 3, 10, "", func(i int) byte { return byte(i) }),
		"tenp.pgm": plain("P2", 4, 3, 10, func(i int) byte { return byte(i % 11) }),
	}
	var names []string
	for name, b := range files {
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
		names = append(names, name)
	}
	slices.Sort(names)
	decodesAsPIL(t, dir, names, pilOpens(t, dir, names))
	if found, err := scanImages(dir, "data.root"); err != nil || len(found) != len(names) {
		t.Errorf("scan found %v (%v), want the %d Netpbm files", found, err, len(names))
	}
	for name, b := range map[string][]byte{
		"cut.ppm":  files["rgb.ppm"][:30],
		"deep.pgm": []byte("P5\n2 2\n65535\n\x00\x01\x00\x02\x00\x03\x00\x04"),
	} {
		p := filepath.Join(t.TempDir(), name)
		os.WriteFile(p, b, 0o644)
		if _, err := LoadImage(p, 3); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v, want an error naming it", name, err)
		}
	}
}

// TestNetpbmBitmapsSaySo: a .pnm (or .pgm, .ppm) file holding a Netpbm
// bitmap (P1, P4), which PIL opens, or a PAM image (P7) is refused as what
// it is, by name, with what to do; not as "not a PNM image (text file?)".
func TestNetpbmBitmapsSaySo(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct {
		b    []byte
		want string
	}{
		"bits.pnm":      {append([]byte("P4\n10 6\n"), 0x55, 0x40, 0xaa, 0x80, 0x55, 0x40, 0xaa, 0x80, 0x55, 0x40, 0xaa, 0x80), "a Netpbm bitmap (P4"},
		"plain.pbm.pgm": {[]byte("P1\n3 2\n0 1 0\n1 0 1\n"), "a Netpbm bitmap (P1"},
		"pam.ppm":       {[]byte("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n\x01\x02\x03"), "a Netpbm PAM image (P7)"},
	} {
		p := write(t, filepath.Join(dir, name), c.b)
		_, err := LoadImage(p, 3)
		_, herr := imageHeader(p)
		for _, e := range []error{err, herr} {
			if e == nil || !strings.Contains(e.Error(), c.want) || !strings.Contains(e.Error(), p) || !strings.Contains(e.Error(), "convert it to PNG") {
				t.Errorf("%s: error %v, want one naming the file, saying %q and what to do", name, e, c.want)
			}
		}
	}
}
