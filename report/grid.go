package report

import (
	"fmt"
	"image"
	"image/png"
	"io"
	"math"

	torch "gogan/cgo"
	"gogan/runfolder"
)

// Images is a host batch of images in NCHW order, as float32 (generator
// outputs are in [-1, 1]).
type Images struct {
	Data       []float32
	N, C, H, W int
}

func (im Images) check() error {
	if im.N < 1 || im.H < 1 || im.W < 1 || (im.C != 1 && im.C != 3) {
		return fmt.Errorf("images: want N>=1 and 1 or 3 channels, got %dx%dx%dx%d", im.N, im.C, im.H, im.W)
	}
	if len(im.Data) != im.N*im.C*im.H*im.W {
		return fmt.Errorf("images: %d values for shape %dx%dx%dx%d", len(im.Data), im.N, im.C, im.H, im.W)
	}
	return nil
}

// GridOptions shape a grid as torchvision.utils.make_grid does.
type GridOptions struct {
	NRow    int // images per row; 0 means 8
	Padding int // pixels between and around images (torchvision's default is 2: DCGANGrid)
	// FixedRange maps [Lo, Hi] to [0, 255] (clamping outside values). When
	// false the whole batch's min and max are used, as make_grid(normalize=True).
	FixedRange bool
	Lo, Hi     float32
	PadValue   float32 // pad colour on the normalized 0..1 scale
	// Truncate drops the fraction instead of rounding: the references'
	// tensor2im, ((x + 1) / 2 * 255).astype(np.uint8), with which their
	// test.py writes its outputs (save_image rounds).
	Truncate bool
}

// DCGANGrid are the options of pytorch/examples dcgan's
// vutils.save_image(fake, path, normalize=True).
var DCGANGrid = GridOptions{NRow: 8, Padding: 2}

// MakeGrid lays the batch out like torchvision.utils.make_grid followed by
// save_image: 1-channel images become gray RGB, values are normalized (min-max
// over the whole batch unless FixedRange), scaled by 255, rounded with +0.5
// and truncated to uint8. As make_grid, a batch of one image is returned
// without padding. The arithmetic is done in float32 in torch's order, so
// pixels equal torchvision's.
func MakeGrid(im Images, opt GridOptions) (*image.NRGBA, error) {
	if err := im.check(); err != nil {
		return nil, err
	}
	nrow, pad := opt.NRow, opt.Padding
	if nrow <= 0 {
		nrow = 8
	}
	pad = max(pad, 0)
	lo, hi := opt.Lo, opt.Hi
	if !opt.FixedRange {
		lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
		for _, v := range im.Data {
			lo = min(lo, v)
			hi = max(hi, v)
		}
	}
	// norm_range: clamp, sub low, div max(high-low, 1e-5); the divisor is
	// computed in float64 by Python, then used as a float32 scalar.
	den := float32(max(float64(hi)-float64(lo), 1e-5))
	toByte := func(v float32) uint8 {
		v = min(max(v, lo), hi)
		v = (v - lo) / den
		// save_image: mul(255).add_(0.5).clamp_(0, 255).to(uint8)
		x := float32(v * 255)
		if !opt.Truncate {
			x += 0.5
		}
		x = min(max(x, 0), 255)
		return uint8(x)
	}
	if im.N == 1 {
		pad, nrow = 0, 1
	}
	xmaps := min(nrow, im.N)
	ymaps := (im.N + xmaps - 1) / xmaps
	cw, chh := im.W+pad, im.H+pad
	g := image.NewNRGBA(image.Rect(0, 0, cw*xmaps+pad, chh*ymaps+pad))
	pv := uint8(min(max(float32(opt.PadValue*255)+0.5, 0), 255))
	for i := 0; i < len(g.Pix); i += 4 {
		g.Pix[i], g.Pix[i+1], g.Pix[i+2], g.Pix[i+3] = pv, pv, pv, 255
	}
	plane := im.H * im.W
	for k := 0; k < im.N; k++ {
		x0 := (k%xmaps)*cw + pad
		y0 := (k/xmaps)*chh + pad
		base := k * im.C * plane
		for y := 0; y < im.H; y++ {
			for x := 0; x < im.W; x++ {
				o := g.PixOffset(x0+x, y0+y)
				for c := 0; c < 3; c++ {
					src := c
					if im.C == 1 {
						src = 0
					}
					g.Pix[o+c] = toByte(im.Data[base+src*plane+y*im.W+x])
				}
			}
		}
	}
	return g, nil
}

// Pix2PixGrid lays out one row per example: input | output | target. Values
// map from the fixed range [-1, 1] (the reference's tensor2im range, rounded
// like save_image), so a washed-out output looks washed out instead of being
// stretched. Inputs may have a different channel count than outputs
// (gray2color).
func Pix2PixGrid(input, output, target Images, padding int) (*image.NRGBA, error) {
	if output.C != target.C {
		return nil, fmt.Errorf("pix2pix grid: outputs have %d channels, targets %d", output.C, target.C)
	}
	return ColumnsGrid([]Images{input, output, target}, padding)
}

// ColumnsGrid lays out one row per example with one column per batch
// (CycleGAN's real_A | fake_B | rec_A | idt_B), on the fixed range [-1, 1]
// as Pix2PixGrid. The columns must have the same N, H and W; 1-channel
// columns show as gray beside 3-channel ones.
func ColumnsGrid(cols []Images, padding int) (*image.NRGBA, error) {
	if len(cols) == 0 {
		return nil, fmt.Errorf("grid: no columns")
	}
	for _, im := range cols {
		if err := im.check(); err != nil {
			return nil, err
		}
	}
	n, h, w := cols[0].N, cols[0].H, cols[0].W
	for j, im := range cols {
		if im.N != n || im.H != h || im.W != w {
			return nil, fmt.Errorf("grid: column %d is %dx%dx%dx%d, column 0 %dx%dx%dx%d", j, im.N, im.C, im.H, im.W, n, cols[0].C, h, w)
		}
	}
	plane := h * w
	k := len(cols)
	// Interleave as 3-channel images so one grid call does the layout.
	all := Images{Data: make([]float32, k*n*3*plane), N: k * n, C: 3, H: h, W: w}
	for i := 0; i < n; i++ {
		for j, im := range cols {
			dst := all.Data[(k*i+j)*3*plane:]
			src := im.Data[i*im.C*plane:]
			for c := 0; c < 3; c++ {
				sc := c
				if im.C == 1 {
					sc = 0
				}
				copy(dst[c*plane:(c+1)*plane], src[sc*plane:(sc+1)*plane])
			}
		}
	}
	return MakeGrid(all, GridOptions{NRow: k, Padding: padding, FixedRange: true, Lo: -1, Hi: 1})
}

// EncodePNG writes img as PNG (for AtomicWriteFile).
func EncodePNG(img image.Image) func(io.Writer) error {
	return func(w io.Writer) error {
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		return enc.Encode(w, img)
	}
}

// SavePNG writes img to path atomically, so the live report never shows a
// half-written image.
func SavePNG(path string, img image.Image) error {
	return runfolder.AtomicWriteFile(path, EncodePNG(img))
}

// ToImages copies an NCHW tensor to the host for a grid.
func ToImages(t *torch.Tensor) Images {
	s := t.Shape()
	return Images{Data: t.Float32s(), N: int(s[0]), C: int(s[1]), H: int(s[2]), W: int(s[3])}
}
