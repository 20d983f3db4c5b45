package data

// pix2pixHD's inputs (NVIDIA/pix2pixHD data/aligned_dataset.py): label maps
// of class ids instead of input images (data.label_nc > 0), and instance
// maps whose boundaries become the "inst" batch tensor (data.instance).
//
// Both are resized with nearest neighbours (get_transform(...,
// method=Image.NEAREST)) and cropped and flipped with the photo's draws; the
// label map is emitted as the ids themselves (the reference's ToTensor()*255),
// the instance map as Pix2PixHDModel.get_edges of the transformed map.
//
// Where gogan's shared Transform differs from pix2pixHD's get_transform
// (scale_width keeps the aspect ratio and none rounds the sides to what G's
// downsamplings take, as there: the recipe sets Config.ScaleWidthAspect and
// Config.NoneMultiple):
//   - label_nc 0 with instance maps: the reference resizes the instance map
//     with the input image's bicubic filter; here it is always nearest (a
//     bicubic instance map has no meaningful ids at its boundaries).

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// InstTensor is the name of the batch tensor of instance boundary maps.
const InstTensor = "inst"

// InstIDTensor is the name of the batch tensor of the instance maps
// themselves (Config.InstanceIDs): each id as (high byte, low byte).
const InstIDTensor = "inst_id"

// mapKind is what a single-channel map holds, for messages.
type mapKind int

const (
	plainImage mapKind = iota - 1 // not a map: an image
	labelMap
	instanceMap
)

// wrongMapModel says why an image of colour model m cannot be a map of kind,
// or returns nil when it can (gray 8 or 16 bits, or paletted).
func wrongMapModel(path string, m color.Model, kind mapKind) *FileError {
	if _, ok := m.(color.Palette); ok { // first: a Palette is not comparable
		return nil
	}
	if m == nil || m == color.GrayModel || m == color.Gray16Model {
		return nil // nil: a header gogan reads itself (libjpeg); the decode checks
	}
	if kind == labelMap && rgbPNG(path, m) {
		return nil // class ids saved as RGB, perhaps: grayIDs decides
	}
	what := "a multi-channel"
	switch m {
	case color.YCbCrModel, color.NYCbCrAModel, color.RGBAModel, color.RGBA64Model, color.NRGBAModel, color.NRGBA64Model:
		what = "an RGB"
		if pngColourType(path) == 4 { // Go decodes gray+alpha as NRGBA
			what = "a gray and alpha (LA)"
		}
	case color.CMYKModel:
		what = "a CMYK"
	case color.AlphaModel, color.Alpha16Model:
		what = "an alpha-only"
	}
	if kind == labelMap {
		return labelModelErr(path, what)
	}
	return fileErr(path, "instance map is %s image: instance maps must be single-channel 8- or 16-bit gray images "+
		"of instance ids, as Cityscapes' *_instanceIds.png", what)
}

// labelModelErr refuses a label map of colour channels (what: "an RGB").
func labelModelErr(path, what string) *FileError {
	return fileErr(path, "label map is %s image: label maps with data.label_nc>0 must be single-channel class-id images "+
		"(8-bit gray whose values are the class ids, or paletted: the palette index is the id), as Cityscapes' *_labelIds.png; "+
		"convert colour-coded maps to class ids first", what)
}

// rgbPNG says that a file of colour model m is an 8-bit RGB PNG (no
// alpha): class ids saved as RGB by mistake have R = G = B, which
// pix2pixHD reads as the ids (its one-hot scatter_ writes each channel's
// id, the same one), so gogan reads them too (grayIDs).
func rgbPNG(path string, m color.Model) bool {
	if m != color.RGBAModel {
		return false
	}
	depth, ct := pngHeader(path)
	return depth == 8 && ct == 2
}

// grayIDs is an RGB label map whose channels are equal everywhere as the
// 8-bit gray map of those values, or a refusal naming a pixel where they
// differ (a colour-coded map).
func grayIDs(path string, m *image.RGBA) (*image.Gray, error) {
	r := m.Bounds()
	g := image.NewGray(r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			i := m.PixOffset(x, y)
			p := m.Pix[i : i+3 : i+3]
			if p[0] != p[1] || p[1] != p[2] {
				return nil, fileErr(path, "%s (its channels differ at x=%d, y=%d: R, G, B = %d, %d, %d; an RGB map whose three channels are equal everywhere is read as those ids)",
					labelModelErr(path, "an RGB").Err, x-r.Min.X, y-r.Min.Y, p[0], p[1], p[2])
			}
			g.Pix[g.PixOffset(x, y)] = p[0]
		}
	}
	return g, nil
}

// pngColourType is a PNG file's IHDR colour type (0 gray, 2 RGB, 3
// palette, 4 gray+alpha, 6 RGBA), or -1.
func pngColourType(path string) int {
	_, ct := pngHeader(path)
	return ct
}

// pngHeader is a PNG file's IHDR bit depth and colour type, or -1, -1.
func pngHeader(path string) (depth, colourType int) {
	f, err := os.Open(path)
	if err != nil {
		return -1, -1
	}
	defer f.Close()
	var h [26]byte
	if _, err := io.ReadFull(f, h[:]); err != nil || string(h[:8]) != "\x89PNG\r\n\x1a\n" || string(h[12:16]) != "IHDR" {
		return -1, -1
	}
	return int(h[24]), int(h[25])
}

// decodeMap decodes a label or instance map to its single channel as PIL
// opens it: *image.Gray (mode L), *image.Gray16 (mode I, 16-bit PNGs) or
// *image.Paletted (mode P: the values are the palette indices, not colours).
func decodeMap(path string, b []byte, kind mapKind) (image.Image, error) {
	if len(b) == 0 {
		return nil, fileErr(path, "empty file (0 bytes)")
	}
	if isJPEG(b) {
		im, err := jpegPixels(path, b)
		if err != nil {
			return nil, err
		}
		if im.C != 1 {
			model := color.Model(color.YCbCrModel)
			if im.C == 4 {
				model = color.CMYKModel
			}
			return nil, wrongMapModel(path, model, kind)
		}
		return &image.Gray{Pix: im.Pix, Stride: im.W, Rect: image.Rect(0, 0, im.W, im.H)}, nil
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, describeDecodeErr(path, b, err)
	}
	if fe := wrongMapModel(path, cfg.ColorModel, kind); fe != nil {
		return nil, fe
	}
	img, _, err := decodeStd(path, b)
	if err != nil {
		return nil, err
	}
	switch m := img.(type) {
	case *image.Gray, *image.Gray16, *image.Paletted:
		return img, nil
	case *image.RGBA:
		if kind == labelMap && rgbPNG(path, m.ColorModel()) {
			g, err := grayIDs(path, m)
			if err != nil {
				return nil, err
			}
			return g, nil
		}
	}
	return nil, wrongMapModel(path, img.ColorModel(), kind)
}

// mapValues calls f(i, v) with the value of each pixel i (row-major) of a
// map decodeMap returned.
func mapValues(img image.Image, f func(i int, v uint16)) {
	r := img.Bounds()
	w := r.Dx()
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < r.Dy(); y++ {
			for x, v := range m.Pix[y*m.Stride : y*m.Stride+w] {
				f(y*w+x, uint16(v))
			}
		}
	case *image.Paletted:
		for y := 0; y < r.Dy(); y++ {
			for x, v := range m.Pix[y*m.Stride : y*m.Stride+w] {
				f(y*w+x, uint16(v))
			}
		}
	case *image.Gray16:
		for y := 0; y < r.Dy(); y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+2*w]
			for x := 0; x < w; x++ {
				f(y*w+x, uint16(row[2*x])<<8|uint16(row[2*x+1]))
			}
		}
	}
}

// jpegMaps says, for maps (label maps when instance is false, else
// instance maps) of folder dir, how many are JPEG files, with a warning to
// print, or "" when none is: JPEG's lossy compression changes the values
// near region borders, so those pixels hold ids nobody drew (a map of 4
// classes comes back with some 20), which decode without an error, the
// reference reading them so too.
func jpegMaps(dir string, files []string, instance bool) string {
	n, first := 0, ""
	for _, f := range files {
		if ext := strings.ToLower(filepath.Ext(f)); ext == ".jpg" || ext == ".jpeg" {
			if n++; first == "" {
				first = f
			}
		}
	}
	if n == 0 {
		return ""
	}
	what, held := "label maps", "class ids"
	if instance {
		what, held = "instance maps", "instance ids (and so boundaries)"
	}
	return fmt.Sprintf("data: %d of the %d %s in %s are JPEG files (%s): JPEG's lossy compression changes the values near region borders, so those pixels hold %s that were never drawn; save the maps as PNG (8-bit gray, or 16-bit for instance ids past 255)",
		n, len(files), what, dir, first, held)
}

// LoadLabelMap reads a label map: a single-channel image whose pixel values
// are class ids (8-bit gray, 16-bit gray, or paletted, whose palette indices
// are the ids, as PIL's mode P gives them; pix2pixHD fails on a 16-bit
// map, whose mode I values ToTensor leaves unscaled before its *255). It returns a 1-channel Image of
// the ids; an id >= labelNC (data.label_nc) is an error naming the file and
// the id, as is an image with colour channels.
func LoadLabelMap(path string, labelNC int) (*Image, error) {
	b, err := readImageFile(path)
	if err != nil {
		return nil, err
	}
	img, err := decodeMap(path, b, labelMap)
	if err != nil {
		return nil, err
	}
	r := img.Bounds()
	out := NewImage(r.Dx(), r.Dy(), 1)
	top, at := -1, 0
	widened := true // every value a multiple of 257: 8 bits made 16
	mapValues(img, func(i int, v uint16) {
		if int(v) > top {
			top, at = int(v), i
		}
		widened = widened && v%257 == 0
		out.Pix[i] = uint8(v)
	})
	if top >= labelNC {
		ce := &ClassIDError{ID: top, X: at % out.W, Y: at / out.W, LabelNC: labelNC}
		if depth, ct := pngHeader(path); ct == 0 && depth < 8 {
			ce.Depth = depth
		}
		if _, ok := img.(*image.Gray16); ok {
			ce.Depth, ce.Widened = 16, widened
		}
		ce.JPEG = isJPEG(b)
		return nil, &FileError{Path: path, Err: ce}
	}
	return out, nil
}

// ClassIDError is a label map's class id past data.label_nc's classes.
// Trained names the checkpoint whose generator the map is for (Config's
// Trained), whose classes cannot change: then the message says so.
// Depth is the bit depth of a gray PNG of fewer than 8 bits (a 1-bit
// mask), whose values PIL, and so the reference, scale to 8 bits, or 16
// for a 16-bit gray map (its values are the ids, but no class id passes
// 255); Widened says that a 16-bit map's values are all multiples of 257,
// an 8-bit map converted to 16 bits. JPEG says the map is a JPEG file,
// whose lossy compression makes ids near region borders that nobody drew.
type ClassIDError struct {
	ID, X, Y, LabelNC int
	Trained           string
	Depth             int
	Widened           bool
	JPEG              bool
}

func (e *ClassIDError) Error() string {
	low := ""
	switch {
	case e.JPEG:
		// no label_nc is right: the ids past it are compression's
		low = "it is a JPEG file, whose lossy compression changes the values near region borders (ids that were never drawn): save the label maps as PNG (8-bit gray whose values are the class ids)"
	case e.Depth == 16 && e.ID > 255 && e.Widened:
		low = "it is a 16-bit gray image whose values are all multiples of 257, as an 8-bit map converted to 16 bits makes them (each id times 257): save it as 8-bit gray whose values are the class ids"
	case e.Depth == 16 && e.ID > 255:
		// Cityscapes' *_instanceIds.png in the label folder
		low = "it is a 16-bit gray image, whose values are read as the class ids, and those are 0..255: if it is an instance map (as Cityscapes' *_instanceIds.png), it belongs in the {phase}_inst folder beside {phase}_label; else save the class ids as 8-bit gray"
	case e.Depth > 0 && e.Depth < 8:
		// its ids are not the file's values: no label_nc fits them
		low = fmt.Sprintf("it is a %d-bit gray PNG, whose values are read scaled to 8 bits (times %d, as PIL reads them for the reference: white is 255): save it as 8-bit gray whose values are the class ids", e.Depth, 255/(1<<e.Depth-1))
	}
	if e.Trained != "" {
		fix := "give label maps of those classes"
		if low != "" {
			fix = low
		}
		return fmt.Sprintf("label map has class id %d (at x=%d, y=%d), but the generator of %s was trained on %d classes (ids 0..%d): %s",
			e.ID, e.X, e.Y, e.Trained, e.LabelNC, e.LabelNC-1, fix)
	}
	fix := fmt.Sprintf("raise data.label_nc to at least %d (pix2pixHD's --label_nc)", e.ID+1)
	switch {
	case low != "":
		fix = low
	case e.ID > 255:
		fix = "label maps hold 8-bit class ids 0..255"
	case e.ID == 255 && e.LabelNC < 128:
		// few classes and 255: an ignore label, not a 256th class
		fix += "; or, if 255 marks pixels to ignore (as in Cityscapes' *_labelTrainIds.png), give those pixels a class below data.label_nc: pix2pixHD's Cityscapes maps are the *_labelIds.png (ids 0..33, data.label_nc 35)"
	}
	return fmt.Sprintf("label map has class id %d (at x=%d, y=%d) but data.label_nc is %d, so ids must be 0..%d: %s", e.ID, e.X, e.Y, e.LabelNC, e.LabelNC-1, fix)
}

// LoadLabelMapFor is LoadLabelMap for the generator of checkpoint trained
// ("": for training).
func LoadLabelMapFor(path string, labelNC int, trained string) (*Image, error) {
	im, err := LoadLabelMap(path, labelNC)
	if ce := (*ClassIDError)(nil); errors.As(err, &ce) {
		ce.Trained = trained
	}
	return im, err
}

// LoadInstanceMap reads an instance map (8- or 16-bit gray, or paletted) and
// returns it as a 2-channel Image holding each 16-bit id as (high byte, low
// byte), so that the 8-bit transforms carry it whole: nearest resizing,
// cropping and flipping move both channels together.
func LoadInstanceMap(path string) (*Image, error) {
	b, err := readImageFile(path)
	if err != nil {
		return nil, err
	}
	img, err := decodeMap(path, b, instanceMap)
	if err != nil {
		return nil, err
	}
	r := img.Bounds()
	out := NewImage(r.Dx(), r.Dy(), 2)
	mapValues(img, func(i int, v uint16) {
		out.Pix[2*i], out.Pix[2*i+1] = uint8(v>>8), uint8(v)
	})
	return out, nil
}

// InstanceEdges is Pix2PixHDModel.get_edges of an instance map (any number
// of channels, all compared): 1 at each pixel whose id differs from its left,
// right, upper or lower neighbour's (both pixels of a differing pair are
// marked), else 0, as a 1-channel image.
func InstanceEdges(inst *Image) *Image {
	out := NewImage(inst.W, inst.H, 1)
	instanceBorders(inst, func(i, j int, _ bool) { out.Pix[i], out.Pix[j] = 1, 1 })
	return out
}

// InstanceSides is InstanceEdges kept apart by direction, for a map that a
// random crop will cut: a 1-channel image whose bits say that the pixel's id
// differs from its left (SideLeft), right, upper or lower neighbour's. A
// pixel is on InstanceEdges where any bit is set; on InstanceEdges of a
// crop where a bit is set whose neighbour lies inside the crop (SideMask).
func InstanceSides(inst *Image) *Image {
	out := NewImage(inst.W, inst.H, 1)
	e := out.Pix
	instanceBorders(inst, func(i, j int, across bool) {
		if across { // j is i's right neighbour
			e[i] |= SideRight
			e[j] |= SideLeft
		} else { // j is i's lower neighbour
			e[i] |= SideDown
			e[j] |= SideUp
		}
	})
	return out
}

// The bits of InstanceSides.
const (
	SideLeft uint8 = 1 << iota
	SideRight
	SideUp
	SideDown
	AllSides = SideLeft | SideRight | SideUp | SideDown
)

// instanceBorders calls mark for each pair of 4-neighbours whose ids differ:
// i and its right neighbour j (across), or i and the pixel below it.
func instanceBorders(inst *Image, mark func(i, j int, across bool)) {
	w, h, c := inst.W, inst.H, inst.C
	p := inst.Pix
	differ := func(i, j int) bool { return !bytes.Equal(p[i*c:(i+1)*c], p[j*c:(j+1)*c]) }
	if c == 2 {
		differ = func(i, j int) bool { return p[2*i] != p[2*j] || p[2*i+1] != p[2*j+1] }
	}
	for y := 0; y < h; y++ {
		for x := 0; x+1 < w; x++ {
			if i := y*w + x; differ(i, i+1) {
				mark(i, i+1, true)
			}
		}
	}
	for y := 0; y+1 < h; y++ {
		for x := 0; x < w; x++ {
			if i := y*w + x; differ(i, i+w) {
				mark(i, i+w, false)
			}
		}
	}
}
