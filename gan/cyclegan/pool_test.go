package cyclegan

import (
	"encoding/base64"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/mtrand"
	"gogan/report"
)

// TestImagePoolQuery follows util/image_pool.py's query image by image:
// while the pool fills every image goes in and comes straight back; once
// full, a uniform draw above 0.5 swaps the image with a random stored one
// (the stored one comes back), else the image comes back and the pool keeps
// its contents. The draws are replayed from the same generator here.
func TestImagePoolQuery(t *testing.T) {
	torch.LockThread()
	sc := torch.NewScope()
	defer sc.Close()
	const size = 3
	p := newImagePool(size, []int64{1, 1, 1}, torch.CPUDevice)
	defer p.free()
	stored := []float32{}            // the pool as the reference keeps it
	r := rand.New(rand.NewPCG(1, 2)) // the pool's draws
	replay := rand.New(rand.NewPCG(1, 2))
	next := float32(1)
	swaps, keeps := 0, 0
	for q := 0; q < 20; q++ {
		batch := []float32{next, next + 1} // distinct values: each image is recognisable
		next += 2
		x := torch.FromFloat32(batch, 2, 1, 1, 1)
		x.SetRequiresGrad(true)
		out := p.query(x, r)
		if out.RequiresGrad() {
			t.Fatal("pooled images must be detached from the generator's graph")
		}
		got := out.Float32s()
		for i, img := range batch {
			var want float32
			switch {
			case len(stored) < size:
				stored = append(stored, img)
				want = img
			case replay.Float64() > 0.5:
				id := replay.IntN(size)
				want, stored[id] = stored[id], img
				swaps++
			default:
				want = img
				keeps++
			}
			if got[i] != want {
				t.Fatalf("query %d image %d: got %g, want %g", q, i, got[i], want)
			}
		}
		if pool := p.images.Float32s(); len(pool) != size || p.n != len(stored) {
			t.Fatalf("query %d: pool holds %d of %d", q, p.n, len(pool))
		} else {
			for i := range stored {
				if pool[i] != stored[i] {
					t.Fatalf("query %d: pool %v, want %v", q, pool, stored)
				}
			}
		}
	}
	if swaps == 0 || keeps == 0 {
		t.Fatalf("%d swaps and %d keeps: both paths must run", swaps, keeps)
	}
	// A checkpoint of a larger pool (train.pool_size made smaller since)
	// keeps as many as this one holds; a negative count is damage.
	if _, err := p.restore(size+1, false); err != nil || p.n != size {
		t.Fatalf("a count above the pool size: %v, count %d (want %d)", err, p.n, size)
	}
	if _, err := p.restore(-1, false); err == nil {
		t.Fatal("a negative count was accepted")
	}
	// A checkpoint's buffer of another image size (another crop size) was
	// not copied in: the pool starts empty, rather than full of zeros.
	if empty, err := p.restore(size, true); err != nil || !empty || p.n != 0 || slices.ContainsFunc(p.sizes.Int64s(), func(v int64) bool { return v != 0 }) {
		t.Fatalf("another buffer shape: empty %v, %v, count %d, sizes %v (want an empty pool)", empty, err, p.n, p.sizes.Int64s())
	}
}

// TestImagePoolOfSizes: with data.preprocess none or scale_width the
// reference's pool (a list) holds fakes of any size at batch 1; gogan's
// keeps each in its slot's corner with its size, gives it back at that
// size, grows when a larger one comes, and a resume restores the sizes
// from the checkpointed tensor.
func TestImagePoolOfSizes(t *testing.T) {
	torch.LockThread()
	sc := torch.NewScope()
	defer sc.Close()
	p := newImagePool(2, []int64{1, 3, 4}, torch.CPUDevice)
	defer p.free()
	img := func(h, w int64, v float32) *torch.Tensor {
		return torch.Full(float64(v), torch.Float32, torch.CPUDevice, 1, 1, h, w)
	}
	always := swapRand{slot: 0}
	if out := p.query(img(2, 4, 1), always); !slices.Equal(out.Shape(), []int64{1, 1, 2, 4}) {
		t.Fatalf("filling: %v", out.Shape())
	}
	p.query(img(3, 2, 2), always)
	// Full: image 1 (2x4) comes back for a 3x4 one, which takes slot 0.
	out := p.query(img(3, 4, 3), always)
	if !slices.Equal(out.Shape(), []int64{1, 1, 2, 4}) || out.Float32s()[0] != 1 {
		t.Fatalf("swap: got %v %v, want the first image, 2x4 of 1", out.Shape(), out.Float32s())
	}
	// A 5x5 fake grows the buffer; slot 1 (3x2 of 2) comes back as it was.
	always.slot = 1
	out = p.query(img(5, 5, 4), always)
	if !slices.Equal(p.images.Shape(), []int64{2, 1, 5, 5}) || !slices.Equal(out.Shape(), []int64{1, 1, 3, 2}) || out.Float32s()[5] != 2 {
		t.Fatalf("growing: buffer %v, got %v %v", p.images.Shape(), out.Shape(), out.Float32s())
	}
	// A resumed pool: its host state restored, then (as a data-parallel
	// rank's arrive) the images and sizes tensors copied in; the next query
	// reads the sizes.
	q := newImagePool(2, []int64{1, 5, 5}, torch.CPUDevice)
	defer q.free()
	if empty, err := q.restore(2, false); err != nil || empty {
		t.Fatalf("restore: %v, empty %v", err, empty)
	}
	q.images.CopyFrom(p.images)
	q.sizes.CopyFrom(p.sizes)
	q.readSizes()
	if !slices.Equal(q.hw, [][2]int64{{3, 4}, {5, 5}}) || !slices.Equal(q.slot(0).Shape(), []int64{1, 1, 3, 4}) || q.slot(0).Float32s()[11] != 3 {
		t.Fatalf("restored sizes %v, slot 0 %v", q.hw, q.slot(0).Shape())
	}
	// 0 x 0, as a checkpoint of a gogan before sizes has: the whole slot.
	q.sizes.CopyFrom(torch.Zeros(torch.Int64, torch.CPUDevice, 2, 2))
	_, err := q.restore(2, false)
	q.readSizes()
	if err != nil || !slices.Equal(q.slot(1).Shape(), []int64{1, 1, 5, 5}) {
		t.Fatalf("sizes of an older checkpoint: %v, slot 1 %v", err, q.slot(1).Shape())
	}
}

// swapRand always swaps, with the given slot.
type swapRand struct{ slot int }

func (s swapRand) Float64() float64 { return 0.75 }
func (s swapRand) IntN(int) int     { return s.slot }

// A pool of size 0 returns the fakes themselves.
func TestImagePoolOff(t *testing.T) {
	torch.LockThread()
	sc := torch.NewScope()
	defer sc.Close()
	p := newImagePool(0, []int64{1, 2, 2}, torch.CPUDevice)
	x := torch.Zeros(torch.Float32, torch.CPUDevice, 2, 1, 2, 2)
	if p.query(x, nil) != x || p.images != nil {
		t.Fatal("pool size 0 must pass the fakes through and hold nothing")
	}
}

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
		return &CycleGAN{draw: pythonPoolRand{mtrand.NewPython(5)},
			poolA: newImagePool(2, []int64{1, 1, 1}, torch.CPUDevice), poolB: newImagePool(2, []int64{1, 1, 1}, torch.CPUDevice)}
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
	if c.poolA.n != 1 || c.poolB.n != 2 {
		t.Errorf("pools hold %d and %d images, want 1 and 2", c.poolA.n, c.poolB.n)
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
