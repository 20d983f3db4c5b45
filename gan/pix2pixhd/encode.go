package pix2pixhd

import (
	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
	"gogan/report"
)

// encoding is Pix2PixHDModel.encode_input: the label map one-hot encoded
// (label_nc > 0) and the instance boundaries as one more channel. The
// boundaries themselves (get_edges) come from the data package, computed
// on the host from the transformed instance map.
type encoding struct {
	labelNC  int
	instance bool
}

func newEncoding(c *config.Config) *encoding {
	return &encoding{labelNC: c.Int("data.label_nc"), instance: !c.Bool("data.no_instance")}
}

// input is G's input for a batch: one-hot(A) (or A itself), then inst.
func (e *encoding) input(b gan.Batch) *torch.Tensor {
	x := b["A"]
	if e.labelNC > 0 {
		// scatter_(1, ids, 1) as ids == arange(label_nc), broadcast over the channels.
		classes := torch.Arange(0, float64(e.labelNC), 1, x.DType(), x.Device()).View(1, int64(e.labelNC), 1, 1)
		x = x.Eq(classes)
	}
	if e.instance {
		y := torch.Cat([]*torch.Tensor{x, b["inst"]}, 1)
		if x != b["A"] {
			// The one-hot maps live on in the cat; not held through the
			// step as a second copy (the reference rebinds input_label).
			x.Free()
		}
		x = y
	}
	return x
}

// show is the grid's picture of the input: label maps in pix2pixHD's
// colours (util.tensor2label), an input image as itself.
func (e *encoding) show(a *torch.Tensor) report.Images {
	im := report.ToImages(a)
	if e.labelNC == 0 {
		return im
	}
	return report.LabelColors(im, e.labelNC)
}
