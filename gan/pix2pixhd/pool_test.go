package pix2pixhd

import (
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
)

// TestPoolOnlyWithPoolSize: train.pool_size > 0 gives the recipe a pool of
// D's fake inputs (label channels and the fake's, at the data's size), its
// draws (StepDrawer) and its checkpointed state; 0 leaves the run as it
// was, with none of them. A CUDA graph takes the pool where every image has
// its size; with images of several sizes the recipe says why not.
func TestPoolOnlyWithPoolSize(t *testing.T) {
	torch.LockThread()
	folder := func(sizes ...[2]int) string { // A|B pairs
		root := t.TempDir()
		os.MkdirAll(filepath.Join(root, "train"), 0o755)
		for i, wh := range sizes {
			f, err := os.Create(filepath.Join(root, "train", string(rune('a'+i))+".png"))
			if err != nil {
				t.Fatal(err)
			}
			png.Encode(f, image.NewNRGBA(image.Rect(0, 0, 2*wh[0], wh[1])))
			f.Close()
		}
		return root
	}
	mixed, one := folder([2]int{32, 32}, [2]int{32, 48}), folder([2]int{32, 32}, [2]int{32, 32})
	for _, c := range []struct {
		root, preprocess, pool string
		shape                  []int64 // the pool's buffer; nil = no pool
		unsafe                 string  // in GraphUnsafe's reason
	}{
		{one, "resize_and_crop", "0", nil, ""},
		{one, "resize_and_crop", "3", []int64{3, 6, 32, 32}, ""},
		{one, "none", "2", []int64{2, 6, 32, 32}, ""},
		{mixed, "none", "2", []int64{2, 6, 48, 32}, "data.preprocess=none keeps the images' own sizes"},
	} {
		cfg, err := config.LoadConfig("", []string{"recipe=pix2pixhd", "data.root=" + c.root, "data.label_nc=0", "data.no_instance=true",
			"data.preprocess=" + c.preprocess, "data.load_size=32", "data.crop_size=32", "model.ngf=4", "model.ndf=4",
			"model.n_downsample_global=2", "model.n_blocks_global=1", "train.no_vgg_loss=true", "data.batch_size=1",
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
		name := c.preprocess + " pool " + c.pool
		_, draws := rec.(gan.StepDrawer)
		_, host := rec.(gan.HostState)
		_, ranks := rec.(gan.RankState)
		if draws != (c.shape != nil) || host != (c.shape != nil) || ranks != (c.shape != nil) {
			t.Errorf("%s: draws %v, host state %v, rank state %v; want %v", name, draws, host, ranks, c.shape != nil)
		}
		var buffer []int64
		for _, nt := range rec.(gan.FixedInputs).Fixed() {
			if nt.Name == poolTensor {
				buffer = nt.Tensor.Shape()
			}
		}
		if !slices.Equal(buffer, c.shape) {
			t.Errorf("%s: pool buffer %v, want %v", name, buffer, c.shape)
		}
		var unsafe string
		if u, ok := rec.(gan.GraphUnsafe); ok {
			unsafe = u.GraphUnsafe()
		}
		if c.unsafe == "" && unsafe != "" || c.unsafe != "" && !strings.Contains(unsafe, c.unsafe) {
			t.Errorf("%s: GraphUnsafe %q, want %q", name, unsafe, c.unsafe)
		}
		gan.Free(rec)
		ds.Close()
	}
}
