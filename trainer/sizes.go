package trainer

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

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
// image's file where the dataset has one. checkAll does it for the sizes a
// dataset found when it opened; this catches what it could not see then.
func (r *sizeRule) check(cfg *config.Config, files []string, b *data.Batch) error {
	if r == nil {
		return nil
	}
	for _, t := range b.Tensors {
		h, w := t.Shape[2], t.Shape[3]
		why := r.refuses(w, h)
		if why == "" {
			continue
		}
		what := "an image"
		if len(b.Indices) == 1 && b.Indices[0] < len(files) {
			what = files[b.Indices[0]]
		} else if len(b.Indices) > 0 && b.Indices[0] < len(files) {
			what = "the batch of " + files[b.Indices[0]]
		}
		return r.error(cfg, fmt.Sprintf("%s is %dx%d (%s)", what, w, h, t.Name), why)
	}
	return nil
}

// checkAll refuses, before the first step, the output sizes a dataset found
// when it opened (each with a file of that size).
func (r *sizeRule) checkAll(cfg *config.Config, sizes map[[2]int]string) error {
	if r == nil {
		return nil
	}
	keys := slices.SortedFunc(maps.Keys(sizes), func(a, b [2]int) int { return cmp.Or(a[0]*a[1]-b[0]*b[1], a[0]-b[0]) })
	for _, k := range keys {
		if why := r.refuses(k[0], k[1]); why != "" {
			return r.error(cfg, fmt.Sprintf("%s is %dx%d", sizes[k], k[0], k[1]), why)
		}
	}
	return nil
}

// refuses says why the networks cannot take a w x h image ("" if they can).
func (r *sizeRule) refuses(w, h int) string {
	switch {
	case h < r.min || w < r.min:
		return fmt.Sprintf("network %s takes at least %dx%d", r.minNet, r.min, r.min)
	case h%r.mult != 0 || w%r.mult != 0:
		return fmt.Sprintf("network %s takes sides that are multiples of %d", r.multNet, r.mult)
	}
	return ""
}

// sizeError is an image the networks cannot take.
type sizeError struct{ msg string }

func (e *sizeError) Error() string { return e.msg }

func (r *sizeRule) error(cfg *config.Config, what, why string) error {
	pre := "data.preprocess=" + cfg.Data.Preprocess
	if cfg.Data.Preprocess == "scale_width" {
		pre += fmt.Sprintf(" (data.load_size %d)", cfg.Data.LoadSize)
	}
	return &sizeError{fmt.Sprintf("%s after %s, but %s: resize or remove it, or choose a data.preprocess that crops (resize_and_crop, scale_width_and_crop) with a data.crop_size the networks take",
		what, pre, why)}
}
