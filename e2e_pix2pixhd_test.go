package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/cgo/torchtest"
	"gogan/runfolder"
)

// writeHDData lays out pix2pixHD's train_label/ (8-bit class ids 0..3 in
// bands), train_inst/ (16-bit instance ids as Cityscapes': class*1000 + an
// object number, ids above 255 whose low bytes collide; class 0, whose ids
// would fall below 1000, is one region of id 0) and train_img/ (RGB
// photos that follow the labels, no channel constant: a constant one would
// make the encoder's weights on it gradient-free), n examples of w x h.
func writeHDData(t *testing.T, root string, n, w, h int) {
	t.Helper()
	for _, d := range []string{"train_label", "train_inst", "train_img"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		label, inst, photo := image.NewGray(image.Rect(0, 0, w, h)), image.NewGray16(image.Rect(0, 0, w, h)), image.NewRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				class := ((x+i*3)/(w/4) + y/(h/2)) % 4
				object := uint16((x / 8) % 2 * 256) // 0 or 256: equal low bytes
				label.SetGray(x, y, color.Gray{Y: uint8(class)})
				if class == 0 {
					object = 0
				}
				inst.SetGray16(x, y, color.Gray16{Y: uint16(class)*1000 + object})
				v := uint8(60*class + (x*y+i)%40)
				photo.Set(x, y, color.RGBA{R: v, G: 255 - v, B: uint8(30*i + (x+2*y)%23), A: 255})
			}
		}
		name := fmt.Sprintf("%03d.png", i)
		for dir, im := range map[string]image.Image{"train_label": label, "train_inst": inst, "train_img": photo} {
			writePNG(t, filepath.Join(root, dir, name), im)
		}
	}
}

// randomVGG19 is torchvision's VGG19 state dict with random weights (the
// ImageNet ones cannot be downloaded here), made by Debian's PyTorch.
func randomVGG19(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "vgg19.pth")
	if b, err := exec.Command(torchtest.Python(t), "scripts/make_vgg19_pth.py", out, "--seed", "3").CombinedOutput(); err != nil {
		t.Fatalf("make_vgg19_pth.py: %v\n%s", err, b)
	}
	return out
}

// smallHD is pix2pixHD on writeHDData's 32x32 label maps with instance
// boundaries and the VGG loss: a local enhancer whose global part is fixed
// for the first epoch (8 steps), sized for seconds on two cores.
func smallHD(root, vgg, out string, extra ...string) []string {
	args := []string{"-c", "", "--quiet", "--set", "recipe=pix2pixhd", "--set", "out=" + out, "--set", "data.root=" + root,
		"--set", "data.label_nc=4", "--set", "data.load_size=32", "--set", "data.crop_size=32",
		"--set", "data.preprocess=resize_and_crop", "--set", "model.vgg_weights=" + vgg,
		"--set", "model.netG=local", "--set", "model.ngf=4", "--set", "model.ndf=8", "--set", "model.n_downsample_global=2",
		"--set", "model.n_blocks_global=1", "--set", "model.n_blocks_local=1", "--set", "model.n_layers_D=2",
		"--set", "train.niter_fix_global=1", "--set", "train.log_every=1", "--set", "train.sample_every=5",
		"--set", "threads=2", "--set", "data.workers=2"}
	for _, e := range extra {
		args = append(args, "--set", e)
	}
	return args
}

// TestPix2PixHDKilledRunResumesExactly: killed before or after the
// optimizer swap at the end of epoch 1, the resumed run matches the one
// that never stopped, row for row.
func TestPix2PixHDKilledRunResumesExactly(t *testing.T) {
	root := t.TempDir()
	writeHDData(t, root, 8, 40, 36)
	vgg := randomVGG19(t)
	killResumeExact(t, func(run string) []string {
		return smallHD(root, vgg, run, "train.max_steps=24", "train.checkpoint_every=3", "data.batch_size=1")
	}, 24)
}

// TestPix2PixHDPoolKilledRunResumesExactly: with train.pool_size
// (--pool_size) the pool's images, how full it is and its random draws are
// part of a checkpoint: pools of 3 at batch 2, full from the second step,
// killed after the first checkpoint and resumed, match the run that never
// stopped.
func TestPix2PixHDPoolKilledRunResumesExactly(t *testing.T) {
	root := t.TempDir()
	writeHDData(t, root, 8, 40, 36)
	killResumeExact(t, func(run string) []string {
		return smallHD(root, "", run, "train.max_steps=20", "train.checkpoint_every=3", "data.batch_size=2",
			"train.pool_size=3", "train.no_vgg_loss=true")
	}, 20)
}

// TestPix2PixHDTrains: label maps and instance boundaries in, the
// reference's loss names in metrics.csv, the grid label | output | target,
// and the swap to the whole generator after niter_fix_global epochs.
func TestPix2PixHDTrains(t *testing.T) {
	root := t.TempDir()
	writeHDData(t, root, 4, 40, 36)
	vgg := randomVGG19(t)
	run := filepath.Join(t.TempDir(), "run")
	out, err := gogan(t, append([]string{"train"}, smallHD(root, vgg, run, "train.max_steps=6", "train.epochs=1", "train.epochs_decay=1")...)...)
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	rows := lossRows(t, run)
	if want := "step,epoch,G_GAN,G_GAN_Feat,G_VGG,D_real,D_fake,lr"; len(rows) != 7 || strings.Join(rows[0], ",") != want {
		t.Errorf("metrics.csv: %d rows, header %v, want 7 rows under %s", len(rows), rows[0], want)
	}
	// pix2pixHD's schedule: the rate drops after epoch 2 (> niter = 1), so
	// epochs 1 and 2 (steps 1-4, 5-6) run at the full rate.
	for _, r := range rows[1:] {
		if r[len(r)-1] != "0.0002" {
			t.Errorf("step %s: lr %s, want 0.0002 until epoch 2 ends", r[0], r[len(r)-1])
		}
	}
	// Four examples, one row each: label | output | target, 32 px with 2 px padding.
	if w, h := pngSize(t, filepath.Join(run, "samples", "latest.png")); w != 3*34+2 || h != 4*34+2 {
		t.Errorf("sample grid %dx%d, want %dx%d", w, h, 3*34+2, 4*34+2)
	}
	if b, _ := os.ReadFile(filepath.Join(run, "index.html")); !strings.Contains(string(b), "each row: input_label | synthesized_image | real_image") {
		t.Errorf("the report does not name the grid's columns")
	}
	// stderr logs go to the output too: the swap after epoch 1.
	if !strings.Contains(out, "now also training the global generator") {
		t.Errorf("no optimizer swap after train.niter_fix_global=1 epoch:\n%s", out)
	}
	// Scored on label maps, instance boundaries and photos; translated from
	// label and instance maps (as test.py: test_label/, test_inst/).
	results := filepath.Join(t.TempDir(), "results")
	out, err = gogan(t, "eval", "pix2pix", "--checkpoint", run, "--data-root", root, "--phase", "train", "--limit", "3",
		"--device", "cpu", "--threads", "2", "--out", results)
	if err != nil || !strings.Contains(out, "pairs 0..2 of 4") || !strings.Contains(out, "eval         3") {
		t.Errorf("eval pix2pix: %v\n%s", err, out)
	}
	// named as pix2pixHD's test.py names them (and the target as its
	// train.py's visuals)
	for _, v := range []string{"input_label", "synthesized_image_train", "synthesized_image_eval", "real_image"} { // both modes: each its own
		if files, _ := filepath.Glob(filepath.Join(results, "images", "*_"+v+".png")); len(files) != 3 {
			t.Errorf("results: %d *_%s.png, want 3", len(files), v)
		}
	}
	if page, err := os.ReadFile(filepath.Join(results, "index.html")); err != nil || !strings.Contains(string(page), "<th>synthesized_image (eval mode)</th>") {
		t.Errorf("results page: %v, no synthesized_image column", err)
	}
	// the results page shows the label maps in pix2pixHD's colours
	if labels, _ := filepath.Glob(filepath.Join(results, "images", "*_input_label.png")); len(labels) != 3 {
		t.Errorf("results: %d label pictures, want 3", len(labels))
	} else if im := readPNG(t, labels[0]); !slices.ContainsFunc(slices.Collect(slices.Chunk(im.Pix, 4)), func(p []uint8) bool { return p[0] != p[1] || p[1] != p[2] }) {
		t.Errorf("%s: a gray picture of the label map, want pix2pixHD's colours", labels[0])
	}
	dst := filepath.Join(t.TempDir(), "out")
	out, err = gogan(t, "translate", "--checkpoint", run, "--input", filepath.Join(root, "train_label"),
		"--instances", filepath.Join(root, "train_inst"), "--out", dst, "--eval")
	if err != nil || !strings.Contains(out, "translated 4 images") {
		t.Fatalf("translate label maps: %v\n%s", err, out)
	}
	if w, h := pngSize(t, filepath.Join(dst, "003.png")); w != 32 || h != 32 {
		t.Errorf("translated %dx%d, want the training crop 32x32", w, h)
	}
	out, err = gogan(t, "translate", "--checkpoint", run, "--input", filepath.Join(root, "train_label"), "--out", dst)
	if err == nil || !strings.Contains(out, "--instances") {
		t.Errorf("translate without instance maps: %v\n%s", err, out)
	}
	out, err = gogan(t, "translate", "--checkpoint", run, "--input", filepath.Join(root, "train_img"),
		"--instances", filepath.Join(root, "train_inst"), "--out", dst)
	if err == nil || !strings.Contains(out, "label map") {
		t.Errorf("translate photos as label maps: %v\n%s", err, out)
	}
	// A class the generator never learnt: no label_nc to raise now.
	nine := filepath.Join(t.TempDir(), "labels")
	os.MkdirAll(nine, 0o755)
	lm := image.NewGray(image.Rect(0, 0, 40, 36))
	lm.Pix[5] = 9
	writePNG(t, filepath.Join(nine, "003.png"), lm)
	inst := filepath.Join(t.TempDir(), "inst")
	os.MkdirAll(inst, 0o755)
	if b, err := os.ReadFile(filepath.Join(root, "train_inst", "003.png")); err != nil || os.WriteFile(filepath.Join(inst, "003.png"), b, 0o644) != nil {
		t.Fatal(err)
	}
	out, err = gogan(t, "translate", "--checkpoint", run, "--input", nine, "--instances", inst, "--out", dst)
	if err == nil || !strings.Contains(out, "003.png: label map has class id 9 (at x=5, y=0), but the generator of "+run) ||
		!strings.Contains(out, "was trained on 4 classes (ids 0..3): give label maps of those classes") {
		t.Errorf("translate a label map of class 9: %v\n%s", err, out)
	}
	// and so does eval pix2pix on such a split (gogan features reads the
	// data the same way)
	nineRoot := t.TempDir()
	for _, d := range []string{"train_label", "train_inst", "train_img"} {
		os.MkdirAll(filepath.Join(nineRoot, d), 0o755)
		if d != "train_label" {
			b, _ := os.ReadFile(filepath.Join(root, d, "003.png"))
			os.WriteFile(filepath.Join(nineRoot, d, "003.png"), b, 0o644)
		}
	}
	writePNG(t, filepath.Join(nineRoot, "train_label", "003.png"), lm)
	out, err = gogan(t, "eval", "pix2pix", "--checkpoint", run, "--data-root", nineRoot, "--phase", "train", "--device", "cpu")
	if err == nil || !strings.Contains(out, "label map has class id 9 (at x=5, y=0), but the generator of "+run) || strings.Contains(out, "raise data.label_nc") ||
		!strings.Contains(out, "1 invalid file (fix or remove them)") {
		t.Errorf("eval pix2pix on a label map of class 9: %v\n%s", err, out)
	}
}

// TestPix2PixHDFacadesStages trains the global stage on facades (label_nc
// 0), scores it on held-out pairs, then starts the local stage from it.
func TestPix2PixHDFacadesStages(t *testing.T) {
	root := filepath.Join("..", "shared", "data", "facades")
	if _, err := os.Stat(filepath.Join(root, "train")); err != nil {
		t.Fatalf("no facades pairs at %s (the shared data folder beside the clone): %v", root, err)
	}
	base := t.TempDir()
	global, local := filepath.Join(base, "global"), filepath.Join(base, "local")
	common := []string{"--quiet", "--set", "data.root=" + root, "--set", "data.max_samples=350", "--set", "model.ndf=8",
		"--set", "model.n_blocks_global=1", "--set", "train.max_steps=2", "--set", "train.log_every=1", "--set", "threads=2"}
	out, err := gogan(t, append([]string{"train", "-c", "configs/pix2pixhd-facades.yaml", "--set", "out=" + global,
		"--set", "data.load_size=32", "--set", "data.crop_size=32", "--set", "model.ngf=8"}, common...)...)
	if err != nil {
		t.Fatalf("global stage: %v\n%s", err, out)
	}
	results := filepath.Join(base, "results")
	out, err = gogan(t, "eval", "pix2pix", "--checkpoint", global, "--data-root", root, "--phase", "train",
		"--skip", "350", "--limit", "4", "--mode", "eval", "--device", "cpu", "--threads", "2", "--out", results)
	if err != nil || !strings.Contains(out, "pairs 350..353 of 400") || !strings.Contains(out, "results: "+filepath.Join(results, "index.html")) {
		t.Fatalf("eval pix2pix: %v\n%s", err, out)
	}
	// pix2pixHD's names, from the pairs' files: 4 pairs, each input, output, target
	pngs, _ := filepath.Glob(filepath.Join(results, "images", "*.png"))
	fakes, _ := filepath.Glob(filepath.Join(results, "images", "*_synthesized_image.png"))
	if len(pngs) != 12 || len(fakes) != 4 {
		t.Errorf("results images %v, want 4 pairs' input_label, synthesized_image and real_image", pngs)
	}
	for _, f := range fakes {
		if w, h := pngSize(t, f); w != 32 || h != 32 {
			t.Errorf("%s is %dx%d, want the 32x32 the generator makes", f, w, h)
		}
	}
	// The local enhancer of ngf 4 holds a global part of ngf 8: the global
	// stage's generator, layer for layer.
	out, err = gogan(t, append([]string{"train", "-c", "configs/pix2pixhd-facades.yaml", "--set", "out=" + local,
		"--set", "data.load_size=64", "--set", "data.crop_size=64", "--set", "model.netG=local", "--set", "model.ngf=4",
		"--set", "model.load_pretrain=" + global, "--set", "train.niter_fix_global=1"}, common...)...)
	if err != nil {
		t.Fatalf("local stage: %v\n%s", err, out)
	}
	if !strings.Contains(out, "pretrained weights loaded") || !strings.Contains(out, "not_initialised=\"model1_1, model1_2\"") {
		t.Errorf("local stage: the global stage's weights were not loaded into the global part:\n%s", out)
	}
	// A local G as wide as the global run's has a global part twice as wide.
	out, err = gogan(t, append([]string{"train", "-c", "configs/pix2pixhd-facades.yaml", "--set", "out=" + filepath.Join(base, "x"),
		"--set", "data.load_size=64", "--set", "data.crop_size=64", "--set", "model.netG=local", "--set", "model.ngf=16",
		"--set", "model.load_pretrain=" + global}, common...)...)
	if err == nil || !strings.Contains(out, "G.model.1.weight has shape [8 3 7 7] there and [32 3 7 7] in this run") {
		t.Errorf("load_pretrain of another width: %v\n%s", err, out)
	}
	// The global stage translated labels to photos; a local stage the
	// other way round would start from the wrong translation.
	out, err = gogan(t, append([]string{"train", "-c", "configs/pix2pixhd-facades.yaml", "--set", "out=" + filepath.Join(base, "y"),
		"--set", "data.load_size=64", "--set", "data.crop_size=64", "--set", "model.netG=local", "--set", "model.ngf=4",
		"--set", "data.direction=AtoB", "--set", "model.load_pretrain=" + global}, common...)...)
	if err == nil || !strings.Contains(out, "trained with data.direction=BtoA, this run has AtoB") {
		t.Errorf("load_pretrain of the other direction: %v\n%s", err, out)
	}
}

// TestPix2PixHDBadVGGWeights: a missing file, a file that is not a VGG19
// and no file at all are refused before training, naming what to do.
func TestPix2PixHDBadVGGWeights(t *testing.T) {
	root := t.TempDir()
	writeHDData(t, root, 2, 32, 32)
	base := t.TempDir()
	notVGG := filepath.Join(base, "other.pth")
	script := "import torch; torch.save(torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3)).state_dict(), '" + notVGG + "')"
	if b, err := exec.Command(torchtest.Python(t), "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	// torch.hub's cache, where torchvision keeps vgg19-dcbb9e9d.pth: here
	// holding that name for a file that is no VGG19, to see it found
	hub := filepath.Join(base, "torch")
	t.Setenv("TORCH_HOME", hub)
	for _, c := range []struct {
		vgg, want string
		cache     bool // the cache holds the file from this case on
	}{
		{filepath.Join(base, "missing.pth"), "missing.pth", false},
		{notVGG, "not a torchvision VGG19 state dict", false},
		{"", "which torch.hub's cache " + filepath.Join(hub, "hub", "checkpoints") + " does not hold: set model.vgg_weights", false},
		{"vgg19-dcbb9e9d.pth", "no such file here nor in torch.hub's cache", false},
		{"", "not a torchvision VGG19 state dict", true},                   // found in the cache
		{"vgg19-dcbb9e9d.pth", "not a torchvision VGG19 state dict", true}, // its name, found there
	} {
		if c.cache {
			os.MkdirAll(filepath.Join(hub, "hub", "checkpoints"), 0o755)
			os.Link(notVGG, filepath.Join(hub, "hub", "checkpoints", "vgg19-dcbb9e9d.pth"))
		}
		run := filepath.Join(base, "run"+fmt.Sprint(len(c.want)))
		out, err := gogan(t, append([]string{"train"}, smallHD(root, c.vgg, run, "train.max_steps=1")...)...)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("model.vgg_weights=%q: %v\n%s", c.vgg, err, out)
		}
		if _, err := os.Stat(filepath.Join(run, "checkpoints")); err == nil {
			t.Errorf("model.vgg_weights=%q: a checkpoint was written", c.vgg)
		}
	}
	// no home folder, so no cache: said so, not an empty path
	for _, k := range []string{"TORCH_HOME", "XDG_CACHE_HOME", "HOME"} {
		t.Setenv(k, "")
	}
	want := "which torch.hub's cache (none: HOME, XDG_CACHE_HOME and TORCH_HOME are unset; set TORCH_HOME) does not hold"
	if out, err := gogan(t, append([]string{"train"}, smallHD(root, "", filepath.Join(base, "nohome"), "train.max_steps=1")...)...); err == nil || !strings.Contains(out, want) {
		t.Errorf("no home folder: %v, want %q\n%s", err, want, out)
	}
}

// featureHD is smallHD with pix2pixHD's feature encoder, without the VGG loss.
func featureHD(root, out string, extra ...string) []string {
	return smallHD(root, "", out, append([]string{"train.no_vgg_loss=true", "model.nef=4", "model.n_downsample_E=2"}, extra...)...)
}

// TestPix2PixHDFeatures: instance-wise features train with G (E in the
// checkpoint), resume exactly, are clustered per class by gogan features,
// and feed gogan translate from the clusters (a random cluster per region:
// seeded) or from photos, and gogan eval pix2pix from each pair's photo.
func TestPix2PixHDFeatures(t *testing.T) {
	root := t.TempDir()
	writeHDData(t, root, 4, 40, 36)
	killResumeExact(t, func(run string) []string {
		return featureHD(root, run, "model.instance_feat=true", "train.max_steps=12", "train.checkpoint_every=3")
	}, 12)

	run := filepath.Join(t.TempDir(), "run")
	out, err := gogan(t, append([]string{"train"}, featureHD(root, run, "model.instance_feat=true", "train.max_steps=6")...)...)
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	ck := filepath.Join(run, "checkpoints", "step-00000006")
	if keys := checkpointKeys(t, ck); !slices.Contains(keys, "E.model.1.weight") || !slices.Contains(keys, "optimizer.G.exp_avg.0") {
		t.Errorf("checkpoint without the encoder or G's optimizer: %v", keys)
	}
	out, err = gogan(t, "features", "--checkpoint", run, "--threads", "2")
	clustered := filepath.Join(run, "features_clustered_010.safetensors")
	if err != nil || !strings.Contains(out, "encoded 4 images") || !strings.Contains(out, clustered) {
		t.Fatalf("features: %v\n%s", err, out)
	}
	// The same file place however the checkpoint is named: its folder with
	// a trailing slash (shell completion), or a copy kept elsewhere (beside it).
	elsewhere := filepath.Join(t.TempDir(), "kept")
	if err := os.CopyFS(filepath.Join(elsewhere, "step-00000006"), os.DirFS(ck)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ ck, want string }{
		{ck + "/", filepath.Join(run, "features_clustered_003.safetensors")},
		{filepath.Join(elsewhere, "step-00000006"), filepath.Join(elsewhere, "features_clustered_003.safetensors")},
	} {
		if out, err := gogan(t, "features", "--checkpoint", c.ck, "--threads", "2", "--n-clusters", "3"); err != nil || !strings.Contains(out, c.want) {
			t.Errorf("features --checkpoint %s: %v, want %s\n%s", c.ck, err, c.want, out)
		} else if _, err := os.Stat(c.want); err != nil {
			t.Error(err)
		}
	}
	translate := func(dst string, extra ...string) (string, error) {
		return gogan(t, append([]string{"translate", "--checkpoint", run, "--input", filepath.Join(root, "train_label"),
			"--instances", filepath.Join(root, "train_inst"), "--out", dst}, extra...)...)
	}
	dirs := map[string]string{}
	for _, c := range []struct{ name, seed string }{{"a", "1"}, {"b", "1"}, {"c", "2"}} {
		dirs[c.name] = filepath.Join(t.TempDir(), c.name)
		if out, err := translate(dirs[c.name], "--features", clustered, "--seed", c.seed); err != nil || !strings.Contains(out, "translated 4 images") || strings.Contains(out, "another encoder") {
			t.Fatalf("translate --features --seed %s: %v (want no warning: the clusters are this checkpoint's)\n%s", c.seed, err, out)
		}
	}
	same, other := 0, 0
	for i := range 4 {
		name := fmt.Sprintf("%03d.png", i)
		a, b, c := readFile(t, filepath.Join(dirs["a"], name)), readFile(t, filepath.Join(dirs["b"], name)), readFile(t, filepath.Join(dirs["c"], name))
		if bytes.Equal(a, b) {
			same++
		}
		if !bytes.Equal(a, c) {
			other++
		}
	}
	if same != 4 || other == 0 {
		t.Errorf("cluster draws: %d of 4 images equal under the same seed (want 4), %d differ under another (want some)", same, other)
	}
	if out, err := translate(filepath.Join(t.TempDir(), "p"), "--photos", filepath.Join(root, "train_img")); err != nil || !strings.Contains(out, "translated 4 images") {
		t.Errorf("translate --photos: %v\n%s", err, out)
	}
	// clusters doctored: one tensor renamed or a value replaced
	doctored := func(name string, rename string, value float32) string {
		ts, meta, err := torch.LoadSafetensors(clustered)
		if err != nil {
			t.Fatal(err)
		}
		defer torch.FreeNamed(ts)
		v := ts[0].Tensor.Float32s()
		v[len(v)-1] = value
		shape := ts[0].Tensor.Shape()
		ts[0].Tensor.Free()
		ts[0].Tensor = torch.FromFloat32(v, shape...)
		if rename != "" {
			ts[0].Name = rename
		}
		p := filepath.Join(t.TempDir(), name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := torch.WriteSafetensors(f, ts, meta); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--features"},
		{[]string{"--features", clustered, "--photos", filepath.Join(root, "train_img")}, "give one"},
		{[]string{"--features", filepath.Join(ck, "weights.safetensors")}, "not a file of clustered features"},
		{[]string{"--features", doctored("nan.safetensors", "", float32(math.NaN()))}, "holds NaN: cluster the features again"},
		{[]string{"--features", doctored("neg.safetensors", "class.-1", 0)}, "class.-1: class -1 is not one of this run's, 0..999"},
		{[]string{"--features", doctored("big.safetensors", "class.1000", 0)}, "class 1000 is not one of this run's"},
	} {
		if out, err := translate(filepath.Join(t.TempDir(), "x"), c.args...); err == nil || !strings.Contains(out, c.want) {
			t.Errorf("translate %v: %v, want an error saying %q\n%s", c.args, err, c.want, out)
		}
	}
	out, err = gogan(t, "eval", "pix2pix", "--checkpoint", run, "--data-root", root, "--phase", "train", "--limit", "2",
		"--device", "cpu", "--threads", "2")
	if err != nil || !strings.Contains(out, "eval         2") {
		t.Errorf("eval pix2pix: %v\n%s", err, out)
	}
	// Trained on, the run's encoder is another: its old clusters still
	// translate, with a warning naming where they came from.
	if out, err := gogan(t, "resume", run, "--quiet", "--set", "train.max_steps=8"); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	out, err = translate(filepath.Join(t.TempDir(), "stale"), "--features", clustered)
	if err != nil || !strings.Contains(out, "translated 4 images") || !strings.Contains(out, "another encoder") || !strings.Contains(out, "step-00000006") {
		t.Errorf("translate at step 8 with step 6's clusters: %v, want a warning naming step 6's checkpoint\n%s", err, out)
	}

	// Label-wise features train too; the keys that cannot work are refused.
	out, err = gogan(t, append([]string{"train"}, featureHD(root, filepath.Join(t.TempDir(), "lab"), "model.label_feat=true",
		"model.feat_num=2", "train.max_steps=2")...)...)
	if err != nil {
		t.Errorf("label_feat: %v\n%s", err, out)
	}
	for _, c := range []struct {
		sets []string
		want string
	}{
		{[]string{"model.instance_feat=true", "data.no_instance=true"}, "data.no_instance=true"},
		{[]string{"model.instance_feat=true", "model.label_feat=true"}, "set one of them"},
		{[]string{"model.instance_feat=true", "model.n_downsample_E=6"}, "multiples of 64"},
	} {
		run := filepath.Join(t.TempDir(), "bad")
		out, err := gogan(t, append([]string{"train"}, featureHD(root, run, append(c.sets, "train.max_steps=1")...)...)...)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("%v: %v, want an error saying %q\n%s", c.sets, err, c.want, out)
		}
	}
	plain := filepath.Join(t.TempDir(), "plain")
	if out, err := gogan(t, append([]string{"train"}, featureHD(root, plain, "train.max_steps=1")...)...); err != nil {
		t.Fatalf("train without features: %v\n%s", err, out)
	}
	if out, err := gogan(t, "features", "--checkpoint", plain); err == nil || !strings.Contains(out, "without a feature encoder") {
		t.Errorf("features of a run without them: %v\n%s", err, out)
	}
}

// TestFeaturesCheckInstanceIDConvention: gogan features takes an instance
// id's class as encode_features.py does (an id below 1000 is its class,
// above it class*1000 + k). Ids that give a class beyond data.label_nc
// (the reference fails there, a KeyError) are refused naming the file, the
// id and how to number them; ids that give another class than the label
// map under them (1, 2, 3 per image: the reference clusters them under
// those classes without a word) are clustered with a warning. Cityscapes'
// ids cluster with neither.
func TestFeaturesCheckInstanceIDConvention(t *testing.T) {
	root := t.TempDir()
	writeHDData(t, root, 3, 40, 36)
	run := filepath.Join(t.TempDir(), "run")
	mustTrain(t, featureHD(root, run, "model.instance_feat=true", "train.max_steps=1")...)
	// renumbered copies of the data: the instance maps' ids mapped by f
	renumbered := func(f func(id uint16) uint16) string {
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS(root)); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			p := filepath.Join(dir, "train_inst", fmt.Sprintf("%03d.png", i))
			im, ok := decodePNG(t, readFile(t, p)).(*image.Gray16)
			if !ok {
				t.Fatalf("%s is not 16-bit gray", p)
			}
			for j := 0; j < len(im.Pix); j += 2 {
				binary.BigEndian.PutUint16(im.Pix[j:], f(binary.BigEndian.Uint16(im.Pix[j:])))
			}
			writePNG(t, p, im)
		}
		return dir
	}
	features := func(dataRoot string) (string, string, error) {
		out := filepath.Join(t.TempDir(), "f.safetensors")
		o, err := gogan(t, "features", "--checkpoint", run, "--threads", "2", "--n-clusters", "2", "--data-root", dataRoot, "--out", out)
		return o, out, err
	}
	if o, _, err := features(root); err != nil || strings.Contains(o, "WARN") {
		t.Fatalf("features of Cityscapes-numbered ids: %v, want no warning\n%s", err, o)
	}
	// objects of class 2 numbered 40000 + k: class 40 of a run of 4
	far := renumbered(func(id uint16) uint16 {
		if id/1000 == 2 {
			return 40000 + id%1000
		}
		return id
	})
	o, out, err := features(far)
	bad := filepath.Join(far, "train_inst", "000.png")
	if err == nil || !strings.Contains(o, bad+": instance id 40000 gives class 40") || !strings.Contains(o, "data.label_nc is 4") ||
		!strings.Contains(o, "its label map has class 2 there") || !strings.Contains(o, "number the instances of class c as c*1000 + k") {
		t.Errorf("features of ids of class 40: %v, want a refusal naming %s, the id, the class and the numbering\n%s", err, bad, o)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("refused, it wrote %s (%v)", out, err)
	}
	// the objects of classes 1, 2, 3 numbered 3, 2, 1: ids below label_nc,
	// two of them on another class
	seq := renumbered(func(id uint16) uint16 {
		if id >= 1000 {
			return 4 - id/1000
		}
		return id
	})
	o, out, err = features(seq)
	if err != nil || !strings.Contains(o, "instance regions lie on another class than their id gives") ||
		!strings.Contains(o, "first="+filepath.Join(seq, "train_inst", "000.png")) || !strings.Contains(o, "number the instances of class c as c*1000 + k") {
		t.Errorf("features of ids 1..3: %v, want the clusters and a warning\n%s", err, o)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("warned, the clusters are not written: %v", err)
	}
}

// TestTranslateMapsInSubfolders: label maps, instance maps and photos kept
// in city folders (Cityscapes' gtFine/val/frankfurt/...), which training
// reads and test.py's make_dataset walks, translate as the same files kept
// flat, paired by sorted path. translate read the top folder alone and
// found no image files.
func TestTranslateMapsInSubfolders(t *testing.T) {
	root := t.TempDir()
	writeHDData(t, root, 3, 40, 36)
	run := filepath.Join(t.TempDir(), "run")
	mustTrain(t, featureHD(root, run, "model.instance_feat=true", "train.max_steps=1")...)
	nested := t.TempDir()
	for _, d := range []string{"train_label", "train_inst", "train_img"} {
		for i, city := range []string{"aachen", "aachen", "bremen"} {
			name := fmt.Sprintf("%03d.png", i)
			if err := os.MkdirAll(filepath.Join(nested, d, city), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(nested, d, city, name), readFile(t, filepath.Join(root, d, name)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	translate := func(dataRoot string) string {
		dst := filepath.Join(t.TempDir(), "out")
		out, err := gogan(t, "translate", "--checkpoint", run, "--input", filepath.Join(dataRoot, "train_label"),
			"--instances", filepath.Join(dataRoot, "train_inst"), "--photos", filepath.Join(dataRoot, "train_img"), "--out", dst)
		if err != nil || !strings.Contains(out, "translated 3 images") {
			t.Fatalf("translate of %s: %v\n%s", dataRoot, err, out)
		}
		return dst
	}
	flat, cities := translate(root), translate(nested)
	for i := range 3 {
		name := fmt.Sprintf("%03d.png", i)
		if !bytes.Equal(readFile(t, filepath.Join(flat, name)), readFile(t, filepath.Join(cities, name))) {
			t.Errorf("%s: translated from city folders, it differs from the flat folders' translation", name)
		}
	}
}

// TestLabelLayoutWithLabelNC0Refused: pix2pixHD's layout of label maps
// (train_label/, train_img/, train_inst/) under a run of data.label_nc=0
// (the input an image, read from train_A/ and train_B/: the reference's
// --label_nc 0 fails without them) is refused naming the key, the folder
// and the two ways on. gogan read every image under data.root, maps,
// instance maps and photos, as A|B images cut in halves, with a warning
// (and without instance maps said the root had "neither" layout); so did
// it with another split's maps (train_label/ with data.phase val).
// Renamed train_A/ and train_B/, the same files train.
func TestLabelLayoutWithLabelNC0Refused(t *testing.T) {
	root := t.TempDir()
	writeHDData(t, root, 2, 32, 32)
	// data.phase val: another split's maps (eval pix2pix's --phase test of
	// a pix2pixHD root) were read whole, maps and photos cut in halves
	for _, set := range [][]string{{"data.no_instance=false"}, {"data.no_instance=true"}, {"data.no_instance=true", "data.phase=val"}} {
		run := filepath.Join(t.TempDir(), "run")
		out, err := gogan(t, append([]string{"train"}, featureHD(root, run, append([]string{"data.label_nc=0", "train.max_steps=1"}, set...)...)...)...)
		if err == nil || !strings.Contains(out, "data.label_nc: 0: the input is an image") || !strings.Contains(out, filepath.Join(root, "train_label")) ||
			!strings.Contains(out, "set data.label_nc to the number of classes") || !strings.Contains(out, "rename train_label/ to train_A/ and train_img/ to train_B/") {
			t.Errorf("%s: %v, want a refusal naming data.label_nc and %s\n%s", set, err, filepath.Join(root, "train_label"), out)
		}
		// renamed train_A/, the val split would still be missing
		if slices.Contains(set, "data.phase=val") && (!strings.Contains(out, "put the val split's input images in "+filepath.Join(root, "val_A")+"/") || !strings.Contains(out, "with data.phase train")) {
			t.Errorf("%s: want the folders data.phase val reads and data.phase train named\n%s", set, out)
		}
		if _, err := os.Stat(run); !os.IsNotExist(err) {
			t.Errorf("refused, it made %s (%v)", run, err)
		}
	}
	for from, to := range map[string]string{"train_label": "train_A", "train_img": "train_B"} {
		if err := os.Rename(filepath.Join(root, from), filepath.Join(root, to)); err != nil {
			t.Fatal(err)
		}
	}
	run := filepath.Join(t.TempDir(), "run")
	if out, err := gogan(t, append([]string{"train"}, featureHD(root, run, "data.label_nc=0", "train.max_steps=1")...)...); err != nil {
		t.Fatalf("train_A/, train_B/ and train_inst/ with data.label_nc=0: %v\n%s", err, out)
	}
	// eval pix2pix reads the test split, which this root lacks: said so
	// (with a train_label/ beside train_A/ too), not that the root had
	// neither layout and instance maps should be turned off
	for _, labels := range []bool{false, true} {
		if labels {
			os.Mkdir(filepath.Join(root, "train_label"), 0o755)
			writePNG(t, filepath.Join(root, "train_label", "000.png"), image.NewGray(image.Rect(0, 0, 32, 32)))
		}
		out, err := gogan(t, "eval", "pix2pix", "--checkpoint", run)
		if err == nil || !strings.Contains(out, root+" has train_A/ but no test_A/: set data.phase (gogan eval and features: --phase) to a split it has (train), or make test_A/ and test_B/") || strings.Contains(out, "data.no_instance") || strings.Contains(out, "rename") {
			t.Errorf("eval pix2pix of a root without test_A/ (train_label/ beside: %v): %v, want the missing test_A/ named\n%s", labels, err, out)
		}
	}
	// eval pix2pix of the run, which takes images, on maps, and of a run
	// that takes maps, on images: the checkpoint fixes data.label_nc, and
	// its refusals told to set it; they say what the checkpoint takes
	maps := t.TempDir()
	writeHDData(t, maps, 2, 32, 32)
	mapsRun := filepath.Join(t.TempDir(), "maps")
	if out, err := gogan(t, append([]string{"train"}, featureHD(maps, mapsRun, "train.max_steps=1")...)...); err != nil {
		t.Fatalf("train on label maps: %v\n%s", err, out)
	}
	for _, c := range []struct {
		ck, root, phase, want string
	}{
		{run, maps, "train", "takes images, as it trained on, so label maps need a run trained on them (recipe pix2pixhd with data.label_nc); or, if its maps are colour images, rename train_label/"},
		{run, maps, "test", "put the test split's input images in " + filepath.Join(maps, "test_A") + "/ and its targets in " + filepath.Join(maps, "test_B") + "/; the generator of checkpoint "},
		{mapsRun, root, "train", "no folder " + filepath.Join(root, "train_img") + " (the generator of checkpoint "}, // (train_label/ made above)
	} {
		out, err := gogan(t, "eval", "pix2pix", "--checkpoint", c.ck, "--data-root", c.root, "--phase", c.phase)
		if err == nil || !strings.Contains(out, c.want) || !strings.Contains(out, "the generator of checkpoint "+filepath.Join(c.ck, "checkpoints")) || strings.Contains(out, "set data.label_nc") {
			t.Errorf("eval pix2pix --checkpoint %s --data-root %s --phase %s: %v, want %q and the checkpoint named, not to set data.label_nc\n%s", filepath.Base(c.ck), c.root, c.phase, err, c.want, out)
		}
	}
	// the run takes instance maps: on A|B images, which have none, eval
	// told to turn them off with data.no_instance, which the checkpoint fixes
	ab := t.TempDir()
	os.Mkdir(filepath.Join(ab, "train"), 0o755)
	writePNG(t, filepath.Join(ab, "train", "0.png"), image.NewRGBA(image.Rect(0, 0, 64, 32)))
	out, err := gogan(t, "eval", "pix2pix", "--checkpoint", run, "--data-root", ab, "--phase", "train")
	if want := "the generator of checkpoint " + filepath.Join(run, "checkpoints"); err == nil || !strings.Contains(out, want) || !strings.Contains(out, "takes instance maps, as it trained with: put the train split's inputs in "+filepath.Join(ab, "train_A")+"/") ||
		strings.Contains(out, "data.no_instance=true") {
		t.Errorf("eval pix2pix of a run with instance maps on A|B images: %v, want %q and where the maps go, not to set data.no_instance\n%s", err, want, out)
	}
}

// TestTranslateTwoFolderPairsIsNotToldOfABPairs: a label_nc 0 run on
// pix2pixHD's train_A/ and train_B/ of images twice as wide as high (a
// street scene's shape) trained on whole files: translate of such images
// says nothing of A|B pairs, which it said of any 2:1 input of an aligned
// run.
func TestTranslateTwoFolderPairsIsNotToldOfABPairs(t *testing.T) {
	root := t.TempDir()
	writeHDData(t, root, 2, 64, 32)
	for from, to := range map[string]string{"train_label": "train_A", "train_img": "train_B"} {
		if err := os.Rename(filepath.Join(root, from), filepath.Join(root, to)); err != nil {
			t.Fatal(err)
		}
	}
	run := filepath.Join(t.TempDir(), "run")
	mustTrain(t, featureHD(root, run, "data.label_nc=0", "data.no_instance=true", "train.max_steps=1")...)
	out, err := gogan(t, "translate", "--checkpoint", run, "--input", filepath.Join(root, "train_A"), "--out", filepath.Join(t.TempDir(), "out"))
	if err != nil || strings.Contains(out, "A|B pairs") || !strings.Contains(out, "translated 2 images") {
		t.Errorf("translate of train_A/'s 64x32 images: %v, want them translated without a word on A|B pairs\n%s", err, out)
	}
}

// TestTranslateWarnsOfMapsOutOfStepAndJPEG: translate pairs --input's
// label maps with --instances' maps by sorted position, as training pairs
// its folders: an instance map missing and another in its place is warned
// of, naming the pair, and so is a label map saved as JPEG; both still
// translate.
func TestTranslateWarnsOfMapsOutOfStepAndJPEG(t *testing.T) {
	root := t.TempDir()
	writeHDData(t, root, 3, 32, 32)
	run := filepath.Join(t.TempDir(), "run")
	mustTrain(t, featureHD(root, run, "train.max_steps=1")...)
	labels, inst := filepath.Join(t.TempDir(), "labels"), filepath.Join(t.TempDir(), "inst")
	for _, d := range []string{labels, inst} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, name := range []string{"000", "001", "002"} {
		b, err := os.ReadFile(filepath.Join(root, "train_inst", name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		// 000's instance map missing, 009's in its place
		dst := name
		if name == "000" {
			dst = "009"
		}
		if err := os.WriteFile(filepath.Join(inst, dst+".png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			b, err := os.ReadFile(filepath.Join(root, "train_label", name+".png"))
			if err != nil || os.WriteFile(filepath.Join(labels, name+".png"), b, 0o644) != nil {
				t.Fatal(err)
			}
			continue
		}
		// one class all over: JPEG keeps it exactly
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 32, 32)), nil); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(labels, name+".jpg"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := gogan(t, "translate", "--checkpoint", run, "--input", labels, "--instances", inst, "--out", filepath.Join(t.TempDir(), "out"))
	if err != nil || !strings.Contains(out, "translated 3 images") ||
		!strings.Contains(out, labels+" and "+inst+" pair their files by sorted position") ||
		!strings.Contains(out, filepath.Join(labels, "001.png")+" is paired with "+filepath.Join(inst, "002.png")+", but "+filepath.Join(inst, "001.png")+" is its namesake") ||
		!strings.Contains(out, "1 of the 3 label maps in "+labels+" are JPEG files ("+filepath.Join(labels, "002.jpg")+")") {
		t.Errorf("translate of label maps out of step with their instance maps, one a JPEG: %v\n%s", err, out)
	}
	// one label map for the three instance maps: refused, counted in words
	one := filepath.Join(t.TempDir(), "one")
	if err := os.MkdirAll(one, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(one, "000.png"), readFile(t, filepath.Join(labels, "000.png")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = gogan(t, "translate", "--checkpoint", run, "--input", one, "--instances", inst, "--out", filepath.Join(t.TempDir(), "out"))
	if err == nil || !strings.Contains(out, "--input "+one+" has 1 file but --instances "+inst+" has 3: they pair by sorted position") {
		t.Errorf("translate of 1 label map with 3 instance maps: %v\n%s", err, out)
	}
}

// TestPairOfTwoSizesSaysWhatToDo: a photo, or an instance map, of another
// size than its label map (photos kept at twice the maps' size; the
// reference's resizing modes scale each file alone) is refused by train
// and translate naming both files and the size to resize it to (an
// instance map with nearest-neighbour sampling). The refusal named the
// sizes alone.
func TestPairOfTwoSizesSaysWhatToDo(t *testing.T) {
	root := t.TempDir()
	writeHDData(t, root, 2, 40, 36)
	good := filepath.Join(t.TempDir(), "good")
	mustTrain(t, featureHD(root, good, "train.max_steps=1")...)
	twice := func(p string) {
		im := decodePNG(t, readFile(t, p))
		b := im.Bounds()
		big := image.NewRGBA64(image.Rect(0, 0, 2*b.Dx(), 2*b.Dy()))
		if g, ok := im.(*image.Gray16); ok {
			big16 := image.NewGray16(big.Bounds())
			for y := range big.Bounds().Dy() {
				for x := range big.Bounds().Dx() {
					big16.SetGray16(x, y, g.Gray16At(x/2, y/2))
				}
			}
			writePNG(t, p, big16)
			return
		}
		for y := range big.Bounds().Dy() {
			for x := range big.Bounds().Dx() {
				big.Set(x, y, im.At(x/2, y/2))
			}
		}
		writePNG(t, p, big)
	}
	photo, inst := filepath.Join(root, "train_img", "001.png"), filepath.Join(root, "train_inst", "000.png")
	twice(photo)
	twice(inst)
	out, err := gogan(t, append([]string{"train"}, featureHD(root, filepath.Join(t.TempDir(), "run"), "train.max_steps=1")...)...)
	for _, want := range []string{
		photo + ": is 80x72 but its label map " + filepath.Join(root, "train_label", "001.png") + " is 40x36: the files of a pair are read at one size",
		"resize it to 40x36\n",
		inst + ": is 80x72 but its label map " + filepath.Join(root, "train_label", "000.png") + " is 40x36",
		"resize it to 40x36 with nearest-neighbour sampling",
	} {
		if err == nil || !strings.Contains(out, want) {
			t.Errorf("train on a pair of two sizes: %v, want %q\n%s", err, want, out)
		}
	}
	out, err = gogan(t, "translate", "--checkpoint", good, "--input", filepath.Join(root, "train_label"), "--instances", filepath.Join(root, "train_inst"),
		"--out", filepath.Join(t.TempDir(), "out"))
	if want := inst + " is 80x72 but its input " + filepath.Join(root, "train_label", "000.png") + " is 40x36: the files of a pair are read at one size"; err == nil ||
		!strings.Contains(out, want) || !strings.Contains(out, "resize it to 40x36 with nearest-neighbour sampling") {
		t.Errorf("translate of an instance map of another size: %v, want %q and the size to resize it to\n%s", err, want, out)
	}
}

// oneBitMasks writes n binary masks as 1-bit PNGs (PIL's mode "1") under
// root/train_label, 8-bit copies holding ids 0 and 1 under
// root8/train_label, photos under both train_img/, and prints the ids the
// reference reads from a 1-bit mask: AlignedDataset's
// transform_A(A) * 255.0 (ToTensor, NEAREST, no normalising).
const oneBitMasks = `
import os, sys
import numpy as np
from PIL import Image
import torchvision.transforms as transforms
root, root8, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for r in (root, root8):
    for d in ('train_label', 'train_img'):
        os.makedirs(os.path.join(r, d), exist_ok=True)
for i in range(n):
    m = np.zeros((36, 40), bool)
    m[8 + i:24, 5:30 - i] = True
    Image.fromarray(m).convert('1').save(os.path.join(root, 'train_label', '%03d.png' % i))
    Image.fromarray(m.astype(np.uint8)).save(os.path.join(root8, 'train_label', '%03d.png' % i))
    photo = np.stack([m * 200 + 20, 90 + 3 * i + np.zeros_like(m, int), 255 - m * 150], -1).astype(np.uint8)
    for r in (root, root8):
        Image.fromarray(photo).save(os.path.join(r, 'train_img', '%03d.png' % i))
A = Image.open(os.path.join(root, 'train_label', '000.png'))
ids = transforms.Compose([transforms.ToTensor()])(A) * 255.0
print(A.mode, sorted(set(ids.flatten().tolist())))
`

// TestOneBitLabelMapsSayWhatToDo: a binary mask saved as a 1-bit PNG reads
// as ids 0 and 255, as the reference reads it (PIL's mode "1" through
// ToTensor()*255: its scatter fails for label_nc 2). train and translate
// refuse it naming the file, and now say that it is a 1-bit PNG to save as
// 8-bit class ids; they said to raise data.label_nc to 256.
func TestOneBitLabelMapsSayWhatToDo(t *testing.T) {
	root, root8 := t.TempDir(), t.TempDir()
	ref, err := exec.Command(torchtest.Python(t), "-c", oneBitMasks, root, root8, "2").CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, ref)
	}
	if got := strings.TrimSpace(string(ref)); got != "1 [0.0, 255.0]" {
		t.Fatalf("the reference reads a 1-bit mask as %q, want mode 1 and ids 0, 255", got)
	}
	hd := func(dataRoot, run string) []string {
		return featureHD(dataRoot, run, "data.label_nc=2", "data.no_instance=true", "train.max_steps=1")
	}
	out, err := gogan(t, append([]string{"train"}, hd(root, filepath.Join(t.TempDir(), "run"))...)...)
	bad := filepath.Join(root, "train_label", "000.png")
	if err == nil || !strings.Contains(out, bad+": label map has class id 255") || !strings.Contains(out, "it is a 1-bit gray PNG") ||
		!strings.Contains(out, "save it as 8-bit gray whose values are the class ids") || strings.Contains(out, "raise data.label_nc") {
		t.Errorf("train on 1-bit masks: %v, want a refusal naming %s as a 1-bit PNG to save as 8-bit ids\n%s", err, bad, out)
	}
	run := filepath.Join(t.TempDir(), "run8")
	if out, err := gogan(t, append([]string{"train"}, hd(root8, run)...)...); err != nil {
		t.Fatalf("train on 8-bit masks: %v\n%s", err, out)
	}
	out, err = gogan(t, "translate", "--checkpoint", run, "--input", filepath.Join(root, "train_label"), "--out", filepath.Join(t.TempDir(), "out"))
	if err == nil || !strings.Contains(out, bad+": label map has class id 255") || !strings.Contains(out, "it is a 1-bit gray PNG") {
		t.Errorf("translate of 1-bit masks: %v, want a refusal naming %s as a 1-bit PNG\n%s", err, bad, out)
	}
}

// checkpointKeys lists the tensors of a checkpoint's weights file (its
// safetensors header).
func checkpointKeys(t *testing.T, ck string) []string {
	t.Helper()
	b := readFile(t, filepath.Join(ck, "weights.safetensors"))
	n := binary.LittleEndian.Uint64(b[:8])
	var header map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &header); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range header {
		keys = append(keys, k)
	}
	return keys
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// olderCheckpointOverAllSamples trains a pix2pixhd run of 9 examples in
// batches of 2 for epochs epochs (4 whole batches each) and makes its last
// checkpoint as a gogan that went through every sample wrote it: 5 batches
// an epoch, so numbered step 5*epochs (format 1: no state_sha256 to keep).
func olderCheckpointOverAllSamples(t *testing.T, epochs int) (run string) {
	t.Helper()
	root := t.TempDir()
	writeHDData(t, root, 9, 40, 36)
	run = filepath.Join(t.TempDir(), "run")
	args := []string{"train", "-c", "", "--quiet", "--set", "recipe=pix2pixhd", "--set", "out=" + run, "--set", "data.root=" + root,
		"--set", "data.label_nc=4", "--set", "data.batch_size=2", "--set", "data.load_size=32", "--set", "data.crop_size=32",
		"--set", "data.preprocess=resize_and_crop", "--set", "model.ngf=4", "--set", "model.ndf=8", "--set", "model.n_downsample_global=2",
		"--set", "model.n_blocks_global=1", "--set", "model.n_layers_D=2", "--set", "train.no_vgg_loss=true",
		"--set", fmt.Sprintf("train.epochs=%d", epochs), "--set", "train.epochs_decay=0", "--set", "train.log_every=1", "--set", "train.sample_every=0",
		"--set", "threads=2", "--set", "device=cpu"}
	if out, err := gogan(t, args...); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	ckpts := filepath.Join(run, "checkpoints")
	old, now := filepath.Join(ckpts, fmt.Sprintf("step-%08d", 5*epochs)), filepath.Join(ckpts, fmt.Sprintf("step-%08d", 4*epochs))
	b, err := os.ReadFile(filepath.Join(now, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	st["format"], st["step"] = 1, 5*epochs
	delete(st, "state_sha256")
	st["loader"].(map[string]any)["samples"] = 9
	b, _ = json.Marshal(st)
	if err := os.WriteFile(filepath.Join(now, "state.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(now, old); err != nil {
		t.Fatal(err)
	}
	return run
}

// TestOlderCheckpointOverAllSamplesResumes: a pix2pixhd checkpoint of a
// gogan that went through every sample (9 examples in batches of 2: 5
// batches an epoch) resumes on whole batches (4 an epoch): at the same
// epoch's end, its step counted at 4 batches an epoch, and the next epoch
// trains whole (not cut short by the old count).
func TestOlderCheckpointOverAllSamplesResumes(t *testing.T) {
	run := olderCheckpointOverAllSamples(t, 1)
	out, err := gogan(t, "resume", run, "--set", "train.epochs=2")
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "whole batches of 2 only") {
		t.Errorf("no warning that the samples past the whole batches are left out:\n%s", out)
	}
	rows := lossRows(t, run)
	last := rows[len(rows)-1]
	if last[0] != "8" || last[1] != "1" || len(rows) != 1+8 {
		t.Errorf("metrics.csv ends at step %s epoch %s after %d rows, want step 8 of epoch 1 (the second) after 8", last[0], last[1], len(rows)-1)
	}
}

// TestOlderCheckpointOverAllSamplesIsNotResumedTwice: the checkpoint of a
// gogan that went through every sample is numbered by its count of steps
// (step 10 after two epochs of 5 batches), above the step this gogan goes
// on from (8, at 4 batches an epoch). Its folder outranked the checkpoints
// the resumed run wrote (step 9 here): the next resume went back to it,
// and training since was lost. The first checkpoint after the resume sets
// it aside (nothing deleted), and the next resume goes on from step 9.
func TestOlderCheckpointOverAllSamplesIsNotResumedTwice(t *testing.T) {
	run := olderCheckpointOverAllSamples(t, 2)
	ckpts := filepath.Join(run, "checkpoints")
	old := filepath.Join(ckpts, "step-00000010")
	out, err := gogan(t, "resume", run, "--set", "train.epochs=3", "--set", "train.max_steps=9")
	if err != nil {
		t.Fatalf("resume to step 9: %v\n%s", err, out)
	}
	if !strings.Contains(out, "step-00000010 step=8") {
		t.Fatalf("the first resume did not go on from step-00000010 at step 8:\n%s", out)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s is still there after the resumed run wrote step 9 (%v): it outranks step 9", old, err)
	}
	if _, err := os.Stat(filepath.Join(ckpts, "invalid-step-00000010", "state.json")); err != nil {
		t.Errorf("the old checkpoint was not kept aside: %v", err)
	}
	if !strings.Contains(out, "is kept aside so that it does not outrank") {
		t.Errorf("no warning that the old checkpoint is kept aside:\n%s", out)
	}
	out, err = gogan(t, "resume", run, "--set", "train.epochs=3", "--set", "train.max_steps=0")
	if err != nil {
		t.Fatalf("resume to the end: %v\n%s", err, out)
	}
	if !strings.Contains(out, "step-00000009 step=9") {
		t.Errorf("the second resume did not go on from step 9, which the first wrote:\n%s", out)
	}
	rows := lossRows(t, run)
	if last := rows[len(rows)-1]; last[0] != "12" || last[1] != "2" || len(rows) != 1+12 {
		t.Errorf("metrics.csv ends at step %s epoch %s after %d rows, want step 12 of epoch 2 (the third) after 12", last[0], last[1], len(rows)-1)
	}
}

// TestLongWorkChecksItsOutFirst: gogan features (every photo encoded, then
// k-means) and eval classifier (a training) check that their --out can be
// written before the work, not at its end, where a read-only folder (a
// read-only mount here, which holds for root too) lost it all; translate
// checks its --out folder before it loads the generator (it failed at its
// first image's write). Mounting needs root, which make test and CI have.
func TestLongWorkChecksItsOutFirst(t *testing.T) {
	ro := t.TempDir()
	mountTmpfs(t, ro, "ro,size=1m")

	root := t.TempDir()
	writeHDData(t, root, 4, 40, 36)
	run := filepath.Join(t.TempDir(), "run")
	mustTrain(t, featureHD(root, run, "model.instance_feat=true", "train.max_steps=2")...)
	for _, c := range []struct {
		name string
		args []string
		work string // what the command prints as it works
	}{
		{"features", []string{"features", "--checkpoint", run, "--threads", "2"}, "encoded"},
		{"classifier", []string{"eval", "classifier", "--quiet", "--max-steps", "3", "--max-samples", "256", "--test-limit", "64", "--threads", "2"}, "classifier progress"},
	} {
		for _, out := range []string{filepath.Join(ro, "f.safetensors"), filepath.Join(ro, "new", "f.safetensors")} {
			o, err := gogan(t, append(c.args, "--out", out)...)
			if err == nil || !strings.Contains(o, "--out "+out+" cannot be written: ") || !strings.Contains(o, "read-only file system") ||
				strings.Contains(o, c.work) {
				t.Errorf("%s --out %s on a read-only mount: %v, want a refusal before any work\n%s", c.name, out, err, o)
			}
		}
	}
	// translate's --out, a folder: the read-only one itself or one to make in it
	for _, out := range []string{ro, filepath.Join(ro, "new")} {
		o, err := gogan(t, "translate", "--checkpoint", run, "--input", filepath.Join(root, "train_label"), "--instances", filepath.Join(root, "train_inst"), "--photos", filepath.Join(root, "train_img"), "--out", out)
		if err == nil || !strings.Contains(o, "--out "+out+" cannot be written: ") || !strings.Contains(o, "read-only file system") {
			t.Errorf("translate --out %s on a read-only mount: %v, want a refusal before any work\n%s", out, err, o)
		}
	}
	// where it can be written (folders made), the same commands write it
	fs := filepath.Join(t.TempDir(), "new", "features.safetensors")
	if o, err := gogan(t, "features", "--checkpoint", run, "--threads", "2", "--out", fs); err != nil || !strings.Contains(o, "features:   "+fs) {
		t.Fatalf("features --out %s: %v\n%s", fs, err, o)
	}
}

// TestPix2PixHDFilesBeforeData: a missing model.vgg_weights or
// model.load_pretrain is named before the data are opened (a data.root
// holding no pairs is never reached), and the run leaves no folder.
func TestPix2PixHDFilesBeforeData(t *testing.T) {
	empty, base := t.TempDir(), t.TempDir()
	t.Setenv("TORCH_HOME", filepath.Join(base, "torch"))
	for _, c := range []struct {
		vgg   string
		extra []string
		want  string
	}{
		{filepath.Join(base, "missing.pth"), nil, "model.vgg_weights: stat " + filepath.Join(base, "missing.pth") + ": no such file or directory"},
		{"", nil, "which torch.hub's cache " + filepath.Join(base, "torch", "hub", "checkpoints") + " does not hold"},
		{"", []string{"train.no_vgg_loss=true", "model.load_pretrain=" + filepath.Join(base, "global-run")}, "model.load_pretrain: "},
	} {
		run := filepath.Join(base, "run")
		out, err := gogan(t, append([]string{"train"}, smallHD(empty, c.vgg, run, append(c.extra, "train.max_steps=1")...)...)...)
		if err == nil || !strings.Contains(out, c.want) || strings.Contains(out, empty) {
			t.Errorf("model.vgg_weights=%q %v: %v\n%s", c.vgg, c.extra, err, out)
		}
		if _, err := os.Stat(run); !os.IsNotExist(err) {
			t.Errorf("model.vgg_weights=%q %v: left %s (%v)", c.vgg, c.extra, run, err)
		}
	}
}

// TestPix2PixHDPretrainValidatedOnce: model.load_pretrain's checkpoint is
// found and validated once as a run starts (its check before the data is
// the one loaded): a run folder whose newest checkpoint is damaged is
// warned of once, and the one before it loaded.
func TestPix2PixHDPretrainValidatedOnce(t *testing.T) {
	root, base := t.TempDir(), t.TempDir()
	writeHDData(t, root, 2, 32, 32)
	global := filepath.Join(base, "global")
	if out, err := gogan(t, append([]string{"train"}, smallHD(root, "", global, "train.no_vgg_loss=true", "model.netG=global", "model.ngf=8", "train.niter_fix_global=0",
		"train.max_steps=2", "train.checkpoint_every=1")...)...); err != nil {
		t.Fatalf("global stage: %v\n%s", err, out)
	}
	damaged := runfolder.CheckpointDir(global, 2)
	f, err := os.OpenFile(filepath.Join(damaged, runfolder.WeightsFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := gogan(t, append([]string{"train"}, smallHD(root, "", filepath.Join(base, "local"), "train.no_vgg_loss=true",
		"model.load_pretrain="+global, "train.max_steps=1")...)...)
	if err != nil {
		t.Fatalf("local stage: %v\n%s", err, out)
	}
	if n := strings.Count(out, "skipping invalid checkpoint"); n != 1 || !strings.Contains(out, damaged) {
		t.Errorf("the damaged checkpoint %s was warned of %d times, want once:\n%s", damaged, n, out)
	}
	if !strings.Contains(out, "pretrained weights loaded") || !strings.Contains(out, runfolder.CheckpointDir(global, 1)) {
		t.Errorf("the checkpoint before the damaged one was not loaded:\n%s", out)
	}
}

// TestOlderPix2PixHDRunHasNoPool: a gogan before pix2pixHD's --pool_size
// kept train.pool_size as CycleGAN's key and wrote it, at its default 50,
// into every run's config.yaml and checkpoints, pix2pixhd's included, whose
// runs trained without a pool. Such a run resumed here goes on without one,
// as it trained (not with a pool of 50, which changes D's inputs once it is
// full), its config.yaml then saying 0; export's train.py command gives no
// --pool_size 50.
func TestOlderPix2PixHDRunHasNoPool(t *testing.T) {
	root := t.TempDir()
	writeHDData(t, root, 4, 40, 36)
	run := filepath.Join(t.TempDir(), "run")
	mustTrain(t, smallHD(root, "", run, "train.max_steps=4", "train.checkpoint_every=2", "train.no_vgg_loss=true")...)
	older := func(s string) string { return strings.Replace(s, "\n  pool_size: 0\n", "\n  pool_size: 50\n", 1) }
	cfgPath := filepath.Join(run, "config.yaml")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if older(string(b)) == string(b) {
		t.Fatalf("config.yaml has no train.pool_size: 0:\n%s", b)
	}
	if err := os.WriteFile(cfgPath, []byte(older(string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
	cks, _ := filepath.Glob(filepath.Join(run, "checkpoints", "step-*"))
	for _, ck := range cks {
		editState(t, ck, func(m map[string]any) { m["config"] = older(m["config"].(string)) })
	}
	// its config.yaml given to config (or train -c) is taken so too
	out, err := gogan(t, "config", "-c", cfgPath)
	if err != nil || !strings.Contains(out, "\n  pool_size: 0\n") || !strings.Contains(out, "trained without an image pool") {
		t.Errorf("config -c %s: %v, want train.pool_size 0, saying why\n%s", cfgPath, err, out)
	}
	out, err = gogan(t, "export", "--checkpoint", run, "--out", filepath.Join(t.TempDir(), "exported"))
	if err != nil || strings.Contains(out, "--pool_size") {
		t.Errorf("export: %v, want no --pool_size in its commands:\n%s", err, out)
	}
	out, err = gogan(t, "resume", run, "--set", "train.max_steps=6")
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if strings.Contains(out, "holds no image pool") || strings.Contains(out, "differs from the config") {
		t.Errorf("resume starts an image pool, or speaks of a changed config:\n%s", out)
	}
	names, _, err := torch.SafetensorsHeader(filepath.Join(run, "checkpoints", "step-00000006", "weights.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(names, func(n string) bool { return strings.HasPrefix(n, "pool.") }); i >= 0 {
		t.Errorf("the resumed run's checkpoint holds an image pool (%s)", names[i])
	}
	if b, _ := os.ReadFile(cfgPath); !strings.Contains(string(b), "\n  pool_size: 0\n") {
		t.Errorf("config.yaml after the resume does not say train.pool_size 0:\n%s", b)
	}
}

// TestOlderRunsPoolSizeSaysNothing: the same older gogan wrote
// train.pool_size 50 into the config.yaml and checkpoints of runs of
// recipes that keep no pool (dcgan, pix2pix), which every resume then
// warned about ("does not read these keys ...: train.pool_size=50"),
// though the value cannot matter and the user never set it. Resumed, such
// a run says nothing of it (and of no changed config), and its
// config.yaml says 0 from then on; a 50 given to the resume is named.
func TestOlderRunsPoolSizeSaysNothing(t *testing.T) {
	older := func(s string) string { return strings.Replace(s, "\n  pool_size: 0\n", "\n  pool_size: 50\n", 1) }
	for name, args := range map[string]func(string, ...string) []string{"dcgan": smallDCGAN, "pix2pix": smallPix2Pix} {
		run := filepath.Join(t.TempDir(), "run")
		if out, err := gogan(t, append([]string{"train"}, args(run, "train.max_steps=2", "data.max_samples=16", "data.batch_size=4")...)...); err != nil {
			t.Fatalf("%s: train: %v\n%s", name, err, out)
		}
		cfgPath := filepath.Join(run, "config.yaml")
		b, err := os.ReadFile(cfgPath)
		if err != nil || older(string(b)) == string(b) {
			t.Fatalf("%s: config.yaml has no train.pool_size: 0 (%v):\n%s", name, err, b)
		}
		if err := os.WriteFile(cfgPath, []byte(older(string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
		cks, _ := filepath.Glob(filepath.Join(run, "checkpoints", "step-*"))
		for _, ck := range cks {
			editState(t, ck, func(m map[string]any) { m["config"] = older(m["config"].(string)) })
		}
		out, err := gogan(t, "resume", run, "--set", "train.max_steps=3")
		if err != nil {
			t.Fatalf("%s: resume: %v\n%s", name, err, out)
		}
		if strings.Contains(out, "pool_size") || strings.Contains(out, "differs from the config") {
			t.Errorf("%s: resume of an older gogan's run speaks of train.pool_size:\n%s", name, out)
		}
		if b, _ := os.ReadFile(cfgPath); !strings.Contains(string(b), "\n  pool_size: 0\n") {
			t.Errorf("%s: config.yaml after the resume does not say train.pool_size 0:\n%s", name, b)
		}
		out, err = gogan(t, "resume", run, "--set", "train.max_steps=4", "--set", "train.pool_size=50")
		if err != nil || !strings.Contains(out, "train.pool_size=50") {
			t.Errorf("%s: resume --set train.pool_size=50: %v, want it named as changing nothing\n%s", name, err, out)
		}
	}
}

// TestOlderRunsConfigPoolSizeAsResumeTakesIt: gogan config and gogan train
// -c of such an older DCGAN run's config.yaml take its train.pool_size 50
// as resume does, as 0 without a word (they warned that it changes
// nothing, which resume no longer says); a config file of the user's own,
// a copy of it elsewhere, with that 50 is still told it changes nothing.
func TestOlderRunsConfigPoolSizeAsResumeTakesIt(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	mustTrain(t, smallDCGAN(run, "train.max_steps=1", "data.max_samples=16", "data.batch_size=4")...)
	cfgPath := filepath.Join(run, "config.yaml")
	b, err := os.ReadFile(cfgPath)
	older := strings.Replace(string(b), "\n  pool_size: 0\n", "\n  pool_size: 50\n", 1)
	if err != nil || older == string(b) {
		t.Fatalf("config.yaml has no train.pool_size: 0 (%v):\n%s", err, b)
	}
	mine := filepath.Join(base, "mine.yaml")
	for _, p := range []string{cfgPath, mine} {
		if err := os.WriteFile(p, []byte(older), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := gogan(t, "config", "-c", cfgPath)
	if err != nil || strings.Contains(out, "pool_size=50") || !strings.Contains(out, "\n  pool_size: 0\n") {
		t.Errorf("config -c %s: %v, want train.pool_size 0 without a word\n%s", cfgPath, err, out)
	}
	next := filepath.Join(base, "next")
	out, err = gogan(t, "train", "-c", cfgPath, "--quiet", "--set", "out="+next, "--set", "train.max_steps=1")
	if err != nil || strings.Contains(out, "pool_size") {
		t.Errorf("train -c %s: %v, want nothing said of train.pool_size\n%s", cfgPath, err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(next, "config.yaml")); !strings.Contains(string(b), "\n  pool_size: 0\n") {
		t.Errorf("the new run's config.yaml does not say train.pool_size 0:\n%s", b)
	}
	if out, err := gogan(t, "config", "-c", mine); err != nil || !strings.Contains(out, "does not read train.pool_size=50") {
		t.Errorf("config -c %s (the user's own file): %v, want train.pool_size=50 named as changing nothing\n%s", mine, err, out)
	}
}
