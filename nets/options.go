package nets

import (
	"fmt"
	"strconv"
	"strings"

	torch "gogan/cgo"
)

// Options choose and size a network. Zero values take the references' defaults
// (see WithDefaults).
type Options struct {
	// Kind of generator: dcgan | unet_128 | unet_256 | unet_<2^k> (k >= 5) | unet (NumDowns) |
	// resnet_6blocks | resnet_9blocks | resnet_<n>blocks | global | local (pix2pixHD's
	// GlobalGenerator and LocalEnhancer) | encoder (pix2pixHD's feature Encoder,
	// NDownsampleGlobal downsamplings, without its instance-wise pooling).
	// Kind of discriminator: dcgan | basic (70x70 PatchGAN, 3 layers) | n_layers (NLayers) |
	// pixel | multiscale (pix2pixHD, NumD PatchGANs of NLayers).
	Kind string
	// InputNC is the input channels: the image channels of a DCGAN discriminator,
	// the conditioning image's of a pix2pix generator, input_nc + output_nc for
	// pix2pix's conditional discriminator. Default 3.
	InputNC int
	// OutputNC is the output channels: the image channels of a DCGAN generator. Default 3.
	OutputNC int
	NZ       int // DCGAN latent size; default 100
	NGF      int // generator width; default 64
	NDF      int // discriminator width; default 64
	// ImageSize: DCGAN's image size, 32, 64, 128 or 256 (default 64). For the
	// fully convolutional kinds only the size Describe and InputShape use
	// (default 2^num_downs for U-Nets, 256 otherwise); a U-Net's must be a
	// multiple of 2^num_downs.
	ImageSize int
	NLayers   int    // PatchGAN layers for n_layers and multiscale (n_layers_D); default 3
	NumD      int    // multiscale: number of scales (num_D); default 2, as pix2pixHD
	Norm      string // batch | instance | none; default batch
	Dropout   bool   // U-Net / ResNet generators: Dropout(0.5) as use_dropout
	PadType   string // ResNet blocks: reflect | replicate | zero; default reflect
	// GetIntermFeat: the multiscale discriminator keeps each block as its own
	// module (keys scale{i}_layer{j}.*) and returns every block's output.
	GetIntermFeat bool
	NumDowns      int // Kind "unet": the number of downsamplings (>= 5)

	// pix2pixHD's generators (Kind global and local); zero takes its defaults.
	NDownsampleGlobal int // n_downsample_global; default 4
	NBlocksGlobal     int // n_blocks_global; default 9
	NLocalEnhancers   int // n_local_enhancers (local); default 1
	NBlocksLocal      int // n_blocks_local (local); default 3
}

// WithDefaults fills zero fields with the reference defaults: InputNC and
// OutputNC 3, NZ 100, NGF and NDF 64, NLayers 3, NumD 2 (pix2pixHD's num_D), Norm batch, PadType
// reflect, and ImageSize 64 for DCGAN.
func (o Options) WithDefaults() Options {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&o.InputNC, 3)
	def(&o.OutputNC, 3)
	def(&o.NZ, 100)
	def(&o.NGF, 64)
	def(&o.NDF, 64)
	def(&o.NLayers, 3)
	def(&o.NumD, 2)
	if o.Kind == "encoder" {
		def(&o.NDownsampleGlobal, 4)
	}
	if o.Kind == "global" || o.Kind == "local" {
		def(&o.NDownsampleGlobal, 4)
		def(&o.NBlocksGlobal, 9)
		def(&o.NLocalEnhancers, 1)
		def(&o.NBlocksLocal, 3)
	}
	if o.Kind == "dcgan" {
		def(&o.ImageSize, 64)
	}
	if o.Norm == "" {
		o.Norm = "batch"
	}
	if o.PadType == "" {
		o.PadType = "reflect"
	}
	return o
}

const (
	generatorKinds     = "dcgan, unet_128, unet_256, unet_<2^k> (k >= 5), unet (with NumDowns), resnet_6blocks, resnet_9blocks, resnet_<n>blocks, global, local or encoder"
	discriminatorKinds = "dcgan, basic, n_layers, pixel or multiscale"
)

func positive(name string, v int) error {
	if v < 1 {
		return fmt.Errorf("nets: %s %d: must be at least 1", name, v)
	}
	return nil
}

// validate checks the fields both roles use; o has its defaults.
func (o Options) validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"InputNC", o.InputNC}, {"OutputNC", o.OutputNC}, {"NZ", o.NZ}, {"NGF", o.NGF}, {"NDF", o.NDF},
		{"NLayers", o.NLayers}, {"NumD", o.NumD}} {
		if err := positive(f.name, f.v); err != nil {
			return err
		}
	}
	if o.ImageSize < 0 {
		return fmt.Errorf("nets: ImageSize %d: must not be negative", o.ImageSize)
	}
	switch o.Norm {
	case "batch", "instance", "none":
	default:
		return fmt.Errorf("nets: Norm %q: must be batch, instance or none", o.Norm)
	}
	switch o.PadType {
	case "reflect", "replicate", "zero":
	default:
		return fmt.Errorf("nets: PadType %q: must be reflect, replicate or zero", o.PadType)
	}
	if o.Kind == "dcgan" {
		switch o.ImageSize {
		case 32, 64, 128, 256:
		default:
			return fmt.Errorf("nets: ImageSize %d for dcgan: must be 32, 64, 128 or 256", o.ImageSize)
		}
	}
	return nil
}

// unetDowns is the number of downsamplings of a U-Net kind, or 0 when kind is not one.
func unetDowns(o Options) (int, error) {
	switch {
	case o.Kind == "unet":
		if o.NumDowns < 5 {
			return 0, fmt.Errorf("nets: NumDowns %d for unet: must be at least 5", o.NumDowns)
		}
		return o.NumDowns, nil
	case strings.HasPrefix(o.Kind, "unet_"):
		n, err := strconv.Atoi(strings.TrimPrefix(o.Kind, "unet_"))
		if err != nil || n < 32 || n&(n-1) != 0 {
			return 0, fmt.Errorf("nets: generator Kind %q: a U-Net's size must be a power of two, at least 32 (unet_128, unet_256, ...)", o.Kind)
		}
		d := 0
		for ; n > 1; n >>= 1 {
			d++
		}
		return d, nil
	}
	return 0, nil
}

// resnetBlocks is the number of blocks of a resnet_<n>blocks kind, or -1.
func resnetBlocks(kind string) int {
	if !strings.HasPrefix(kind, "resnet_") || !strings.HasSuffix(kind, "blocks") {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(kind, "resnet_"), "blocks"))
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// NewGenerator builds a generator of o.Kind on dev, its weights initialised
// as PyTorch initialises the reference's layers (call Init for the
// references' init_weights / weights_init). It starts in train mode, as a new
// PyTorch module does.
func NewGenerator(o Options, dev torch.Device) (*Net, error) {
	o = o.WithDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	var build func() Module
	downs, err := unetDowns(o)
	if err != nil {
		return nil, err
	}
	switch {
	case o.Kind == "dcgan":
		build = func() Module { return newDCGANGenerator(o, dev) }
	case downs > 0:
		if o.ImageSize > 0 && o.ImageSize%(1<<downs) != 0 {
			return nil, fmt.Errorf("nets: ImageSize %d for %s: must be a multiple of %d (2^%d downsamplings)",
				o.ImageSize, o.Kind, 1<<downs, downs)
		}
		build = func() Module { return newUnetGenerator(o, downs, dev) }
	case resnetBlocks(o.Kind) >= 0:
		n := resnetBlocks(o.Kind)
		build = func() Module { return newResnetGenerator(o, n, dev) }
	case o.Kind == "global":
		build = func() Module { return newGlobalGenerator(o, dev) }
	case o.Kind == "local":
		build = func() Module { return newLocalEnhancer(o, dev) }
	case o.Kind == "encoder":
		build = func() Module { return newEncoder(o, dev) }
	default:
		return nil, fmt.Errorf("nets: generator Kind %q: must be %s", o.Kind, generatorKinds)
	}
	return newNet("generator", o, downs, build, dev)
}

// NewDiscriminator builds a discriminator of o.Kind on dev, initialised as
// NewGenerator's networks are.
func NewDiscriminator(o Options, dev torch.Device) (*Net, error) {
	o = o.WithDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	var build func() Module
	switch o.Kind {
	case "dcgan":
		build = func() Module { return newDCGANDiscriminator(o, dev) }
	case "basic":
		build = func() Module { return newNLayerDiscriminator(o, 3, dev) }
	case "n_layers":
		build = func() Module { return newNLayerDiscriminator(o, o.NLayers, dev) }
	case "pixel":
		build = func() Module { return newPixelDiscriminator(o, dev) }
	case "multiscale":
		build = func() Module { return newMultiscaleDiscriminator(o, dev) }
	default:
		return nil, fmt.Errorf("nets: discriminator Kind %q: must be %s", o.Kind, discriminatorKinds)
	}
	return newNet("discriminator", o, 0, build, dev)
}

func useBias(norm string) bool { return norm == "instance" }

// normLayer is get_norm_layer(norm)(n): BatchNorm2d(affine, tracking),
// InstanceNorm2d(no affine, no tracking) or Identity.
func normLayer(norm string, n int64, dev torch.Device) Module {
	switch norm {
	case "batch":
		return NewBatchNorm2d(n, true, true, dev)
	case "instance":
		return NewInstanceNorm2d(n, false, false, dev)
	}
	return NewIdentity()
}

// InputMultiple is the number a generator's input height and width must be a
// multiple of: a U-Net halves it down to 1x1, a ResNet G halves it twice,
// pix2pixHD's n_downsample_global times (and once more per local enhancer).
// MinInput is the smallest square side a network of o takes, where
// anything smaller fails inside libtorch at the first step: the 70x70
// PatchGAN's (n_layers) stride-2 convolutions (kernel 4, padding 1) halve
// the side n times and its last two (stride 1) take one pixel each, leaving
// floor(side / 2^n) - 2, which must be at least 1; the ResNet generator's
// blocks reflect-pad their quarter-size input by 1, which must be at least
// 2 pixels, and so do pix2pixHD's generators' at their bottleneck; a
// U-Net's innermost block takes 2 pixels to 1. pix2pixHD's multi-scale
// PatchGANs (padding 2) and the PixelGAN take any size.
func MinInput(o Options) int {
	switch o.Kind {
	case "basic":
		return 3 << 3
	case "n_layers":
		return 3 << max(o.NLayers, 0)
	}
	if resnetBlocks(o.Kind) >= 0 {
		return 8
	}
	if d, err := unetDowns(o); err == nil && d > 0 {
		return 1 << d
	}
	if o.Kind == "global" || o.Kind == "local" {
		return 2 * hdInputMultiple(o) // the blocks reflect-pad the bottleneck by 1
	}
	return 1
}

// KindText names the network of o in messages: its kind, and its layers
// where the kind leaves them to a key.
func KindText(o Options) string {
	if o.Kind == "n_layers" {
		return fmt.Sprintf("n_layers (model.n_layers_D=%d)", o.NLayers)
	}
	return o.Kind
}

func InputMultiple(o Options) int {
	if d, err := unetDowns(o); err == nil && d > 0 {
		return 1 << d
	}
	if resnetBlocks(o.Kind) >= 0 {
		return 4
	}
	if o.Kind == "global" || o.Kind == "local" || o.Kind == "encoder" {
		return hdInputMultiple(o)
	}
	return 1
}
