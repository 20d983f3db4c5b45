package dcgan

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
)

// TestNoiseKeepsItsMemory: the noise of a smaller batch (an epoch's last)
// is the first rows of the full batch's tensor, which stays where it is, so
// that a CUDA graph captured on full batches reads its noise where it
// always was; each draw is the batch's own count of normal draws
// (main.py's torch.randn(b_size, nz, 1, 1)).
func TestNoiseKeepsItsMemory(t *testing.T) {
	torch.LockThread()
	sc := torch.NewScope()
	defer sc.Close()
	cfg, err := config.LoadConfig("", []string{"model.ngf=4", "model.ndf=4", "data.image_size=32", "data.batch_size=8",
		"device=cpu", "out=" + filepath.Join(t.TempDir(), "run")})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := New(gan.Env{Config: cfg, Device: torch.CPUDevice, Precision: gan.NewPrecision("", torch.CPUDevice)})
	if err != nil {
		t.Fatal(err)
	}
	r := rec.(*DCGAN)
	defer gan.Free(r)
	r.DrawStep(8)
	buf := r.noiseBuf
	for _, n := range []int64{4, 8, 3} {
		torch.ManualSeed(uint64(n))
		r.DrawStep(n)
		if r.noiseBuf != buf {
			t.Fatalf("a batch of %d moved the noise's memory", n)
		}
		torch.ManualSeed(uint64(n))
		want := torch.Randn(torch.Float32, torch.CPUDevice, n, r.nz, 1, 1).Float32s()
		if got := r.mine.Float32s(); !slices.Equal(got, want) || !slices.Equal(r.mine.Shape(), []int64{n, r.nz, 1, 1}) {
			t.Fatalf("a batch of %d: noise %v of shape %v, not torch.randn(%d, nz, 1, 1)", n, got[:3], r.mine.Shape(), n)
		}
		if got := buf.Narrow(0, 0, n).Float32s(); !slices.Equal(got, want) {
			t.Fatalf("a batch of %d: its noise is not the buffer's first rows", n)
		}
	}
}

// TestFixedNoiseTooLargeSaysWhatToLower: data.batch_size rows of fixed
// noise that cannot be allocated (a batch_size past the dataset, which
// drop_last=false accepts) names the key, not libtorch's message alone.
func TestFixedNoiseTooLargeSaysWhatToLower(t *testing.T) {
	torch.LockThread()
	cfg, err := config.LoadConfig("", []string{"model.ngf=4", "model.ndf=4", "data.image_size=32", "data.batch_size=1000000000", "device=cpu"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(gan.Env{Config: cfg, Device: torch.CPUDevice, Precision: gan.NewPrecision("", torch.CPUDevice)})
	if err == nil || !strings.Contains(err.Error(), "data.batch_size × model.nz = 1000000000 × 100") || !strings.Contains(err.Error(), "lower data.batch_size") {
		t.Fatalf("fixed noise of 1e9 rows: %v", err)
	}
}
