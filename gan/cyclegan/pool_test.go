package cyclegan

import (
	"encoding/base64"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/gan/imagepool"
	"gogan/mtrand"
	"gogan/report"
)

// TestPoolDrawsInCheckpoints: the pools' generator state is kept in the
// checkpoint's host state: Python's random (a resumed run goes on with its
// draws), or in a checkpoint of an older gogan, the PCG it drew from, which
// the resumed run goes on with (and keeps in its own checkpoints); a state
// with neither is refused.
func TestPoolDrawsInCheckpoints(t *testing.T) {
	torch.LockThread()
	sc := torch.NewScope()
	defer sc.Close()
	recipe := func() *CycleGAN {
		return &CycleGAN{draw: imagepool.PythonRand{Python: mtrand.NewPython(5)},
			poolA: imagepool.New(2, []int64{1, 1, 1}, torch.CPUDevice, true), poolB: imagepool.New(2, []int64{1, 1, 1}, torch.CPUDevice, true)}
	}
	a := recipe()
	for range 7 {
		a.draw.Float64()
	}
	raw, err := a.SaveHostState()
	if err != nil {
		t.Fatal(err)
	}
	b := recipe()
	if err := b.LoadHostState(raw); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if x, y := a.draw.IntN(50), b.draw.IntN(50); x != y {
			t.Fatalf("draw %d after the resume: %d, the saved run's %d", i, y, x)
		}
	}
	pcg := rand.NewPCG(9, 0x6379636c6567616e)
	old := rand.New(pcg)
	old.Float64()
	st, _ := pcg.MarshalBinary()
	c := recipe()
	if err := c.LoadHostState([]byte(`{"pool_A": 1, "pool_B": 2, "rng": "` + base64.StdEncoding.EncodeToString(st) + `"}`)); err != nil {
		t.Fatal(err)
	}
	if c.poolA.Len() != 1 || c.poolB.Len() != 2 {
		t.Errorf("pools hold %d and %d images, want 1 and 2", c.poolA.Len(), c.poolB.Len())
	}
	for i := range 20 {
		if x, y := old.IntN(50), c.draw.IntN(50); x != y {
			t.Fatalf("draw %d after resuming an older checkpoint: %d, its PCG's %d", i, y, x)
		}
	}
	raw, _ = c.SaveHostState()
	if !strings.Contains(string(raw), `"rng"`) || strings.Contains(string(raw), "python_random") {
		t.Errorf("a run resumed from a PCG checkpoint saves %s", raw)
	}
	if err := c.LoadHostState([]byte(`{"pool_A": 0, "pool_B": 0}`)); err == nil {
		t.Error("a host state without a generator was taken")
	}
}

// TestInterleaveSizes: a sample grid column of A images and B images of
// other sizes (a preprocess that keeps each image's size) centres both on
// black planes of the larger height and width, instead of cutting B by A's
// size (which panicked at the first epoch's end).
func TestInterleaveSizes(t *testing.T) {
	a := report.Images{N: 1, C: 1, H: 2, W: 4, Data: []float32{1, 2, 3, 4, 5, 6, 7, 8}}
	b := report.Images{N: 1, C: 3, H: 3, W: 2, Data: make([]float32, 18)}
	for i := range b.Data {
		b.Data[i] = 0.5
	}
	out := interleave(a, b)
	if out.N != 2 || out.C != 3 || out.H != 3 || out.W != 4 || len(out.Data) != 2*3*3*4 {
		t.Fatalf("interleaved %dx%dx%dx%d (%d values), want 2x3x3x4", out.N, out.C, out.H, out.W, len(out.Data))
	}
	// A (gray, as RGB): rows 0-1 of the 3, B: columns 1-2 of the 4.
	wantA := []float32{1, 2, 3, 4, 5, 6, 7, 8, -1, -1, -1, -1}
	wantB := []float32{-1, 0.5, 0.5, -1, -1, 0.5, 0.5, -1, -1, 0.5, 0.5, -1}
	for c := range 3 {
		if got := out.Data[c*12 : (c+1)*12]; !slices.Equal(got, wantA) {
			t.Errorf("A channel %d: %v, want %v", c, got, wantA)
		}
		if got := out.Data[36+c*12 : 36+(c+1)*12]; !slices.Equal(got, wantB) {
			t.Errorf("B channel %d: %v, want %v", c, got, wantB)
		}
	}
}
