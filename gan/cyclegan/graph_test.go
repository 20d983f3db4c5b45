package cyclegan_test

import (
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
)

// TestGraphTakesPoolsOfOneSize: a CUDA graph replays CycleGAN's step with
// its pools when every fake has the pool's size (a cropping preprocess, or
// data of one size kept as it is); pools of images of several sizes are
// cut on the host, and the recipe says so, naming the preprocess.
func TestGraphTakesPoolsOfOneSize(t *testing.T) {
	torch.LockThread()
	folders := func(sizes ...[2]int) string {
		root := t.TempDir()
		for _, dir := range []string{"trainA", "trainB"} {
			os.MkdirAll(filepath.Join(root, dir), 0o755)
			for i, wh := range sizes {
				f, err := os.Create(filepath.Join(root, dir, string(rune('a'+i))+".png"))
				if err != nil {
					t.Fatal(err)
				}
				png.Encode(f, image.NewNRGBA(image.Rect(0, 0, wh[0], wh[1])))
				f.Close()
			}
		}
		return root
	}
	mixed, one := folders([2]int{32, 32}, [2]int{32, 48}), folders([2]int{32, 32}, [2]int{32, 32})
	for _, c := range []struct {
		root, preprocess, pool string
		want                   string // in GraphUnsafe's reason; "" = capturable
	}{
		{mixed, "none", "2", "data.preprocess=none keeps the images' own sizes"},
		{mixed, "scale_width", "2", "data.preprocess=scale_width"},
		{mixed, "none", "0", ""},
		{mixed, "resize_and_crop", "2", ""},
		{one, "none", "2", ""},
	} {
		cfg, err := config.LoadConfig("", []string{"recipe=cyclegan", "data.root=" + c.root, "data.preprocess=" + c.preprocess,
			"data.load_size=32", "data.crop_size=32", "model.ngf=4", "model.ndf=4", "model.netG=resnet_6blocks",
			"train.pool_size=" + c.pool, "device=cpu", "out=" + filepath.Join(t.TempDir(), "run")})
		if err != nil {
			t.Fatal(err)
		}
		ds, err := gan.OpenData(context.Background(), cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := gan.New(gan.Env{Config: cfg, Device: torch.CPUDevice, Precision: gan.NewPrecision("", torch.CPUDevice), Data: ds})
		if err != nil {
			t.Fatal(err)
		}
		got := rec.(gan.GraphUnsafe).GraphUnsafe()
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("preprocess %s, pool %s, %s: GraphUnsafe %q, want %q", c.preprocess, c.pool, map[bool]string{true: "one size", false: "two sizes"}[c.root == one], got, c.want)
		}
		gan.Free(rec)
		ds.Close()
	}
}
