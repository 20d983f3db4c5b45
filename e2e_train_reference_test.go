package main

import (
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gogan/cgo/torchtest"
	"gogan/runfolder"
)

// TestPix2PixIsTrainPyStepForStep: gogan train with configs/pix2pix-facades.yaml's
// settings (labels to photos, U-Net with dropout, BatchNorm, random crops and
// flips) on ten facades pairs gives, step after step over two epochs, the
// losses of pytorch-CycleGAN-and-pix2pix's train.py itself
// (scripts/train_reference.py: its run written out, with a real torch
// DataLoader of 4 worker processes) from the same seed: the same initial
// weights, shuffle, crops and flips (each epoch's worker seeds drawn as the
// DataLoader draws them, batch 4 of 5 built by worker 0 again) and dropout
// masks.
func TestPix2PixIsTrainPyStepForStep(t *testing.T) {
	root := facadesSubset(t, map[string][]int{"train": {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}})
	trainPyStepForStep(t, "configs/pix2pix-facades.yaml", root, 10,
		map[string]any{"model": "pix2pix", "direction": "BtoA", "netG": "unet_128", "num_threads": 4},
		"model.netG=unet_128")
}

// TestPix2PixOddWidthIsTrainPys: an A|B image of odd width is cut where
// the reference's AlignedDataset cuts it (int(w/2): A 255 columns, B 256),
// and both halves take the crop and flip drawn from A's size: 6 facades
// pairs 511 wide, resized (resize_and_crop) or not (crop), step for step
// with train.py. And 77x40 pairs scaled to 32 wide with a crop of 32
// (scale_width_and_crop): A 32x33, cropped at a drawn row, B 32x32, which
// the reference's __crop leaves whole.
func TestPix2PixOddWidthIsTrainPys(t *testing.T) {
	src := filepath.Join("..", "shared", "data", "facades", "train")
	pairs := func(w, h int) string {
		root := t.TempDir()
		os.MkdirAll(filepath.Join(root, "train"), 0o755)
		for i := range 6 {
			ab := decodeJPEG(t, filepath.Join(src, fmt.Sprintf("%d.jpg", 60+i)))
			odd := image.NewNRGBA(image.Rect(0, 0, w, h))
			for y := range h {
				for x := range w {
					odd.Set(x, y, ab.At(x*511/w, y*256/h)) // the top left 511x256, sampled
				}
			}
			writePNG(t, filepath.Join(root, "train", fmt.Sprintf("%d.png", i)), odd)
		}
		return root
	}
	wide := pairs(511, 256)
	for _, tc := range []struct {
		pre, root, netG string
		load, crop      int
	}{
		{"resize_and_crop", wide, "unet_128", 143, 128},
		{"crop", wide, "unet_128", 143, 128},
		{"scale_width_and_crop", pairs(77, 40), "resnet_6blocks", 32, 32},
	} {
		t.Run(tc.pre, func(t *testing.T) {
			trainPyStepForStep(t, "configs/pix2pix-facades.yaml", tc.root, 6,
				map[string]any{"model": "pix2pix", "direction": "BtoA", "netG": tc.netG, "num_threads": 4, "preprocess": tc.pre,
					"load_size": tc.load, "crop_size": tc.crop},
				"model.netG="+tc.netG, "data.preprocess="+tc.pre, fmt.Sprintf("data.load_size=%d", tc.load), fmt.Sprintf("data.crop_size=%d", tc.crop))
		})
	}
}

// TestLRPoliciesAreTrainPys: each epoch trains at the rate train.py's
// does under the policies networks.get_scheduler builds, stepped after
// each epoch as update_learning_rate steps them: linear decaying from
// epoch 2 (n_epochs 1, n_epochs_decay 2), step (x0.1 every epoch,
// lr_decay_iters 1) and cosine over 3 epochs (T_max n_epochs). pix2pix on
// 4 facades pairs: 2 steps an epoch, 6 in all. (plateau is not train.py's:
// its models never set the metric it steps with; README.)
func TestLRPoliciesAreTrainPys(t *testing.T) {
	root := facadesSubset(t, map[string][]int{"train": {41, 42, 43, 44}})
	for _, tc := range []struct {
		policy string
		sets   []string
		ref    map[string]any
	}{
		{"linear", []string{"train.epochs=1", "train.epochs_decay=2"}, map[string]any{"n_epochs": 1, "n_epochs_decay": 2}},
		{"step", []string{"train.epochs=3", "train.lr_decay_iters=1"}, map[string]any{"n_epochs": 3, "n_epochs_decay": 0, "lr_decay_iters": 1}},
		{"cosine", []string{"train.epochs=3"}, map[string]any{"n_epochs": 3, "n_epochs_decay": 0}},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			ref := map[string]any{"model": "pix2pix", "direction": "BtoA", "netG": "unet_128", "num_threads": 4, "epochs": 3,
				"lr_policy": tc.policy}
			for k, v := range tc.ref {
				ref[k] = v
			}
			trainPyStepForStep(t, "configs/pix2pix-facades.yaml", root, 6, ref,
				append(tc.sets, "model.netG=unet_128", "train.lr_policy="+tc.policy)...)
		})
	}
}

// TestCycleGANIsTrainPyStepForStep: the same for configs/cyclegan-facades.yaml's
// CycleGAN (ResNet generators, identity loss, image pools) on 7 A and 5 B
// facades images, with train.py's --num_threads 3: the random B of every
// sample (Python's random in the worker) and each side's RandomCrop and
// RandomHorizontalFlip (the worker's torch generator) are the reference's,
// and so are the pools' draws once they are full (3 images: from the
// second step on), from Python's random in the main process, which the
// reference's run seeds with the seed as gogan does (train.py itself seeds
// nothing).
func TestCycleGANIsTrainPyStepForStep(t *testing.T) {
	root := facadesSubset(t, map[string][]int{"trainA": {11, 12, 13, 14, 15, 16, 17}, "trainB": {21, 22, 23, 24, 25}})
	trainPyStepForStep(t, "configs/cyclegan-facades.yaml", root, 8,
		map[string]any{"model": "cycle_gan", "netG": "resnet_6blocks", "num_threads": 3, "pool_size": 3},
		"model.netG=resnet_6blocks", "data.reference_workers=3", "train.pool_size=3")
}

// TestCycleGANPoolsOfSizesAreTrainPys: with data.preprocess none the
// reference trains CycleGAN on each image at its own size (batch 1), and
// its image pools (lists) keep and give back fakes of any size; gogan's do
// too. 5 A and 4 B photos of six sizes (crops of facades photos, multiples
// of 4 as --preprocess none makes them), pools of 2 (full from step 3),
// flips: 10 steps x 8 losses against train.py's.
func TestCycleGANPoolsOfSizesAreTrainPys(t *testing.T) {
	trainPyStepForStep(t, "configs/cyclegan-facades.yaml", unalignedOfSizes(t), 10,
		map[string]any{"model": "cycle_gan", "netG": "resnet_6blocks", "num_threads": 2, "pool_size": 2, "batch_size": 1, "preprocess": "none"},
		"model.netG=resnet_6blocks", "data.reference_workers=2", "train.pool_size=2", "data.batch_size=1", "data.preprocess=none")
}

// unalignedOfSizes makes trainA/ (5 images) and trainB/ (4) of six sizes,
// crops of facades photos, multiples of 4 as --preprocess none makes them.
func unalignedOfSizes(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	src := filepath.Join("..", "shared", "data", "facades", "train")
	sizes := map[string][][2]int{"trainA": {{48, 40}, {40, 48}, {48, 48}, {44, 36}, {48, 40}}, "trainB": {{40, 40}, {36, 48}, {48, 44}, {40, 48}}}
	for dir, whs := range sizes {
		os.MkdirAll(filepath.Join(root, dir), 0o755)
		for i, wh := range whs {
			ab := decodeJPEG(t, filepath.Join(src, fmt.Sprintf("%d.jpg", 40+10*len(dir)+i)))
			// a corner of the photo (the left half), at 4x4 pixel steps
			crop := image.NewNRGBA(image.Rect(0, 0, wh[0], wh[1]))
			for y := 0; y < wh[1]; y++ {
				for x := 0; x < wh[0]; x++ {
					crop.Set(x, y, ab.At(20+4*x, 20+4*y))
				}
			}
			writePNG(t, filepath.Join(root, dir, fmt.Sprintf("%d.png", i)), crop)
		}
	}
	return root
}

// TestColorizationIsTrainPyStepForStep: the same for configs/colorization.yaml's
// colorization model (pix2pix from L to ab in CIE Lab) on 9 facades images
// (whole A|B files as colour photos), with --num_threads 2: each image's
// RandomCrop and RandomHorizontalFlip come from its worker's torch
// generator, then skimage's rgb2lab.
func TestColorizationIsTrainPyStepForStep(t *testing.T) {
	root := facadesSubset(t, map[string][]int{"train": {31, 32, 33, 34, 35, 36, 37, 38, 39}})
	trainPyStepForStep(t, "configs/colorization.yaml", root, 10,
		map[string]any{"model": "colorization", "netG": "unet_128", "num_threads": 2},
		"model.netG=unet_128", "data.reference_workers=2")
}

// TestPix2PixHDIsTrainPyStepForStep: gogan train with the pix2pixhd recipe
// on writeHDData's label maps (4 classes, one-hot) with 16-bit instance
// maps (their boundaries one more input channel) and photos, 48x44, scaled
// to 40 wide and cropped at random to 32x32 (scale_width_and_crop) with
// random flips, gives step after step the losses of NVIDIA pix2pixHD's
// train.py itself (scripts/train_reference_hd.py: its run written out, with
// a real torch DataLoader of --nThreads 2 worker processes) from the same
// seed: the same initial weights, shuffle, crops and flips. 9 examples in
// batches of 2 make 4 batches an epoch (pix2pixHD's AlignedDataset has
// len // batchSize * batchSize items: the last file is never drawn), worker
// 0 building the first and third; over 3 epochs (niter 1, niter_decay 2)
// the rate halves after epoch 2 as update_learning_rate halves it. A global
// generator, feature matching and the VGG loss on (torchvision's whole
// VGG19 draws its default initialisation before the first epoch, the
// layers gogan does not keep included). And --no_lsgan without feature
// matching: D's Sigmoid (use_sigmoid) and BCELoss, the losses G_GAN, G_VGG,
// D_real and D_fake. And with --instance_feat and --label_feat: the
// encoder's features averaged over each region are more input of G.
func TestPix2PixHDIsTrainPyStepForStep(t *testing.T) {
	py := torchtest.Python(t)
	root := t.TempDir()
	writeHDData(t, root, 9, 48, 44)
	vgg := randomVGG19(t)
	for _, tc := range []struct {
		name  string
		sets  []string
		opts  map[string]any
		steps int
	}{
		{"lsgan-feature-matching", nil, nil, 12},
		{"no_lsgan", []string{"train.gan_mode=vanilla", "train.no_ganFeat_loss=true"}, map[string]any{"no_lsgan": true, "no_ganFeat_loss": true}, 12},
		// The encoder's region means are sums in another order than
		// torch.mean's (one rounding apart), which these runs amplify from
		// step 7 on: means 2e-7 larger follow train.py to 3e-6 for all 12
		// steps. Six steps check the features, E's gradients and its place
		// in G's optimizer.
		{"instance_feat", []string{"model.instance_feat=true", "model.nef=4", "model.n_downsample_E=2"}, map[string]any{"instance_feat": true, "nef": 4, "n_downsample_E": 2}, 6},
		{"label_feat", []string{"model.label_feat=true", "model.nef=4", "model.n_downsample_E=2", "model.feat_num=2"}, map[string]any{"label_feat": true, "nef": 4, "n_downsample_E": 2, "feat_num": 2}, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := filepath.Join(t.TempDir(), "run")
			args := []string{"train", "-c", "", "--quiet", "--set", "recipe=pix2pixhd", "--set", "out=" + run, "--set", "data.root=" + root,
				"--set", "seed=7", "--set", "data.label_nc=4", "--set", "data.batch_size=2", "--set", "data.load_size=40",
				"--set", "data.crop_size=32", "--set", "data.preprocess=scale_width_and_crop", "--set", "data.reference_workers=2",
				"--set", "model.netG=global", "--set", "model.ngf=4", "--set", "model.ndf=8", "--set", "model.n_downsample_global=2",
				"--set", "model.n_blocks_global=1", "--set", "model.n_layers_D=2", "--set", "model.vgg_weights=" + vgg,
				"--set", "train.epochs=1", "--set", "train.epochs_decay=2", "--set", "train.log_every=1", "--set", "train.sample_every=0",
				"--set", "threads=1", "--set", "data.workers=2", "--set", "device=cpu"}
			got := trainedMetrics(t, args, run, tc.sets)
			c := map[string]any{"dataroot": root, "seed": 7, "epochs": 3, "batchSize": 2, "nThreads": 2, "label_nc": 4,
				"loadSize": 40, "fineSize": 32, "resize_or_crop": "scale_width_and_crop", "netG": "global", "ngf": 4, "ndf": 8,
				"n_downsample_global": 2, "n_blocks_global": 1, "n_layers_D": 2, "vgg_weights": vgg, "niter": 1, "niter_decay": 2}
			for k, v := range tc.opts {
				c[k] = v
			}
			out := referenceRun(t, py, "scripts/train_reference_hd.py", c)
			worst := sameLosses(t, got, out, "train.py", tc.steps)
			t.Logf("%d steps: largest relative difference %.2g", tc.steps, worst)
		})
	}
}

// facadesSubset links the numbered facades training pairs into folders of
// a new root.
func facadesSubset(t *testing.T, dirs map[string][]int) string {
	t.Helper()
	src := filepath.Join("..", "shared", "data", "facades", "train")
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("facades not found at %s: %v", src, err)
	}
	src, _ = filepath.Abs(src)
	root := t.TempDir()
	for dir, ids := range dirs {
		os.MkdirAll(filepath.Join(root, dir), 0o755)
		for _, i := range ids {
			name := fmt.Sprintf("%d.jpg", i)
			if err := os.Symlink(filepath.Join(src, name), filepath.Join(root, dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

// trainPyStepForStep trains config on root for two epochs (unless sets and
// ref say otherwise) of batches of 2 (128x128 crops of 143x143 images, 8
// filters) with gogan and with scripts/train_reference.py from seed 7 and
// compares every step's losses.
func trainPyStepForStep(t *testing.T, config, root string, steps int, ref map[string]any, sets ...string) {
	py := torchtest.Python(t)
	run := filepath.Join(t.TempDir(), "run")
	args := []string{"train", "--config", config, "--quiet", "--set", "data.root=" + root, "--set", "out=" + run,
		"--set", "seed=7", "--set", "data.batch_size=2", "--set", "data.load_size=143", "--set", "data.crop_size=128",
		"--set", "model.ngf=8", "--set", "model.ndf=8", "--set", "train.epochs=2", "--set", "train.epochs_decay=0",
		"--set", "train.log_every=1", "--set", "threads=1", "--set", "device=cpu"}
	got := trainedMetrics(t, args, run, sets)
	c := map[string]any{"mode": "train", "dataroot": root, "seed": 7, "epochs": 2, "batch_size": 2,
		"load_size": 143, "crop_size": 128, "ngf": 8, "ndf": 8}
	for k, v := range ref {
		c[k] = v
	}
	out := referenceRun(t, py, "scripts/train_reference.py", c)
	worst := sameLosses(t, got, out, "train.py", steps)
	t.Logf("%d steps over %v epochs: largest relative difference %.2g", steps, c["epochs"], worst)
}

// referenceRun runs a reference's training script on case c (OpenBLAS on
// one thread, as gogan holds it) and returns its output, one JSON line per
// step.
// trainedMetrics runs gogan with args and each of sets as a --set, and
// reads the metrics of the run folder run it trains.
func trainedMetrics(t *testing.T, args []string, run string, sets []string) *runfolder.Metrics {
	t.Helper()
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	if out, err := gogan(t, args...); err != nil {
		t.Fatalf("gogan train: %v\n%s", err, out)
	}
	got, err := runfolder.ReadMetrics(filepath.Join(run, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func referenceRun(t *testing.T, py, script string, c map[string]any) []byte {
	t.Helper()
	cmd := exec.Command(py, script, torchtest.WriteCases(t, t.TempDir(), c))
	cmd.Env = append(os.Environ(), "OPENBLAS_NUM_THREADS=1")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s: %v\n%s", script, err, stderr)
	}
	return out
}

// sameLosses compares a run's metrics.csv with a reference's output of
// one JSON object of losses per step, every value to 1e-4 (metrics.csv keeps
// 6 significant digits), and returns the largest relative difference.
func sameLosses(t *testing.T, got *runfolder.Metrics, ref []byte, reference string, steps int) float64 {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(ref)), "\n")
	if len(lines) != len(got.Rows) || len(lines) < steps {
		t.Fatalf("steps: %s %d, gogan %d; want the same, at least %d", reference, len(lines), len(got.Rows), steps)
	}
	worst := 0.0
	for i, line := range lines[:steps] {
		var want map[string]float64
		if err := json.Unmarshal([]byte(line), &want); err != nil {
			t.Fatal(err)
		}
		for k, v := range want {
			g := got.Rows[i][got.Column(k)]
			d := math.Abs(g-v) / math.Max(math.Abs(v), 1e-3)
			worst = max(worst, d)
			if d > 1e-4 {
				t.Errorf("step %d %s: gogan %g, %s %g", i+1, k, g, reference, v)
			}
		}
	}
	return worst
}
