package torch

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rssBytes is the process's resident set size.
func rssBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatalf("read RSS: %v", err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// settleCleanups lets the cleanup backstop free the handles that earlier
// tests left unreferenced (it runs after a garbage collection), so that
// counts start from a steady value: the count must hold still over several
// collections in a row.
func settleCleanups() {
	prev, still := int64(-1), 0
	for i := 0; i < 200 && still < 5; i++ {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
		n := LiveTensors()
		if n == prev {
			still++
		} else {
			prev, still = n, 0
		}
	}
}

// noBackstop settles the cleanups of earlier tests, then turns the garbage
// collector off until the test ends. Cleanups run only after a collection,
// so the backstop cannot free a leaked handle behind a count's back: every
// handle that Free and the scopes miss stays counted. A test may still call
// runtime.GC itself, after its counts.
func noBackstop(t *testing.T) {
	settleCleanups()
	old := debug.SetGCPercent(-1)
	t.Cleanup(func() { debug.SetGCPercent(old) })
}

// TestLongRunLeaksNothing runs 1000 forward/backward/Adam steps of a small
// conv net, one Scope per step, and checks that every step's handles are
// freed and that the process stops growing.
func TestLongRunLeaksNothing(t *testing.T) {
	LockThread()
	ManualSeed(1)
	noBackstop(t)
	before := LiveTensors()
	setup := NewScope() // frees the temporaries of initialisation
	newParam := func(shape ...int64) *Tensor {
		p := Randn(Float32, CPUDevice, shape...).MulScalar(0.02).Persist()
		return p.SetRequiresGrad(true)
	}
	w1, w2 := newParam(8, 3, 4, 4), newParam(1, 8, 4, 4)
	gamma := Ones(Float32, CPUDevice, 8).Persist().SetRequiresGrad(true)
	beta := Zeros(Float32, CPUDevice, 8).Persist().SetRequiresGrad(true)
	rm, rv := Zeros(Float32, CPUDevice, 8).Persist(), Ones(Float32, CPUDevice, 8).Persist()
	params := []*Tensor{w1, w2, gamma, beta}
	opt := NewAdam(params, 2e-4, 0.5, 0.999)
	opt.State("") // allocate the moments now, so the baseline includes them
	setup.Close()
	start := LiveTensors()

	const steps = 1000
	var rssWarm int64
	var loss float64
	for step := 1; step <= steps; step++ {
		func() {
			s := NewScope()
			defer s.Close()
			x := Randn(Float32, CPUDevice, 16, 3, 8, 8)
			h := Conv2d(x, w1, nil, ConvOpts{Stride: [2]int64{2, 2}, Padding: [2]int64{1, 1}})
			h = BatchNorm(h, gamma, beta, rm, rv, true, 0.1, 1e-5).LeakyRelu(0.2)
			logits := Conv2d(h, w2, nil, ConvOpts{})
			l := BCEWithLogitsLoss(logits, logits.OnesLike(), ReduceMean)
			opt.ZeroGrad()
			l.Backward()
			opt.Step()
			loss = l.Item()
		}()
		// Counted before any collection: see noBackstop.
		if got := LiveTensors(); got != start {
			t.Fatalf("step %d leaked %d tensor handles", step, got-start)
		}
		if step == 200 {
			runtime.GC()
			rssWarm = rssBytes(t)
		}
	}
	runtime.GC()
	rssEnd := rssBytes(t)
	if got := LiveTensors(); got != start {
		t.Errorf("live tensor handles: %d after %d steps, %d at the start", got, steps, start)
	}
	growth := rssEnd - rssWarm
	t.Logf("RSS after step 200: %.1f MiB, after step %d: %.1f MiB (growth %d KiB); final loss %.4f",
		float64(rssWarm)/(1<<20), steps, float64(rssEnd)/(1<<20), growth/1024, loss)
	if growth > 8<<20 {
		t.Errorf("RSS grew by %.1f MiB over %d steps after warm-up", float64(growth)/(1<<20), steps-200)
	}
	for _, p := range append(params, rm, rv) {
		p.Free()
	}
	opt.Free()
	if got := LiveTensors(); got != before {
		t.Errorf("after freeing the model: %d live handles, %d before it", got, before)
	}
}

// TestCPUMemoryCounts checks the CPU tensor count that `gogan bench` and
// scripts/bench-vs-pytorch report: a tensor's bytes are counted while it
// lives, the peak keeps the most, and a convolution (oneDNN allocates its
// buffers through the CPU allocator's raw interface) runs under the counter.
func TestCPUMemoryCounts(t *testing.T) {
	LockThread()
	if err := TrackCPUMemory(); err != nil {
		t.Fatalf("TrackCPUMemory under libtorch %s: %v", Version(), err)
	}
	noBackstop(t)
	const mib = 1 << 20
	c0, _ := CPUMemory()
	ResetCPUPeak()
	x := Zeros(Float32, CPUDevice, mib/4) // 1 MiB
	y := Zeros(Float32, CPUDevice, mib)   // 4 MiB
	c1, p1 := CPUMemory()
	if c1-c0 != 5*mib || p1 != c1 {
		t.Fatalf("with 1 MiB and 4 MiB tensors: count %d, peak %d bytes above the start; want %d both", c1-c0, p1-c0, 5*mib)
	}
	y.Free()
	c2, p2 := CPUMemory()
	if c2-c0 != mib || p2 != p1 {
		t.Fatalf("after freeing the 4 MiB tensor: count %d, peak %d bytes above the start; want %d and %d", c2-c0, p2-c0, mib, 5*mib)
	}
	ResetCPUPeak()
	if _, p := CPUMemory(); p != c2 {
		t.Fatalf("ResetCPUPeak: peak %d, want the count %d", p, c2)
	}

	img, w := Randn(Float32, CPUDevice, 4, 3, 64, 64), Randn(Float32, CPUDevice, 8, 3, 4, 4)
	out := Conv2d(img, w, nil, ConvOpts{Stride: [2]int64{2, 2}, Padding: [2]int64{1, 1}})
	if got := out.Shape(); len(got) != 4 || got[1] != 8 || got[2] != 32 {
		t.Fatalf("conv2d under the counter: shape %v", got)
	}
	_, p3 := CPUMemory()
	if held := int64(4 * (4*3*64*64 + 8*3*4*4 + 4*8*32*32)); p3-c2 < held {
		t.Fatalf("conv2d: peak %d bytes above the start, less than its input, weight and output (%d)", p3-c2, held)
	}
	for _, v := range []*Tensor{x, img, w, out} {
		v.Free()
	}
	if c, _ := CPUMemory(); c != c0 {
		t.Fatalf("after freeing every tensor: count %d bytes above the start, want 0", c-c0)
	}
}
