package data

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gogan/cgo/torchtest"
)

// makeLSUN writes LSUN databases under root with scripts/make_lsun.py.
func makeLSUN(t *testing.T, root string, args ...string) {
	t.Helper()
	args = append([]string{filepath.Join(repoRoot(t), "scripts", "make_lsun.py"), root}, args...)
	if out, err := exec.Command(torchtest.Python(t), args...).CombinedOutput(); err != nil {
		t.Fatalf("make_lsun.py: %v\n%s", err, out)
	}
}

// torchvisionLSUN is torchvision's LSUN of the given database names
// (bedroom_train, ...; test): each image's bytes after Resize(size) and
// CenterCrop(size), and the targets.
func torchvisionLSUN(t *testing.T, root string, size string, names ...string) (images [][]byte, labels []int) {
	t.Helper()
	return torchvisionItems(t, `
import torchvision.datasets as dset
root, size, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
classes = "test" if names == ["test"] else names
d = dset.LSUN(root=root, classes=classes, transform=T.Compose([T.Resize(size), T.CenterCrop(size)]))
`, append([]string{root, size}, names...)...)
}

// TestLSUNIsTorchvisions: data.dataset=lsun reads the categories'
// databases in data.classes' order, each in key order, giving torchvision's
// LSUN images (pytorch/examples dcgan's Resize and CenterCrop) and targets
// bit for bit; the test split is test_lmdb; max_samples keeps the first N
// (held in memory with data.in_memory).
func TestLSUNIsTorchvisions(t *testing.T) {
	root := t.TempDir()
	// 90 images make bedroom's tree two levels deep (about 70 keys to a leaf).
	makeLSUN(t, root, "--classes", "bedroom", "--count", "90", "--photos", facadesTrain(t))
	makeLSUN(t, root, "--classes", "church_outdoor", "--count", "25", "--seed", "2")
	makeLSUN(t, root, "--phase", "test", "--count", "7", "--seed", "3")
	for _, c := range []struct {
		classes, phase string
		names          []string
	}{
		{"church_outdoor,bedroom", "train", []string{"church_outdoor_train", "bedroom_train"}},
		{"", "train", []string{"bedroom_train"}},
		{"church_outdoor", "test", []string{"test"}},
	} {
		want, labels := torchvisionLSUN(t, root, "64", c.names...)
		cfg := DefaultConfig(LSUN)
		cfg.Root, cfg.Classes, cfg.Phase = root, c.classes, c.phase
		d, err := Open(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.Len() != len(want) {
			t.Fatalf("%v: %d images, torchvision's LSUN has %d", c.names, d.Len(), len(want))
		}
		for i := range want {
			s, err := d.Sample(i, 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			if s.A.W != 64 || s.A.H != 64 || s.A.C != 3 || s.Label != labels[i] || !bytes.Equal(s.A.Pix, want[i]) {
				_, m := absDiff(s.A.Pix, want[i])
				t.Fatalf("%v image %d: %dx%dx%d, label %d (torchvision %d), max |diff| %d", c.names, i, s.A.W, s.A.H, s.A.C, s.Label, labels[i], m)
			}
		}
	}
	cfg := DefaultConfig(LSUN)
	cfg.Root, cfg.Classes, cfg.MaxSamples, cfg.ImageSize = root, "bedroom,church_outdoor", 100, 32
	cfg.InMemory = true // decoded once on open, through the same reads
	d, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, labels := torchvisionLSUN(t, root, "32", "bedroom_train", "church_outdoor_train")
	if d.Len() != 100 {
		t.Fatalf("max_samples 100: %d images", d.Len())
	}
	for _, i := range []int{0, 89, 90, 99} {
		s, err := d.Sample(i, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if s.Label != labels[i] || !bytes.Equal(s.A.Pix, want[i]) {
			t.Fatalf("max_samples: image %d differs from torchvision's (label %d, want %d)", i, s.Label, labels[i])
		}
	}
}

// TestLSUNLargeSplitsAreReadAsTheyAreUsed: a split of more than 20000
// images opens without reading them (a damaged one is found when it is
// read, naming it, or skipped with data.skip_invalid); a small split is
// checked whole on open.
func TestLSUNLargeSplitsAreReadAsTheyAreUsed(t *testing.T) {
	root := t.TempDir()
	prog := `import io, lmdb, sys
from PIL import Image
b = io.BytesIO()
Image.new("RGB", (5, 3), (200, 10, 30)).save(b, "WEBP")
env = lmdb.open(sys.argv[1] + "/kitchen_train_lmdb", map_size=1 << 30)
with env.begin(write=True) as t:
    for i in range(int(sys.argv[2])):
        t.put(b"%040x" % i, b.getvalue() if i != 3 else b"RIFF\x10\x00\x00\x00WEBPVP8 broken")
`
	for _, n := range []string{"20001", "50"} {
		dir := filepath.Join(root, n)
		os.MkdirAll(dir, 0o755)
		if out, err := exec.Command(torchtest.Python(t), "-c", prog, dir, n).CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	bad := filepath.Join("kitchen_train_lmdb", "0000000000000000000000000000000000000003")
	cfg := DefaultConfig(LSUN)
	cfg.Root, cfg.Classes, cfg.ImageSize = filepath.Join(root, "20001"), "kitchen", 32
	d, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("a large split opens without reading its images: %v", err)
	}
	if d.Len() != 20001 {
		t.Fatalf("%d images, want 20001", d.Len())
	}
	if _, err := d.Sample(2, 1, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Sample(3, 1, 0); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "WebP") {
		t.Fatalf("reading the damaged image: %v, want an error naming %s", err, bad)
	}
	cfg.SkipInvalid = true
	if d, err = Open(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	if s, err := d.Sample(3, 1, 0); err != nil || s.A.W != 32 {
		t.Fatalf("skip_invalid: %v", err)
	}
	cfg.SkipInvalid, cfg.Root = false, filepath.Join(root, "50")
	_, err = Open(context.Background(), cfg, nil)
	var ie *InvalidFilesError
	if !errors.As(err, &ie) || len(ie.Files) != 1 || !strings.Contains(err.Error(), bad) {
		t.Fatalf("a small split is checked on open: %v, want the damaged image %s", err, bad)
	}
}

// TestLSUNErrors: a missing category, an unknown one, data.classes on
// another dataset, a database given as data.root, a zip not unpacked, no
// data.root and a damaged database each name what is wrong.
func TestLSUNErrors(t *testing.T) {
	root := t.TempDir()
	makeLSUN(t, root, "--classes", "tower", "--count", "3")
	testDB := filepath.Join(t.TempDir(), "test_lmdb") // LSUN's test set, given as data.root
	os.Mkdir(testDB, 0o755)
	os.WriteFile(filepath.Join(testDB, "data.mdb"), nil, 0o644)
	zipped := t.TempDir()
	os.WriteFile(filepath.Join(zipped, "bedroom_train_lmdb.zip"), []byte("PK"), 0o644)
	open := func(mod func(*Config)) error {
		cfg := DefaultConfig(LSUN)
		cfg.Root = root
		mod(&cfg)
		_, err := Open(context.Background(), cfg, nil)
		return err
	}
	for _, c := range []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"missing category", func(c *Config) { c.Classes = "tower,bridge" }, []string{"data.root", "bridge_train_lmdb", "download.py -c bridge"}},
		{"default bedroom missing", func(c *Config) {}, []string{"bedroom_train_lmdb"}},
		{"missing split", func(c *Config) { c.Classes, c.Phase = "tower", "val" }, []string{"tower_val_lmdb"}},
		{"unknown category", func(c *Config) { c.Classes = "tower,castle" }, []string{"data.classes", `unknown LSUN category "castle"`, "church_outdoor"}},
		{"twice", func(c *Config) { c.Classes = "tower,tower" }, []string{"data.classes", "listed twice"}},
		{"torchvision's database name", func(c *Config) { c.Classes = "tower,bedroom_train" }, []string{"data.classes", `"bedroom_train" is torchvision LSUN's name of a database: data.classes takes the category (bedroom), and data.phase picks its split (train)`}},
		{"torchvision's test set", func(c *Config) { c.Classes = "test" }, []string{"data.classes", `"test" is torchvision LSUN's test set, test_lmdb, not a category: data.phase=test reads it`}},
		{"classes on a folder", func(c *Config) { c.Dataset, c.Classes = Folder, "tower" }, []string{"data.classes", "only applies to data.dataset=lsun"}},
		// main.py's --dataroot is the folder holding the databases
		{"a database as data.root", func(c *Config) { c.Root = filepath.Join(root, "tower_train_lmdb") },
			[]string{"is an LSUN database itself (it holds data.mdb)", "set data.root to " + root + ",", "(data.classes=tower, data.phase=train read tower_train_lmdb)"}},
		{"the test database as data.root", func(c *Config) { c.Root = testDB },
			[]string{"is an LSUN database itself", "set data.root to " + filepath.Dir(testDB) + ", where bedroom_train_lmdb is looked for (data.phase=test reads test_lmdb)"}},
		{"a zip not unpacked", func(c *Config) { c.Root = zipped }, []string{"has bedroom_train_lmdb.zip but no bedroom_train_lmdb/: unzip it there"}},
		{"no root", func(c *Config) { c.Root = filepath.Join(root, "nope") }, []string{"data.root", "no such folder"}},
	} {
		err := open(c.mod)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v, want an error saying %q", c.name, err, w)
			}
		}
	}
	data := filepath.Join(root, "tower_train_lmdb", "data.mdb")
	b, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(data, b[:8192], 0o644)
	if err := open(func(c *Config) { c.Classes = "tower" }); err == nil || !strings.Contains(err.Error(), data) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("a truncated database: %v, want an error naming %s", err, data)
	}
	// an unzip cut short: the folder without its data.mdb; a file where
	// the folder should be
	os.Remove(data)
	if err := open(func(c *Config) { c.Classes = "tower" }); err == nil || !strings.Contains(err.Error(), "tower_train_lmdb has no data.mdb, the database file") {
		t.Errorf("no data.mdb: %v", err)
	}
	os.RemoveAll(filepath.Join(root, "tower_train_lmdb"))
	os.WriteFile(filepath.Join(root, "tower_train_lmdb"), b, 0o644)
	if err := open(func(c *Config) { c.Classes = "tower" }); err == nil || !strings.Contains(err.Error(), "tower_train_lmdb is a file, not an LSUN database's folder") {
		t.Errorf("a file for the database folder: %v", err)
	}
}

// TestLSUNLabelsReachBatches: a batch's labels are the images' categories,
// also for an image read in place of a damaged one (data.skip_invalid): the
// next category's; and for the images kept when a damaged one is dropped on
// open.
func TestLSUNLabelsReachBatches(t *testing.T) {
	root := t.TempDir()
	prog := `import io, lmdb, sys
from PIL import Image
def webp(c):
    b = io.BytesIO()
    Image.new("RGB", (8, 6), c).save(b, "WEBP", lossless=True)
    return b.getvalue()
for name, values in (("tower", [webp((9, 9, 9)), webp((80, 80, 80)), webp((200, 0, 0))[:30]]), ("bridge", [webp((0, 200, 0)), webp((0, 0, 200))])):
    env = lmdb.open(sys.argv[1] + "/" + name + "_train_lmdb")
    with env.begin(write=True) as t:
        for i, v in enumerate(values):
            t.put(b"%040d" % i, v)
`
	if out, err := exec.Command(torchtest.Python(t), "-c", prog, root).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	cfg := DefaultConfig(LSUN)
	cfg.Root, cfg.Classes, cfg.ImageSize, cfg.BatchSize, cfg.Shuffle, cfg.Workers = root, "tower,bridge", 32, 5, false, 0
	cfg.Validate, cfg.SkipInvalid = "header", true // the damaged image's header is whole: it fails when read
	l, err := OpenLoader(context.Background(), cfg, 1, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	b, err := l.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	if want := []int64{0, 0, 1, 1, 1}; !slices.Equal(b.Labels, want) {
		t.Fatalf("labels %v, want %v (tower's third image is damaged: bridge's first is read for it)", b.Labels, want)
	}
	// Checked whole on open, the damaged image is dropped there with its label.
	cfg.Validate = "full"
	d2, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	var got []int
	for i := range d2.Len() {
		s, err := d2.Sample(i, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s.Label)
	}
	if want := []int{0, 0, 1, 1}; !slices.Equal(got, want) || len(d2.Skipped()) != 1 {
		t.Fatalf("validated on open: labels %v (want %v), %d skipped", got, want, len(d2.Skipped()))
	}
}
