package trainer

import (
	"sync"
	"testing"

	torch "gogan/cgo"
)

// TestHostPool: buffers are libtorch tensors made up front, handed out and
// taken back from many goroutines without libtorch calls, mapped back to
// their tensor, and a size the pool lacks gets Go memory.
func TestHostPool(t *testing.T) {
	torch.LockThread()
	base := torch.LiveTensors()
	p := newHostPool([]int{64, 64, 32}, 3, false)
	if got := torch.LiveTensors() - base; got != 9 {
		t.Fatalf("%d tensors for sizes 64, 64, 32 x 3", got)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				b, err := p.Alloc(64)
				if err != nil || len(b) != 64 {
					t.Errorf("Alloc(64): %d bytes, %v", len(b), err)
					return
				}
				b[0] = 1
				p.Release(b)
			}
		}()
	}
	wg.Wait()
	b, _ := p.Alloc(32)
	bt := p.tensorOf(b)
	if bt == nil {
		t.Fatal("a pool buffer has no tensor")
	}
	f := []float32{1.5, -2, 3, 4, 5, 6, 7, 8}
	copy(bt.Float32Data(), f)
	if got := bt.Float32s(); got[0] != 1.5 || got[1] != -2 {
		t.Errorf("the buffer is not the tensor's memory: %v", got)
	}
	odd, _ := p.Alloc(48)
	if len(odd) != 48 || p.tensorOf(odd) != nil {
		t.Errorf("a size outside the pool: %d bytes, tensor %v", len(odd), p.tensorOf(odd))
	}
	p.Release(odd) // Go memory: ignored
	p.Release(b)
	p.Free()
	if got := torch.LiveTensors(); got != base {
		t.Errorf("%d live tensors after Free, %d before", got, base)
	}
}
