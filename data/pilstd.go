package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"log/slog"
	"sync"
)

// Where Go's standard decoders (PNG, GIF, BMP, TIFF) give other pixels than
// PIL opens, which is what the references train on:
//
//   - A palette entry made transparent (PNG tRNS, a GIF's transparent
//     index) keeps its colour in PIL's mode P; Go's GIF decoder blanks it,
//     and an entry of alpha 0 converts to black. An index past a short
//     palette is PIL's gray ramp (i, i, i), Go's opaque black.
//   - A GIF's first frame smaller than its logical screen: PIL's image is
//     the screen, the frame at its offset on a canvas of the frame's
//     transparent index (else index 0); Go's is the frame alone.
//   - Gray with tRNS: PIL's mode L or I; Go's NRGBA or NRGBA64.
//   - 16-bit gray is PIL's mode I (PNG) or I;16 (TIFF), whose conversion to
//     L or RGB clips the value to 255; toImage does that, with a warning.

// decodeStd decodes b, a format of Go's image registry, to the image PIL
// opens: *image.Paletted with the file's own colours (opaque), *image.Gray,
// *image.Gray16, or what Go's decoder gave (RGB and RGBA kinds, CMYK).
func decodeStd(path string, b []byte) (image.Image, image.Config, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, cfg, describeDecodeErr(path, b, err)
	}
	if err := checkPixels(path, cfg.Width, cfg.Height, len(b)); err != nil {
		return nil, cfg, err
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, cfg, describeDecodeErr(path, b, err)
	}
	if r := img.Bounds(); r.Dx() <= 0 || r.Dy() <= 0 {
		return nil, cfg, fileErr(path, "image has no pixels (%dx%d)", r.Dx(), r.Dy())
	}
	switch m := img.(type) {
	case *image.Paletted:
		switch format {
		case "gif":
			g, err := readGIFHead(b)
			if err != nil {
				return nil, cfg, describeDecodeErr(path, b, err)
			}
			img = g.canvas(m, cfg)
		case "png":
			m.Palette = opaquePalette(m.Palette, pngPaletteLen(b))
		}
	case *image.NRGBA:
		if cfg.ColorModel == color.GrayModel { // gray with tRNS
			g := image.NewGray(m.Rect)
			for i := range g.Pix {
				g.Pix[i] = m.Pix[4*i]
			}
			img = g
		}
	case *image.NRGBA64:
		if cfg.ColorModel == color.Gray16Model { // 16-bit gray with tRNS
			g := image.NewGray16(m.Rect)
			for i := 0; i < len(g.Pix); i += 2 {
				g.Pix[i], g.Pix[i+1] = m.Pix[4*i], m.Pix[4*i+1]
			}
			img = g
		}
	}
	return img, cfg, nil
}

// opaquePalette is PIL's palette of a P image from Go's: the first n
// entries' colours without their alpha (Go keeps a tRNS entry's colour in
// color.NRGBA), any further index PIL's gray ramp.
func opaquePalette(p color.Palette, n int) color.Palette {
	out := make(color.Palette, 256)
	for i := range out {
		c := color.RGBA{uint8(i), uint8(i), uint8(i), 255}
		if i < n && i < len(p) {
			switch e := p[i].(type) {
			case color.NRGBA:
				c = color.RGBA{e.R, e.G, e.B, 255}
			case color.RGBA:
				if e.A == 255 {
					c = e
				}
			}
		}
		out[i] = c
	}
	return out
}

// pngPaletteLen is the number of entries of a PNG's PLTE chunk (0 if it has
// none before its image data).
func pngPaletteLen(b []byte) int {
	for p := 8; p+8 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[p:]))
		switch string(b[p+4 : p+8]) {
		case "PLTE":
			return n / 3
		case "IDAT":
			return 0
		}
		if n < 0 || n > len(b) {
			return 0
		}
		p += 12 + n
	}
	return 0
}

// gifHead is what PIL takes from a GIF up to its first image: the frame's
// colour table as written (local, else global) and its transparent index.
type gifHead struct {
	table       []byte // RGB triples
	transparent int    // -1: none
}

var errGIFHead = errors.New("gif: cannot read the header up to the first image")

func readGIFHead(b []byte) (gifHead, error) {
	h := gifHead{transparent: -1}
	if len(b) < 13 {
		return h, errGIFHead
	}
	p := 13
	if flags := b[10]; flags&0x80 != 0 {
		n := 3 << (flags&7 + 1)
		if p+n > len(b) {
			return h, errGIFHead
		}
		h.table, p = b[p:p+n], p+n
	}
	for p < len(b) {
		switch b[p] {
		case '!': // extension: label, then data sub-blocks
			if p+2 > len(b) {
				return h, errGIFHead
			}
			label := b[p+1]
			p += 2
			first := true
			for p < len(b) && b[p] != 0 {
				n := int(b[p])
				if p+1+n > len(b) {
					return h, errGIFHead
				}
				// graphic control: a later one without the flag keeps an
				// earlier index, as PIL reads them
				if label == 0xF9 && first && n >= 4 && b[p+1]&1 != 0 {
					h.transparent = int(b[p+4])
				}
				first = false
				p += 1 + n
			}
			p++ // the block terminator
		case ',': // image descriptor
			if p+10 > len(b) {
				return h, errGIFHead
			}
			if flags := b[p+9]; flags&0x80 != 0 {
				n := 3 << (flags&7 + 1)
				if p+10+n > len(b) {
					return h, errGIFHead
				}
				h.table = b[p+10 : p+10+n]
			}
			return h, nil
		default:
			return h, errGIFHead
		}
	}
	return h, errGIFHead
}

// canvas is PIL's first frame: the logical screen filled with the
// transparent index (else 0), the frame m at its offset, every index
// through the frame's table as written.
func (h gifHead) canvas(m *image.Paletted, cfg image.Config) *image.Paletted {
	pal := make(color.Palette, 256)
	for i := range pal {
		if 3*i+2 < len(h.table) {
			pal[i] = color.RGBA{h.table[3*i], h.table[3*i+1], h.table[3*i+2], 255}
		} else {
			pal[i] = color.RGBA{uint8(i), uint8(i), uint8(i), 255}
		}
	}
	out := image.NewPaletted(image.Rect(0, 0, cfg.Width, cfg.Height), pal)
	if h.transparent > 0 {
		for i := range out.Pix {
			out.Pix[i] = uint8(h.transparent)
		}
	}
	r := m.Rect.Intersect(out.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		copy(out.Pix[out.PixOffset(r.Min.X, y):out.PixOffset(r.Max.X, y)], m.Pix[m.PixOffset(r.Min.X, y):])
	}
	return out
}

// gray16Warning says once per process that 16-bit gray images clip.
var gray16Warning sync.Once

func warnGray16(path string) {
	gray16Warning.Do(func() {
		slog.Warn("data: 16-bit grayscale images are read as PIL reads them for the references, their values clipped to 255 "+
			"(most of the range turns white); convert them to 8-bit to keep it", "first", path)
	})
}
