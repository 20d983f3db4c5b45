package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gogan/cgo/torchtest"
)

// writeHDTestMaps lays out test_label/ (8-bit class ids 0..3 in diagonal
// stripes, so that a bicubic resize would give other classes than a nearest
// one all along them) and test_inst/ (16-bit ids class*1000 + 0 or 256,
// class 0 one region of id 0) under root, at sizes other than the net's.
func writeHDTestMaps(t *testing.T, root string, sizes [][2]int) {
	t.Helper()
	for _, d := range []string{"test_label", "test_inst"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range sizes {
		w, h := s[0], s[1]
		label, inst := image.NewGray(image.Rect(0, 0, w, h)), image.NewGray16(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				class := ((x + 2*y + 3*i) / 7) % 4
				id := uint16(class)*1000 + uint16((x/5)%2*256)
				if class == 0 {
					id = 0
				}
				label.SetGray(x, y, color.Gray{Y: uint8(class)})
				inst.SetGray16(x, y, color.Gray16{Y: id})
			}
		}
		name := fmt.Sprintf("%03d.png", i)
		writePNG(t, filepath.Join(root, "test_label", name), label)
		writePNG(t, filepath.Join(root, "test_inst", name), inst)
	}
}

// TestTranslateHDWritesWhatTestPyWrites: gogan translate on a pix2pixHD
// checkpoint (label maps, with and without instance maps, and with
// instance-wise features from clusters) writes, pixel for pixel, what
// NVIDIA's test.py computes from the same files with the exported
// latest_net_G.pth (scripts/testpy_hd_reference.py: label and instance maps
// resized by PIL's nearest to the net's 32x32, the one-hot scatter,
// get_edges, sample_features on gogan features' clusters, one a class,
// define_G's net, util.tensor2im). The generators use
// BatchNorm, trained one step, so that the mode matters: test.py never
// calls model.eval(), so its netG runs in train mode (the image's own
// statistics), as gogan translate does by default; gogan's --eval (running
// statistics) is checked against the same transcription with netG.eval()
// called explicitly. (One step from their init, the running statistics
// leave the eval-mode pictures nearly flat, a few levels from each other
// whatever the input; the resizing is checked by the train-mode pictures,
// test.py's own, where a bicubic label map or a bilinear instance map moves
// most bytes by tens of levels.) Up to 1 level of difference is allowed,
// for float order; none is seen with Debian's torch 1.13.1.
func TestTranslateHDWritesWhatTestPyWrites(t *testing.T) {
	py := torchtest.Python(t)
	train := t.TempDir()
	writeHDData(t, train, 1, 32, 32)
	src := t.TempDir()
	// down in both directions; up in one and down in the other
	writeHDTestMaps(t, src, [][2]int{{40, 36}, {27, 45}})
	for _, c := range []struct {
		name       string
		extra      []string
		noInstance bool
		features   bool // instance-wise features sampled from clusters
	}{
		{"instance maps, local enhancer", nil, false, false},
		{"no instance maps, global generator", []string{"data.no_instance=true", "model.netG=global"}, true, false},
		{"instance features from clusters, global generator", []string{"model.instance_feat=true", "model.netG=global",
			"model.nef=4", "model.n_downsample_E=2", "model.feat_num=2"}, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			run := filepath.Join(base, "run")
			args := smallHD(train, "", run, append([]string{"train.max_steps=1", "train.no_vgg_loss=true", "train.niter_fix_global=0",
				"model.norm=batch", "data.shuffle=false", "data.workers=1"}, c.extra...)...)
			mustTrain(t, args...)
			o, err := gogan(t, "export", "--checkpoint", run, "--out", filepath.Join(base, "exported", "hd"))
			if err != nil {
				t.Fatalf("export: %v\n%s", err, o)
			}
			var testPy string
			for _, line := range strings.Split(o, "\n") {
				if cmd, ok := strings.CutPrefix(strings.TrimSpace(line), "python test.py "); ok {
					testPy = "python test.py " + cmd
				}
			}
			if testPy == "" {
				t.Fatalf("export printed no test.py command:\n%s", o)
			}
			noInstance := c.noInstance
			var features []string
			if c.features {
				// one cluster a class: sample_features' draw (NumPy's)
				// and gogan's (--seed) pick the same centre
				if o, err := gogan(t, "features", "--checkpoint", run, "--n-clusters", "1", "--threads", "2"); err != nil {
					t.Fatalf("features: %v\n%s", err, o)
				}
				features = []string{"--features", filepath.Join(run, "features_clustered_001.safetensors")}
			}
			got := map[bool]map[string]*image.NRGBA{}
			for _, eval := range []bool{false, true} {
				ours, ref := filepath.Join(base, fmt.Sprintf("ours-eval-%v", eval)), filepath.Join(base, fmt.Sprintf("ref-eval-%v", eval))
				targs := []string{"translate", "--checkpoint", run, "--input", filepath.Join(src, "test_label"), "--out", ours}
				pargs := []string{"scripts/testpy_hd_reference.py", testPy, src, ref}
				if !noInstance {
					targs = append(targs, "--instances", filepath.Join(src, "test_inst"))
				}
				if eval {
					targs = append(targs, "--eval")
					pargs = append(pargs, "--eval")
				}
				targs, pargs = append(targs, features...), append(pargs, features...)
				if o, err := gogan(t, targs...); err != nil {
					t.Fatalf("translate (eval %v): %v\n%s", eval, err, o)
				}
				cmd := exec.Command(py, pargs...)
				cmd.Env = append(os.Environ(), "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1", "PYTHONWARNINGS=ignore")
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("test.py's pipeline (eval %v): %v\n%s", eval, err, b)
				}
				got[eval] = map[string]*image.NRGBA{}
				for i := range 2 {
					name := fmt.Sprintf("%03d.png", i)
					a, b := readPNG(t, filepath.Join(ours, name)), readPNG(t, filepath.Join(ref, name))
					got[eval][name] = a
					if a.Rect != b.Rect {
						t.Fatalf("%s (eval %v): gogan %v, test.py %v", name, eval, a.Rect, b.Rect)
					}
					if a.Rect.Dx() != 32 || a.Rect.Dy() != 32 {
						t.Errorf("%s: %v, want the net's 32x32", name, a.Rect)
					}
					differ, worst := 0, 0
					for p := range a.Pix {
						if d := max(int(a.Pix[p])-int(b.Pix[p]), int(b.Pix[p])-int(a.Pix[p])); d > 0 {
							differ++
							worst = max(worst, d)
						}
					}
					if worst > 1 {
						t.Errorf("%s (eval %v): %d of %d bytes differ from test.py's, by up to %d levels", name, eval, differ, len(a.Pix), worst)
					} else if differ > 0 {
						t.Logf("%s (eval %v): %d of %d bytes differ from test.py's by 1 level", name, eval, differ, len(a.Pix))
					}
				}
			}
			// the modes must give different pictures, or the check above
			// would not tell them apart
			for name, a := range got[false] {
				if string(a.Pix) == string(got[true][name].Pix) {
					t.Errorf("%s: train and eval mode give the same picture: the test cannot tell the modes apart", name)
				}
			}
		})
	}
}

// TestTranslateHDOneFile: --input one label map, with --instances its
// instance map file (and --photos its photo, for features), translates it
// as a folder holding it alone does, byte for byte, into --out as a
// folder's images are written; a folder given for the file's instance map
// is refused, saying to give the file.
func TestTranslateHDOneFile(t *testing.T) {
	train := t.TempDir()
	writeHDData(t, train, 2, 32, 32)
	base := t.TempDir()
	run := filepath.Join(base, "run")
	args := smallHD(train, "", run, "train.max_steps=1", "train.no_vgg_loss=true", "model.netG=global", "train.niter_fix_global=0",
		"model.instance_feat=true", "model.nef=4", "model.n_downsample_E=2", "data.workers=1")
	if o, err := gogan(t, append([]string{"train"}, args...)...); err != nil {
		t.Fatalf("train: %v\n%s", err, o)
	}
	label, inst, photos := filepath.Join(train, "train_label"), filepath.Join(train, "train_inst"), filepath.Join(train, "train_img")
	folder := filepath.Join(base, "folder")
	if o, err := gogan(t, "translate", "--checkpoint", run, "--input", label, "--instances", inst, "--photos", photos, "--out", folder); err != nil {
		t.Fatalf("translate the folders: %v\n%s", err, o)
	}
	for _, name := range []string{"000.png", "001.png"} {
		one := filepath.Join(base, "one-"+strings.TrimSuffix(name, ".png"))
		o, err := gogan(t, "translate", "--checkpoint", run, "--input", filepath.Join(label, name), "--instances", filepath.Join(inst, name),
			"--photos", filepath.Join(photos, name), "--out", one)
		if err != nil || !strings.Contains(o, "translated 1 image into "+one) {
			t.Fatalf("translate %s alone: %v\n%s", name, err, o)
		}
		a, b := readPNG(t, filepath.Join(one, name)), readPNG(t, filepath.Join(folder, name))
		if a.Rect != b.Rect || string(a.Pix) != string(b.Pix) {
			t.Errorf("%s alone: not the translation of the folders' %s", name, name)
		}
	}
	o, err := gogan(t, "translate", "--checkpoint", run, "--input", filepath.Join(label, "000.png"), "--instances", inst,
		"--photos", filepath.Join(photos, "000.png"), "--out", filepath.Join(base, "refused"))
	if want := "--instances " + inst + " is a folder, but --input " + filepath.Join(label, "000.png") + " is one file: give --instances the file that goes with it"; err == nil || !strings.Contains(o, want) {
		t.Errorf("a folder of instance maps with one label map: want %q, got %v\n%s", want, err, o)
	}
	// and the reverse: it said "is a file: give the folder of images it is in"
	for _, c := range [][2]string{{"--instances", filepath.Join(inst, "000.png")}, {"--photos", filepath.Join(photos, "000.png")}} {
		args := map[string]string{"--instances": inst, "--photos": photos}
		args[c[0]] = c[1]
		o, err := gogan(t, "translate", "--checkpoint", run, "--input", label, "--instances", args["--instances"],
			"--photos", args["--photos"], "--out", filepath.Join(base, "refused"))
		if want := c[0] + " " + c[1] + " is a file, but --input " + label + " is a folder: give " + c[0] + " the folder that goes with it"; err == nil || !strings.Contains(o, want) {
			t.Errorf("one file of %s with a folder of label maps: want %q, got %v\n%s", c[0], want, err, o)
		}
	}
	// --out the folder of the file's instance map or photo, of the same
	// name: the output would replace it
	for flag, file := range map[string]string{"--instances": filepath.Join(inst, "001.png"), "--photos": filepath.Join(photos, "001.png")} {
		before := readFile(t, file)
		o, err := gogan(t, "translate", "--checkpoint", run, "--input", filepath.Join(label, "001.png"), "--instances", filepath.Join(inst, "001.png"),
			"--photos", filepath.Join(photos, "001.png"), "--out", filepath.Dir(file))
		if want := "would write the translation of " + filepath.Join(label, "001.png") + " over " + flag + " " + file; err == nil || !strings.Contains(o, want) {
			t.Errorf("--out %s: want %q, got %v\n%s", filepath.Dir(file), want, err, o)
		}
		if !bytes.Equal(readFile(t, file), before) {
			t.Errorf("--out %s replaced %s %s", filepath.Dir(file), flag, file)
		}
	}
}
