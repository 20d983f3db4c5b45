package torch

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// requireCUDA skips a test on machines without a CUDA device, saying so.
func requireCUDA(t *testing.T) Device {
	t.Helper()
	if !CUDAIsAvailable() {
		t.Skipf("no CUDA device (libtorch %s sees none): this test runs in scripts/gpu-check on a GPU machine", Version())
	}
	return CUDADevice(0)
}

// requireCUDAGraphs is requireCUDA for a test of CUDA graphs, which a
// libgotorch built without the CUDA headers cannot make: on a GPU machine
// that is a failure, not a skip.
func requireCUDAGraphs(t *testing.T) Device {
	t.Helper()
	dev := requireCUDA(t)
	if !CUDAGraphsAvailable() {
		t.Fatal("libgotorch was built without GOGAN_WITH_CUDA on a CUDA machine: scripts/libtorch-env found no CUDA headers")
	}
	return dev
}

func maxRelDiff(a, b []float32) float64 {
	worst := 0.0
	for i := range a {
		d := math.Abs(float64(a[i])-float64(b[i])) / (1e-3 + math.Abs(float64(b[i])))
		worst = max(worst, d)
	}
	return worst
}

// TestCUDAMatchesCPU runs the network ops forward and backward on the GPU and
// on the CPU from the same inputs (TF32 off) and compares.
func TestCUDAMatchesCPU(t *testing.T) {
	dev := requireCUDA(t)
	LockThread()
	SetAllowTF32(false)
	defer SetAllowTF32(true)
	s := NewScope()
	defer s.Close()
	ManualSeed(5)
	x := Randn(Float32, CPUDevice, 4, 3, 16, 16)
	w := Randn(Float32, CPUDevice, 8, 3, 4, 4).MulScalar(0.1)
	wt := Randn(Float32, CPUDevice, 8, 3, 4, 4).MulScalar(0.1)
	g, b := Ones(Float32, CPUDevice, 8), Zeros(Float32, CPUDevice, 8)
	run := func(d Device) (out []float32, grads [][]float32) {
		// Detach first: on the CPU To returns the tensor itself, whose
		// requires_grad must stay off for the CUDA run's copies to be leaves.
		xs := []*Tensor{x.Detach().To(d).SetRequiresGrad(true), w.Detach().To(d).SetRequiresGrad(true), wt.Detach().To(d).SetRequiresGrad(true)}
		rm, rv := Zeros(Float32, d, 8), Ones(Float32, d, 8)
		h := Conv2d(xs[0], xs[1], nil, ConvOpts{Stride: [2]int64{2, 2}, Padding: [2]int64{1, 1}})
		h = BatchNorm(h, g.To(d), b.To(d), rm, rv, true, 0.1, 1e-5).LeakyRelu(0.2)
		h = InstanceNorm(h, nil, nil, nil, nil, true, 0.1, 1e-5)
		h = Pad2d(h, PadReflect, 1, 1, 1, 1)
		h = Upsample(h, Bilinear, 16, 16, false)
		y := ConvTranspose2d(h, xs[2], nil, ConvOpts{Stride: [2]int64{2, 2}, Padding: [2]int64{1, 1}}).Tanh()
		l := L1Loss(y, y.ZerosLike(), ReduceMean).Add(BCEWithLogitsLoss(y, y.OnesLike(), ReduceMean))
		l.Backward()
		for _, v := range xs {
			grads = append(grads, v.Grad().Float32s())
		}
		return append(y.Float32s(), rm.Float32s()...), grads
	}
	cpuOut, cpuGrads := run(CPUDevice)
	gpuOut, gpuGrads := run(dev)
	if d := maxRelDiff(gpuOut, cpuOut); d > 1e-4 {
		t.Errorf("forward: max relative difference %g between CUDA and CPU", d)
	}
	for i := range cpuGrads {
		if d := maxRelDiff(gpuGrads[i], cpuGrads[i]); d > 1e-3 {
			t.Errorf("gradient %d: max relative difference %g between CUDA and CPU", i, d)
		}
	}
}

func TestCUDATransfersAndState(t *testing.T) {
	dev := requireCUDA(t)
	s := NewScope()
	defer s.Close()
	// A pinned host buffer filled from Go, copied without blocking, then back.
	p := Empty(Float32, CPUDevice, true, 1024)
	if !p.IsPinned() {
		t.Fatal("Empty(pinned) is not pinned")
	}
	for i := range p.Float32Data() {
		p.Float32Data()[i] = float32(i)
	}
	g := p.ToAsync(dev)
	if err := CUDASynchronize(0); err != nil {
		t.Fatal(err)
	}
	if g.Device() != dev {
		t.Fatalf("copy landed on %v", g.Device())
	}
	back := g.MulScalar(2).Float32s()
	if back[1023] != 2046 {
		t.Errorf("round trip through %v: last element %v", dev, back[1023])
	}
	if !FromFloat32([]float32{1, 2}, 2).PinMemory().IsPinned() {
		t.Error("PinMemory did not pin")
	}
	// Seeds and generator state on the device.
	ManualSeed(9)
	a := Randn(Float32, dev, 8).Float32s()
	st := RNGState(dev)
	b := Randn(Float32, dev, 8).Float32s()
	SetRNGState(dev, st)
	if c := Randn(Float32, dev, 8).Float32s(); !slices.Equal(b, c) || slices.Equal(a, b) {
		t.Errorf("CUDA RNG state restore: %v then %v, want %v", a, c, b)
	}
	// Half precision and bfloat16 on the device.
	for _, dt := range []DType{Float16, BFloat16} {
		h := Ones(Float32, dev, 4).ToDType(dt).MulScalar(3)
		if v := h.Float32s(); v[0] != 3 {
			t.Errorf("%s on %v: %v", dt, dev, v)
		}
	}
	peak, err := CUDAMaxAllocated(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("CUDA peak allocated: %d bytes (-1: built without CUDA headers)", peak)
	n := CUDADeviceCount()
	if _, err := ParseDevice(fmt.Sprintf("cuda:%d", n)); err == nil {
		t.Errorf("cuda:%d accepted with %d devices", n, n)
	}
	if err := Try(func() { Zeros(Float32, CUDADevice(n), 1) }); err == nil {
		t.Errorf("tensor on missing device cuda:%d created", n)
	}
}

// TestCUDALongRunLeaksNothing: the per-step scope frees device tensors too.
func TestCUDALongRunLeaksNothing(t *testing.T) {
	dev := requireCUDA(t)
	LockThread()
	noBackstop(t)
	setup := NewScope()
	w := Randn(Float32, dev, 16, 3, 4, 4).MulScalar(0.02).Persist().SetRequiresGrad(true)
	opt := NewAdam([]*Tensor{w}, 2e-4, 0.5, 0.999)
	opt.State("")
	setup.Close()
	start := LiveTensors()
	for i := 0; i < 300; i++ {
		s := NewScope()
		x := Randn(Float32, dev, 32, 3, 32, 32)
		l := Conv2d(x, w, nil, ConvOpts{Stride: [2]int64{2, 2}, Padding: [2]int64{1, 1}}).Square().Mean()
		opt.ZeroGrad()
		l.Backward()
		opt.Step()
		s.Close()
	}
	if got := LiveTensors(); got != start {
		t.Errorf("%d live handles after 300 CUDA steps, %d before", got, start)
	}
	w.Free()
	opt.Free()
}

// TestSetCUDADevice: SetCUDADevice makes each device current on this thread
// in turn and returns the one before; a missing device is an error that says
// so (on a machine without CUDA, every index).
func TestSetCUDADevice(t *testing.T) {
	LockThread()
	n := CUDADeviceCount()
	if _, err := SetCUDADevice(CUDADevice(n)); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("cuda:%d", n)) {
		t.Errorf("SetCUDADevice(cuda:%d) with %d devices: %v, want an error naming the device", n, n, err)
	}
	if _, err := SetCUDADevice(CPUDevice); err == nil {
		t.Error("SetCUDADevice(cpu): no error")
	}
	if n == 0 {
		return
	}
	prev, err := SetCUDADevice(CUDADevice(n - 1))
	if err != nil {
		t.Fatal(err)
	}
	defer SetCUDADevice(CUDADevice(prev))
	for i := n - 1; i >= 0; i-- {
		got, err := SetCUDADevice(CUDADevice(i))
		if err != nil {
			t.Fatal(err)
		}
		if want := min(i+1, n-1); got != want {
			t.Errorf("SetCUDADevice(cuda:%d) returned cuda:%d as the device that was current, want cuda:%d", i, got, want)
		}
	}
}

// TestCUDAUseDeviceMakesItCurrent: UseDevice parses as ParseDevice does (a
// missing device is named) and makes a CUDA device this thread's current
// one, as translate, serve, eval and features start on cuda:N; the CPU is
// no CUDA device to make current.
func TestCUDAUseDeviceMakesItCurrent(t *testing.T) {
	LockThread()
	if dev, err := UseDevice("cpu"); err != nil || dev != CPUDevice {
		t.Errorf("UseDevice(cpu) = %v, %v", dev, err)
	}
	n := CUDADeviceCount()
	missing := fmt.Sprintf("cuda:%d", n)
	if _, err := UseDevice(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("UseDevice(%s) with %d devices: %v, want an error naming it", missing, n, err)
	}
	if n == 0 {
		return
	}
	prev, err := SetCUDADevice(CUDADevice(0))
	if err != nil {
		t.Fatal(err)
	}
	defer SetCUDADevice(CUDADevice(prev))
	last := fmt.Sprintf("cuda:%d", n-1)
	if dev, err := UseDevice(last); err != nil || dev != CUDADevice(n-1) {
		t.Fatalf("UseDevice(%s) = %v, %v", last, dev, err)
	}
	if cur, err := SetCUDADevice(CUDADevice(0)); err != nil || cur != n-1 {
		t.Errorf("after UseDevice(%s) the current device was cuda:%d (%v)", last, cur, err)
	}
}
