package nets

import (
	"runtime"
	"slices"
	"testing"

	torch "gogan/cgo"
)

// TestDropoutOverRanksIsOneProcess: two data-parallel ranks, each with half
// of a batch, drop exactly what one process with the whole batch drops, and
// their generators end where its does; without DropoutOverRanks the second
// rank would repeat the first rank's mask.
func TestDropoutOverRanksIsOneProcess(t *testing.T) { checkDropoutOverRanks(t, torch.CPUDevice) }

// TestCUDADropoutOverRanks: the same with CUDA's fused dropout kernel, whose
// draws depend on the tensor's size.
func TestCUDADropoutOverRanks(t *testing.T) {
	if !torch.CUDAIsAvailable() {
		t.Skipf("no CUDA device (libtorch %s sees none): this test runs on a GPU machine (scripts/gpu-check)", torch.Version())
	}
	checkDropoutOverRanks(t, torch.CUDADevice(0))
}

func checkDropoutOverRanks(t *testing.T, dev torch.Device) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sc := torch.NewScope()
	defer sc.Close()
	torch.ManualSeed(5)
	x := torch.Randn(torch.Float32, dev, 4, 3, 5, 5).AddScalar(4) // no zeros
	layer := func(rank, ranks int64) *Dropout {
		d := NewDropout(0.5)
		d.st = &state{training: true}
		d.rank, d.ranks = rank, ranks
		return d
	}
	const seed = 9
	torch.ManualSeed(seed)
	whole := layer(0, 1).Forward(x).Float32s()
	next := torch.Rand(torch.Float32, dev, 1).Item()
	per := int64(len(whole) / 2)
	for r := int64(0); r < 2; r++ {
		torch.ManualSeed(seed)
		got := layer(r, 2).Forward(x.Narrow(0, 2*r, 2)).Float32s()
		if !slices.Equal(got, whole[r*per:(r+1)*per]) {
			t.Errorf("%s, rank %d of 2: its rows differ from one process's dropout of the whole batch", dev, r)
		}
		if n := torch.Rand(torch.Float32, dev, 1).Item(); n != next {
			t.Errorf("%s, rank %d of 2: the generator then draws %v, one process's %v", dev, r, n, next)
		}
	}
	torch.ManualSeed(seed)
	alone := layer(0, 1).Forward(x.Narrow(0, 2, 2)).Float32s()
	if slices.Equal(alone, whole[per:]) {
		t.Errorf("%s: the check has no teeth: a rank drawing only its own rows' mask drops as one process does", dev)
	}
}
