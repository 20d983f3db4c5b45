package pix2pixhd

import (
	"fmt"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/data"
	"gogan/gan"
	"gogan/nets"
)

// pix2pixHD's instance-level feature embedding (Wang et al. 2018, section
// 3.4; Pix2PixHDModel with --instance_feat or --label_feat): an encoder E
// maps the real photo to feat_num channels, averaged over each instance (or
// each class region), and those features are more input channels of G. E
// trains with G, by G's optimizer. At test time the features come from a
// photo, or from clusters of the training set's features per class.

// featureKeys are the encoder's config keys (pix2pixHD's base options).
var featureKeys = []config.Key{
	{Name: "model.instance_feat", Type: config.TypeBool, Default: false,
		Doc: "pix2pixhd: instance-wise features: an encoder's output on the photo, averaged over each instance of the instance map, is more input of G (feat_num channels)."},
	{Name: "model.label_feat", Type: config.TypeBool, Default: false,
		Doc: "pix2pixhd: label-wise features: as model.instance_feat, averaged over each class region of the label map instead."},
	{Name: "model.feat_num", Type: config.TypeInt, Default: 3, Range: config.Between(1, 64), Doc: "pix2pixhd: channels of the encoded features."},
	{Name: "model.nef", Type: config.TypeInt, Default: 16, Range: config.AtLeast(1), Doc: "pix2pixhd: filters in the encoder's first convolution."},
	{Name: "model.n_downsample_E", Type: config.TypeInt, Default: 4, Range: config.Between(1, 8), Doc: "pix2pixhd: downsamplings of the encoder."},
}

// features says how a run encodes features: off (nil), by instance or by
// class region.
type features struct {
	num      int
	byLabel  bool  // label_feat: regions of the label map
	regions  int64 // how many region ids there can be: label_nc, or 2^16 instance ids
	multiple int   // what the photo's sides must be multiples of: 2^n_downsample_E
}

func newFeatures(c *config.Config) *features {
	f := &features{num: c.Int("model.feat_num"), multiple: 1 << c.Int("model.n_downsample_E")}
	switch {
	case c.Bool("model.label_feat"):
		f.byLabel, f.regions = true, int64(c.Int("data.label_nc"))
	case c.Bool("model.instance_feat"):
		f.regions = 1 << 16
	default:
		return nil
	}
	return f
}

// featureChannels is what the features add to G's input.
func featureChannels(c *config.Config) int {
	if f := newFeatures(c); f != nil {
		return f.num
	}
	return 0
}

func validateFeatures(c *config.Config, bad func(string, ...any)) {
	inst, lab := c.Bool("model.instance_feat"), c.Bool("model.label_feat")
	switch {
	case inst && lab:
		bad("model.instance_feat and model.label_feat are both set: the features are averaged either over instances or over class regions; set one of them")
	case inst && c.Bool("data.no_instance"):
		bad("model.instance_feat averages the features over the instance maps, but data.no_instance=true: read the instance maps ({phase}_inst/), or use model.label_feat")
	case lab && c.Int("data.label_nc") == 0:
		bad("model.label_feat averages the features over the label map's classes, but data.label_nc=0 (the input is an image): set data.label_nc, or use model.instance_feat")
	}
}

// encode is the features of a batch: E's output on its photos "B",
// averaged over each region.
func (f *features) encode(e *nets.Net, b gan.Batch) *torch.Tensor {
	return f.regionMeans(e.Forward(b["B"]), f.regionIDs(b))
}

// regionIDs is the batch's region of each pixel, as int64 [N,1,H,W]:
// class ids (label_feat) or instance ids (the "inst_id" tensor's high and
// low bytes).
func (f *features) regionIDs(b gan.Batch) *torch.Tensor {
	if f.byLabel {
		return b["A"].ToDType(torch.Int64)
	}
	hl := b[data.InstIDTensor]
	hi, lo := hl.Narrow(1, 0, 1), hl.Narrow(1, 1, 1)
	return hi.MulScalar(256).Add(lo).ToDType(torch.Int64)
}

// regionMeans is the Encoder's instance-wise average pooling: each channel
// of out replaced, in each sample, by its mean over the pixels of each
// region. The reference loops over the ids present, in Python; this is the
// same means as sums and counts indexed by (sample, id), with no host
// round trip, and with their gradients.
func (f *features) regionMeans(out, ids *torch.Tensor) *torch.Tensor {
	s := out.Shape()
	if is := ids.Shape(); is[2] != s[2] || is[3] != s[3] {
		panic(&torch.Error{Op: "pix2pixhd features", Msg: fmt.Sprintf(
			"the encoder made %dx%d features of a %dx%d photo: the photo's sides must be multiples of %d (2^model.n_downsample_E); choose data.load_size / data.crop_size accordingly, or a smaller model.n_downsample_E",
			s[3], s[2], is[3], is[2], f.multiple)})
	}
	n, c, hw := s[0], s[1], s[2]*s[3]
	dev := out.Device()
	// Each pixel's slot: sample * regions + id, and per channel one more
	// block of n*regions: all of it one flat index_add (libtorch's CPU
	// kernel loops per index, fast only on 1-d tensors).
	slots := n * f.regions
	base := torch.Arange(0, float64(slots), float64(f.regions), torch.Int64, dev).View(n, 1)
	slot := ids.View(n, hw).Add(base).Reshape(n * hw)
	perChannel := torch.Arange(0, float64(c*slots), float64(slots), torch.Int64, dev).View(c, 1)
	slotC := slot.View(1, n*hw).Add(perChannel).Reshape(c * n * hw)
	flat := out.Permute(1, 0, 2, 3).Reshape(c * n * hw)
	sums := torch.Zeros(torch.Float32, dev, c*slots).IndexAdd(0, slotC, flat)
	counts := torch.Zeros(torch.Float32, dev, slots).IndexAdd(0, slot, torch.Ones(torch.Float32, dev, n*hw))
	means := sums.View(c, slots).Div(counts.ClampMin(1).View(1, slots)).Reshape(c * slots)
	return means.IndexSelect(0, slotC).View(c, n, s[2], s[3]).Permute(1, 0, 2, 3).Contiguous()
}
