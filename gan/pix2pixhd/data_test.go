package pix2pixhd

import (
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"gogan/config"
	"gogan/gan"
)

// TestPreprocessNoneRoundsToTheGenerators: with data.preprocess none
// pix2pixHD's get_transform rounds the sides to multiples of
// 2^n_downsample_global, times 2^n_local_enhancers for a local generator
// (__make_power_2, round(side / base) * base), which G's downsamplings
// and each enhancer's take: a 44x44 pair (an 88x44 A|B image) stays 44x44
// for a global G of 2 downsamplings (base 4) and becomes 48x48 for a local
// one (base 8: round(5.5) = 6).
func TestPreprocessNoneRoundsToTheGenerators(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "train"), 0o755)
	f, err := os.Create(filepath.Join(root, "train", "1.png"))
	if err != nil {
		t.Fatal(err)
	}
	png.Encode(f, image.NewNRGBA(image.Rect(0, 0, 88, 44)))
	f.Close()
	for netG, want := range map[string]int{"global": 44, "local": 48} {
		cfg, err := config.LoadConfig("", []string{"recipe=pix2pixhd", "data.root=" + root, "data.label_nc=0", "data.no_instance=true",
			"data.preprocess=none", "train.no_vgg_loss=true", "model.netG=" + netG, "model.n_downsample_global=2",
			"model.n_local_enhancers=1", "out=" + filepath.Join(t.TempDir(), "run")})
		if err != nil {
			t.Fatal(err)
		}
		ds, err := gan.OpenData(context.Background(), cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		smp, err := ds.Sample(0, 1, 0)
		ds.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, ni := range smp.Images() {
			if im := ni.Image; im.W != want || im.H != want {
				t.Errorf("netG %s: %s is %dx%d, want %dx%d", netG, ni.Name, im.W, im.H, want, want)
			}
		}
		if n := len(smp.Images()); n != 2 {
			t.Errorf("netG %s: %d images, want A and B", netG, n)
		}
	}
}
