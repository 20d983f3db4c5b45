package data

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gogan/cgo/torchtest"
)

// makeCIFAR writes a small CIFAR-10 (scripts/make_cifar10.py: 5 x 8 train
// and 6 test images, pickled as the published files) under root.
func makeCIFAR(t *testing.T, root string, tar bool) {
	t.Helper()
	args := []string{filepath.Join(repoRoot(t), "scripts", "make_cifar10.py"), root}
	if tar {
		args = append(args, "--tar")
	}
	if out, err := exec.Command(torchtest.Python(t), args...).CombinedOutput(); err != nil {
		t.Fatalf("make_cifar10.py: %v\n%s", err, out)
	}
}

// torchvisionCIFAR is torchvision's CIFAR10 (md5 check skipped) of a
// phase: each image's bytes after Resize(size) and CenterCrop(size) (size
// 0: untouched), and the labels.
func torchvisionCIFAR(t *testing.T, root string, train bool, size int) (images [][]byte, labels []int) {
	t.Helper()
	return torchvisionItems(t, `
import torchvision.datasets.cifar as c
c.check_integrity = lambda *a, **k: True
root, train, size = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
tf = T.Compose([T.Resize(size), T.CenterCrop(size)]) if size else None
d = c.CIFAR10(root, train=train, download=False, transform=tf)
`, root, map[bool]string{true: "1", false: "0"}[train], strconv.Itoa(size))
}

// TestCIFAR10IsTorchvisions: data.dataset=cifar10 reads the python
// version's batches from cifar-10-batches-py/, from data.root itself and
// from cifar-10-python.tar.gz, giving torchvision's CIFAR10 images and
// labels in its order, and pytorch/examples dcgan's Resize and CenterCrop
// of them to 64.
func TestCIFAR10IsTorchvisions(t *testing.T) {
	dir := t.TempDir()
	folder, flat, tgz := filepath.Join(dir, "folder"), filepath.Join(dir, "flat"), filepath.Join(dir, "tgz")
	makeCIFAR(t, folder, false)
	makeCIFAR(t, tgz, true)
	if err := os.CopyFS(flat, os.DirFS(filepath.Join(folder, "cifar-10-batches-py"))); err != nil {
		t.Fatal(err)
	}
	for _, phase := range []string{"train", "test"} {
		wantIms, wantLabels := torchvisionCIFAR(t, folder, phase == "train", 0)
		for _, root := range []string{folder, flat, tgz} {
			cfg := DefaultConfig(CIFAR10)
			cfg.Root, cfg.Phase, cfg.ImageSize = root, phase, 32
			d, err := Open(context.Background(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if d.Len() != len(wantIms) || !d.HasLabels() {
				t.Fatalf("%s %s: %d images, want %d", root, phase, d.Len(), len(wantIms))
			}
			for i := range wantIms {
				s, err := d.Sample(i, 1, 0)
				if err != nil {
					t.Fatal(err)
				}
				if s.Label != wantLabels[i] || !bytes.Equal(s.A.Pix, wantIms[i]) || s.A.C != 3 {
					t.Fatalf("%s %s image %d: label %d (want %d), pixels equal %v", root, phase, i, s.Label, wantLabels[i], bytes.Equal(s.A.Pix, wantIms[i]))
				}
			}
		}
	}
	want, _ := torchvisionCIFAR(t, folder, true, 64)
	cfg := DefaultConfig(CIFAR10)
	cfg.Root = folder
	d, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0
	for i := range want {
		s, err := d.Sample(i, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if s.A.W != 64 || s.A.H != 64 {
			t.Fatalf("image %d is %dx%d", i, s.A.W, s.A.H)
		}
		_, m := absDiff(s.A.Pix, want[i])
		worst = max(worst, m)
	}
	t.Logf("Resize(64)+CenterCrop(64) against torchvision's: max |diff| %d", worst)
	if worst > 0 {
		t.Errorf("resized images differ from torchvision's by up to %d levels", worst)
	}
}

// TestCIFAR10Classes: unaligned domains by CIFAR-10 class names.
func TestCIFAR10Classes(t *testing.T) {
	root := t.TempDir()
	makeCIFAR(t, root, false)
	cfg := DefaultConfig(Unaligned)
	cfg.Root, cfg.Source, cfg.ClassesA, cfg.ClassesB = root, CIFAR10, "cat", "Dog,horse"
	cfg.LoadSize, cfg.CropSize = 32, 32
	d, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.idxA) != 4 || len(d.idxB) != 8 || d.Len() != 8 {
		t.Errorf("cat: %d images, dog and horse: %d (labels cycle 0..9 over 40 images), epoch %d", len(d.idxA), len(d.idxB), d.Len())
	}
	if ClassName(CIFAR10, 3) != "cat" {
		t.Errorf("class 3 is %q", ClassName(CIFAR10, 3))
	}
	cfg.ClassesA = "kitten"
	if _, err := Open(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), `unknown cifar10 class "kitten"`) {
		t.Errorf("an unknown class: %v", err)
	}
}

// TestCIFAR10Errors: a missing or damaged CIFAR-10 is an error naming the
// folder or file and what is wrong; CIFAR's other versions, and CIFAR-100,
// are named where they are found, and the python version a folder down.
func TestCIFAR10Errors(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "c")
	makeCIFAR(t, root, false)
	batches := filepath.Join(root, "cifar-10-batches-py")
	open := func(root string) error {
		cfg := DefaultConfig(CIFAR10)
		cfg.Root = root
		_, err := Open(context.Background(), cfg, nil)
		return err
	}
	// dir holds c/cifar-10-batches-py: data.root set a level too high
	if err := open(dir); err == nil || !strings.Contains(err.Error(), "no CIFAR-10 train batches: want cifar-10-batches-py/data_batch_1") ||
		!strings.Contains(err.Error(), batches+" is there: set data.root="+root) {
		t.Errorf("a folder above data.root: %v", err)
	}
	// CIFAR's other downloads, unpacked
	for name, what := range map[string]string{"cifar-10-batches-bin": "CIFAR-10's binary version", "cifar-100-python": "CIFAR-100", "cifar-10-batches-mat": "CIFAR-10's MATLAB version"} {
		other := filepath.Join(t.TempDir(), name)
		os.Mkdir(other, 0o755)
		if err := open(filepath.Dir(other)); err == nil || !strings.Contains(err.Error(), name+" there is "+what+", which neither gogan nor torchvision's CIFAR10") ||
			!strings.Contains(err.Error(), "get cifar-10-python.tar.gz, the python version") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := open(filepath.Join(dir, "none")); err == nil || !strings.Contains(err.Error(), "no such folder") {
		t.Errorf("missing folder: %v", err)
	}
	b3 := filepath.Join(batches, "data_batch_3")
	raw, _ := os.ReadFile(b3)
	os.WriteFile(b3, raw[:len(raw)/2], 0o644)
	if err := open(root); err == nil || !strings.Contains(err.Error(), b3) || !strings.Contains(err.Error(), "not a CIFAR-10 python batch") {
		t.Errorf("truncated batch: %v", err)
	}
	os.WriteFile(b3, []byte("\x80\x02}q\x00(U\x04dataq\x01K\x05U\x06labelsq\x02]q\x03u."), 0o644)
	if err := open(root); err == nil || !strings.Contains(err.Error(), `no "data" array`) {
		t.Errorf("batch without an array: %v", err)
	}
	// A damaged archive whose batches still decompress: only the gzip
	// checksum at the end of the stream tells.
	tarRoot := filepath.Join(dir, "t")
	makeCIFAR(t, tarRoot, true)
	archive := filepath.Join(tarRoot, "cifar-10-python.tar.gz")
	if err := open(tarRoot); err != nil {
		t.Fatal(err)
	}
	gzb, _ := os.ReadFile(archive)
	gzb[len(gzb)-8] ^= 1 // the CRC-32 of the trailer
	os.WriteFile(archive, gzb, 0o644)
	if err := open(tarRoot); err == nil || !strings.Contains(err.Error(), archive+": damaged archive") || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("archive with a wrong checksum: %v", err)
	}
	os.RemoveAll(batches)
	os.WriteFile(filepath.Join(root, "cifar-10-python.tar.gz"), []byte("not gzip"), 0o644)
	if err := open(root); err == nil || !strings.Contains(err.Error(), "cifar-10-python.tar.gz") || !strings.Contains(err.Error(), "not a gzip file") {
		t.Errorf("damaged archive: %v", err)
	}
}

// TestCIFAR10DamagedLabels: a batch whose labels list is not one int 0..9
// per image (label 10, or fewer or more labels than the "data" rows) is
// refused naming the batch, where it would otherwise give images the
// label 0 they do not have, or a class past the ten.
func TestCIFAR10DamagedLabels(t *testing.T) {
	root := filepath.Join(t.TempDir(), "c")
	makeCIFAR(t, root, false)
	b2 := filepath.Join(root, "cifar-10-batches-py", "data_batch_2")
	for _, c := range []struct {
		labels string
		rows   int
		want   string
	}{
		{"[3, 10]", 2, "label 1 is 10: CIFAR-10 labels are 0..9"},
		{"[3]", 2, `want a "labels" list of 2 ints`},
		{"[3, 4, 5]", 2, `want a "labels" list of 2 ints`},
	} {
		// pickled by Python 3 as torchvision's CIFAR10 reads it
		batch := pil(t, `
import json, pickle, sys
import numpy as np
labels, n = json.loads(sys.argv[1]), int(sys.argv[2])
d = {'batch_label': 'training batch 2 of 5', 'labels': labels, 'data': np.zeros((n, 3072), np.uint8), 'filenames': ['%d.png' % i for i in range(n)]}
sys.stdout.buffer.write(pickle.dumps(d, protocol=2))
`, nil, c.labels, strconv.Itoa(c.rows))
		if err := os.WriteFile(b2, batch, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig(CIFAR10)
		cfg.Root = root
		if _, err := Open(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), b2+": ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("labels %s for %d images: %v, want %q naming the batch", c.labels, c.rows, err, c.want)
		}
	}
}
