package infer

import (
	"strings"
	"testing"

	"gogan/data"
)

// TestTestSizes: translate sizes an input as the references test a run of
// each preprocess mode, --preprocess and --load-size override it, and the
// sides end at what the generator takes.
func TestTestSizes(t *testing.T) {
	p2p := data.Config{Preprocess: data.ResizeAndCrop, LoadSize: 286, CropSize: 256}
	hd := data.Config{Preprocess: data.ScaleWidth, LoadSize: 128, CropSize: 512, ScaleWidthAspect: true, NoneMultiple: 16}
	cases := []struct {
		dc                data.Config
		pre               string
		load, mult, least int
		w, h              int
		ow, oh            int
		err               string
	}{
		{p2p, "", 0, 256, 1, 512, 256, 256, 256, ""},                                                                             // test.py: resized to the crop
		{p2p, "scale_width", 512, 256, 1, 512, 256, 512, 256, ""},                                                                // width 512, the aspect kept
		{p2p, "none", 0, 256, 1, 512, 256, 512, 256, ""},                                                                         // its own size
		{p2p, "none", 0, 256, 1, 300, 400, 256, 512, ""},                                                                         // rounded to the U-Net's 256
		{p2p, "resize_and_crop", 128, 4, 1, 512, 256, 128, 128, ""},                                                              // another square
		{data.Config{Preprocess: data.ScaleWidthAndCrop, LoadSize: 1024, CropSize: 360}, "", 0, 4, 1, 2048, 1024, 1024, 512, ""}, // docs/tips.md
		{data.Config{Preprocess: data.Crop, LoadSize: 64, CropSize: 64}, "", 0, 4, 1, 128, 64, 128, 64, ""},                      // test_1024p.sh: none
		{hd, "", 0, 16, 1, 128, 64, 128, 64, ""},                                                                                 // pix2pixHD's scale_width keeps 2:1
		{hd, "none", 0, 16, 1, 100, 52, 96, 48, ""},                                                                              // __make_power_2 with base 16
		{p2p, "crop", 0, 4, 1, 10, 10, 0, 0, `--preprocess "crop": want resize_and_crop, scale_width, none`},
		{p2p, "none", 64, 4, 1, 10, 10, 0, 0, "--load-size goes with resize_and_crop or scale_width"},
		{p2p, "", -1, 4, 1, 10, 10, 0, 0, "--load-size -1"},
		// a ResNet G takes sides of 8 and more: what would be less is refused
		{p2p, "none", 0, 4, 8, 7, 5, 0, 0, "7x5 is translated at 8x4 (--preprocess none), but the generator takes sides of at least 8 pixels: give --preprocess resize_and_crop"},
		{p2p, "resize_and_crop", 4, 4, 8, 10, 10, 0, 0, "--load-size 4: the generator takes sides of at least 8 pixels"},
		{hd, "scale_width", 16, 4, 8, 500, 90, 0, 0, "500x90 is translated at 16x4 (--preprocess scale_width), but the generator takes sides of at least 8 pixels"},
		{p2p, "none", 0, 4, 8, 9, 9, 8, 8, ""},
	}
	for _, c := range cases {
		s, err := newTestSize(c.dc, TranslateOptions{Preprocess: c.pre, LoadSize: c.load}, c.mult, c.least)
		var w, h int
		if err == nil {
			w, h, err = s.of(c.w, c.h)
		}
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s %q: error %v, want %q", c.dc.Preprocess, c.pre, err, c.err)
			}
			continue
		}
		if err != nil || w != c.ow || h != c.oh {
			t.Errorf("%s run, --preprocess %q --load-size %d: %dx%d -> %dx%d (%v), want %dx%d", c.dc.Preprocess, c.pre, c.load, c.w, c.h, w, h, err, c.ow, c.oh)
		}
	}
}

// TestLoadSizeRoundedIsSaid: a --load-size the generator does not take
// (a unet_128's 200) is translated at the nearest it does (256), said in
// one line; one it takes, or none given, says nothing.
func TestLoadSizeRoundedIsSaid(t *testing.T) {
	p2p := data.Config{Preprocess: data.ResizeAndCrop, LoadSize: 286, CropSize: 128}
	for _, c := range []struct {
		pre        string
		load, mult int
		want       string
	}{
		{"", 200, 128, "translate: --load-size 200 is rounded to 256, the nearest multiple of 128 the generator takes: inputs are translated at a square of 256"},
		{"scale_width", 150, 128, "--load-size 150 is rounded to 128, the nearest multiple of 128 the generator takes: inputs are translated at a width of 128"},
		{"", 256, 128, ""},
		{"", 0, 128, ""},
	} {
		s, err := newTestSize(p2p, TranslateOptions{Preprocess: c.pre, LoadSize: c.load}, c.mult, 1)
		if err != nil {
			t.Fatal(err)
		}
		if n := s.loadNote(c.load); (c.want == "") != (n == "") || !strings.Contains(n, c.want) {
			t.Errorf("--preprocess %q --load-size %d: %q, want %q", c.pre, c.load, n, c.want)
		}
		if w, _, err := s.of(300, 300); c.load == 200 && (err != nil || w != 256) {
			t.Errorf("--load-size 200 of a unet_128: translated at %d (%v), want 256", w, err)
		}
	}
}
