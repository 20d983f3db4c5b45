package data

import (
	"slices"
	"testing"
)

// TestStreamsStayTheSame: the loader's own streams are pinned, so that a
// checkpoint resumes on the batches it was saved in whatever gogan or Go
// release resumes it: the generator is splitmix64 (Vigna's published
// outputs for seed 0), and an epoch's Permutation (a shuffled epoch's
// order without TorchDraws, and the trainer's for a checkpoint that
// recorded no order seed) and a sample's own draws are the ones gogan
// has drawn so far.
func TestStreamsStayTheSame(t *testing.T) {
	r := &rng{}
	if got := []uint64{r.Uint64(), r.Uint64(), r.Uint64()}; !slices.Equal(got, []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f}) {
		t.Errorf("splitmix64 from seed 0: %#x", got)
	}
	for _, c := range []struct {
		epoch uint64
		want  []int
	}{{3, []int{9, 0, 5, 4, 6, 2, 3, 8, 7, 1}}, {4, []int{9, 8, 4, 5, 0, 3, 6, 7, 2, 1}}} {
		if got := Permutation(10, 42, c.epoch); !slices.Equal(got, c.want) {
			t.Errorf("Permutation(10, 42, %d) = %v, want %v", c.epoch, got, c.want)
		}
	}
	if got, want := drawParams(newRNG(7, 1, 5)), (Params{RX: 2408019873288484247, RY: 3297968589965788117}); got != want {
		t.Errorf("the draws of (seed 7, epoch 1, sample 5): %+v, want %+v", got, want)
	}
	q := newRNG(1, 2)
	if a, b, f := q.Intn(1000), q.Intn(7), q.Float64(); a != 210 || b != 2 || f != 0.6339013632820694 {
		t.Errorf("Intn(1000), Intn(7), Float64() of newRNG(1, 2): %d %d %v, want 210 2 0.6339013632820694", a, b, f)
	}
}
