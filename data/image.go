package data

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	// Formats a folder may hold: JPEG, PNG, GIF, BMP, WebP, TIFF.
	_ "image/gif"
	"image/jpeg"
	"image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
)

// Image holds 8-bit pixels interleaved as (H, W, C), the layout PIL uses, with
// C = 1 (L) or 3 (RGB). Transforms work on it; the loader turns it into CHW.
type Image struct {
	W, H, C int
	Pix     []uint8
}

// Limits on the pixels of a decoded image: a header can claim any size in a
// few bytes, and decoders allocate what it claims.
const (
	// MaxImagePixels is PIL's Image.MAX_IMAGE_PIXELS, above which PIL warns
	// of a decompression bomb (about 0.25 GiB of RGB): the most pixels
	// gogan makes of one image, decoded or resized.
	MaxImagePixels = 89478485
	// maxSquareSide is the largest square's side within MaxImagePixels.
	maxSquareSide = 9459
	// Above minBombPixels (2048 x 2048), an image must have a byte of file
	// per maxPixelsPerByte pixels; no PNG, GIF or baseline JPEG packs more.
	minBombPixels    = 1 << 22
	maxPixelsPerByte = 1 << 14
)

// maxPixels is how many pixels a file of n bytes may decode to.
func maxPixels(n int) int64 {
	return min(MaxImagePixels, max(minBombPixels, int64(n)*maxPixelsPerByte))
}

// checkPixels refuses a w x h image held in n bytes when it has more than
// maxPixels(n) pixels.
func checkPixels(path string, w, h, n int) error {
	p := int64(w) * int64(h)
	if p > MaxImagePixels && p <= int64(n)*maxPixelsPerByte {
		// a file that may hold so many pixels: a large photo
		return fileErr(path, "image of %dx%d = %d pixels: more than the %d pixels gogan decodes of one image (PIL's Image.MAX_IMAGE_PIXELS, past which PIL warns, and up to twice which torchvision reads it): downscale it",
			w, h, p, MaxImagePixels)
	}
	if p > maxPixels(n) {
		return fileErr(path, "image of %dx%d pixels in %d bytes: more than the %d pixels gogan decodes from it (a corrupt header or a decompression bomb?)",
			w, h, n, maxPixels(n))
	}
	return nil
}

// NewImage allocates a w x h image with c channels.
func NewImage(w, h, c int) *Image { return &Image{W: w, H: h, C: c, Pix: make([]uint8, w*h*c)} }

// imageExts are the extensions a folder scan picks up (lower case).
var imageExts = map[string]string{
	".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".gif": "GIF", ".bmp": "BMP",
	".webp": "WebP", ".tif": "TIFF", ".tiff": "TIFF", ".ppm": "PPM", ".pgm": "PGM", ".pnm": "PNM",
}

// IsImageFile reports whether name has an extension the decoders read.
func IsImageFile(name string) bool {
	_, ok := imageExts[strings.ToLower(filepath.Ext(name))]
	return ok
}

// LoadImage reads and decodes an image file and converts it to c channels
// (1: PIL's convert('L') of the RGB image, 3: PIL's convert('RGB'); alpha is
// dropped as PIL does, CMYK and 16-bit images are converted).
func LoadImage(path string, c int) (*Image, error) {
	b, err := readImageFile(path)
	if err != nil {
		return nil, err
	}
	return decodeBytes(path, b, c)
}

// DecodeImage decodes an image held in memory as LoadImage decodes a file
// (the same decoders, conversions and bounds against decompression bombs);
// name's extension is the format its messages say was expected.
func DecodeImage(name string, b []byte, c int) (*Image, error) { return decodeBytes(name, b, c) }

// regularFile refuses what only looks like an image file: reading a named
// pipe blocks for ever, a device (a link to /dev/zero) never ends.
func regularFile(path string) (fs.FileInfo, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if target, lerr := os.Readlink(path); lerr == nil {
			return nil, fileErr(path, "is a link to %s, which does not exist", target)
		}
	}
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	if !st.Mode().IsRegular() {
		return nil, fileErr(path, "is %s, not an image file: remove it from the folder", KindOf(st.Mode()))
	}
	return st, nil
}

// KindOf names what a file of mode m is, for messages: "a folder", "a
// named pipe (FIFO)", "a device", "a socket", "a file" (a regular one).
func KindOf(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a file"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a folder"
	}
	return "not a regular file"
}

// readImageFile reads an image file whole, once regularFile allows it.
func readImageFile(path string) ([]byte, error) {
	if _, err := regularFile(path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	return b, nil
}

func decodeBytes(path string, b []byte, c int) (*Image, error) {
	if len(b) == 0 {
		return nil, fileErr(path, "empty file (0 bytes)")
	}
	if isJPEG(b) {
		return decodeJPEG(path, b, c)
	}
	if isWebP(b) {
		return decodeWebP(path, b, c)
	}
	img, _, err := decodeStd(path, b)
	if err != nil {
		return nil, err
	}
	if _, ok := img.(*image.Gray16); ok {
		warnGray16(path)
	}
	return toImage(img, c), nil
}

// imageHeader reads only what DecodeConfig needs: size and colour model.
func imageHeader(path string) (image.Config, error) {
	st, err := regularFile(path)
	if err != nil {
		return image.Config{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return image.Config{}, &FileError{Path: path, Err: err}
	}
	defer f.Close()
	if st.Size() == 0 {
		return image.Config{}, fileErr(path, "empty file (0 bytes)")
	}
	return decodeConfig(path, f, st.Size(), func() ([]byte, error) { return os.ReadFile(path) })
}

// DecodeConfig reads the size and colour model of an image held in memory
// as DecodeImage decodes it (a WebP's with libwebp, an animation's canvas),
// without decoding its pixels; an image that claims more pixels than its
// bytes may hold is refused, and the Config still says the size claimed.
// name's extension is the format its messages say was expected.
func DecodeConfig(name string, b []byte) (image.Config, error) { return bytesHeader(name, b) }

// bytesHeader is imageHeader for an image held in memory (an LMDB value).
func bytesHeader(name string, b []byte) (image.Config, error) {
	if len(b) == 0 {
		return image.Config{}, fileErr(name, "empty image (0 bytes)")
	}
	return decodeConfig(name, bytes.NewReader(b), int64(len(b)), func() ([]byte, error) { return b, nil })
}

// decodeConfig reads an image's size and colour model from r (size bytes);
// whole gives all of them for the formats whose header libjpeg or libwebp
// reads.
func decodeConfig(path string, r io.ReadSeeker, size int64, whole func() ([]byte, error)) (image.Config, error) {
	head := make([]byte, 64)
	n, _ := io.ReadFull(r, head)
	head = head[:n]
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return image.Config{}, &FileError{Path: path, Err: err}
	}
	var cfg image.Config
	var err error
	if isWebP(head) {
		// The first bytes hold the size (the image's own header, or the
		// extended format's canvas); all of it is read only if they do not.
		var short bool
		cfg, short, err = webpHeader(path, head)
		if short && int64(len(head)) < size {
			b, rerr := whole()
			if rerr != nil {
				return cfg, &FileError{Path: path, Err: rerr}
			}
			cfg, _, err = webpHeader(path, b)
		}
		if err != nil {
			return cfg, err
		}
	} else {
		cfg, _, err = image.DecodeConfig(r)
		var unsupported jpeg.UnsupportedError
		if errors.As(err, &unsupported) && isJPEG(head) {
			// Go's JPEG reader lacks some codings (arithmetic, 12-bit) that
			// libjpeg, which decodes JPEGs here, reads.
			b, rerr := whole()
			if rerr != nil {
				return cfg, &FileError{Path: path, Err: rerr}
			}
			if cfg, err = jpegHeader(path, b); err != nil {
				return cfg, err
			}
		}
		if err != nil {
			return image.Config{}, describeDecodeErr(path, head, err)
		}
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return cfg, fileErr(path, "image has no pixels (%dx%d)", cfg.Width, cfg.Height)
	}
	return cfg, checkPixels(path, cfg.Width, cfg.Height, int(size))
}

// isAppleDouble says whether head begins as an AppleDouble file (magic
// 0x00051607): what macOS writes as ._NAME beside NAME on file systems
// without its extended attributes, so that an image folder copied from a Mac
// holds a ._x.jpg for each x.jpg.
func isAppleDouble(head []byte) bool {
	return len(head) >= 4 && head[0] == 0 && head[1] == 5 && head[2] == 0x16 && head[3] == 7
}

// describeDecodeErr turns a decoder's error into one that says what the file
// was expected to be and what it looks like instead.
func describeDecodeErr(path string, head []byte, err error) error {
	want := imageExts[strings.ToLower(filepath.Ext(path))]
	if want == "" {
		want = "supported"
	}
	if errors.Is(err, image.ErrFormat) {
		if isAppleDouble(head) {
			sep := string(filepath.Separator)
			if i := strings.Index(path, sep+"__MACOSX"+sep); i >= 0 {
				// a zip made on a Mac holds its ._NAME files in a tree of their own
				dir := path[:i+len(sep+"__MACOSX")]
				return fileErr(path, "a macOS AppleDouble file, not an image: the Finder's metadata of %s, in %s, the folder of them that a zip made on a Mac holds beside its files (torchvision's ImageFolder would take it for a class); delete that folder (rm -r '%s')",
					strings.TrimPrefix(filepath.Base(path), "._"), dir, dir)
			}
			return fileErr(path, "a macOS AppleDouble file, not an image: the Finder's metadata of %s, which a copy from a Mac leaves beside it as ._NAME; delete these files (find %s -name '._*' -delete)",
				strings.TrimPrefix(filepath.Base(path), "._"), filepath.Dir(path))
		}
		if kind := netpbmOther(head); kind != "" {
			return fileErr(path, "a Netpbm %s, which gogan does not read (it reads P2, P3, P5 and P6: gray and colour maps): convert it to PNG", kind)
		}
		what := "unrecognised content"
		if looksLikeText(head) {
			what = "text file?"
		}
		return fileErr(path, "not a %s image (%s)", want, what)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fileErr(path, "truncated %s image (unexpected end of file)", want)
	}
	var pe png.FormatError
	if errors.As(err, &pe) && (string(pe) == "not enough pixel data" || string(pe) == "unexpected EOF") {
		// A PNG cut inside its image data (the zlib stream ends early) or
		// after it: Go's decoder calls both a format error.
		return fileErr(path, "truncated PNG image (%s)", string(pe))
	}
	var fe jpeg.FormatError
	if errors.As(err, &fe) {
		return fileErr(path, "corrupt JPEG image: %v", err)
	}
	var ue jpeg.UnsupportedError
	if errors.As(err, &ue) {
		return fileErr(path, "unsupported JPEG: %v", err)
	}
	if string(pe) == "invalid checksum" {
		// PIL does not check the image data's CRC; Go's decoder does.
		return fileErr(path, "corrupt PNG image: a chunk's checksum is wrong (PIL reads such a file without checking: save it again as a new PNG)")
	}
	return fileErr(path, "cannot decode %s image: %v (if other tools open it, it is a variant gogan's decoders lack: convert it to PNG)", want, err)
}

// netpbmOther names the Netpbm formats whose magic head starts with and
// that the PNM decoder does not take: bitmaps (P1, P4; PIL opens them as
// mode "1") and PAM (P7); "" for anything else.
func netpbmOther(head []byte) string {
	if len(head) < 3 || head[0] != 'P' || !strings.ContainsRune(" \t\n\r", rune(head[2])) {
		return ""
	}
	switch head[1] {
	case '1':
		return "bitmap (P1, plain: 1 bit a pixel)"
	case '4':
		return "bitmap (P4: 1 bit a pixel)"
	case '7':
		return "PAM image (P7)"
	}
	return ""
}

func looksLikeText(b []byte) bool {
	if len(b) > 64 {
		b = b[:64]
	}
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < 0x09 || (c > 0x0d && c < 0x20) || c == 0x7f {
			return false
		}
	}
	return true
}

// l24 is PIL's RGB to L conversion (ITU-R 601-2 luma in 16.16 fixed point).
func l24(r, g, b uint8) uint8 {
	return uint8((uint32(r)*19595 + uint32(g)*38470 + uint32(b)*7471 + 0x8000) >> 16)
}

// toImage converts a decoded image to c channels. The common decoder outputs
// have fast paths; anything else goes through color.NRGBAModel.
func toImage(src image.Image, c int) *Image {
	r := src.Bounds()
	w, h := r.Dx(), r.Dy()
	if g, ok := src.(*image.Gray); ok {
		out := NewImage(w, h, c)
		for y := 0; y < h; y++ {
			row := g.Pix[(y)*g.Stride : y*g.Stride+w]
			if c == 1 {
				copy(out.Pix[y*w:], row)
				continue
			}
			o := out.Pix[y*w*3:]
			for x, v := range row {
				o[3*x], o[3*x+1], o[3*x+2] = v, v, v
			}
		}
		return out
	}
	if g, ok := src.(*image.Gray16); ok {
		out := NewImage(w, h, c)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				// PIL's mode I to L or RGB: the value clipped to 255
				v := uint8(255)
				if g.Pix[y*g.Stride+2*x] == 0 {
					v = g.Pix[y*g.Stride+2*x+1]
				}
				if c == 1 {
					out.Pix[y*w+x] = v
				} else {
					i := 3 * (y*w + x)
					out.Pix[i], out.Pix[i+1], out.Pix[i+2] = v, v, v
				}
			}
		}
		return out
	}
	rgb := NewImage(w, h, 3)
	switch s := src.(type) {
	case *image.YCbCr:
		ycbcrToRGB(s, rgb)
	case *image.NYCbCrA:
		ycbcrToRGB(&s.YCbCr, rgb) // PIL's convert('RGB') drops alpha
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			in := s.Pix[y*s.Stride : y*s.Stride+4*w]
			o := rgb.Pix[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				o[3*x], o[3*x+1], o[3*x+2] = in[4*x], in[4*x+1], in[4*x+2]
			}
		}
	case *image.RGBA: // premultiplied (a TIFF's associated alpha): PIL's rawmode "RGBa"
		for y := 0; y < h; y++ {
			in := s.Pix[y*s.Stride : y*s.Stride+4*w]
			o := rgb.Pix[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				unpremultiply(o[3*x:3*x+3], in[4*x], in[4*x+1], in[4*x+2], in[4*x+3])
			}
		}
	case *image.RGBA64: // 16-bit premultiplied: PIL's "RGBa;16", the high bytes
		for y := 0; y < h; y++ {
			in := s.Pix[y*s.Stride : y*s.Stride+8*w]
			o := rgb.Pix[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				unpremultiply(o[3*x:3*x+3], in[8*x], in[8*x+2], in[8*x+4], in[8*x+6])
			}
		}
	case *image.CMYK:
		for y := 0; y < h; y++ {
			in := s.Pix[y*s.Stride : y*s.Stride+4*w]
			o := rgb.Pix[y*w*3 : (y+1)*w*3]
			for x := 0; x < w; x++ {
				nk := uint32(255 - in[4*x+3])
				for k := 0; k < 3; k++ { // PIL's cmyk2rgb
					t := uint32(in[4*x+k])*nk + 128
					o[3*x+k] = uint8(nk - ((t>>8)+t)>>8)
				}
			}
		}
	default:
		i := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				n := color.NRGBA64Model.Convert(src.At(x, y)).(color.NRGBA64)
				rgb.Pix[i], rgb.Pix[i+1], rgb.Pix[i+2] = uint8(n.R>>8), uint8(n.G>>8), uint8(n.B>>8)
				i += 3
			}
		}
	}
	if c == 3 {
		return rgb
	}
	return toGray(rgb)
}

// unpremultiply writes the colour of a premultiplied 8-bit pixel as PIL's
// unpackRGBa does (Unpack.c): each channel times 255 divided by alpha,
// truncated and clipped; black where alpha is 0. The alpha is then dropped,
// as convert('RGB') drops it.
func unpremultiply(o []uint8, r, g, b, a uint8) {
	switch a {
	case 0:
		o[0], o[1], o[2] = 0, 0, 0
	case 255:
		o[0], o[1], o[2] = r, g, b
	default:
		for k, v := range [3]uint8{r, g, b} {
			o[k] = uint8(min(255, uint32(v)*255/uint32(a)))
		}
	}
}

// toGray is PIL's convert('L') of an RGB image.
func toGray(rgb *Image) *Image {
	if rgb.C == 1 {
		return rgb
	}
	out := NewImage(rgb.W, rgb.H, 1)
	for i := range out.Pix {
		out.Pix[i] = l24(rgb.Pix[3*i], rgb.Pix[3*i+1], rgb.Pix[3*i+2])
	}
	return out
}

// toRGB is PIL's convert('RGB') of an L image (the value copied to R, G, B).
func toRGB(g *Image) *Image {
	if g.C == 3 {
		return g
	}
	out := NewImage(g.W, g.H, 3)
	for i, v := range g.Pix {
		out.Pix[3*i], out.Pix[3*i+1], out.Pix[3*i+2] = v, v, v
	}
	return out
}

func toChannels(im *Image, c int) *Image {
	if c == 1 {
		return toGray(im)
	}
	return toRGB(im)
}

// libjpeg's YCbCr to RGB tables (jdcolor.c), so that colours match PIL's to
// the last bit for the same Y, Cb, Cr samples.
var crR, cbB, crG, cbG [256]int32

func init() {
	const scale = 16
	fix := func(x float64) int32 { return int32(x*(1<<scale) + 0.5) }
	for i := 0; i < 256; i++ {
		x := int32(i - 128)
		crR[i] = (fix(1.40200)*x + 1<<(scale-1)) >> scale
		cbB[i] = (fix(1.77200)*x + 1<<(scale-1)) >> scale
		crG[i] = -fix(0.71414) * x
		cbG[i] = -fix(0.34414)*x + 1<<(scale-1)
	}
}

func clamp8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// ycbcrToRGB converts with libjpeg's "fancy" (triangle filter) chroma
// upsampling for 4:2:0 and 4:2:2, which PIL uses and Go's YCbCr.At does not:
// it brings Go's decode within about 1 level of PIL's instead of several at
// colour edges.
func ycbcrToRGB(s *image.YCbCr, out *Image) {
	w, h := out.W, out.H
	r := s.Rect
	cw := (r.Max.X+1)/2 - r.Min.X/2
	fancyH := s.SubsampleRatio == image.YCbCrSubsampleRatio420 || s.SubsampleRatio == image.YCbCrSubsampleRatio422
	fancyV := s.SubsampleRatio == image.YCbCrSubsampleRatio420
	if !fancyH || cw <= 2 || r.Min.X != 0 || r.Min.Y != 0 {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				yi, ci := s.YOffset(x+r.Min.X, y+r.Min.Y), s.COffset(x+r.Min.X, y+r.Min.Y)
				putYCC(out.Pix[3*(y*w+x):], s.Y[yi], s.Cb[ci], s.Cr[ci])
			}
		}
		return
	}
	ch := h
	if fancyV {
		ch = (h + 1) / 2
	}
	cb := make([]uint8, 2*cw)
	cr := make([]uint8, 2*cw)
	colsum := make([]int32, cw)
	for y := 0; y < h; y++ {
		cy := y
		if fancyV {
			cy = y / 2
		}
		upsampleRow(s.Cb, s.CStride, cy, ch, y, fancyV, colsum, cb)
		upsampleRow(s.Cr, s.CStride, cy, ch, y, fancyV, colsum, cr)
		yccRow(s.Y[y*s.YStride:y*s.YStride+w], cb[:w], cr[:w], out.Pix[3*y*w:3*(y+1)*w])
	}
}

// yccRow converts one row; the slices are resliced to equal lengths so the
// compiler drops the bounds checks.
func yccRow(yrow, cb, cr, o []uint8) {
	cb = cb[:len(yrow)]
	cr = cr[:len(yrow)]
	o = o[:3*len(yrow)]
	for x, yv := range yrow {
		yy := int32(yv)
		cbv, crv := cb[x], cr[x]
		q := o[3*x : 3*x+3 : 3*x+3]
		q[0] = clamp8(yy + crR[crv])
		q[1] = clamp8(yy + (cbG[cbv]+crG[crv])>>16)
		q[2] = clamp8(yy + cbB[cbv])
	}
}

// upsampleRow writes one output row of a chroma plane upsampled 2x
// horizontally (and, when v, vertically) as libjpeg's h2v2/h2v1_fancy_upsample.
func upsampleRow(plane []uint8, stride, cy, ch, y int, v bool, colsum []int32, dst []uint8) {
	cw := len(colsum)
	near := plane[cy*stride : cy*stride+cw]
	if !v { // h2v1: 3/4 nearer + 1/4 further, rounding alternating 1 and 2
		dst[0] = near[0]
		dst[1] = uint8((int32(near[0])*3 + int32(near[1]) + 2) >> 2)
		for i := 1; i < cw-1; i++ {
			t := int32(near[i]) * 3
			dst[2*i] = uint8((t + int32(near[i-1]) + 1) >> 2)
			dst[2*i+1] = uint8((t + int32(near[i+1]) + 2) >> 2)
		}
		i := cw - 1
		dst[2*i] = uint8((int32(near[i])*3 + int32(near[i-1]) + 1) >> 2)
		dst[2*i+1] = near[i]
		return
	}
	fy := cy - 1 // even output rows lean on the chroma row above, odd on the one below
	if y%2 == 1 {
		fy = cy + 1
	}
	fy = max(0, min(ch-1, fy))
	far := plane[fy*stride : fy*stride+cw]
	far = far[:len(near)]
	colsum = colsum[:len(near)]
	for i, v := range near {
		colsum[i] = int32(v)*3 + int32(far[i])
	}
	dst[0] = uint8((colsum[0]*4 + 8) >> 4)
	dst[1] = uint8((colsum[0]*3 + colsum[1] + 7) >> 4)
	for i := 1; i < cw-1; i++ {
		dst[2*i] = uint8((colsum[i]*3 + colsum[i-1] + 8) >> 4)
		dst[2*i+1] = uint8((colsum[i]*3 + colsum[i+1] + 7) >> 4)
	}
	i := cw - 1
	dst[2*i] = uint8((colsum[i]*3 + colsum[i-1] + 8) >> 4)
	dst[2*i+1] = uint8((colsum[i]*4 + 7) >> 4)
}

func putYCC(o []uint8, y, cb, cr uint8) {
	yy := int32(y)
	o[0] = clamp8(yy + crR[cr])
	o[1] = clamp8(yy + (cbG[cb]+crG[cr])>>16)
	o[2] = clamp8(yy + cbB[cb])
}

// String is for test failures.
func (im *Image) String() string { return fmt.Sprintf("Image(%dx%dx%d)", im.W, im.H, im.C) }

// NRGBA is im as a Go image, for PNG encoding: a gray image's level in
// each of R, G and B, opaque.
func (im *Image) NRGBA() *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, im.W, im.H))
	for p := 0; p < im.W*im.H; p++ {
		o := p * 4
		if im.C == 1 {
			v := im.Pix[p]
			out.Pix[o], out.Pix[o+1], out.Pix[o+2] = v, v, v
		} else {
			copy(out.Pix[o:o+3], im.Pix[p*im.C:p*im.C+3])
		}
		out.Pix[o+3] = 255
	}
	return out
}
