package eval

import (
	"context"
	"encoding/json"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/cgo/torchtest"
	"gogan/data"
	"gogan/runfolder"
)

// classesReference is scripts/classes_reference.py's answer: the rows of
// gogan eval classes computed in PyTorch from the definitions.
type classesReference struct {
	Rows []struct {
		N        int      `json:"n"`
		InTarget float64  `json:"in_target"`
		FID      *float64 `json:"fid"`
	} `json:"rows"`
}

// TestClassesAgainstPyTorch: every row of gogan eval classes (how many
// images, how often the classifier puts them in the target class, their FID
// to the target class's test images) in both directions equals a PyTorch
// transcription's, which feeds G the CycleGAN reference's pipeline, saves its
// outputs as save_image does, runs the classifier as its documented module
// and computes FID as pytorch-fid does (scipy's sqrtm). G_B's run has
// BatchNorm, whose running statistics (eval mode, as the reference's
// g.eval()) give other images than a batch's; and the FIDs agree to 1e-5,
// closer than images left unquantised would.
func TestClassesAgainstPyTorch(t *testing.T) {
	ctx := context.Background()
	py := torchtest.Python(t)
	if msg, err := exec.Command(py, "-c", "import scipy, torchvision").CombinedOutput(); err != nil {
		t.Fatalf("%s has no scipy or torchvision (Debian python3-scipy, python3-torchvision: run make setup): %s", py, msg)
	}
	dir := t.TempDir()
	clf := filepath.Join(dir, "clf.safetensors")
	if _, err := TrainClassifier(ctx, ClassifierOptions{MaxSamples: 2000, Epochs: 1, BatchSize: 64, TestLimit: 500, Device: "cpu", Threads: 1, Quiet: true}, clf); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		direction, role, norm string
		source, target        []int
	}{{"AtoB", "G_A", "instance", []int{7}, []int{9}}, {"BtoA", "G_B", "batch", []int{9}, []int{7}}} {
		cg := evalCheckpoint(t, append(slices.Clone(cycleganSets), "model.norm="+c.norm)...)
		res, err := Classes(ctx, ClassesOptions{Classifier: clf, Checkpoint: cg, Direction: c.direction, Device: "cpu", Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		got := res[0]
		t.Logf("%s", got)
		cases := torchtest.WriteCases(t, t.TempDir(), map[string]any{
			"classifier": clf, "weights": filepath.Join(cg, runfolder.WeightsFile), "role": c.role,
			"netG": "resnet_6blocks", "ngf": 8, "norm": c.norm, "root": data.DefaultFashionRoot,
			"source": c.source, "target": c.target, "load_size": 32, "crop_size": 32,
		})
		cmd := exec.Command(py, "../scripts/classes_reference.py", cases)
		cmd.Env = append(cmd.Environ(), "OPENBLAS_NUM_THREADS=1")
		b, err := cmd.Output()
		if err != nil {
			msg := ""
			if ee, ok := err.(*exec.ExitError); ok {
				msg = string(ee.Stderr)
			}
			t.Fatalf("classes_reference.py: %v\n%s", err, msg)
		}
		var ref classesReference
		if err := json.Unmarshal(b, &ref); err != nil {
			t.Fatalf("classes_reference.py: %v: %s", err, b)
		}
		if len(ref.Rows) != len(got.Rows) {
			t.Fatalf("%s: %d rows, the reference %d", c.direction, len(got.Rows), len(ref.Rows))
		}
		for i, r := range got.Rows {
			w := ref.Rows[i]
			// The two classifiers' features agree to float32 rounding: an
			// image whose two largest logits are that close could land on
			// either side, so one image's verdict may differ.
			if r.N != w.N || math.Abs(r.InTarget-w.InTarget) > 1.5/float64(w.N) {
				t.Errorf("%s %s: %d images, %.4f in the target class; the reference %d, %.4f", c.direction, r.Images, r.N, r.InTarget, w.N, w.InTarget)
			}
			switch {
			case w.FID == nil && !math.IsNaN(r.FID):
				t.Errorf("%s %s: FID %g, the reference (the target test images themselves) none", c.direction, r.Images, r.FID)
			// seen within 2e-7; 8-bit quantisation left out moves it by 5e-5
			case w.FID != nil && !(math.Abs(r.FID-*w.FID) <= 1e-5*math.Max(1, *w.FID)):
				t.Errorf("%s %s: FID %.6f, the reference %.6f", c.direction, r.Images, r.FID, *w.FID)
			}
		}
		t.Logf("%s: reference %s", c.direction, b)
	}
}

// TestClassesErrors: what gogan eval classes and eval fid --classifier say
// to a classifier file that is not one, a checkpoint they cannot score, and
// a CycleGAN between classes given to eval fid.
func TestClassesErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clf := untrainedClassifier(t, dir)
	// the classifier's file with one tensor of another shape
	ts, meta, err := torch.LoadSafetensors(clf)
	if err != nil {
		t.Fatal(err)
	}
	for i, nt := range ts {
		if nt.Name == "features.0.weight" {
			ts[i].Tensor = torch.Zeros(torch.Float32, torch.CPUDevice, 16, 1, 4, 4)
		}
	}
	other := filepath.Join(dir, "other.safetensors")
	if err := torch.SaveSafetensors(other, ts, meta); err != nil {
		t.Fatal(err)
	}
	cg := evalCheckpoint(t, cycleganSets...)
	cifar := evalCheckpoint(t, append(slices.Clone(cycleganSets), "data.source=cifar10", "data.classes_A=cat", "data.classes_B=dog")...)
	classes := func(o ClassesOptions) func() error {
		return func() error {
			o.Device, o.Threads = "cpu", 1
			_, err := Classes(ctx, o)
			return err
		}
	}
	for _, e := range []struct {
		name      string
		err       func() error
		want, not []string
	}{
		{"classifier of another shape", classes(ClassesOptions{Classifier: other, Checkpoint: cg}),
			[]string{other, "features.0.weight is [16 1 4 4], the classifier's is [32 1 4 4]", "gogan eval classifier --force --out " + other}, nil},
		{"classifier is a folder", classes(ClassesOptions{Classifier: dir, Checkpoint: cg}),
			[]string{dir + " is a folder", "the file that gogan eval classifier --out wrote"}, []string{"--out " + dir}},
		{"unknown direction", classes(ClassesOptions{Classifier: clf, Checkpoint: cg, Direction: "atob"}),
			[]string{"--direction atob: want AtoB, BtoA, both"}, []string{"needs a CycleGAN"}},
		{"classes of CIFAR-10", classes(ClassesOptions{Classifier: clf, Checkpoint: cifar}),
			[]string{cifar, "classes of cifar10", "fashion-mnist or mnist"}, nil},
		{"eval fid of a CycleGAN between classes", func() error {
			_, err := FID(ctx, FIDOptions{Classifier: clf, Checkpoint: cg, Device: "cpu", Threads: 1})
			return err
		}, []string{cg, "between classes of fashion-mnist", "gogan eval classes --classifier " + clf + " --checkpoint " + cg}, []string{"gogan eval pix2pix"}},
	} {
		err := e.err()
		if err == nil {
			t.Errorf("%s: no error", e.name)
			continue
		}
		for _, w := range e.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", e.name, err, w)
			}
		}
		for _, w := range e.not {
			if strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q says %q", e.name, err, w)
			}
		}
	}
}

// untrainedClassifier saves a classifier of initial weights into dir (for
// tests of what reads one, not of its figures) and returns its file.
func untrainedClassifier(t *testing.T, dir string) string {
	t.Helper()
	torch.LockThread()
	c, err := NewClassifier(torch.CPUDevice)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Free()
	clf := filepath.Join(dir, "clf.safetensors")
	if err := c.Save(clf); err != nil {
		t.Fatal(err)
	}
	return clf
}
