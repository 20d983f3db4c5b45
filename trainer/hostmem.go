package trainer

import (
	"sync"
	"unsafe"

	torch "gogan/cgo"
)

// hostPool is the loader's allocator: batch buffers that are libtorch CPU
// tensors (page-locked when training on CUDA), so a batch becomes a tensor
// without a copy and goes to the GPU with a non-blocking copy. Loader
// workers call Alloc and Release from their own goroutines, and those must
// never call libtorch: every buffer is made up front, on the training
// goroutine, and a request the pool cannot serve gets plain Go memory (the
// trainer then copies it, as it would without the pool).
type hostPool struct {
	mu    sync.Mutex
	free  map[int][][]byte          // by size in bytes: views made up front
	owner map[uintptr]*torch.Tensor // buffer address -> its tensor
	all   []*torch.Tensor
}

// newHostPool makes count float32 buffers for each entry of sizes (in bytes).
func newHostPool(sizes []int, count int, pinned bool) *hostPool {
	p := &hostPool{free: map[int][][]byte{}, owner: map[uintptr]*torch.Tensor{}}
	for _, n := range sizes { // a size listed twice (A and B alike) gets twice the buffers
		if n <= 0 || n%4 != 0 {
			continue
		}
		for i := 0; i < count; i++ {
			t := torch.Empty(torch.Float32, torch.CPUDevice, pinned, int64(n/4)).Persist()
			f := t.Float32Data()
			view := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), n)
			p.all = append(p.all, t)
			p.free[n] = append(p.free[n], view)
			p.owner[uintptr(unsafe.Pointer(&view[0]))] = t
		}
	}
	return p
}

func (p *hostPool) Alloc(n int) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.free[n]; len(l) > 0 {
		b := l[len(l)-1]
		p.free[n] = l[:len(l)-1]
		return b, nil
	}
	// Allocated as float32 so the bytes are 4-byte aligned.
	f := make([]float32, (n+3)/4)
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), len(f)*4)[:n], nil
}

func (p *hostPool) Release(b []byte) {
	if len(b) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.owner[uintptr(unsafe.Pointer(&b[0]))]; ok {
		p.free[len(b)] = append(p.free[len(b)], b)
	}
}

// tensorOf is the pool tensor whose memory b is, or nil for Go memory.
func (p *hostPool) tensorOf(b []byte) *torch.Tensor {
	if len(b) == 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.owner[uintptr(unsafe.Pointer(&b[0]))]
}

// Free releases every buffer; the loader must be closed first.
func (p *hostPool) Free() {
	for _, t := range p.all {
		t.Free()
	}
	p.all, p.free, p.owner = nil, nil, nil
}
