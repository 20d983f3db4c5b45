package data

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
)

// Netpbm's gray and colour images (.pgm, .ppm, .pnm: P2, P3, P5, P6), which
// PIL reads and the references' IMG_EXTENSIONS list (.ppm): 8-bit samples
// (maxval up to 255, scaled to 255 as PIL scales them), raw or plain.
func init() {
	for _, magic := range []string{"P2", "P3", "P5", "P6"} {
		image.RegisterFormat("pnm", magic, decodePNM, decodePNMConfig)
	}
}

type pnmHeader struct {
	kind         byte // '2', '3', '5', '6'
	w, h, maxval int
	channels     int
	plain        bool
	br           *bufio.Reader
}

// readPNMHeader reads the magic, width, height and maxval (comments from #
// to the end of a line are skipped) and the whitespace byte after maxval.
func readPNMHeader(r io.Reader) (*pnmHeader, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, 2)
	if _, err := io.ReadFull(br, magic); err != nil {
		return nil, err
	}
	h := &pnmHeader{kind: magic[1], br: br}
	switch h.kind {
	case '2', '5':
		h.channels = 1
	case '3', '6':
		h.channels = 3
	default:
		return nil, image.ErrFormat
	}
	h.plain = h.kind == '2' || h.kind == '3'
	var vals [3]int
	for i := range vals {
		v, err := pnmNumber(br)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	h.w, h.h, h.maxval = vals[0], vals[1], vals[2]
	if h.maxval < 1 || h.maxval > 255 {
		return nil, fmt.Errorf("netpbm: maxval %d: gogan reads 8-bit samples (maxval 1 to 255)", h.maxval)
	}
	if h.w <= 0 || h.h <= 0 {
		return nil, fmt.Errorf("netpbm: image of %dx%d pixels", h.w, h.h)
	}
	// pnmNumber took the one whitespace byte that ends a raw header
	return h, nil
}

// pnmNumber reads a decimal number, skipping whitespace and comments
// before it, and the one whitespace byte after it.
func pnmNumber(br *bufio.Reader) (int, error) {
	n, digits := 0, 0
	for {
		c, err := br.ReadByte()
		if err != nil {
			if digits > 0 && errors.Is(err, io.EOF) {
				return n, nil
			}
			if errors.Is(err, io.EOF) {
				return 0, io.ErrUnexpectedEOF
			}
			return 0, err
		}
		switch {
		case c >= '0' && c <= '9':
			if n > 1<<24 {
				return 0, errors.New("netpbm: number too large")
			}
			n, digits = n*10+int(c-'0'), digits+1
		case c == '#' && digits == 0:
			if _, err := br.ReadString('\n'); err != nil && !errors.Is(err, io.EOF) {
				return 0, err
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			if digits > 0 {
				return n, nil
			}
		default:
			return 0, fmt.Errorf("netpbm: unexpected byte %q in a number", c)
		}
	}
}

func decodePNMConfig(r io.Reader) (image.Config, error) {
	h, err := readPNMHeader(r)
	if err != nil {
		return image.Config{}, err
	}
	model := color.GrayModel
	if h.channels == 3 {
		model = color.NRGBAModel
	}
	return image.Config{ColorModel: model, Width: h.w, Height: h.h}, nil
}

func decodePNM(r io.Reader) (image.Image, error) {
	h, err := readPNMHeader(r)
	if err != nil {
		return nil, err
	}
	// The samples grow as they arrive: a short file claiming a large image
	// allocates what it holds, not what it claims.
	n := h.w * h.h * h.channels
	var samples []byte
	if h.plain {
		samples = make([]byte, 0, min(n, 1<<16))
		for range n {
			v, err := pnmNumber(h.br)
			if err != nil {
				return nil, err
			}
			if v > h.maxval { // PIL refuses it too
				return nil, fmt.Errorf("netpbm: sample %d above maxval %d", v, h.maxval)
			}
			samples = append(samples, uint8(v))
		}
	} else {
		var err error
		if samples, err = io.ReadAll(io.LimitReader(h.br, int64(n))); err != nil {
			return nil, err
		}
		if len(samples) < n {
			return nil, io.ErrUnexpectedEOF
		}
	}
	if h.maxval != 255 {
		// PIL's min(255, round(value / maxval * 255)), in double with
		// Python's round half to even; a raw sample above maxval clips.
		for i, v := range samples {
			samples[i] = uint8(min(255, math.RoundToEven(float64(v)/float64(h.maxval)*255)))
		}
	}
	if h.channels == 1 {
		return &image.Gray{Pix: samples, Stride: h.w, Rect: image.Rect(0, 0, h.w, h.h)}, nil
	}
	im := image.NewNRGBA(image.Rect(0, 0, h.w, h.h))
	for i := 0; i < h.w*h.h; i++ {
		copy(im.Pix[4*i:4*i+3], samples[3*i:3*i+3])
		im.Pix[4*i+3] = 255
	}
	return im, nil
}
