package gan_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
	_ "gogan/gan/all"
)

// TestSamplingLeavesTheRunAlone: drawing a sample grid (train-mode forward,
// as the references' visuals) must not move BatchNorm statistics or the
// random generators, or a resumed run would differ from an uninterrupted one.
func TestSamplingLeavesTheRunAlone(t *testing.T) {
	torch.LockThread()
	// pix2pixHD's label maps (class ids 0 to 3 in stripes) and photos: its
	// feature encoder E, with BatchNorm, runs in the grid's forward too.
	hd := t.TempDir()
	ids := image.NewGray(image.Rect(0, 0, 32, 32))
	for i := range ids.Pix {
		ids.Pix[i] = uint8(i / 7 % 4)
	}
	for _, dir := range []string{"train_label", "train_img"} {
		os.MkdirAll(filepath.Join(hd, dir), 0o755)
		f, err := os.Create(filepath.Join(hd, dir, "1.png"))
		if err != nil {
			t.Fatal(err)
		}
		png.Encode(f, ids)
		f.Close()
	}
	for _, sets := range [][]string{
		{"recipe=dcgan", "model.ngf=8", "model.ndf=8", "data.image_size=32"},
		{"recipe=pix2pix", "data.dataset=edges", "data.root=/usr/share/datasets/fashion-mnist", "data.max_samples=8",
			"model.input_nc=1", "model.output_nc=1", "model.netG=resnet_6blocks", "model.ngf=8", "model.no_dropout=false", "data.load_size=32", "data.crop_size=32"},
		{"recipe=cyclegan", "data.root=/usr/share/datasets/fashion-mnist", "data.classes_A=sneaker", "data.classes_B=sandal", "data.max_samples=8",
			"model.input_nc=1", "model.output_nc=1", "model.netG=resnet_6blocks", "model.norm=batch", "model.ngf=8", "model.ndf=8",
			"model.no_dropout=false", "data.load_size=32", "data.crop_size=32"},
		{"recipe=pix2pixhd", "data.root=" + hd, "data.label_nc=4", "data.no_instance=true", "model.label_feat=true", "model.norm=batch",
			"model.nef=4", "model.n_downsample_E=2", "model.ngf=4", "model.ndf=4", "model.n_downsample_global=2", "model.n_blocks_global=1",
			"data.preprocess=resize_and_crop", "data.load_size=32", "data.crop_size=32", "train.no_vgg_loss=true"},
	} {
		cfg, err := config.LoadConfig("", append(sets, "out="+filepath.Join(t.TempDir(), "run"), "device=cpu"))
		if err != nil {
			t.Fatal(err)
		}
		rec, err := gan.New(gan.Env{Config: cfg, Device: torch.CPUDevice})
		if err != nil {
			t.Fatal(err)
		}
		if src, ok := rec.(gan.SampleSource); ok {
			ds, err := gan.OpenData(context.Background(), cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := src.TakeSamples(ds, 1); err != nil {
				t.Fatal(err)
			}
		}
		snapshot := func() []byte {
			var b bytes.Buffer
			s := torch.NewScope()
			defer s.Close()
			for _, n := range rec.Nets() {
				for _, nt := range n.Net.StateDict() {
					b.Write(nt.Tensor.Bytes())
				}
			}
			b.Write(torch.RNGState(torch.CPUDevice).Bytes())
			return b.Bytes()
		}
		before := snapshot()
		img, err := rec.(gan.Visualizer).Visuals()
		if err != nil || img == nil {
			t.Fatalf("%s sample: %v", cfg.Recipe, err)
		}
		if !bytes.Equal(before, snapshot()) {
			t.Errorf("%s: drawing samples changed the networks' state or the random generator", cfg.Recipe)
		}
		gan.Free(rec)
	}
}
