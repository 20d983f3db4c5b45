package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	torch "gogan/cgo"
	"gogan/cgo/torchtest"
	"gogan/data"
)

// TestEvalFIDCommand: gogan eval fid as pytorch-fid's command line: two
// folders give the FID the transcription of pytorch-fid gives; --save-stats
// writes a .npz that stands in for its folder (no weights needed then);
// flags of the classifier's FID and of the Inception's do not mix.
func TestEvalFIDCommand(t *testing.T) {
	py := torchtest.Python(t)
	dir := t.TempDir()
	root := torchtest.CopyFacades(t, map[string][]string{"a": torchtest.FacadesFiles(1, 75), "b": torchtest.FacadesFiles(76, 140), "c": torchtest.FacadesFiles(141, 160)})
	a, b, w := filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(dir, "w.pth")
	if out, err := exec.Command(py, "scripts/fid_reference.py", "make-weights", w).CombinedOutput(); err != nil {
		t.Fatalf("make-weights: %v\n%s", err, out)
	}
	out, err := exec.Command(py, "scripts/fid_reference.py", "fid", a, b, "--weights", w, "--dims", "64").CombinedOutput()
	if err != nil {
		t.Fatalf("fid_reference.py: %v\n%s", err, out)
	}
	want, err := strconv.ParseFloat(strings.TrimPrefix(strings.TrimSpace(string(out)), "FID: "), 64)
	if err != nil {
		t.Fatalf("fid_reference.py printed %q", out)
	}
	fid := func(args ...string) float64 {
		t.Helper()
		out, err := gogan(t, append([]string{"eval", "fid", "--dims", "64", "--device", "cpu", "--threads", "2"}, args...)...)
		if err != nil {
			t.Fatalf("eval fid %v: %v\n%s", args, err, out)
		}
		i := strings.Index(out, "\nFID ")
		if i < 0 {
			t.Fatalf("eval fid %v printed no FID line:\n%s", args, out)
		}
		f, err := strconv.ParseFloat(strings.Fields(out[i+1:])[1], 64)
		if err != nil {
			t.Fatalf("eval fid %v printed:\n%s", args, out)
		}
		if !strings.Contains(out, "inception: 65/65 images of "+b) {
			t.Errorf("no progress lines:\n%s", out)
		}
		return f
	}
	if got := fid("--inception", w, a, b); math.Abs(got-want) > 1e-6+1e-5*want {
		t.Errorf("FID %.6f, pytorch-fid's %.8f", got, want)
	}
	stats := filepath.Join(dir, "a.npz")
	out2, err := gogan(t, "eval", "fid", "--dims", "64", "--device", "cpu", "--inception", w, "--save-stats", stats, a)
	if err != nil || !strings.Contains(out2, "wrote "+stats+": mean and covariance of 64 Inception features of 75 images") {
		t.Fatalf("--save-stats: %v\n%s", err, out2)
	}
	if got := fid("--inception", w, stats, b); math.Abs(got-want) > 1e-6+1e-5*want {
		t.Errorf("FID from the statistics file %.6f, pytorch-fid's %.8f", got, want)
	}
	saved, err := os.ReadFile(stats)
	if err != nil {
		t.Fatal(err)
	}
	// 20 images for 64 features: a singular covariance, said so.
	c := filepath.Join(root, "c")
	if out, err := gogan(t, "eval", "fid", "--dims", "64", "--device", "cpu", "--inception", w, a, c); err != nil ||
		!strings.Contains(out, "warning: "+c+": 20 images for 64 features: the covariance is singular, so this FID is not comparable") {
		t.Errorf("eval fid of 20 images at 64 features: %v\n%s", err, out)
	}
	// A camera's IMG_0001.JPG: pytorch-fid's glob('*.jpg') passes it by, and
	// so does gogan, saying so (a folder of them is not "0 images" alone).
	upper := filepath.Join(dir, "upper")
	os.MkdirAll(upper, 0o755)
	for _, n := range []string{"1", "2", "3"} {
		os.Link(filepath.Join(a, n+".jpg"), filepath.Join(upper, "IMG_000"+n+".JPG"))
	}
	unread := upper + ": 3 files of upper-case extensions (IMG_0001.JPG, IMG_0002.JPG, IMG_0003.JPG) are not read, as pytorch-fid's glob does not read them: give them lower-case extensions to count them"
	if out, err := gogan(t, "eval", "fid", "--dims", "64", "--device", "cpu", "--inception", w, upper, c); err == nil ||
		!strings.Contains(out, "eval fid: "+upper+" holds 0 images (*.bmp, *.jpg, *.jpeg, *.pgm, *.png, *.ppm, *.tif, *.tiff, *.webp): need at least 2 for a covariance; "+unread) {
		t.Errorf("eval fid of a folder of .JPG files: %v\n%s", err, out)
	}
	for _, n := range []string{"4", "5"} {
		os.Link(filepath.Join(a, n+".jpg"), filepath.Join(upper, n+".jpg"))
	}
	if out, err := gogan(t, "eval", "fid", "--dims", "64", "--device", "cpu", "--inception", w, upper, c); err != nil ||
		!strings.Contains(out, "warning: "+unread) || !strings.Contains(out, "(2 images from "+upper) {
		t.Errorf("eval fid of a folder of .jpg and .JPG files: %v\n%s", err, out)
	}
	// Two statistics files of different features: refused, naming both.
	small := filepath.Join(dir, "s8.npz")
	// gogan eval classifier's file and pytorch-fid's weights, each given
	// for the other: said so, without the --force that would replace the
	// Inception weights with a classifier.
	idx := filepath.Join(dir, "idx")
	writeIDXRoot(t, idx, 100)
	clf := filepath.Join(dir, "clf.safetensors")
	if out, err := gogan(t, "eval", "classifier", "--out", clf, "--data-root", idx, "--max-steps", "1", "--batch-size", "32",
		"--device", "cpu", "--threads", "2", "--quiet"); err != nil {
		t.Fatalf("eval classifier: %v\n%s", err, out)
	}
	if out, err := exec.Command(py, "-c", "import numpy as np, sys; np.savez(sys.argv[1], mu=np.zeros(8), sigma=np.eye(8))", small).CombinedOutput(); err != nil {
		t.Fatalf("numpy: %v\n%s", err, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{small, stats}, "eval fid: " + small + " holds statistics of 8 features, " + stats + " of 64: compute both with the same --dims"},
		// pytorch-fid refuses to overwrite statistics; a missing folder is
		// found before the images are read
		{[]string{"--inception", w, "--save-stats", stats, b}, "--save-stats " + stats + " exists: remove it or name another file"},
		{[]string{"--inception", w, "--save-stats", filepath.Join(dir, "none", "b.npz"), b}, "the folder " + filepath.Join(dir, "none") + " does not exist"},
		{[]string{"--inception", w, "--save-stats", filepath.Join(stats, "b.npz"), b}, stats + " is a file, not a folder"},
		{[]string{"--classifier", "c.safetensors", "--dims", "64"}, "--dims is for the Inception FID"},
		{[]string{"--classifier", "c.safetensors", a}, "no PATH arguments"},
		{[]string{"--real-train", a, b}, "--real-train is for the Fashion-MNIST classifier's FID"},
		{[]string{"--inception", filepath.Join(dir, "none.pth"), a, b}, "none.pth: no such file"},
		{[]string{"--inception", clf, a, b}, "FID Inception weights " + clf + ": gogan eval classifier's Fashion-MNIST classifier, not pytorch-fid's FID Inception: give it as --classifier"},
		{[]string{"--classifier", w, "--real-train", "--samples", "50", "--data-root", idx}, "classifier " + w + ": a PyTorch torch.save file, not a classifier gogan eval classifier wrote (safetensors): pytorch-fid's FID Inception weights go to --inception"},
	} {
		out, err := gogan(t, append([]string{"eval", "fid"}, c.args...)...)
		if err == nil || !strings.Contains(out, c.want) || strings.Contains(out, "--force") {
			t.Errorf("eval fid %v: %v\n%s", c.args, err, out)
		}
	}
	if b, err := os.ReadFile(stats); err != nil || !bytes.Equal(b, saved) {
		t.Errorf("the statistics file changed (%v)", err)
	}
}

// TestDCGANTrainsOnCIFAR10: configs/dcgan-cifar10.yaml trains from
// cifar-10-python.tar.gz as torchvision downloads it (a small one made by
// scripts/make_cifar10.py), and its colour samples come out.
func TestDCGANTrainsOnCIFAR10(t *testing.T) {
	dir := t.TempDir()
	root, run := filepath.Join(dir, "cifar10"), filepath.Join(dir, "run")
	if out, err := exec.Command(torchtest.Python(t), "scripts/make_cifar10.py", root, "--tar").CombinedOutput(); err != nil {
		t.Fatalf("make_cifar10.py: %v\n%s", err, out)
	}
	out, err := gogan(t, "train", "-c", "configs/dcgan-cifar10.yaml", "--quiet", "--set", "out="+run, "--set", "data.root="+root,
		"--set", "model.ngf=8", "--set", "model.ndf=8", "--set", "data.batch_size=8", "--set", "train.max_steps=5",
		"--set", "data.image_size=32", "--set", "threads=2")
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(run, "checkpoints", "step-00000005")); err != nil {
		t.Errorf("no checkpoint at step 5: %v\n%s", err, out)
	}
	grid := filepath.Join(dir, "grid.png")
	if out, err := gogan(t, "sample", "--checkpoint", run, "--n", "4", "--out", grid, "--device", "cpu"); err != nil {
		t.Fatalf("sample: %v\n%s", err, out)
	}
	if im := readPNG(t, grid); im.Bounds().Dx() < 32 {
		t.Errorf("grid %v", im.Bounds())
	}
	out, err = gogan(t, "train", "-c", "configs/dcgan-cifar10.yaml", "--quiet", "--set", "out="+filepath.Join(dir, "run2"), "--set", "data.root="+dir)
	if err == nil || !strings.Contains(out, "no CIFAR-10 train batches") {
		t.Errorf("train without CIFAR-10 in data.root: %v\n%s", err, out)
	}
}

// TestDCGANTrainsOnLSUN: configs/dcgan-lsun.yaml trains on two LSUN
// categories' databases (WebP photos in LMDB, made by scripts/make_lsun.py
// as LSUN distributes them), resumes, and says which database is missing.
func TestDCGANTrainsOnLSUN(t *testing.T) {
	dir := t.TempDir()
	root, run := filepath.Join(dir, "lsun"), filepath.Join(dir, "run")
	for _, c := range [][]string{{"--classes", "bedroom", "--count", "20", "--photos", torchtest.Facades(t)}, {"--classes", "church_outdoor", "--count", "12"}} {
		if out, err := exec.Command(torchtest.Python(t), append([]string{"scripts/make_lsun.py", root}, c...)...).CombinedOutput(); err != nil {
			t.Fatalf("make_lsun.py: %v\n%s", err, out)
		}
	}
	sets := []string{"--set", "data.root=" + root, "--set", "data.classes=bedroom,church_outdoor", "--set", "model.ngf=8", "--set", "model.ndf=8",
		"--set", "data.batch_size=8", "--set", "data.image_size=32", "--set", "threads=2"}
	out, err := gogan(t, append([]string{"train", "-c", "configs/dcgan-lsun.yaml", "--quiet", "--set", "out=" + run, "--set", "train.max_steps=3"}, sets...)...)
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	if out, err := gogan(t, "resume", run, "--set", "train.max_steps=6"); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(run, "checkpoints", "step-00000006")); err != nil {
		t.Errorf("no checkpoint at step 6 after resuming: %v", err)
	}
	grid := filepath.Join(dir, "grid.png")
	if out, err := gogan(t, "sample", "--checkpoint", run, "--n", "4", "--out", grid, "--device", "cpu"); err != nil {
		t.Fatalf("sample: %v\n%s", err, out)
	}
	if im := readPNG(t, grid); im.Bounds().Dx() < 32 {
		t.Errorf("grid %v", im.Bounds())
	}
	out, err = gogan(t, "train", "-c", "configs/dcgan-lsun.yaml", "--quiet", "--set", "out="+filepath.Join(dir, "run2"), "--set", "data.root="+root,
		"--set", "data.classes=bedroom,kitchen")
	if err == nil || !strings.Contains(out, "kitchen_train_lmdb") {
		t.Errorf("train without a category's database: %v\n%s", err, out)
	}
}

// TestEvalFIDOnClassFolders: a DCGAN's data.root of class folders
// (ImageFolder's layout) given to eval fid as the real set holds no image
// of its own, and pytorch-fid (its path.glob('*.ext'), transcribed in
// scripts/fid_reference.py) lists none there: the error names the
// subfolders that hold images, and one of them, given instead, is read.
func TestEvalFIDOnClassFolders(t *testing.T) {
	py := torchtest.Python(t)
	dir := t.TempDir()
	root := torchtest.CopyFacades(t, map[string][]string{"doors": torchtest.FacadesFiles(1, 3), "windows": torchtest.FacadesFiles(4, 5)})
	w := filepath.Join(dir, "w.pth")
	if out, err := exec.Command(py, "scripts/fid_reference.py", "make-weights", w).CombinedOutput(); err != nil {
		t.Fatalf("make-weights: %v\n%s", err, out)
	}
	list := `import sys; sys.path.insert(0, "scripts"); import fid_reference; print(len(fid_reference.image_files(sys.argv[1])))`
	if out, err := exec.Command(py, "-c", list, root).CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "0" {
		t.Fatalf("pytorch-fid's listing of the class root: %v\n%s", err, out)
	}
	// a subfolder whose images are all one level further down is not
	// named: given, it would be refused the same way
	deeper := filepath.Join(root, "nested", "deeper")
	if err := os.MkdirAll(deeper, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(root, "doors", torchtest.FacadesFiles(1, 1)[0]), filepath.Join(deeper, "1.jpg")); err != nil {
		t.Fatal(err)
	}
	o, err := gogan(t, "eval", "fid", "--dims", "64", "--device", "cpu", "--inception", w, root, filepath.Join(root, "doors"))
	if err == nil || !strings.Contains(o, root+" holds 0 images") || !strings.Contains(o, "its subfolders hold images (doors/ (3), windows/ (2))") ||
		!strings.Contains(o, "give one of them") {
		t.Fatalf("eval fid on class folders: %v, want the subfolders named:\n%s", err, o)
	}
	if o, err := gogan(t, "eval", "fid", "--dims", "64", "--device", "cpu", "--inception", w, filepath.Join(root, "windows"), filepath.Join(root, "doors")); err != nil || !strings.Contains(o, "\nFID ") {
		t.Fatalf("eval fid on a class folder: %v\n%s", err, o)
	}
}

// TestClassifierRecordsItsData: gogan eval classifier records the images it
// trained on (its data root, training images file and that file's SHA-256
// unzipped), and eval fid --classifier warns, naming both, when it reads
// other images than those; the same images elsewhere, unzipped, are the
// same. A classifier written before the record loads with a note.
func TestClassifierRecordsItsData(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other")
	train := writeIDXRoot(t, other, 100)
	clf := filepath.Join(dir, "clf.safetensors")
	if out, err := gogan(t, "eval", "classifier", "--out", clf, "--data-root", other, "--max-steps", "2", "--batch-size", "32",
		"--device", "cpu", "--threads", "2", "--quiet"); err != nil {
		t.Fatalf("eval classifier: %v\n%s", err, out)
	}
	ts, meta, err := torch.LoadSafetensors(clf)
	if err != nil {
		t.Fatal(err)
	}
	sum := fmt.Sprintf("%x", sha256.Sum256(train))
	if meta["data_root"] != other || meta["train_images_file"] != filepath.Join(other, "train-images-idx3-ubyte.gz") || meta["train_images_sha256"] != sum {
		t.Errorf("the classifier's metadata %v do not record its training images %s (sha256 %s)", meta, other, sum)
	}
	fid := func(c string, extra ...string) string {
		t.Helper()
		out, err := gogan(t, append([]string{"eval", "fid", "--classifier", c, "--real-train", "--samples", "50", "--device", "cpu", "--threads", "2"}, extra...)...)
		if err != nil || !strings.Contains("\n"+out, "\nFID ") {
			t.Fatalf("eval fid --classifier %s %v: %v\n%s", c, extra, err, out)
		}
		return out
	}
	// Fashion-MNIST (--data-root's default): not the images it learnt
	out := fid(clf)
	for _, want := range []string{"classifier " + clf + " was trained on other images than those evaluated: on " + other,
		"not on the fashion-mnist images under " + data.DefaultFashionRoot + " (--data-root's default; " + data.DefaultFashionRoot + "/train-images-idx3-ubyte.gz",
		"gogan eval classifier --data-root " + data.DefaultFashionRoot + " --out FILE"} {
		if !strings.Contains(out, want) {
			t.Errorf("eval fid on Fashion-MNIST with a classifier of other images does not say %q:\n%s", want, out)
		}
	}
	// the same images unzipped in torchvision's folder of another root
	same := filepath.Join(dir, "same")
	os.MkdirAll(filepath.Join(same, "raw"), 0o755)
	os.WriteFile(filepath.Join(same, "raw", "train-images-idx3-ubyte"), train, 0o644)
	for _, f := range []string{"train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		os.Link(filepath.Join(other, f), filepath.Join(same, "raw", f))
	}
	if out := fid(clf, "--data-root", same); strings.Contains(out, "trained on other images") || strings.Contains(out, "does not record") {
		t.Errorf("eval fid on the classifier's own images, unzipped elsewhere:\n%s", out)
	}
	// written before the record: a note, the FID
	for i := range ts {
		defer ts[i].Tensor.Free()
	}
	old := filepath.Join(dir, "old.safetensors")
	if err := torch.SaveSafetensors(old, ts, map[string]string{"kind": meta["kind"], "test_accuracy": meta["test_accuracy"]}); err != nil {
		t.Fatal(err)
	}
	if out := fid(old); !strings.Contains(out, "the classifier does not record the images it was trained on") || strings.Contains(out, "trained on other images") {
		t.Errorf("eval fid with a classifier that records no training images:\n%s", out)
	}
}

// TestEvalClassifierStopped: SIGINT while gogan eval classifier trains stops
// it after the step, with status 130 and a line saying so and that no
// classifier was written; nothing is left at --out or beside it (nor the
// folder it would have made), and a classifier that --force would have
// replaced is as it was.
func TestEvalClassifierStopped(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.safetensors")
	if err := os.WriteFile(old, []byte("the classifier before"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		out   string
		extra []string
		kept  string
	}{
		{filepath.Join(dir, "new", "clf.safetensors"), nil, ""},
		{old, []string{"--force"}, " (the one already there is as it was)"},
	} {
		cmd := exec.Command(goganBin, append([]string{"eval", "classifier", "--out", c.out, "--batch-size", "16", "--device", "cpu", "--threads", "2", "--quiet"}, c.extra...)...)
		var buf lockedBuffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		signalWhen(t, cmd, &buf, "progress line", func() bool { return strings.Contains(buf.String(), "classifier progress") }, syscall.SIGINT)
		var ee *exec.ExitError
		err := cmd.Wait()
		if !errors.As(err, &ee) || ee.ExitCode() != 130 || !strings.Contains(buf.String(), "stop requested: stopping after the current step; no classifier is written") ||
			!strings.Contains(buf.String(), "gogan: eval classifier: stopped by SIGINT; no classifier was written to "+c.out+c.kept+"\n") {
			t.Errorf("eval classifier --out %s after SIGINT: %v, want exit status 130 and what was written\n%s", c.out, err, buf.String())
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 || ents[0].Name() != "old.safetensors" {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Errorf("a stopped eval classifier --out %s left %v in %s", c.out, names, dir)
		}
		if b, _ := os.ReadFile(old); string(b) != "the classifier before" {
			t.Errorf("a stopped eval classifier changed %s: %q", old, b)
		}
	}
}

// TestStaleTempsOfKilledEvalWritesGo: eval classifier --out, eval fid
// --save-stats and features --out write their file under a hidden temp
// name first (.NAME.tmp-<digits>), which a SIGKILL, or a Ctrl-C of eval
// fid (it has no handler), left beside it for good: nothing removed it,
// and each killed run added another. As export's, translate's and
// sample's (TestStaleTempsOfKilledWritesGo), the next write of NAME removes
// the temps of NAME last written before it started; a temp of another
// name, one written since (a write in flight) and other files stay.
func TestStaleTempsOfKilledEvalWritesGo(t *testing.T) {
	base := t.TempDir()
	w := filepath.Join(base, "w.pth")
	if out, err := exec.Command(torchtest.Python(t), "scripts/fid_reference.py", "make-weights", w).CombinedOutput(); err != nil {
		t.Fatalf("make-weights: %v\n%s", err, out)
	}
	images := torchtest.CopyFacades(t, map[string][]string{"a": torchtest.FacadesFiles(1, 8)})
	idx := filepath.Join(base, "idx")
	writeIDXRoot(t, idx, 64)
	hdData, hd := filepath.Join(base, "hd-data"), filepath.Join(base, "hd")
	writeHDData(t, hdData, 4, 40, 36)
	if out, err := gogan(t, append([]string{"train"}, featureHD(hdData, hd, "model.instance_feat=true", "train.max_steps=1")...)...); err != nil {
		t.Fatalf("train pix2pixhd: %v\n%s", err, out)
	}
	old, later := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	for _, c := range []struct {
		name string
		out  string
		args []string
	}{
		{"eval classifier", filepath.Join(base, "cls", "c.safetensors"), []string{"eval", "classifier", "--data-root", idx, "--max-steps", "1",
			"--batch-size", "16", "--test-limit", "16", "--device", "cpu", "--threads", "2", "--quiet", "--out"}},
		{"eval fid", filepath.Join(base, "stats", "a.npz"), []string{"eval", "fid", "--dims", "64", "--device", "cpu", "--threads", "2",
			"--inception", w, filepath.Join(images, "a"), "--save-stats"}},
		{"features", filepath.Join(base, "feat", "f.safetensors"), []string{"features", "--checkpoint", hd, "--threads", "2", "--n-clusters", "2", "--out"}},
	} {
		dir, name := filepath.Split(c.out)
		stale := []string{"." + name + ".tmp-2518204716", "." + name + ".tmp-17"}
		kept := map[string]time.Time{"notes.txt": old, ".other" + name + ".tmp-5": old, "." + name + ".tmp-mine": old, "." + name + ".tmp-123": later}
		os.MkdirAll(dir, 0o755)
		for _, n := range stale {
			kept[n] = old
		}
		for n, mtime := range kept {
			p := filepath.Join(dir, n)
			if err := os.WriteFile(p, []byte("cut short"), 0o644); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(p, mtime, mtime)
		}
		for _, n := range stale {
			delete(kept, n)
		}
		if out, err := gogan(t, append(c.args, c.out)...); err != nil {
			t.Fatalf("%s: %v\n%s", c.name, err, out)
		}
		if _, err := os.Stat(c.out); err != nil {
			t.Errorf("%s wrote no %s: %v", c.name, c.out, err)
		}
		for _, n := range stale {
			if _, err := os.Lstat(filepath.Join(dir, n)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s: the stale temp %s is still there (%v)", c.name, n, err)
			}
		}
		for n := range kept {
			if b, err := os.ReadFile(filepath.Join(dir, n)); err != nil || string(b) != "cut short" {
				t.Errorf("%s: %s was not left as it was: %v", c.name, n, err)
			}
		}
	}
}
