package imagepool

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/cgo/torchtest"
)

// TestImagePoolQuery follows util/image_pool.py's query image by image:
// while the pool fills every image goes in and comes straight back; once
// full, a uniform draw above 0.5 swaps the image with a random stored one
// (the stored one comes back), else the image comes back and the pool keeps
// its contents. The draws are replayed from the same generator here. Both
// queries: picks read on the device (images of the buffer's size) and cut
// on the host (images of several sizes). The device query depends on the
// picks tensor and the buffer alone, as a CUDA graph's replay does: run
// again on the same buffer (as the graph's warm-up steps, undone) it gives
// the same images.
func TestImagePoolQuery(t *testing.T) {
	torch.LockThread()
	for _, uniform := range []bool{true, false} {
		sc := torch.NewScope()
		const size = 3
		p := New(size, []int64{1, 1, 1}, torch.CPUDevice, uniform)
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
			p.Draw(2, r)
			if uniform {
				before, n := p.images.Clone(), p.n
				again := p.Query(x).Float32s()
				p.images.CopyFrom(before)
				if p.n != n {
					t.Fatalf("query %d changed the count from %d to %d: it is the draw's", q, n, p.n)
				}
				if got := p.Query(x).Float32s(); !slices.Equal(got, again) {
					t.Fatalf("query %d on the same buffer and picks: %v, then %v", q, again, got)
				}
				p.images.CopyFrom(before)
			}
			out := p.Query(x)
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
					t.Fatalf("uniform %v: query %d image %d: got %g, want %g", uniform, q, i, got[i], want)
				}
			}
			if pool := p.images.Float32s(); len(pool) != size || p.n != len(stored) {
				t.Fatalf("query %d: pool holds %d of %d", q, p.n, len(pool))
			} else if !slices.Equal(pool[:len(stored)], stored) {
				t.Fatalf("uniform %v: query %d: pool %v, want %v", uniform, q, pool, stored)
			}
			if want := []int64{1, 1}; !slices.Equal(p.sizes.Int64s()[:2], want) {
				t.Fatalf("uniform %v: slot 0's size %v, want %v", uniform, p.sizes.Int64s()[:2], want)
			}
		}
		if swaps == 0 || keeps == 0 {
			t.Fatalf("%d swaps and %d keeps: both paths must run", swaps, keeps)
		}
		if err := torch.Try(func() { p.Query(torch.Zeros(torch.Float32, torch.CPUDevice, 3, 1, 1, 1)) }); err == nil || !strings.Contains(err.Error(), "picks drawn for 2") {
			t.Errorf("a query of another batch size than the draw's: %v", err)
		}
		// A checkpoint of a larger pool (train.pool_size made smaller since)
		// keeps as many as this one holds, and says so; one that fills it
		// exactly loses nothing, and says nothing. A negative count is damage.
		logs := torchtest.CaptureLogs(t)
		if _, err := p.Restore(size, false); err != nil || p.n != size || logs.Len() != 0 {
			t.Fatalf("a count of the pool size: %v, count %d (want %d), logs %q (want none)", err, p.n, size, logs)
		}
		if _, err := p.Restore(size+1, false); err != nil || p.n != size || !strings.Contains(logs.String(), "the pool keeps the first ones") || !strings.Contains(logs.String(), "images=4 kept=3") {
			t.Fatalf("a count above the pool size: %v, count %d (want %d), logs %q (want a warning that it keeps 3 of 4)", err, p.n, size, logs)
		}
		if _, err := p.Restore(-1, false); err == nil {
			t.Fatal("a negative count was accepted")
		}
		// A checkpoint's buffer of another image size (another crop size) was
		// not copied in: the pool starts empty, rather than full of zeros.
		if empty, err := p.Restore(size, true); err != nil || !empty || p.n != 0 || slices.ContainsFunc(p.sizes.Int64s(), func(v int64) bool { return v != 0 }) {
			t.Fatalf("another buffer shape: empty %v, %v, count %d, sizes %v (want an empty pool)", empty, err, p.n, p.sizes.Int64s())
		}
		p.Free()
		sc.Close()
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
	p := New(2, []int64{1, 3, 4}, torch.CPUDevice, false)
	defer p.Free()
	img := func(h, w int64, v float32) *torch.Tensor {
		return torch.Full(float64(v), torch.Float32, torch.CPUDevice, 1, 1, h, w)
	}
	always := swapRand{slot: 0}
	query := func(x *torch.Tensor) *torch.Tensor {
		p.Draw(1, always)
		return p.Query(x)
	}
	if out := query(img(2, 4, 1)); !slices.Equal(out.Shape(), []int64{1, 1, 2, 4}) {
		t.Fatalf("filling: %v", out.Shape())
	}
	query(img(3, 2, 2))
	// Full: image 1 (2x4) comes back for a 3x4 one, which takes slot 0.
	out := query(img(3, 4, 3))
	if !slices.Equal(out.Shape(), []int64{1, 1, 2, 4}) || out.Float32s()[0] != 1 {
		t.Fatalf("swap: got %v %v, want the first image, 2x4 of 1", out.Shape(), out.Float32s())
	}
	// A 5x5 fake grows the buffer; slot 1 (3x2 of 2) comes back as it was.
	always.slot = 1
	out = query(img(5, 5, 4))
	if !slices.Equal(p.images.Shape(), []int64{2, 1, 5, 5}) || !slices.Equal(out.Shape(), []int64{1, 1, 3, 2}) || out.Float32s()[5] != 2 {
		t.Fatalf("growing: buffer %v, got %v %v", p.images.Shape(), out.Shape(), out.Float32s())
	}
	// A resumed pool: its host state restored, then (as a data-parallel
	// rank's arrive) the images and sizes tensors copied in; the next query
	// reads the sizes.
	q := New(2, []int64{1, 5, 5}, torch.CPUDevice, false)
	defer q.Free()
	if empty, err := q.Restore(2, false); err != nil || empty {
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
	_, err := q.Restore(2, false)
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
	p := New(0, []int64{1, 2, 2}, torch.CPUDevice, true)
	x := torch.Zeros(torch.Float32, torch.CPUDevice, 2, 1, 2, 2)
	p.Draw(2, nil)
	if p.Query(x) != x || p.images != nil {
		t.Fatal("pool size 0 must pass the fakes through and hold nothing")
	}
}

// keepRand never swaps once the pool is full.
type keepRand struct{}

func (keepRand) Float64() float64 { return 0.25 }
func (keepRand) IntN(int) int     { return 0 }

// TestPoolQueryFollowsPicksTensor: a captured step's replays see only the
// device, so the query follows the picks tensor (not the host's picks),
// whose storage stays put between draws of one batch size or a smaller one.
func TestPoolQueryFollowsPicksTensor(t *testing.T) {
	torch.LockThread()
	sc := torch.NewScope()
	defer sc.Close()
	p := New(3, []int64{1, 1, 1}, torch.CPUDevice, true)
	defer p.Free()
	p.Draw(1, keepRand{})
	held := p.picked
	for _, v := range []float32{1, 2, 3} {
		p.Query(torch.FromFloat32([]float32{v}, 1, 1, 1, 1))
		p.Draw(1, keepRand{}) // the last: full, the new image comes back, the pool stays
	}
	if p.picked != held {
		t.Fatal("the picks tensor was reallocated between draws of one batch size")
	}
	// What a replay sees when the next step's picks (slot 2 swapped) are
	// written into the tensor alone.
	p.picked.CopyFrom(torch.FromInt64([]int64{2, 1, 0}, 3, 1))
	got := p.Query(torch.FromFloat32([]float32{9}, 1, 1, 1, 1)).Float32s()
	if !slices.Equal(got, []float32{3}) || !slices.Equal(p.images.Float32s(), []float32{1, 2, 9}) {
		t.Fatalf("the query read the host's picks: got %v, pool %v (want [3], [1 2 9])", got, p.images.Float32s())
	}
	// A smaller batch (an epoch's last) after batches of 2: the same tensor,
	// its first column.
	p.Draw(2, keepRand{})
	p.Query(torch.FromFloat32([]float32{4, 5}, 2, 1, 1, 1))
	held = p.picked
	p.Draw(1, swapRand{slot: 0})
	got = p.Query(torch.FromFloat32([]float32{6}, 1, 1, 1, 1)).Float32s()
	if p.picked != held || !slices.Equal(got, []float32{1}) || !slices.Equal(p.images.Float32s(), []float32{6, 2, 9}) {
		t.Fatalf("a batch of 1 after batches of 2: moved %v, got %v, pool %v (want [1], [6 2 9])", p.picked != held, got, p.images.Float32s())
	}
}

// TestSmallerImagesResumedIntoUniformPool: a checkpoint whose pool held
// images smaller than its slots (data.preprocess none), resumed by a run
// whose images all fill them (a crop of the same size), starts the pool
// empty rather than showing D the old images padded with zeros.
func TestSmallerImagesResumedIntoUniformPool(t *testing.T) {
	torch.LockThread()
	sc := torch.NewScope()
	defer sc.Close()
	saved := New(2, []int64{1, 2, 2}, torch.CPUDevice, false)
	defer saved.Free()
	for range 2 {
		saved.Draw(1, keepRand{})
		saved.Query(torch.Full(7, torch.Float32, torch.CPUDevice, 1, 1, 1, 2)) // 1x2 images
	}
	for _, uniform := range []bool{true, false} {
		p := New(2, []int64{1, 2, 2}, torch.CPUDevice, uniform)
		if _, err := p.Restore(2, false); err != nil {
			t.Fatal(err)
		}
		p.images.CopyFrom(saved.images)
		p.sizes.CopyFrom(saved.sizes)
		p.Draw(1, keepRand{}) // reads the sizes
		if uniform && (p.n != 1 || !slices.Equal(p.sizes.Int64s(), []int64{2, 2, 0, 0})) {
			t.Errorf("uniform pool resumed from smaller images: holds %d, sizes %v (want the next image alone, 2x2)", p.n, p.sizes.Int64s())
		}
		if !uniform && (p.n != 2 || !slices.Equal(p.hw, [][2]int64{{1, 2}, {1, 2}})) {
			t.Errorf("pool of sizes resumed: holds %d, sizes %v (want both images, 1x2)", p.n, p.hw)
		}
		p.Free()
	}
}
