package trainer

import (
	"fmt"

	"gogan/config"
	"gogan/data"
	"gogan/gan"
	"gogan/nets"
)

// sizeRule is what the networks ask of an image's sides where the data
// leave them to the images (data.preprocess none or scale_width): at least
// min pixels (the first network needing the most), and a multiple of mult
// (the generator's downsamplings). A crop's size is checked with the config.
type sizeRule struct {
	min, mult       int
	minNet, multNet string
}

func sizeRuleFor(cfg *config.Config) (*sizeRule, error) {
	if p := cfg.Data.Preprocess; p != "none" && p != "scale_width" {
		return nil, nil
	}
	def, err := gan.For(cfg)
	if err != nil {
		return nil, err
	}
	r := &sizeRule{min: 1, mult: 1}
	for _, spec := range def.Nets(cfg) {
		name := fmt.Sprintf("%s (%s)", spec.Role, nets.KindText(spec.Options))
		if m := nets.MinInput(spec.Options); m > r.min {
			r.min, r.minNet = m, name
		}
		if m := nets.InputMultiple(spec.Options); m > r.mult {
			r.mult, r.multNet = m, name
		}
	}
	if r.min <= 1 && r.mult <= 1 {
		return nil, nil
	}
	return r, nil
}

// check refuses a batch with an image the networks cannot take, before its
// step (inside it libtorch fails with a convolution's sizes), naming the
// image's file where the dataset has one.
func (r *sizeRule) check(cfg *config.Config, ds *data.Dataset, b *data.Batch) error {
	if r == nil {
		return nil
	}
	for _, t := range b.Tensors {
		h, w := t.Shape[2], t.Shape[3]
		var why string
		switch {
		case h < r.min || w < r.min:
			why = fmt.Sprintf("network %s takes at least %dx%d", r.minNet, r.min, r.min)
		case h%r.mult != 0 || w%r.mult != 0:
			why = fmt.Sprintf("network %s takes sides that are multiples of %d", r.multNet, r.mult)
		default:
			continue
		}
		what := "an image"
		if files := ds.Files(); len(b.Indices) == 1 && b.Indices[0] < len(files) {
			what = files[b.Indices[0]]
		} else if len(b.Indices) > 0 && b.Indices[0] < len(files) {
			what = "the batch of " + files[b.Indices[0]]
		}
		pre := "data.preprocess=" + cfg.Data.Preprocess
		if cfg.Data.Preprocess == "scale_width" {
			pre += fmt.Sprintf(" (data.load_size %d)", cfg.Data.LoadSize)
		}
		return fmt.Errorf("%s is %dx%d (%s) after %s, but %s: resize or remove it, or choose a data.preprocess that crops (resize_and_crop, scale_width_and_crop) with a data.crop_size the networks take",
			what, w, h, t.Name, pre, why)
	}
	return nil
}
