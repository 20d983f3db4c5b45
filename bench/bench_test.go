package bench

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gogan/cgo/torchtest"
	"gogan/config"
	_ "gogan/gan/all"
	_ "gogan/gan/gantest" // condprobe, a recipe bench_pytorch.py has no step for
)

// TestBenchSpecRunsInPyTorch: scripts/bench_pytorch.py, the PyTorch side of
// scripts/bench-vs-pytorch, builds the networks of `gogan bench --spec` with
// the same parameter counts and runs its step. (No timing is checked.)
func TestBenchSpecRunsInPyTorch(t *testing.T) {
	py := torchtest.Python(t)
	// pix2pixHD's VGG19 loss reads torchvision's weights: a stand-in with
	// random values, as scripts/bench-vs-pytorch writes one.
	vgg := filepath.Join(t.TempDir(), "vgg19.pth")
	if out, err := exec.Command(py, "../scripts/make_vgg19_pth.py", vgg, "--seed", "0").CombinedOutput(); err != nil {
		t.Fatalf("make_vgg19_pth.py: %v\n%s", err, out)
	}
	for _, sets := range [][]string{
		{"recipe=dcgan", "model.ngf=8", "model.ndf=8", "data.image_size=32", "data.batch_size=4"},
		{"recipe=pix2pix", "model.netG=unet_128", "model.ngf=4", "model.ndf=4", "data.crop_size=128", "data.batch_size=2"},
		// G_A, G_B, D_A, D_B; a pool of one image and batches of two, so that
		// the steps take both of the pool's paths (filling, then full).
		{"recipe=cyclegan", "model.netG=resnet_6blocks", "model.ngf=4", "model.ndf=4", "data.load_size=32", "data.crop_size=32",
			"data.batch_size=2", "train.pool_size=1"},
		// G (global), D (2 scales, feature matching) and the VGG loss; label
		// maps of 35 classes one-hot and instance boundaries, 32x64.
		{"recipe=pix2pixhd", "model.ngf=4", "model.ndf=4", "model.n_downsample_global=2", "model.n_blocks_global=1",
			"data.load_size=64", "data.batch_size=2", "model.vgg_weights=" + vgg},
		// The LocalEnhancer and 3 scales on an image input, without instance
		// maps, feature matching or VGG, vanilla GAN loss.
		{"recipe=pix2pixhd", "model.netG=local", "model.ngf=4", "model.ndf=4", "model.num_D=3", "model.n_downsample_global=2",
			"model.n_blocks_global=1", "model.n_blocks_local=1", "data.load_size=64", "data.batch_size=1", "data.label_nc=0",
			"data.no_instance=true", "train.no_ganFeat_loss=true", "train.no_vgg_loss=true", "train.gan_mode=vanilla"},
		// The LocalEnhancer's first epochs (train.niter_fix_global): optimizer_G
		// over the local enhancer alone, the global generator fixed.
		{"recipe=pix2pixhd", "model.netG=local", "train.niter_fix_global=2", "model.ngf=4", "model.ndf=4", "model.n_downsample_global=2",
			"model.n_blocks_global=1", "model.n_blocks_local=1", "data.load_size=64", "data.batch_size=1", "data.label_nc=0",
			"data.no_instance=true", "train.no_ganFeat_loss=true", "train.no_vgg_loss=true"},
	} {
		dir := t.TempDir()
		cfg, err := config.LoadConfig("", append(sets, "out="+filepath.Join(dir, "run"), "device=cpu", "threads=1"))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(cfg, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		if res.ImagesPerSec <= 0 || len(res.Params) < 2 || res.Spec == nil {
			t.Fatalf("%v: bench result %+v", sets, res)
		}
		for role, n := range res.Params {
			if n == 0 {
				t.Fatalf("%v: %s has no parameters: %+v", sets, role, res)
			}
			if res.Spec[strings.ToLower(role)] == nil {
				t.Fatalf("%v: the spec has no %s: %v", sets, strings.ToLower(role), res.Spec)
			}
		}
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		spec := filepath.Join(dir, "spec.json")
		if err := os.WriteFile(spec, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(py, "../scripts/bench_pytorch.py", "--spec", spec, "--threads", "1",
			"--warmup", "1", "--steps", "1").Output()
		if err != nil {
			t.Fatalf("%v: bench_pytorch.py: %v\n%s", sets, err, out)
		}
		var pt struct {
			Recipe       string           `json:"recipe"`
			BatchSize    int              `json:"batch_size"`
			ImagesPerSec float64          `json:"images_per_s"`
			Params       map[string]int64 `json:"params"`
			AdamParams   map[string]int64 `json:"adam_params"`
		}
		if err := json.Unmarshal(out, &pt); err != nil {
			t.Fatalf("%v: bench_pytorch.py printed %q: %v", sets, out, err)
		}
		if pt.Recipe != cfg.Recipe || pt.BatchSize != cfg.Data.BatchSize || pt.ImagesPerSec <= 0 {
			t.Errorf("%v: PyTorch ran %+v", sets, pt)
		}
		if !maps.Equal(pt.Params, res.Params) {
			t.Errorf("%v: parameters by network %v in PyTorch; gogan %v", sets, pt.Params, res.Params)
		}
		// The same step updates the same weights: what each Adam covers.
		if len(res.AdamParams) < 2 || !maps.Equal(pt.AdamParams, res.AdamParams) {
			t.Errorf("%v: values each optimizer updates %v in PyTorch; gogan %v", sets, pt.AdamParams, res.AdamParams)
		}
	}
}

// TestBenchSpecOfAnotherRecipeRefused: the spec of a recipe
// scripts/bench_pytorch.py has no step for (one added since, as gan/gantest's
// condprobe) is refused naming the recipe and what to do, not with a
// Python traceback (KeyError 'logits'), nor timed as another recipe's step.
func TestBenchSpecOfAnotherRecipeRefused(t *testing.T) {
	py := torchtest.Python(t)
	dir := t.TempDir()
	cfg, err := config.LoadConfig("", []string{"recipe=condprobe", "model.ngf=8", "model.ndf=8", "data.image_size=32",
		"data.batch_size=4", "out=" + filepath.Join(dir, "run"), "device=cpu", "threads=1"})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := NewSpec(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(sp)
	if err != nil {
		t.Fatal(err)
	}
	spec := filepath.Join(dir, "spec.json")
	if err := os.WriteFile(spec, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "../scripts/bench_pytorch.py", "--spec", spec, "--threads", "1", "--warmup", "0", "--steps", "1").CombinedOutput()
	want := "bench_pytorch.py: recipe condprobe: no PyTorch step for it here"
	if err == nil || !strings.Contains(string(out), want) || strings.Contains(string(out), "Traceback") {
		t.Errorf("bench_pytorch.py on condprobe's spec: %v, want an error saying %q:\n%s", err, want, out)
	}
}

// TestBatchTooLargeSaysWhatToLower: a synthetic batch the device cannot
// hold (data.batch_size=1e9) names the keys to lower, as a training step's
// does, not libtorch's allocation message alone.
func TestBatchTooLargeSaysWhatToLower(t *testing.T) {
	cfg, err := config.LoadConfig("", []string{"model.ngf=8", "model.ndf=8", "data.image_size=32", "data.batch_size=1000000000", "device=cpu", "threads=1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(cfg, 0, 1)
	if err == nil || !strings.Contains(err.Error(), "can't allocate memory") ||
		!strings.Contains(err.Error(), "need more memory than the device (cpu) has: lower data.batch_size") {
		t.Fatalf("bench of batches of 1e9: %v", err)
	}
}
