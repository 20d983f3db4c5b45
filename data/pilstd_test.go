package data

import (
	"bytes"
	"compress/lzw"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"gogan/cgo/torchtest"

	"golang.org/x/image/tiff"
)

// gifFile writes a GIF by hand: a screenW x screenH logical screen with the
// colour table table (global, or the frame's own when local), an optional
// graphic control extension naming a transparent index (-1: none), and one
// frame of w x h indices pix at (x, y).
func gifFile(screenW, screenH int, table []byte, local bool, transparent, x, y, w, h int, pix []byte) []byte {
	bits := 1
	for 3<<bits < len(table) {
		bits++
	}
	table = append(table, make([]byte, 3<<bits-len(table))...)
	u16 := func(b []byte, v int) []byte { return binary.LittleEndian.AppendUint16(b, uint16(v)) }
	b := []byte("GIF89a")
	b = u16(u16(b, screenW), screenH)
	if local {
		b = append(b, 0, 0, 0)
	} else {
		b = append(b, 0x80|byte(bits-1), 0, 0)
		b = append(b, table...)
	}
	if transparent >= 0 {
		b = append(b, '!', 0xF9, 4, 1, 0, 0, byte(transparent), 0)
	}
	b = append(b, ',')
	b = u16(u16(u16(u16(b, x), y), w), h)
	if local {
		b = append(b, 0x80|byte(bits-1))
		b = append(b, table...)
	} else {
		b = append(b, 0)
	}
	lit := max(2, bits)
	var data bytes.Buffer
	zw := lzw.NewWriter(&data, lzw.LSB, lit)
	zw.Write(pix)
	zw.Close()
	b = append(b, byte(lit))
	for d := data.Bytes(); len(d) > 0; {
		n := min(255, len(d))
		b = append(b, byte(n))
		b, d = append(b, d[:n]...), d[n:]
	}
	return append(b, 0, ';')
}

// shortPalettePNG writes an 8-bit palette PNG of w x h indices pix whose
// PLTE holds only table (encoders write a palette as long as the indices
// need; a file from elsewhere may not).
func shortPalettePNG(w, h int, table, pix []byte) []byte {
	chunk := func(b []byte, typ string, data []byte) []byte {
		b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
		c := append([]byte(typ), data...)
		b = append(b, c...)
		return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(c))
	}
	var raw bytes.Buffer
	zw := zlib.NewWriter(&raw)
	for y := 0; y < h; y++ {
		zw.Write(append([]byte{0}, pix[y*w:(y+1)*w]...))
	}
	zw.Close()
	ihdr := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(w)), uint32(h))
	b := chunk([]byte("\x89PNG\r\n\x1a\n"), "IHDR", append(ihdr, 8, 3, 0, 0, 0))
	b = chunk(b, "PLTE", table)
	b = chunk(b, "IDAT", raw.Bytes())
	return chunk(b, "IEND", nil)
}

// TestPalettesAndGraysAsPIL: the images whose pixels Go's decoders give
// otherwise than PIL opens them decode to PIL's convert('RGB') and
// convert('L'): palette PNGs with transparent and partly transparent
// entries and indices past a short palette; GIFs whose transparent index
// has a colour, whose first frame is smaller than the screen (with and
// without a transparent index to fill the rest, global and local tables);
// gray PNGs with tRNS, 16-bit gray PNGs and TIFFs (clipped as PIL's mode I).
// The gray tRNS maps and the GIF canvas read as label maps give PIL's
// values.
func TestPalettesAndGraysAsPIL(t *testing.T) {
	py := torchtest.Python(t)
	dir := t.TempDir()
	mk := `import sys, os
from PIL import Image
d = sys.argv[1]
pal = [(i * 37) % 256 if k == 0 else (i * 91 + 40 * k) % 256 for i in range(16) for k in range(3)]
idx = bytes((i * 7 + i // 5) % 16 for i in range(12 * 9))
p = Image.frombytes("P", (12, 9), idx); p.putpalette(pal)
p.save(os.path.join(d, "p_trns.png"), transparency=bytes([0, 3, 128, 255, 0, 200]))
g = Image.frombytes("L", (12, 9), bytes((i * 13) % 256 for i in range(12 * 9)))
g.save(os.path.join(d, "l_trns.png"), transparency=26)
vals = [0, 100, 255, 256, 1000, 40000, 65535, 7]
i16 = Image.new("I;16", (8, 3))
i16.putdata([vals[(i + i // 8) % 8] for i in range(24)])
i16.save(os.path.join(d, "g16.png"))
i16.save(os.path.join(d, "g16.tif"))
i = Image.new("I", (8, 3)); i.putdata([vals[(i + i // 8) % 8] for i in range(24)])
i.save(os.path.join(d, "g16_trns.png"), transparency=7)
`
	if out, err := exec.Command(py, "-c", mk, dir).CombinedOutput(); err != nil {
		t.Fatalf("making the PNGs and TIFFs with PIL: %v\n%s", err, out)
	}
	table := []byte{250, 240, 230, 10, 200, 30, 90, 60, 220, 255, 0, 128, 33, 66, 99}
	frame := func(w, h int) []byte {
		p := make([]byte, w*h)
		for i := range p {
			p[i] = byte(i % 5)
		}
		return p
	}
	handmade := map[string][]byte{
		"trns.gif":          gifFile(6, 4, table, false, 2, 0, 0, 6, 4, frame(6, 4)),
		"offset.gif":        gifFile(12, 10, table, false, -1, 3, 2, 5, 4, frame(5, 4)),
		"offset_trns.gif":   gifFile(12, 10, table, false, 3, 3, 2, 5, 4, frame(5, 4)),
		"offset_local.gif":  gifFile(9, 7, table, true, 4, 1, 5, 8, 2, frame(8, 2)),
		"offset_corner.gif": gifFile(7, 7, table, false, 1, 6, 6, 1, 1, []byte{0}),
		// the canvas's transparent index past the 8-entry table: PIL's gray ramp
		"trns_past.gif": gifFile(12, 10, table, false, 9, 3, 2, 5, 4, frame(5, 4)),
	}
	short := make([]byte, 12*9)
	for i := range short {
		short[i] = byte(i * 5 % 40)
	}
	handmade["p_short.png"] = shortPalettePNG(12, 9, table[:12], short)
	// a second graphic control extension, without a transparent index,
	// before the frame: the first one's index still fills the canvas
	gce := []byte{'!', 0xF9, 4, 1, 0, 0, 3, 0}
	handmade["two_gce.gif"] = bytes.Replace(gifFile(12, 10, table, false, 3, 3, 2, 5, 4, frame(5, 4)), gce,
		append(append([]byte{}, gce...), '!', 0xF9, 4, 0, 0, 0, 0, 0), 1)
	for name, b := range handmade {
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	names := []string{"p_trns.png", "l_trns.png", "g16.png", "g16.tif", "g16_trns.png"}
	for name := range handmade {
		names = append(names, name)
	}
	slices.Sort(names)
	want := pilOpens(t, dir, names)
	decodesAsPIL(t, dir, names, want)
	for _, name := range names {
		p := filepath.Join(dir, name)
		if want[name].Values == nil || name == "g16.tif" {
			continue
		}
		m, err := LoadInstanceMap(p)
		if err != nil {
			t.Errorf("%s as an instance map: %v", name, err)
			continue
		}
		var got []int
		for i := 0; i < m.W*m.H; i++ {
			got = append(got, int(m.Pix[m.C*i])<<8|int(m.Pix[m.C*i+m.C-1]))
		}
		if !slices.Equal(got, want[name].Values) {
			t.Errorf("%s as an instance map: ids %v, PIL's %v", name, got, want[name].Values)
		}
	}
}

// TestPremultipliedTIFFAsPIL: TIFFs of associated (premultiplied) alpha,
// 8- and 16-bit, which Go's decoder gives as image.RGBA and image.RGBA64,
// decode to PIL's convert('RGB') and convert('L'): PIL's unpackRGBa divides
// each 8-bit channel (the high byte of a 16-bit one) by alpha, truncating.
func TestPremultipliedTIFFAsPIL(t *testing.T) {
	dir := t.TempDir()
	m8 := image.NewRGBA(image.Rect(0, 0, 7, 3))
	m16 := image.NewRGBA64(image.Rect(0, 0, 7, 3))
	for i, a := range []uint8{0, 1, 37, 128, 200, 254, 255} {
		for y := 0; y < 3; y++ {
			c := color.RGBA{uint8(int(a) * (50*y + 30) / 255), uint8(int(a) * 77 / 255), a / 3, a}
			m8.SetRGBA(i, y, c)
			a16 := uint32(a)*257 - uint32(y*40)*uint32(min(a, 1))
			m16.SetRGBA64(i, y, color.RGBA64{uint16(a16 * uint32(50*y+30) / 255), uint16(a16 * 77 / 255), uint16(a16 / 3), uint16(a16)})
		}
	}
	var names []string
	for name, m := range map[string]image.Image{"rgba8.tif": m8, "rgba16.tif": m16} {
		var b bytes.Buffer
		if err := tiff.Encode(&b, m, nil); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, name), b.Bytes())
		names = append(names, name)
	}
	want := pilOpens(t, dir, names)
	for _, n := range names {
		if want[n].Mode != "RGBA" {
			t.Fatalf("%s: PIL opens mode %s, want RGBA (premultiplied on disk)", n, want[n].Mode)
		}
	}
	decodesAsPIL(t, dir, names, want)
}
