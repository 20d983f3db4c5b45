package infer

import (
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"

	"gogan/config"
	"gogan/data"
	"gogan/gan"
	"gogan/nets"
)

// TestPreprocesses are translate's --preprocess values: the references'
// test-time modes that draw nothing at random.
var TestPreprocesses = []string{data.ResizeAndCrop, data.ScaleWidth, data.PreprocessNone}

// testSize sizes translate's inputs: a data.Transform without its random
// parts, then each side rounded to the nearest multiple of mult (at least
// mult) that the generator takes, where the reference's network would fail.
type testSize struct {
	t    data.Transform
	mult int
	min  int // the smallest side the generator takes (nets.MinInput)
}

// newTestSize is the sizing of o's --preprocess and --load-size (defaults:
// data.TestPreprocess of the run's mode, at the run's crop_size for
// resize_and_crop and its load_size for scale_width) for a run of dc.
func newTestSize(dc data.Config, o TranslateOptions, mult, least int) (testSize, error) {
	mode := o.Preprocess
	if mode == "" {
		mode = data.TestPreprocess(dc.Preprocess)
	}
	if !slices.Contains(TestPreprocesses, mode) {
		return testSize{}, fmt.Errorf("--preprocess %q: want %s (the random crops of the others have no place at test time)", mode, strings.Join(TestPreprocesses, ", "))
	}
	load := o.LoadSize
	switch {
	case load < 0:
		return testSize{}, fmt.Errorf("--load-size %d: want a size in pixels", load)
	case load > 0 && mode == data.PreprocessNone:
		return testSize{}, fmt.Errorf("--load-size %d: --preprocess none keeps each image's size (rounded to what the generator takes); --load-size goes with resize_and_crop or scale_width", load)
	case load == 0:
		load = data.TestLoad(mode, dc.LoadSize, dc.CropSize)
	case mode == data.ResizeAndCrop && int64(load)*int64(load) > data.MaxImagePixels,
		mode == data.ScaleWidth && int64(load) > data.MaxImagePixels:
		return testSize{}, fmt.Errorf("--load-size %d: images of that size hold more than the %d pixels gogan makes of an image", load, data.MaxImagePixels)
	}
	if o.LoadSize > 0 && o.LoadSize < least {
		return testSize{}, fmt.Errorf("--load-size %d: the generator takes sides of at least %d pixels", o.LoadSize, least)
	}
	t := data.Transform{Mode: mode, LoadSize: load, CropSize: dc.CropSize, NoneMultiple: dc.NoneMultiple, ScaleWidthAspect: dc.ScaleWidthAspect}
	if mode == data.ResizeAndCrop {
		t.CropSize = load // resize to load x load; the crop takes it whole
	}
	s := testSize{t: t, mult: max(mult, 1), min: least}
	if n := s.loadNote(o.LoadSize); n != "" {
		slog.Warn(n)
	}
	return s, nil
}

// round is side v rounded to the nearest multiple of s.mult (at least mult).
func (s testSize) round(v int) int {
	return max(s.mult, int(math.Round(float64(v)/float64(s.mult)))*s.mult)
}

// loadNote says where a --load-size given is not a side the generator
// takes, so that the inputs are translated at another ("" where it is):
// a unet_128's --load-size 200 is 256, which would go unsaid.
func (s testSize) loadNote(load int) string {
	if load <= 0 || s.round(load) == load {
		return ""
	}
	side := "a square of"
	if s.t.Mode == data.ScaleWidth {
		side = "a width of"
	}
	return fmt.Sprintf("translate: --load-size %d is rounded to %d, the nearest multiple of %d the generator takes: inputs are translated at %s %d", load, s.round(load), s.mult, side, s.round(load))
}

// of is the size a w x h input is translated at.
func (s testSize) of(w, h int) (int, int, error) {
	tw, th, err := s.t.OutputSize(w, h)
	if err != nil {
		return 0, 0, err
	}
	tw, th = s.round(tw), s.round(th)
	if tw < s.min || th < s.min {
		how := "--preprocess resize_and_crop (a square of --load-size)"
		if s.t.Mode == data.ResizeAndCrop {
			how = "a larger --load-size"
		}
		return 0, 0, fmt.Errorf("%dx%d is translated at %dx%d (--preprocess %s), but the generator takes sides of at least %d pixels: give %s", w, h, tw, th, s.t.Mode, s.min, how)
	}
	return tw, th, nil
}

// SquareSide is the side translate gives a square input of a run by
// default (a crop_size square: crop_size for resize_and_crop, load_size for
// scale_width, where the generator trained on images that wide), for
// role's generator: the size of serve's canvas.
func SquareSide(cfg *config.Config, role string) (int, error) {
	dc, err := gan.DataConfig(cfg)
	if err != nil {
		return 0, err
	}
	spec, err := gan.NetSpecOf(cfg, role)
	if err != nil {
		return 0, err
	}
	size, err := newTestSize(dc, TranslateOptions{}, nets.InputMultiple(spec.Options), nets.MinInput(spec.Options))
	if err != nil {
		return 0, err
	}
	w, _, err := size.of(dc.CropSize, dc.CropSize)
	return w, err
}
