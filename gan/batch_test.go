package gan_test

import (
	"math"
	"path/filepath"
	"testing"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
	_ "gogan/gan/all"
)

// TestRandomBatchClasses: gogan bench's synthetic batches draw what each
// input holds: pix2pixHD's label maps class ids in [0, label_nc) (all of
// them, at 2048 pixels), its instance boundaries 0 and 1, images uniform in
// [-1, 1] as before.
func TestRandomBatchClasses(t *testing.T) {
	torch.LockThread()
	cfg, err := config.LoadConfig("", []string{"recipe=pix2pixhd", "data.label_nc=35", "data.load_size=64",
		"data.batch_size=1", "device=cpu", "out=" + filepath.Join(t.TempDir(), "run")})
	if err != nil {
		t.Fatal(err)
	}
	shapes, err := gan.BatchShapes(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"A": 35, "B": 0, "inst": 2}
	if len(shapes) != len(want) {
		t.Fatalf("inputs %+v, want A, B and inst", shapes)
	}
	for _, in := range shapes {
		if in.Classes != want[in.Name] {
			t.Errorf("input %s: Classes %d, want %d", in.Name, in.Classes, want[in.Name])
		}
	}
	b, err := gan.RandomBatch(cfg, torch.CPUDevice)
	if err != nil {
		t.Fatal(err)
	}
	defer gan.FreeBatch(b)
	for name, classes := range want {
		x := b[name]
		if s := x.Shape(); len(s) != 4 || s[0] != 1 || s[2] != 32 || s[3] != 64 {
			t.Fatalf("%s: shape %v, want [1 C 32 64]", name, s)
		}
		seen := map[float32]bool{}
		fractional := false
		for _, v := range x.Float32s() {
			if classes > 0 && (v != float32(math.Floor(float64(v))) || v < 0 || v >= float32(classes)) {
				t.Fatalf("%s: value %g, want an integer in [0, %d)", name, v, classes)
			}
			if classes == 0 && (v < -1 || v > 1) {
				t.Fatalf("%s: value %g outside [-1, 1]", name, v)
			}
			seen[v] = true
			fractional = fractional || v != float32(math.Floor(float64(v)))
		}
		if classes > 0 && len(seen) != classes {
			t.Errorf("%s: %d distinct values, want all %d classes", name, len(seen), classes)
		}
		if classes == 0 && !fractional {
			t.Errorf("%s: only integers, want uniform noise", name)
		}
	}

	// The other recipes' inputs are images.
	cfg, err = config.LoadConfig("", []string{"recipe=pix2pix", "device=cpu", "out=" + filepath.Join(t.TempDir(), "run")})
	if err != nil {
		t.Fatal(err)
	}
	if shapes, err = gan.BatchShapes(cfg); err != nil {
		t.Fatal(err)
	}
	for _, in := range shapes {
		if in.Classes != 0 {
			t.Errorf("pix2pix input %s: Classes %d, want 0 (an image)", in.Name, in.Classes)
		}
	}
}

// TestRandomBatchFreesItsDraws: a synthetic batch holds its tensors' bytes
// and no more once made (gogan bench counts the CPU tensors' peak over its
// timed steps: the draws' intermediates, left to the garbage collector,
// counted twice the batch again).
func TestRandomBatchFreesItsDraws(t *testing.T) {
	torch.LockThread()
	if err := torch.TrackCPUMemory(); err != nil {
		t.Skipf("no CPU tensor count under this libtorch: %v", err)
	}
	for _, sets := range [][]string{
		{"recipe=pix2pix", "data.dataset=aligned", "model.netG=unet_128", "data.crop_size=128", "data.batch_size=4"},
		{"recipe=pix2pixhd", "data.label_nc=35", "data.load_size=64", "data.batch_size=2"},
	} {
		cfg, err := config.LoadConfig("", append(sets, "device=cpu", "out="+filepath.Join(t.TempDir(), "run")))
		if err != nil {
			t.Fatal(err)
		}
		before, _ := torch.CPUMemory()
		b, err := gan.RandomBatch(cfg, torch.CPUDevice)
		if err != nil {
			t.Fatal(err)
		}
		after, _ := torch.CPUMemory()
		var want int64
		for _, x := range b {
			want += x.Numel() * 4 // float32
		}
		gan.FreeBatch(b)
		if after-before != want {
			t.Errorf("%v: %d bytes of CPU tensors held after RandomBatch, want the batch's %d", sets, after-before, want)
		}
	}
}
