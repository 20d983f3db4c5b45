package data

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestLoaderShards: the ranks' batches, side by side in rank order, are the
// batches of one process with a batch World times as large, samples and
// augmentation alike; every rank gets the same number of samples per step
// (the epoch padded to a multiple of the ranks without drop_last).
func TestLoaderShards(t *testing.T) {
	d := smallFashion(t)
	for _, tc := range []struct {
		n, batch, world int
		dropLast        bool
	}{{999, 4, 2, false}, {998, 3, 3, false}, {998, 3, 3, true}, {1000, 7, 2, true}, {1000, 5, 1, false}} {
		d.n = tc.n
		one, err := NewLoader(d, LoaderOptions{BatchSize: tc.batch * tc.world, Shuffle: true, Seed: 5, DropLast: tc.dropLast, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		nb := one.BatchesPerEpoch()
		want := collect(t, one, nb+1)
		var ranks [][]*batchRec
		for r := range tc.world {
			l, err := NewLoader(d, LoaderOptions{BatchSize: tc.batch, Shuffle: true, Seed: 5, DropLast: tc.dropLast, Rank: r, World: tc.world})
			if err != nil {
				t.Fatal(err)
			}
			if l.BatchesPerEpoch() != nb {
				t.Fatalf("%+v: rank %d has %d batches per epoch, one process %d", tc, r, l.BatchesPerEpoch(), nb)
			}
			ranks = append(ranks, collect(t, l, nb+1))
		}
		for b := range nb {
			var idx []int
			var a []float32
			for r := range tc.world {
				got := ranks[r][b]
				if len(got.Indices) != len(ranks[0][b].Indices) {
					t.Fatalf("%+v: batch %d: rank %d has %d samples, rank 0 %d", tc, b, r, len(got.Indices), len(ranks[0][b].Indices))
				}
				idx, a = append(idx, got.Indices...), append(a, got.A...)
			}
			w := want[b]
			if b < nb-1 || tc.dropLast || tc.n%tc.world == 0 {
				if !slices.Equal(idx, w.Indices) || !slices.Equal(a, w.A) {
					t.Fatalf("%+v: batch %d: ranks together have samples %v, one process %v (or other pixels)", tc, b, idx, w.Indices)
				}
			} else if !slices.Equal(idx[:len(w.Indices)], w.Indices) {
				// the padded last batch: one process's samples, then the epoch's first ones again
				t.Fatalf("%+v: last batch: ranks have %v, one process %v", tc, idx, w.Indices)
			}
		}
		if ranks[0][nb] != nil {
			t.Fatalf("%+v: no epoch end after %d batches", tc, nb)
		}
	}
}

// TestLoaderResumeOtherWorld: a position saved with 2 ranks continues with
// 1 after the same samples.
func TestLoaderResumeOtherWorld(t *testing.T) {
	d := smallFashion(t)
	l, err := NewLoader(d, LoaderOptions{BatchSize: 4, Shuffle: true, Seed: 5, DropLast: true, Rank: 1, World: 2})
	if err != nil {
		t.Fatal(err)
	}
	collect(t, l, 10)
	st := l.State()
	if st.World != 2 || st.Batch != 10 {
		t.Fatalf("state %+v: want world 2, batch 10", st)
	}
	one, err := NewLoader(d, LoaderOptions{BatchSize: 4, Shuffle: true, Seed: 5, DropLast: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := one.Restore(st); err != nil {
		t.Fatal(err)
	}
	if got := one.State(); got.Batch != 20 || got.World != 0 {
		t.Fatalf("restored with one rank at %+v, want batch 20 (80 samples seen)", got)
	}
	// 20 samples seen, global batches of 12 on three ranks: the run goes on
	// after them at the next whole global batch (24), training none twice.
	if err := one.Restore(LoaderState{Batch: 5, Seed: 5, Samples: 1000, BatchSize: 4, DropLast: true, Shuffle: true}); err != nil {
		t.Fatal(err)
	}
	three, err := NewLoader(d, LoaderOptions{BatchSize: 4, Shuffle: true, Seed: 5, DropLast: true, Rank: 2, World: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := three.Restore(one.State()); err != nil {
		t.Fatal(err)
	}
	if got := three.State(); got.Batch != 2 || got.World != 3 {
		t.Fatalf("restored on three ranks at %+v, want batch 2 (20 samples seen, rounded up to 24)", got)
	}
}

// TestLoaderPadsAsDistributedSampler: without drop_last the ranks' epoch,
// global batch by global batch, is torch's DistributedSampler's padded
// order, also where the dataset is smaller than the padding (the order
// again from its start, as many times as it takes).
func TestLoaderPadsAsDistributedSampler(t *testing.T) {
	d := smallFashion(t)
	for _, tc := range []struct{ n, world int }{{1, 3}, {3, 8}, {5, 2}, {2, 7}} {
		d.n = tc.n
		out := pil(t, `import sys
from torch.utils.data.distributed import DistributedSampler
n, w = int(sys.argv[1]), int(sys.argv[2])
s = DistributedSampler(range(n), num_replicas=w, rank=0, shuffle=False)
idx = list(range(n))
pad = s.total_size - n
idx += idx[:pad] if pad <= n else (idx * -(-pad // n))[:pad]
print(" ".join(map(str, idx)))`, nil, fmt.Sprint(tc.n), fmt.Sprint(tc.world))
		var got []string
		ranks := make([][]*batchRec, tc.world)
		for r := range tc.world {
			l, err := NewLoader(d, LoaderOptions{BatchSize: 1, Rank: r, World: tc.world})
			if err != nil {
				t.Fatal(err)
			}
			ranks[r] = collect(t, l, l.BatchesPerEpoch())
		}
		for b := range ranks[0] {
			for r := range tc.world {
				for _, i := range ranks[r][b].Indices {
					got = append(got, fmt.Sprint(i))
				}
			}
		}
		if want := strings.Fields(string(out)); !slices.Equal(got, want) {
			t.Errorf("%d samples over %d ranks: the ranks' epoch %v, DistributedSampler's %v", tc.n, tc.world, got, want)
		}
	}
}

// TestLoaderShardsTakeTheReferenceDraws: with the references' draws
// (TorchDraws), the ranks' batches side by side carry the draws of one
// process with the global batch: the DataLoader workers that would draw a
// sample are those of that process's batches, not of a rank's.
func TestLoaderShardsTakeTheReferenceDraws(t *testing.T) {
	cfg := DefaultConfig(Aligned)
	cfg.Root, cfg.Validate, cfg.MaxSamples = facadesDir(t), "header", 24
	cfg.LoadSize, cfg.CropSize, cfg.NoFlip = 40, 32, false
	d := openOK(t, cfg)
	seed := int64(77)
	batches := func(batch, rank, world int) [][]Draws {
		l, err := NewLoader(d, LoaderOptions{BatchSize: batch, Rank: rank, World: world, IndicesOnly: true, TorchDraws: true, ReferenceWorkers: 3})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if err := l.SetEpochStart(0, EpochStart{BaseSeed: &seed}); err != nil {
			t.Fatal(err)
		}
		var out [][]Draws
		for range l.BatchesPerEpoch() {
			b, err := l.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b.Draws)
			b.Release()
		}
		return out
	}
	one := batches(4, 0, 1)
	r0, r1 := batches(2, 0, 2), batches(2, 1, 2)
	if len(r0) != len(one) || len(r1) != len(one) {
		t.Fatalf("%d and %d batches per rank, one process %d", len(r0), len(r1), len(one))
	}
	for b := range one {
		if got := slices.Concat(r0[b], r1[b]); !slices.Equal(got, one[b]) {
			t.Fatalf("batch %d: the ranks' draws %v, one process's %v", b, got, one[b])
		}
	}
}

// TestLoaderTakesTheGivenEpochStart: with TorchDraws a shuffled epoch goes
// through the order SetEpochStart gives (torch's randperm, as the
// references' RandomSampler), padded from its start for the ranks as
// DistributedSampler pads; the state records the start's seeds; an order
// of another length, a shuffled epoch without one and an unshuffled one
// with one are refused; and a Restore forgets the starts given, so that
// the resumed epoch waits for its own.
func TestLoaderTakesTheGivenEpochStart(t *testing.T) {
	d := smallFashion(t)
	d.n = 11
	order := []int{7, 3, 10, 0, 5, 9, 1, 8, 2, 6, 4}
	orderSeed, baseSeed := int64(1234), int64(99)
	start := EpochStart{Order: order, OrderSeed: &orderSeed, BaseSeed: &baseSeed}
	open := func(rank, world int, shuffle bool) *Loader {
		l, err := NewLoader(d, LoaderOptions{BatchSize: 3, Shuffle: shuffle, Seed: 5, Rank: rank, World: world, IndicesOnly: true, TorchDraws: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(l.Close)
		return l
	}
	// the epoch's samples, global batch by global batch, ranks side by side
	epoch := func(ls ...*Loader) []int {
		var got []int
		for range ls[0].BatchesPerEpoch() {
			for _, l := range ls {
				b, err := l.Next(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, b.Indices...)
				b.Release()
			}
		}
		return got
	}
	one := open(0, 1, true)
	if e, needed := one.NeedsEpochStart(); !needed || e != 0 {
		t.Fatalf("a new loader needs epoch %d's start: %v, want epoch 0's", e, needed)
	}
	if _, err := one.Next(context.Background()); err == nil || !strings.Contains(err.Error(), "epoch 0's start was not given") {
		t.Fatalf("Next before the start was given: %v", err)
	}
	if err := one.SetEpochStart(0, start); err != nil {
		t.Fatal(err)
	}
	if st := one.State(); st.OrderSeed == nil || *st.OrderSeed != orderSeed || st.BaseSeed == nil || *st.BaseSeed != baseSeed {
		t.Errorf("state %+v: want the order seed %d and base seed %d given", st, orderSeed, baseSeed)
	}
	if got := epoch(one); !slices.Equal(got, order) {
		t.Errorf("one process's epoch %v, want the order given %v", got, order)
	}
	r0, r1 := open(0, 2, true), open(1, 2, true)
	for _, l := range []*Loader{r0, r1} {
		if err := l.SetEpochStart(0, start); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := epoch(r0, r1), append(slices.Clone(order), order[0]); !slices.Equal(got, want) {
		t.Errorf("two ranks' epoch %v, want the order given padded from its start %v", got, want)
	}
	// Refused: each would give an epoch other than the reference's.
	for _, c := range []struct {
		l    *Loader
		st   EpochStart
		want string
	}{
		{open(0, 1, true), EpochStart{Order: order[:10], BaseSeed: &baseSeed}, "an order of 10 samples for a dataset of 11"},
		{open(0, 1, true), EpochStart{BaseSeed: &baseSeed}, "epoch 0 of a shuffled loader started without its order"},
		{open(0, 1, false), start, "epoch 0 of a loader in order (data.shuffle false) started with a shuffled order"},
	} {
		if err := c.l.SetEpochStart(0, c.st); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("SetEpochStart: %v, want %q", err, c.want)
		}
	}
	// A restored loader waits for the start of its epoch again, and goes
	// on in the order it is then given.
	l := open(0, 1, true)
	if err := l.SetEpochStart(0, start); err != nil {
		t.Fatal(err)
	}
	epoch(l)
	if err := l.Restore(LoaderState{Epoch: 0, Batch: 0, Seed: 5, Samples: 11, BatchSize: 3, Shuffle: true}); err != nil {
		t.Fatal(err)
	}
	if e, needed := l.NeedsEpochStart(); !needed || e != 0 {
		t.Errorf("restored at epoch 0's start: needs epoch %d's start: %v, want epoch 0's", e, needed)
	}
	other := slices.Clone(order)
	slices.Reverse(other)
	if err := l.SetEpochStart(0, EpochStart{Order: other, BaseSeed: &baseSeed}); err != nil {
		t.Fatal(err)
	}
	if got := epoch(l); !slices.Equal(got, other) {
		t.Errorf("restored: epoch %v, want the order given since %v", got, other)
	}
}

// sizesAlloc records the sizes a loader asks for.
type sizesAlloc struct {
	mu    sync.Mutex
	sizes map[int]bool
}

func (a *sizesAlloc) Alloc(n int) ([]byte, error) {
	a.mu.Lock()
	a.sizes[n] = true
	a.mu.Unlock()
	return make([]byte, n), nil
}

func (a *sizesAlloc) Release([]byte) {}

// TestBatchBytesOfTheRanks: the buffer sizes BatchBytes lists (which the
// trainer pins ahead of the epoch) are the ones a rank's loader asks its
// allocator for over an epoch: a rank's share of the global batch, and of
// the padded last one, not the global batch's.
func TestBatchBytesOfTheRanks(t *testing.T) {
	d := smallFashion(t)
	for _, tc := range []struct {
		n, batch, world int
		dropLast        bool
	}{{25, 4, 2, false}, {25, 4, 3, false}, {25, 4, 2, true}, {7, 4, 2, false}, {25, 4, 1, false}} {
		d.n = tc.n
		a := &sizesAlloc{sizes: map[int]bool{}}
		o := LoaderOptions{BatchSize: tc.batch, DropLast: tc.dropLast, Rank: tc.world - 1, World: tc.world, Allocator: a}
		l, err := NewLoader(d, o)
		if err != nil {
			t.Fatal(err)
		}
		collect(t, l, l.BatchesPerEpoch())
		l.Close()
		want := map[int]bool{}
		for _, n := range d.BatchBytes(o) {
			want[n] = true
		}
		if !maps.Equal(a.sizes, want) {
			t.Errorf("%+v: the loader asked for %v bytes, BatchBytes lists %v", tc, slices.Sorted(maps.Keys(a.sizes)), d.BatchBytes(o))
		}
	}
}

// TestSamplesBeforeIsTheBatchesTaken: a position's SamplesBefore (metrics.csv's
// images, where a session starts) is the samples of the batches every rank
// took before it: an epoch's short last batch as it is, drop_last's
// remainder left out, the padding of an epoch to a multiple of the ranks
// (DistributedSampler's) counted, each rank's batch alike.
func TestSamplesBeforeIsTheBatchesTaken(t *testing.T) {
	d := smallFashion(t)
	for _, tc := range []struct {
		n, batch, world int
		dropLast        bool
		perEpoch        int64 // the samples of an epoch's batches, every rank's
	}{{10, 4, 1, false, 10}, {10, 4, 1, true, 8}, {11, 2, 2, false, 12}, {11, 2, 2, true, 8}, {13, 2, 3, false, 15}, {13, 2, 3, true, 12}, {12, 4, 1, true, 12}} {
		d.n = tc.n
		l, err := NewLoader(d, LoaderOptions{BatchSize: tc.batch, DropLast: tc.dropLast, World: tc.world, IndicesOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		var taken int64
		for ends := 0; ends < 3; {
			if got := l.State().SamplesBefore(); got != taken {
				t.Fatalf("%+v: at %+v, SamplesBefore %d; the batches before held %d", tc, l.State(), got, taken)
			}
			b, err := l.Next(context.Background())
			if err == io.EOF {
				ends++
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			taken += int64(b.N() * tc.world)
			b.Release()
		}
		if taken != 3*tc.perEpoch {
			t.Fatalf("%+v: 3 epochs took %d samples, want %d", tc, taken, 3*tc.perEpoch)
		}
	}
}
