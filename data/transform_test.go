package data

import (
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestPreprocessSizes(t *testing.T) {
	cases := []struct {
		mode             string
		load, crop, size int
		w, h             int
		ow, oh           int
		err              string
		hd               bool // pix2pixHD's __scale_width and __make_power_2 (base 16)
	}{
		{ResizeAndCrop, 286, 256, 0, 256, 256, 256, 256, "", false},
		{ResizeAndCrop, 286, 256, 0, 50, 900, 256, 256, "", false}, // resized first: any input fits
		{Crop, 0, 128, 0, 300, 200, 128, 128, "", false},
		{Crop, 0, 256, 0, 300, 200, 0, 0, "data.crop_size 256 is larger than the image 300x200", false},
		{ScaleWidth, 256, 256, 0, 400, 300, 256, 256, "", false}, // height max(192, crop)
		{ScaleWidth, 256, 64, 0, 256, 100, 256, 100, "", false},  // already the width: unchanged
		// already the width but lower than the crop: __scale_width still
		// resizes, to int(max(256 * 100 / 256, 128)) = 128 high
		{ScaleWidth, 256, 128, 0, 256, 100, 256, 128, "", false},
		{ScaleWidthAndCrop, 256, 128, 0, 256, 100, 128, 128, "", false},
		{ScaleWidth, 256, 64, 0, 512, 1024, 256, 512, "", false},
		{ScaleWidthAndCrop, 286, 256, 0, 400, 300, 256, 256, "", false},
		{PreprocessNone, 0, 0, 0, 30, 22, 32, 24, "", false}, // Python's round: 7.5 -> 8, 5.5 -> 6
		{PreprocessNone, 0, 0, 0, 41, 17, 40, 16, "", false},
		{PreprocessNone, 0, 0, 0, 1, 1, 0, 0, "resizes to nothing", false},
		{ResizeCenterCrop, 0, 0, 64, 100, 50, 64, 64, "", false},
		// pix2pixHD: h = int(target * oh / ow) whatever the crop; none rounds
		// to 2^n_downsample_global
		{ScaleWidth, 128, 512, 0, 128, 64, 128, 64, "", true},
		{ScaleWidth, 1024, 512, 0, 2048, 1024, 1024, 512, "", true},
		{ScaleWidth, 100, 512, 0, 300, 401, 100, 133, "", true},
		{PreprocessNone, 0, 0, 0, 100, 52, 96, 48, "", true},  // 6.25 -> 6, 3.25 -> 3
		{PreprocessNone, 0, 0, 0, 120, 40, 128, 32, "", true}, // 7.5 -> 8, 2.5 -> 2
	}
	for _, c := range cases {
		tf := Transform{Mode: c.mode, LoadSize: c.load, CropSize: c.crop, ImageSize: c.size, Filter: Bicubic}
		if c.hd {
			tf.ScaleWidthAspect, tf.NoneMultiple = true, 16
		}
		ow, oh, err := tf.OutputSize(c.w, c.h)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s %dx%d: want error %q, got %v", c.mode, c.w, c.h, c.err, err)
			}
			continue
		}
		if err != nil || ow != c.ow || oh != c.oh {
			t.Errorf("%s %dx%d: got %dx%d %v, want %dx%d", c.mode, c.w, c.h, ow, oh, err, c.ow, c.oh)
			continue
		}
		im := NewImage(c.w, c.h, 1)
		out, err := tf.Apply(im, Params{RX: 12345, RY: 678})
		if err != nil || out.W != c.ow || out.H != c.oh {
			t.Errorf("%s %dx%d: Apply gives %v %v", c.mode, c.w, c.h, out, err)
		}
	}
	if (Transform{Mode: ResizeCenterCrop, Flip: false}).Random() || !(Transform{Mode: Crop}).Random() {
		t.Error("Random() wrong")
	}
}

func TestFlipAndCrop(t *testing.T) {
	im := NewImage(4, 2, 3)
	for i := range im.Pix {
		im.Pix[i] = uint8(i)
	}
	f := FlipH(im)
	if !slices.Equal(px(f, 0, 1), px(im, 3, 1)) || !slices.Equal(px(f, 3, 0), px(im, 0, 0)) {
		t.Errorf("flip: %v", f.Pix)
	}
	c := CropImage(im, 1, 1, 2, 1)
	if !slices.Equal(c.Pix, im.Pix[15:21]) {
		t.Errorf("crop: %v", c.Pix)
	}
	tf := Transform{Mode: Crop, CropSize: 2, Flip: true}
	a, _ := tf.Apply(im, Params{RX: 1, RY: 0, Flip: true})
	if !slices.Equal(a.Pix, FlipH(CropImage(im, 1, 0, 2, 2)).Pix) {
		t.Errorf("crop at x=1 then flip: %v", a.Pix)
	}
}

// TestCenterCropMatchesTorchvision: DCGAN's Resize(64) + CenterCrop(64) on a
// 2:1 image (the shorter side to 64, the longer to 128, the middle 64 kept)
// equals torchvision's on the same pixels.
func TestCenterCropMatchesTorchvision(t *testing.T) {
	src, err := LoadImage(filepath.Join(facadesDir(t), "3.jpg"), 3)
	if err != nil {
		t.Fatal(err)
	}
	src = CropImage(src, 0, 0, 500, 250) // not a multiple of the output size
	want := pil(t, `
import sys
from PIL import Image
import torchvision.transforms as T
im = Image.frombytes('RGB', (int(sys.argv[1]), int(sys.argv[2])), sys.stdin.buffer.read())
out = T.CenterCrop(64)(T.Resize(64)(im))
sys.stdout.buffer.write(out.tobytes())
`, src.Pix, strconv.Itoa(src.W), strconv.Itoa(src.H))
	tf := Transform{Mode: ResizeCenterCrop, ImageSize: 64, Filter: Bilinear}
	got, err := tf.Apply(src, Params{})
	if err != nil {
		t.Fatal(err)
	}
	if mean, maxd := absDiff(got.Pix, want); maxd != 0 {
		t.Errorf("differs from torchvision: mean %.4f max %d", mean, maxd)
	}
}

// TestOutputSizeLimit: no transform makes an image of more than
// MaxImagePixels, and the refusal says why (the load size, an extreme
// aspect ratio under scale_width, an image too large as it is); an image
// of no pixels (the A half of a 1-pixel-wide A|B pair) is named as such.
func TestOutputSizeLimit(t *testing.T) {
	for _, c := range []struct {
		t    Transform
		w, h int
		want string
	}{
		{Transform{Mode: ResizeAndCrop, LoadSize: 100000, CropSize: 256}, 512, 256, "resizes to 100000x100000 with data.preprocess resize_and_crop: more than the 89478485 pixels gogan makes of an image (lower data.load_size)"},
		{Transform{Mode: ScaleWidth, LoadSize: 256}, 1, 5000000, "(its aspect ratio is extreme)"},
		{Transform{Mode: ScaleWidth, LoadSize: 20000}, 90, 70, "(lower data.load_size)"},
		{Transform{Mode: ScaleWidth, LoadSize: 9000}, 3000, 4000, "resizes to 9000x12000 with data.preprocess scale_width: more than the 89478485 pixels gogan makes of an image (lower data.load_size)"},
		{Transform{Mode: PreprocessNone}, 10000, 10000, "(the image is too large)"},
		{Transform{Mode: ResizeCenterCrop, ImageSize: 64}, 1, 2000000, "(its aspect ratio is extreme, or lower data.image_size)"},
		{Transform{Mode: ScaleWidth, LoadSize: 256}, 0, 256, "image 0x256 has no pixels"},
	} {
		if _, _, err := c.t.OutputSize(c.w, c.h); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s load %d, %dx%d: %v; want %q", c.t.Mode, c.t.LoadSize, c.w, c.h, err, c.want)
		}
	}
}

// TestNormalizeIsTorchvisions: the loader's float batches are the
// references' ToTensor() then Normalize((0.5, ...), (0.5, ...)) bit for
// bit, for every 8-bit value, in RGB and gray (get_transform's convert
// step and pytorch/examples dcgan's transforms).
func TestNormalizeIsTorchvisions(t *testing.T) {
	rgb, gray := NewImage(256, 2, 3), NewImage(256, 2, 1)
	for _, im := range []*Image{rgb, gray} {
		for i := range im.Pix {
			im.Pix[i] = uint8(i) // 0..255 over and over: every value
		}
	}
	raw := pil(t, `
import sys
from PIL import Image
import torchvision.transforms as T
w, h = int(sys.argv[1]), int(sys.argv[2])
data = sys.stdin.buffer.read()
for mode, c in (('RGB', 3), ('L', 1)):
    im = Image.frombytes(mode, (w, h), data[:w * h * c])
    data = data[w * h * c:]
    tf = T.Compose([T.ToTensor(), T.Normalize((0.5,) * c, (0.5,) * c)])
    sys.stdout.buffer.write(tf(im).numpy().astype('<f4').tobytes())
`, slices.Concat(rgb.Pix, gray.Pix), "256", "2")
	for _, im := range []*Image{rgb, gray} {
		got := make([]float32, len(im.Pix))
		putCHW(im, got)
		if len(raw) < 4*len(got) {
			t.Fatalf("torchvision gave %d bytes, want %d more", len(raw), 4*len(got))
		}
		bad := 0
		for i, g := range got {
			want := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			if g != want {
				if bad++; bad <= 3 {
					t.Errorf("%d channels: value %d: %v (%08x), torchvision %v (%08x)", im.C, i, g, math.Float32bits(g), want, math.Float32bits(want))
				}
			}
		}
		if bad > 0 {
			t.Errorf("%d channels: %d of %d values differ from torchvision", im.C, bad, len(got))
		}
		raw = raw[4*len(got):]
	}
}

// TestResizeCenterCropAtAnySize: DCGAN's Resize(64) + CenterCrop(64) of
// images whose longer side does not scale to a whole number (torchvision
// truncates it: 60x100 -> 64x106, 100x61 -> 104x64) and whose crop leaves
// an odd margin (center_crop rounds half of it to even: 103 wide -> left
// 20, 99 high -> top 18) equals torchvision's, pixel for pixel.
func TestResizeCenterCropAtAnySize(t *testing.T) {
	src, err := LoadImage(filepath.Join(facadesDir(t), "3.jpg"), 3)
	if err != nil {
		t.Fatal(err)
	}
	sizes := [][2]int{{60, 100}, {100, 61}, {103, 64}, {64, 99}}
	var in []byte
	var args []string
	for _, s := range sizes {
		in = append(in, CropImage(src, 0, 0, s[0], s[1]).Pix...)
		args = append(args, strconv.Itoa(s[0]), strconv.Itoa(s[1]))
	}
	out := pil(t, `
import sys
from PIL import Image
import torchvision.transforms as T
data = sys.stdin.buffer.read()
sizes = list(map(int, sys.argv[1:]))
for w, h in zip(sizes[::2], sizes[1::2]):
    im = Image.frombytes('RGB', (w, h), data[:w * h * 3])
    data = data[w * h * 3:]
    sys.stdout.buffer.write(T.CenterCrop(64)(T.Resize(64)(im)).tobytes())
`, in, args...)
	tf := Transform{Mode: ResizeCenterCrop, ImageSize: 64, Filter: Bilinear}
	for i, s := range sizes {
		want := out[i*64*64*3 : (i+1)*64*64*3]
		got, err := tf.Apply(CropImage(src, 0, 0, s[0], s[1]), Params{})
		if err != nil {
			t.Fatal(err)
		}
		if mean, maxd := absDiff(got.Pix, want); maxd != 0 {
			t.Errorf("%dx%d: differs from torchvision's Resize(64) + CenterCrop(64): mean %.4f max %d", s[0], s[1], mean, maxd)
		}
	}
}

// TestCropAtEveryCorner: a crop drawn at the edge of its room (get_params'
// x = w - crop_size, the random.randint's upper end) crops there, as the
// reference's __crop then __flip do it, at each corner and flipped or not.
func TestCropAtEveryCorner(t *testing.T) {
	const w, h, crop = 40, 30, 16
	im := NewImage(w, h, 3)
	for i := range im.Pix {
		im.Pix[i] = uint8(i * 7 % 251)
	}
	type pos struct {
		x, y int
		flip bool
	}
	var cases []pos
	for _, x := range []int{0, 11, w - crop} {
		for _, y := range []int{0, h - crop} {
			cases = append(cases, pos{x, y, false}, pos{x, y, true})
		}
	}
	var args []string
	for _, c := range cases {
		args = append(args, fmt.Sprintf("%d,%d,%d", c.x, c.y, map[bool]int{false: 0, true: 1}[c.flip]))
	}
	// pytorch-CycleGAN-and-pix2pix's data/base_dataset.py, its crop and flip
	out := pil(t, `
import sys
from PIL import Image
def __crop(img, pos, size):
    ow, oh = img.size
    x1, y1 = pos
    tw = th = size
    if (ow > tw or oh > th):
        return img.crop((x1, y1, x1 + tw, y1 + th))
    return img
def __flip(img, flip):
    if flip:
        return img.transpose(Image.FLIP_LEFT_RIGHT)
    return img
im = Image.frombytes('RGB', (`+fmt.Sprint(w, ", ", h)+`), sys.stdin.buffer.read())
for a in sys.argv[1:]:
    x, y, flip = map(int, a.split(','))
    sys.stdout.buffer.write(__flip(__crop(im, (x, y), `+fmt.Sprint(crop)+`), flip).tobytes())
`, im.Pix, args...)
	tf := Transform{Mode: Crop, CropSize: crop, Flip: true}
	n := crop * crop * 3
	for i, c := range cases {
		got, err := tf.Apply(im, Params{RX: uint64(c.x), RY: uint64(c.y), Flip: c.flip})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Pix, out[i*n:(i+1)*n]) {
			t.Errorf("crop at x %d y %d, flip %v: not the reference's __crop and __flip", c.x, c.y, c.flip)
		}
	}
}
