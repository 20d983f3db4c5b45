package data

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// smallFashion is 1000 Fashion-MNIST images with a random crop and flip, so
// that augmentation randomness shows in the batches.
func smallFashion(t testing.TB) *Dataset {
	t.Helper()
	fashionRoot(t)
	cfg := DefaultConfig(FashionMNIST)
	cfg.MaxSamples = 1000
	cfg.Preprocess, cfg.LoadSize, cfg.CropSize, cfg.NoFlip = ResizeAndCrop, 32, 28, false
	d, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

type batchRec struct {
	Epoch, Index int
	Indices      []int
	Labels       []int64
	A            []float32
}

// collect reads n batches (io.EOF marks an epoch end and is recorded as nil).
func collect(t testing.TB, l *Loader, n int) []*batchRec {
	t.Helper()
	var out []*batchRec
	for len(out) < n {
		b, err := l.Next(context.Background())
		if err == io.EOF {
			out = append(out, nil)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &batchRec{b.Epoch, b.Index, b.Indices, b.Labels, slices.Clone(b.Tensor("A").F32)})
		b.Release()
	}
	return out
}

func equalRecs(t *testing.T, what string, a, b []*batchRec) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d vs %d batches", what, len(a), len(b))
	}
	for i := range a {
		if (a[i] == nil) != (b[i] == nil) {
			t.Fatalf("%s: step %d: epoch ends differ", what, i)
		}
		if a[i] == nil {
			continue
		}
		if a[i].Epoch != b[i].Epoch || a[i].Index != b[i].Index || !slices.Equal(a[i].Indices, b[i].Indices) ||
			!slices.Equal(a[i].Labels, b[i].Labels) || !slices.Equal(a[i].A, b[i].A) {
			t.Fatalf("%s: step %d (epoch %d batch %d) differs", what, i, a[i].Epoch, a[i].Index)
		}
	}
}

func TestLoaderDeterministic(t *testing.T) {
	d := smallFashion(t)
	run := func(workers, prefetch int) []*batchRec {
		l, err := NewLoader(d, LoaderOptions{BatchSize: 64, Workers: workers, Prefetch: prefetch, Shuffle: true, Seed: 42})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return collect(t, l, 40) // 16 batches per epoch: crosses two epoch ends
	}
	ref := run(0, 0) // built in Next itself
	equalRecs(t, "1 worker", ref, run(1, 1))
	equalRecs(t, "4 workers", ref, run(4, 3))
	equalRecs(t, "3 workers", ref, run(3, 0))
	if ref[16] != nil || ref[33] != nil {
		t.Fatal("io.EOF not after 16 batches")
	}
	if ref[0].Epoch != 0 || ref[17].Epoch != 1 || ref[17].Index != 0 {
		t.Fatalf("positions: %+v %+v", ref[0], ref[17])
	}
	if slices.Equal(ref[0].Indices, ref[17].Indices) {
		t.Error("epochs 0 and 1 have the same order")
	}
	// Every sample once per epoch; the last batch is short without drop_last.
	var seen []int
	for _, r := range ref[:16] {
		seen = append(seen, r.Indices...)
	}
	slices.Sort(seen)
	for i, v := range seen {
		if v != i {
			t.Fatalf("epoch 0 misses sample %d", i)
		}
	}
	if len(ref[15].Indices) != 1000%64 {
		t.Errorf("last batch has %d samples", len(ref[15].Indices))
	}
	for _, l := range ref[0].Labels {
		if l < 0 || l > 9 {
			t.Fatalf("label %d", l)
		}
	}
	// A different seed gives different batches.
	l, _ := NewLoader(d, LoaderOptions{BatchSize: 64, Workers: 2, Prefetch: 2, Shuffle: true, Seed: 43})
	other := collect(t, l, 1)
	l.Close()
	if slices.Equal(other[0].Indices, ref[0].Indices) {
		t.Error("seed does not change the order")
	}
}

func TestLoaderResume(t *testing.T) {
	d := smallFashion(t)
	o := LoaderOptions{BatchSize: 100, Workers: 2, Prefetch: 3, Shuffle: true, DropLast: true, Seed: 7}
	l, _ := NewLoader(d, o)
	ref := collect(t, l, 25) // 10 per epoch + EOF
	l.Close()
	for _, stop := range []int{0, 4, 10, 11, 17} {
		l, _ := NewLoader(d, o)
		collect(t, l, stop)
		st := l.State()
		l.Close()
		js, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		var back LoaderState
		if err := json.Unmarshal(js, &back); err != nil {
			t.Fatal(err)
		}
		o2 := o
		o2.Seed = 999 // the state's seed wins
		o2.Workers = 3
		l2, _ := NewLoader(d, o2)
		if err := l2.Restore(back); err != nil {
			t.Fatal(err)
		}
		// After an epoch's last batch the state already points at the next
		// epoch, so a resumed loader does not return a stray io.EOF.
		want := ref[stop:]
		if stop == 10 {
			want = ref[11:]
		}
		got := collect(t, l2, len(want))
		l2.Close()
		equalRecs(t, "resumed at "+string(js), want, got)
	}
	// Restoring mid-run drops the prefetched batches.
	l, _ = NewLoader(d, o)
	collect(t, l, 3)
	if err := l.Restore(LoaderState{Epoch: 1, Batch: 2, Seed: 7, Samples: 1000, BatchSize: 100, DropLast: true, Shuffle: true}); err != nil {
		t.Fatal(err)
	}
	equalRecs(t, "restore while running", ref[13:16], collect(t, l, 3))
	// A running loader with another seed, restored, forgets its own order.
	o3 := o
	o3.Seed = 8
	l3, _ := NewLoader(d, o3)
	collect(t, l3, 12)
	if err := l3.Restore(LoaderState{Epoch: 1, Batch: 2, Seed: 7, Samples: 1000, BatchSize: 100, DropLast: true, Shuffle: true}); err != nil {
		t.Fatal(err)
	}
	equalRecs(t, "restore with another seed", ref[13:16], collect(t, l3, 3))
	l3.Close()
	l.Close()
	if err := l.Restore(LoaderState{Samples: 999, BatchSize: 100, DropLast: true, Shuffle: true}); err == nil {
		t.Error("restore on a different dataset should fail")
	}
	// A position past the epoch's end (10 batches) is no loader's: refused,
	// where Next would read past the epoch's order.
	if err := l.Restore(LoaderState{Batch: 11, Seed: 7, Samples: 1000, BatchSize: 100, DropLast: true, Shuffle: true}); err == nil ||
		!strings.Contains(err.Error(), "cannot resume at epoch 0 batch 11 (10 batches per epoch)") {
		t.Errorf("restore at batch 11 of 10: %v", err)
	}
	if err := l.Restore(LoaderState{Epoch: -1, Seed: 7, Samples: 1000, BatchSize: 100, DropLast: true, Shuffle: true}); err == nil {
		t.Error("restore at epoch -1 accepted")
	}
	// Another drop_last, order or batch size makes other epochs of other
	// batches than the checkpoint's run had: refused, each named.
	for _, st := range []LoaderState{
		{Samples: 1000, BatchSize: 100, DropLast: false, Shuffle: true},
		{Samples: 1000, BatchSize: 100, DropLast: true, Shuffle: false},
		{Samples: 1000, BatchSize: 50, DropLast: true, Shuffle: true},
	} {
		err := l.Restore(st)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("batch_size %d, drop_last %v, shuffle %v", st.BatchSize, st.DropLast, st.Shuffle)) {
			t.Errorf("restore of %+v on batch_size 100, drop_last, shuffle: %v", st, err)
		}
	}
}

func TestLoaderOptions(t *testing.T) {
	d := smallFashion(t)
	// No shuffle: samples in order.
	l, _ := NewLoader(d, LoaderOptions{BatchSize: 300, Workers: 2, Prefetch: 2})
	recs := collect(t, l, 5)
	l.Close()
	if recs[0].Indices[0] != 0 || recs[1].Indices[0] != 300 || len(recs[3].Indices) != 100 || recs[4] != nil {
		t.Errorf("unshuffled order wrong")
	}
	// drop_last.
	l, _ = NewLoader(d, LoaderOptions{BatchSize: 300, Workers: 2, Prefetch: 2, DropLast: true})
	if l.BatchesPerEpoch() != 3 {
		t.Errorf("drop_last: %d batches", l.BatchesPerEpoch())
	}
	l.Close()
	if _, err := NewLoader(d, LoaderOptions{BatchSize: 2000, Workers: 1, Prefetch: 1, DropLast: true}); err == nil {
		t.Error("batch larger than the dataset with drop_last should fail")
	}
	// uint8 batches hold the values the float batches normalise.
	lf, _ := NewLoader(d, LoaderOptions{BatchSize: 10, Workers: 2, Prefetch: 2, Shuffle: true, Seed: 1})
	lu, _ := NewLoader(d, LoaderOptions{BatchSize: 10, Workers: 2, Prefetch: 2, Shuffle: true, Seed: 1, DType: "uint8"})
	bf, _ := lf.Next(context.Background())
	bu, _ := lu.Next(context.Background())
	if bu.Tensor("A").F32 != nil || len(bu.Tensor("A").U8) != 10*28*28 || bf.Tensor("A").Shape != [4]int{10, 1, 28, 28} {
		t.Fatalf("uint8 batch %v %d", bu.Tensor("A").Shape, len(bu.Tensor("A").U8))
	}
	for i, v := range bu.Tensor("A").U8 {
		if bf.Tensor("A").F32[i] != normLUT[v] || bf.Tensor("A").F32[i] < -1 || bf.Tensor("A").F32[i] > 1 {
			t.Fatalf("value %d: %v vs %v", i, bf.Tensor("A").F32[i], v)
		}
	}
	lf.Close()
	lu.Close()
}

// countingAlloc checks that every buffer handed out comes back.
type countingAlloc struct {
	mu          sync.Mutex
	live        map[*byte]int
	allocs, max int
}

func (a *countingAlloc) Alloc(n int) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.allocs > 1000 {
		return nil, errors.New("out of pinned memory")
	}
	b := make([]byte, n)
	a.live[unsafe.SliceData(b)] = n
	a.allocs++
	a.max = max(a.max, len(a.live))
	return b, nil
}

func (a *countingAlloc) Release(b []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.live, unsafe.SliceData(b))
}

func TestLoaderAllocator(t *testing.T) {
	d := smallFashion(t)
	a := &countingAlloc{live: map[*byte]int{}}
	l, _ := NewLoader(d, LoaderOptions{BatchSize: 50, Workers: 2, Prefetch: 2, Shuffle: true, Allocator: a})
	collect(t, l, 30)
	l.Close() // releases what was prefetched
	if len(a.live) != 0 {
		t.Errorf("%d buffers not released", len(a.live))
	}
	// In flight at once: workers x prefetch, plus the one the consumer holds.
	if a.max > 2*2+1 {
		t.Errorf("%d buffers live at once with 2 workers, prefetch 2", a.max)
	}
	// The sizes the allocator was asked for are the ones BatchBytes lists.
	o := LoaderOptions{BatchSize: 64, Workers: 2, Prefetch: 2, DType: "float32"}
	if got := d.BatchBytes(o); !slices.Equal(got, []int{64 * 28 * 28 * 4, (1000 % 64) * 28 * 28 * 4}) {
		t.Errorf("BatchBytes %v", got)
	}
	o.DropLast, o.DType = true, "uint8"
	if got := d.BatchBytes(o); !slices.Equal(got, []int{64 * 28 * 28}) || o.InFlight() != 4 {
		t.Errorf("BatchBytes %v, InFlight %d", got, o.InFlight())
	}
	// An allocator error reaches Next.
	a.allocs = 2000
	l, _ = NewLoader(d, LoaderOptions{BatchSize: 50, Workers: 2, Prefetch: 4, Allocator: a})
	if _, err := l.Next(context.Background()); err == nil || !strings.Contains(err.Error(), "out of pinned memory") {
		t.Errorf("allocator error: %v", err)
	}
	l.Close()
	// The default allocator reuses released buffers.
	l, _ = NewLoader(d, LoaderOptions{BatchSize: 50, Workers: 1, Prefetch: 1})
	seen := map[*float32]bool{}
	for range 10 {
		b, err := l.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		seen[unsafe.SliceData(b.Tensor("A").F32)] = true
		b.Release()
	}
	l.Close()
	if len(seen) > 3 {
		t.Errorf("default allocator used %d buffers for 10 batches", len(seen))
	}
}

func TestLoaderPairsAndVariableSizes(t *testing.T) {
	dir := facadesDir(t)
	cfg := DefaultConfig(Aligned)
	cfg.Root, cfg.BatchSize, cfg.Workers, cfg.Validate = dir, 4, 2, "header"
	l, err := OpenLoader(context.Background(), cfg, 1, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if b.Tensor("A").Shape != [4]int{4, 3, 256, 256} || b.Tensor("B").Shape != b.Tensor("A").Shape || b.Labels != nil {
		t.Errorf("shapes %v %v", b.Tensor("A").Shape, b.Tensor("B").Shape)
	}
	l.Close()
	// preprocess none keeps each image's size rounded to a multiple of 4 with
	// Python's round half to even (30x22 -> 32x24, 41x17 -> 40x16):
	// fine with batch_size 1, refused with more when sizes differ.
	tmp := t.TempDir()
	write(t, tmp+"/a.png", encode(t, "png", gradient(30, 22)))
	write(t, tmp+"/b.png", encode(t, "png", gradient(41, 17)))
	fc := DefaultConfig(Folder)
	fc.Root, fc.Preprocess, fc.BatchSize = tmp, PreprocessNone, 2
	_, err = OpenLoader(context.Background(), fc, 1, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "data.batch_size: 2: images come out in different sizes") {
		t.Errorf("variable sizes: %v", err)
	}
	fc.BatchSize = 1
	l, err = OpenLoader(context.Background(), fc, 1, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	b1, _ := l.Next(context.Background())
	b2, _ := l.Next(context.Background())
	shapes := [][4]int{b1.Tensor("A").Shape, b2.Tensor("A").Shape}
	if !slices.Contains(shapes, [4]int{1, 3, 24, 32}) || !slices.Contains(shapes, [4]int{1, 3, 16, 40}) {
		t.Errorf("preprocess none shapes %v", shapes)
	}
}

// TestEpochsDrawAnew: a sample's own crop and flip are drawn for each
// epoch, so that an unshuffled run (the same samples in each batch) still
// sees each image augmented anew, as the references' workers draw anew.
func TestEpochsDrawAnew(t *testing.T) {
	d := smallFashion(t)
	l, err := NewLoader(d, LoaderOptions{BatchSize: 1000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	recs := collect(t, l, 4) // epoch 0's one batch, its end, epoch 1's, its end
	e0, e1 := recs[0], recs[2]
	if e0 == nil || e1 == nil || e1.Epoch != 1 || !slices.Equal(e0.Indices, e1.Indices) {
		t.Fatal("not one batch of the same samples per epoch")
	}
	n := len(e0.A) / 1000
	same := 0
	for i := range 1000 {
		if slices.Equal(e0.A[i*n:(i+1)*n], e1.A[i*n:(i+1)*n]) {
			same++
		}
	}
	// 5 x 5 crop positions and a flip: 1 in 50 alike by chance
	if same > 100 {
		t.Errorf("%d of 1000 samples are cropped and flipped as in epoch 0 again in epoch 1", same)
	}
}
