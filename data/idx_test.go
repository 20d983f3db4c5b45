package data

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gogan/cgo/torchtest"
)

func idxBytes(magic uint32, dims []int, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, magic)
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func TestFashionMNIST(t *testing.T) {
	root := fashionRoot(t)
	for _, c := range []struct {
		phase string
		n     int
	}{{"train", 60000}, {"test", 10000}} {
		cfg := DefaultConfig(FashionMNIST)
		cfg.Phase = c.phase
		d, err := Open(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.Len() != c.n || !d.HasLabels() {
			t.Fatalf("%s: %d samples (labels %v), want %d", c.phase, d.Len(), d.HasLabels(), c.n)
		}
		var counts [10]int
		for _, l := range d.idx.labels {
			if l > 9 {
				t.Fatalf("label %d out of range 0..9", l)
			}
			counts[l]++
		}
		for k, n := range counts { // Fashion-MNIST is balanced
			if n != c.n/10 {
				t.Errorf("%s: class %d has %d images, want %d", c.phase, k, n, c.n/10)
			}
		}
		a, _, u := d.Shape()
		if a != [3]int{1, 64, 64} || !u {
			t.Errorf("shape %v", a)
		}
		if d.root != root {
			t.Errorf("root %s", d.root)
		}
	}
}

func TestIDXBad(t *testing.T) {
	dir := t.TempDir()
	img := make([]byte, 3*4*5)
	good := idxBytes(0x803, []int{3, 4, 5}, img)
	cases := map[string]struct {
		data []byte
		want string
	}{
		"magic":       {idxBytes(0x12345678, []int{3, 4, 5}, img), "wrong magic number 0x12345678: not an IDX file"},
		"type":        {idxBytes(0x0d03, []int{3, 4, 5}, img), "IDX data type 0x0d is not supported"},
		"truncated":   {good[:len(good)-7], "truncated: dimensions [3 4 5] need 60 bytes of data, file has 53"},
		"header":      {good[:6], "truncated IDX header"},
		"empty":       {nil, "empty IDX file"},
		"trailing":    {append(append([]byte{}, good...), 1, 2), "2 bytes of data after the [3 4 5] array"},
		"gztruncated": {gz(good)[:30], "truncated"},
		// 20 million 28x28 images declared in a few hundred bytes: refused
		// before any of it is decompressed
		"gzbomb": {gz(idxBytes(0x803, []int{20000000, 28, 28}, make([]byte, 4096))), "need 15680000000 bytes of data, more than a gzip file of"},
		"text":   {[]byte("just some text, not IDX at all"), "wrong magic number"},
	}
	for name, c := range cases {
		p := write(t, filepath.Join(dir, name), c.data)
		_, err := ReadIDX(p)
		if err == nil || !strings.Contains(err.Error(), p+": ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want %q naming the file, got %v", name, c.want, err)
		}
	}
	if f, err := ReadIDX(write(t, filepath.Join(dir, "ok.gz"), gz(good))); err != nil || len(f.Data) != 60 {
		t.Errorf("good gz: %v", err)
	}
	// Through Open: mismatched label count, labels given as images.
	root := filepath.Join(dir, "mnist")
	write(t, filepath.Join(root, "train-images-idx3-ubyte"), good)
	write(t, filepath.Join(root, "train-labels-idx1-ubyte.gz"), gz(idxBytes(0x801, []int{2}, []byte{1, 2})))
	cfg := DefaultConfig(MNIST)
	cfg.Root = root
	if _, err := Open(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), "2 labels for 3 images") {
		t.Errorf("label count mismatch: %v", err)
	}
	// A label past the ten classes (the classifier's one-hot table): the
	// labels are left unread where nothing needs them, refused where the
	// classes pick the images.
	logs := torchtest.CaptureLogs(t)
	lpath := write(t, filepath.Join(root, "train-labels-idx1-ubyte.gz"), gz(idxBytes(0x801, []int{3}, []byte{1, 250, 2})))
	if d, err := Open(context.Background(), cfg, nil); err != nil || d.HasLabels() || !strings.Contains(logs.String(), lpath+": label 250 of image 1") {
		t.Errorf("labels out of range, not needed: %v (warning: %s)", err, logs)
	}
	if _, _, err := loadLabelled(root, MNIST, "train", true); err == nil || !strings.Contains(err.Error(), lpath+": label 250 of image 1") {
		t.Errorf("labels out of range, needed: %v", err)
	}
	cfg.Phase = "test"
	if _, err := Open(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), "no t10k-images-idx3-ubyte") {
		t.Errorf("missing test split: %v", err)
	}
	// A small valid set without labels, resized 5x4 -> 8x8 center crop.
	write(t, filepath.Join(root, "t10k-images-idx3-ubyte"), good)
	d, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.HasLabels() || d.Len() != 3 {
		t.Errorf("labels %v len %d", d.HasLabels(), d.Len())
	}
	// A crop that cannot fit every image is a config error naming the key.
	cfg.Preprocess, cfg.CropSize = Crop, 10
	if _, err := Open(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), "data.crop_size 10 is larger than the image 5x4; give data.crop_size at most 4, or resize every image first") {
		t.Errorf("crop: %v", err)
	}
}

// TestTorchvisionRootOfBothIDXSets: torchvision keeps MNIST's files in
// root/MNIST/raw and Fashion-MNIST's in root/FashionMNIST/raw, so one root
// (main.py's --dataroot for both) often holds both. Each kind reads its own
// folder, as torchvision's MNIST and FashionMNIST do; a root holding only
// the other's is refused, naming it and the data.dataset that reads it.
func TestTorchvisionRootOfBothIDXSets(t *testing.T) {
	root := t.TempDir()
	sizes := map[string]int{"MNIST": 3, "FashionMNIST": 5}
	for sub, n := range sizes {
		for _, stem := range []string{"train", "t10k"} {
			img := make([]byte, n*4*4)
			for i := range img {
				img[i] = byte(i*7 + n)
			}
			labels := make([]byte, n)
			write(t, filepath.Join(root, sub, "raw", stem+"-images-idx3-ubyte"), idxBytes(0x803, []int{n, 4, 4}, img))
			write(t, filepath.Join(root, sub, "raw", stem+"-labels-idx1-ubyte"), idxBytes(0x801, []int{n}, labels))
		}
	}
	// torchvision's own answer: each class's length and first image
	out := pil(t, `import sys, json, torchvision.datasets as d
r = {}
for c in (d.MNIST, d.FashionMNIST):
    s = c(sys.argv[1], train=True)
    r[c.__name__] = [len(s), list(s.data[0].flatten().tolist())]
print(json.dumps(r))`, nil, root)
	var want map[string][2]json.RawMessage
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for kind, sub := range map[string]string{MNIST: "MNIST", FashionMNIST: "FashionMNIST"} {
		cfg := DefaultConfig(kind)
		cfg.Root = root
		d, err := Open(context.Background(), cfg, nil)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		var n int
		var pix []int
		json.Unmarshal(want[sub][0], &n)
		json.Unmarshal(want[sub][1], &pix)
		im, _ := d.idx.image(0)
		got := make([]int, len(im.Pix))
		for i, p := range im.Pix {
			got[i] = int(p)
		}
		if d.Len() != n || !slices.Equal(got, pix) {
			t.Errorf("%s: %d images, first %v; torchvision's %s: %d, %v", kind, d.Len(), got, sub, n, pix)
		}
	}
	// Only MNIST's folder: a fashion-mnist run is refused, not trained on digits.
	if err := os.RemoveAll(filepath.Join(root, "FashionMNIST")); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig(FashionMNIST)
	cfg.Root = root
	_, err := Open(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "FashionMNIST/raw/") || !strings.Contains(err.Error(), "MNIST/raw/ holds IDX files") ||
		!strings.Contains(err.Error(), "data.dataset=mnist") || !strings.Contains(err.Error(), "data.root="+filepath.Join(root, "MNIST", "raw")) {
		t.Errorf("fashion-mnist on a root of MNIST's files: %v", err)
	}
}

// TestIDXImagesSHA256: the images of a split are told by their
// uncompressed bytes (sha256sum of the unzipped file), so a gzipped file
// and its unzipped copy in another folder (torchvision's MNIST/raw here)
// are the same images, and other pixels are not.
func TestIDXImagesSHA256(t *testing.T) {
	dir := t.TempDir()
	raw := idxBytes(0x803, []int{2, 2, 3}, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	want := sha256.Sum256(raw)
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	write(t, filepath.Join(a, "train-images-idx3-ubyte.gz"), gz(raw))
	write(t, filepath.Join(b, "MNIST", "raw", "train-images-idx3-ubyte"), raw)
	for _, root := range []string{a, b} {
		file, sum, err := IDXImagesSHA256(root, MNIST, "train")
		if err != nil || sum != hex.EncodeToString(want[:]) || !strings.HasPrefix(file, root) {
			t.Errorf("%s: %s %s %v, want the sha256 of the unzipped file %x", root, file, sum, err, want)
		}
	}
	other := slices.Clone(raw)
	other[len(other)-1]++
	write(t, filepath.Join(b, "MNIST", "raw", "train-images-idx3-ubyte"), other)
	if _, sum, _ := IDXImagesSHA256(b, MNIST, "train"); sum == hex.EncodeToString(want[:]) {
		t.Error("another pixel gives the same sum")
	}
	if _, _, err := IDXImagesSHA256(b, MNIST, "test"); err == nil || !strings.Contains(err.Error(), "no t10k-images-idx3-ubyte") {
		t.Errorf("a missing split: %v", err)
	}
}

// TestSameSplit: IDX data and CIFAR-10 have no val split (val reads the
// test files), also as the source of derived pairs or class domains; image
// folders have a folder per phase.
func TestSameSplit(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		p, q string
		want bool
	}{
		{Config{Dataset: FashionMNIST}, "val", "test", true},
		{Config{Dataset: MNIST}, "train", "test", false},
		{Config{Dataset: Edges, Source: MNIST}, "test", "val", true},
		{Config{Dataset: Unaligned, Source: CIFAR10, ClassesA: "cat", ClassesB: "dog"}, "val", "test", true},
		{Config{Dataset: Unaligned}, "val", "test", false},
		{Config{Dataset: Aligned}, "train", "train", true},
		{Config{Dataset: Aligned}, "val", "test", false},
	} {
		if got := c.cfg.SameSplit(c.p, c.q); got != c.want {
			t.Errorf("%s (source %s): SameSplit(%s, %s) = %v", c.cfg.Dataset, c.cfg.Source, c.p, c.q, got)
		}
	}
}

// TestIDXLabelsFitTheImages: a labels file with more labels than the
// images file has images (another split's, 60000 beside t10k's 10000) is
// refused as one with fewer is; and the first label past the ten classes,
// 10, is refused where the labels are needed, as 250 is.
func TestIDXLabelsFitTheImages(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "train-images-idx3-ubyte"), idxBytes(0x803, []int{3, 4, 5}, make([]byte, 3*4*5)))
	labels := filepath.Join(root, "train-labels-idx1-ubyte")
	write(t, labels, idxBytes(0x801, []int{4}, []byte{1, 2, 3, 4}))
	cfg := DefaultConfig(MNIST)
	cfg.Root = root
	if _, err := Open(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), labels+": 4 labels for 3 images") {
		t.Errorf("4 labels for 3 images: %v", err)
	}
	write(t, labels, idxBytes(0x801, []int{3}, []byte{9, 0, 10}))
	if _, _, err := loadLabelled(root, MNIST, "train", true); err == nil || !strings.Contains(err.Error(), labels+": label 10 of image 2") {
		t.Errorf("label 10, needed: %v", err)
	}
	write(t, labels, idxBytes(0x801, []int{3}, []byte{9, 0, 5}))
	if s, _, err := loadLabelled(root, MNIST, "train", true); err != nil || !slices.Equal(s.labels, []uint8{9, 0, 5}) {
		t.Errorf("labels 9, 0, 5: %v", err)
	}
}

// TestTorchvisionMNISTRoot: a root is torchvision's MNIST root, one that
// main.py's --dataset mnist reads as it is, where MNIST/raw/ holds the four
// files unpacked (torchvision's MNIST checks for those names, and downloads
// over .gz files alone) and gogan reads them there, not files of data.root
// itself that it finds first.
func TestTorchvisionMNISTRoot(t *testing.T) {
	root := t.TempDir()
	raw := filepath.Join(root, "MNIST", "raw")
	files := []string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}
	for _, f := range files {
		write(t, filepath.Join(raw, f+".gz"), []byte("gz"))
	}
	if TorchvisionMNISTRoot(root) {
		t.Errorf("MNIST/raw/ of .gz files alone: a torchvision root, which its MNIST downloads over")
	}
	for _, f := range files {
		write(t, filepath.Join(raw, f), []byte("idx"))
	}
	if !TorchvisionMNISTRoot(root) {
		t.Errorf("MNIST/raw/ of the four files unpacked: not a torchvision root")
	}
	write(t, filepath.Join(root, "t10k-images-idx3-ubyte"), []byte("idx"))
	if TorchvisionMNISTRoot(root) {
		t.Errorf("test images in data.root itself, which gogan reads: a torchvision root")
	}
}
