package torch

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// convOut is a small conv + batch norm forward from fixed inputs.
func convOut(dev Device) *Tensor {
	ManualSeed(11)
	x := Randn(Float32, CPUDevice, 2, 3, 8, 8).To(dev)
	w := Randn(Float32, CPUDevice, 4, 3, 3, 3).MulScalar(0.2).To(dev)
	return Conv2d(x, w, nil, ConvOpts{Padding: [2]int64{1, 1}})
}

// diffOfScale is max |a-b| over max |b|: lower precision's error, which is
// relative to the output's magnitude rather than to each element.
func diffOfScale(a, b []float32) float64 {
	var d, m float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
		m = max(m, math.Abs(float64(b[i])))
	}
	return d / m
}

// checkAutocastConv checks that a convolution inside Autocast(dev, dt)
// computes in dt, within 2% of the output's scale of float32's result.
func checkAutocastConv(t *testing.T, dev Device, dt DType) {
	t.Helper()
	ref := convOut(dev)
	var low *Tensor
	Autocast(dev, dt, func() { low = convOut(dev) })
	if low.DType() != dt {
		t.Errorf("conv2d inside Autocast(%s, %s) gave %s", dev, dt, low.DType())
		return
	}
	if d := diffOfScale(low.ToDType(Float32).Float32s(), ref.Float32s()); d > 0.02 {
		t.Errorf("%s %s conv differs from float32 by %.3g of the output's scale", dev, dt, d)
	}
}

// TestAutocastCPU checks autocast's switch through its effect: a convolution
// computes in bfloat16 inside the region and in float32 outside it, and the
// state comes back after a panic inside the region.
func TestAutocastCPU(t *testing.T) {
	LockThread()
	s := NewScope()
	defer s.Close()
	checkAutocastConv(t, CPUDevice, BFloat16)
	err := Try(func() { Autocast(CPUDevice, BFloat16, func() { fail("test", "boom") }) })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("panic inside Autocast: got %v", err)
	}
	if after := convOut(CPUDevice); after.DType() != Float32 {
		t.Errorf("conv2d after Autocast returned gives %s: the region did not close", after.DType())
	}
	if err := Try(func() { Autocast(CPUDevice, Float32, func() {}) }); err == nil || !strings.Contains(err.Error(), "float16 or bfloat16") {
		t.Errorf("Autocast with float32: got %v, want an error naming float16 or bfloat16", err)
	}
}

// TestCUDAAutocastRestoresDtype: leaving a nested region gives back the
// outer region's lower precision, as torch.autocast's __exit__ (the GPU
// review of #13: it was left at the inner one's). On CUDA only: libtorch
// 1.13's CPU autocast takes bfloat16 alone.
func TestCUDAAutocastRestoresDtype(t *testing.T) {
	dev := requireCUDA(t)
	LockThread()
	s := NewScope()
	defer s.Close()
	var after *Tensor
	err := Try(func() {
		Autocast(dev, BFloat16, func() {
			Autocast(dev, Float16, func() {})
			after = convOut(dev)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if after.DType() != BFloat16 {
		t.Errorf("a conv in the outer bfloat16 region after an inner float16 one gives %s", after.DType())
	}
}

// TestUnscaleGrads checks the grad scaler's unscale: gradients divided by the
// scale, and inf or NaN anywhere reported.
func TestUnscaleGrads(t *testing.T) {
	devs := []Device{CPUDevice}
	if CUDAIsAvailable() {
		devs = append(devs, CUDADevice(0))
	}
	LockThread()
	for _, dev := range devs {
		s := NewScope()
		a := Ones(Float32, dev, 3).SetRequiresGrad(true)
		b := Ones(Float32, dev, 2, 2).SetRequiresGrad(true)
		none := Ones(Float32, dev, 1).SetRequiresGrad(true) // no gradient: skipped
		a.MulScalar(1024).Sum().Add(b.MulScalar(512).Sum()).Backward()
		found := Zeros(Float32, dev, 1)
		UnscaleGrads([]*Tensor{a, b, none}, Full(1.0/512, Float32, dev, 1), found)
		if found.Item() != 0 {
			t.Errorf("%s: finite gradients reported as inf/NaN", dev)
		}
		for _, c := range []struct {
			g    *Tensor
			want float32
		}{{a.Grad(), 2}, {b.Grad(), 1}} {
			for _, v := range c.g.Float32s() {
				if v != c.want {
					t.Errorf("%s: unscaled gradient %g, want %g", dev, v, c.want)
				}
			}
		}
		b.Mul(FromFloat32([]float32{1, float32(math.Inf(1)), 1, 1}, 2, 2).To(dev)).Sum().Backward()
		UnscaleGrads([]*Tensor{a, b}, Ones(Float32, dev, 1), found)
		if found.Item() <= 0 {
			t.Errorf("%s: an inf gradient was not reported", dev)
		}
		s.Close()
	}
}

func TestGraphNeedsCUDA(t *testing.T) {
	LockThread()
	err := Try(func() { NewGraph(CPUDevice) })
	if err == nil || !strings.Contains(err.Error(), "CUDA device") {
		t.Errorf("NewGraph(cpu): got %v, want an error asking for a CUDA device", err)
	}
	if !CUDAGraphsAvailable() {
		err := Try(func() { NewGraph(CUDADevice(0)).Free() })
		if err == nil || !strings.Contains(err.Error(), "GOGAN_WITH_CUDA") {
			t.Errorf("NewGraph(cuda:0) without CUDA headers: got %v, want an error naming GOGAN_WITH_CUDA", err)
		}
	}
}

// TestCUDAGraphPanickedCaptureIsNotReplayed: a capture whose function
// panics part way leaves the stream out of capture mode (eager work runs
// after it) and a graph that refuses to replay the half it recorded.
func TestCUDAGraphPanickedCaptureIsNotReplayed(t *testing.T) {
	dev := requireCUDAGraphs(t)
	LockThread()
	s := NewScope()
	defer s.Close()
	x := Ones(Float32, dev, 4)
	g := NewGraph(dev)
	defer g.Free()
	err := Try(func() {
		g.OnSideStream(func() {
			g.Capture(func() {
				x.MulScalar(2)
				fail("test", "boom")
			})
		})
	})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("capture that panicked: got %v, want its own panic", err)
	}
	err = Try(g.Replay)
	if err == nil || !strings.Contains(err.Error(), "capture failed") {
		t.Errorf("replay of a graph whose capture panicked: got %v, want a refusal", err)
	}
	if got := x.AddScalar(1).Float32s(); got[0] != 2 {
		t.Errorf("eager work after the failed capture gave %v, want 2s", got)
	}
}

// TestCUDAAutocast checks both lower precisions on the GPU.
func TestCUDAAutocast(t *testing.T) {
	dev := requireCUDA(t)
	LockThread()
	s := NewScope()
	defer s.Close()
	for _, dt := range []DType{Float16, BFloat16} {
		checkAutocastConv(t, dev, dt)
	}
	if after := convOut(dev); after.DType() != Float32 {
		t.Errorf("conv2d after Autocast gives %s", after.DType())
	}
}

// TestCUDAGraphStepMatchesEager captures a whole training step (forward,
// backward, capturable Adam) in a CUDA graph and checks that 10 replays give
// the losses and parameters of 10 eager steps on the same inputs, with the
// learning rate changed between replays (a schedule's decay) as between the
// eager steps.
func TestCUDAGraphStepMatchesEager(t *testing.T) {
	dev := requireCUDAGraphs(t)
	LockThread()
	SetAllowTF32(false)
	defer SetAllowTF32(true)
	s := NewScope()
	defer s.Close()
	ManualSeed(3)
	const steps = 10
	var inputs []*Tensor
	for i := 0; i < steps; i++ {
		inputs = append(inputs, Randn(Float32, dev, 8, 3, 16, 16))
	}
	w0 := Randn(Float32, dev, 8, 3, 3, 3).MulScalar(0.2)
	w1 := Randn(Float32, dev, 1, 8, 4, 4).MulScalar(0.2)
	type model struct {
		ps     []*Tensor
		rm, rv *Tensor
		opt    *Adam
	}
	newModel := func() *model {
		m := &model{ps: []*Tensor{w0.Clone().SetRequiresGrad(true), Ones(Float32, dev, 8).SetRequiresGrad(true),
			Zeros(Float32, dev, 8).SetRequiresGrad(true), w1.Clone().SetRequiresGrad(true)},
			rm: Zeros(Float32, dev, 8), rv: Ones(Float32, dev, 8)}
		m.opt = NewAdam(m.ps, 1e-2, 0.5, 0.999)
		m.opt.MakeCapturable()
		return m
	}
	step := func(m *model, x *Tensor) *Tensor {
		m.opt.ZeroGrad()
		h := Conv2d(x, m.ps[0], nil, ConvOpts{Padding: [2]int64{1, 1}})
		h = BatchNorm(h, m.ps[1], m.ps[2], m.rm, m.rv, true, 0.1, 1e-5).LeakyRelu(0.2)
		y := Conv2d(h, m.ps[3], nil, ConvOpts{Stride: [2]int64{2, 2}, Padding: [2]int64{1, 1}})
		l := BCEWithLogitsLoss(y, y.OnesLike(), ReduceMean)
		l.Backward()
		m.opt.Step()
		return l
	}
	lrAt := func(i int) float64 { // changes after the 4th and the 7th step
		return []float64{1e-2, 1e-2, 1e-2, 1e-2, 3e-3, 3e-3, 3e-3, 5e-4, 5e-4, 5e-4}[i]
	}
	eager := newModel()
	defer eager.opt.Free()
	var eagerLoss []float32
	for i, x := range inputs {
		eager.opt.SetLR(lrAt(i))
		eagerLoss = append(eagerLoss, float32(step(eager, x).Item()))
	}

	m := newModel()
	defer m.opt.Free()
	static := inputs[0].ZerosLike().Persist()
	defer static.Free()
	state := append(append([]*Tensor{}, m.ps...), m.rm, m.rv)
	var saved []*Tensor
	for _, p := range state {
		// Detached: a differentiable clone would make the weights' gradient
		// accumulators now, on the default stream, where the capture on the
		// side stream cannot wait for them.
		saved = append(saved, p.Detach().Clone())
	}
	g := NewGraph(dev)
	defer g.Free()
	var loss *Tensor
	g.OnSideStream(func() {
		static.CopyFrom(inputs[0])
		for i := 0; i < 3; i++ { // warm-up: cuDNN's choices, autograd's first-use set-up
			// Each in its own scope, as the trainer does: no autograd graph
			// of a warm-up outlives it.
			ws := NewScope()
			step(m, static)
			ws.Close()
		}
		NoGrad(func() {
			for i, p := range state {
				p.CopyFrom(saved[i])
			}
			for i := range m.opt.ExpAvg {
				m.opt.ExpAvg[i].Fill(0)
				m.opt.ExpAvgSq[i].Fill(0)
			}
		})
		m.opt.SetSteps(0)
		cs := NewScope()
		g.Capture(func() { loss = step(m, static).Persist() })
		cs.Close()
	})
	defer loss.Free()
	if n := m.opt.Steps(); n != 0 {
		t.Fatalf("the capture counted %d steps on the device, want none (a capture runs nothing)", n)
	}
	var graphLoss []float32
	for i, x := range inputs {
		static.CopyFrom(x)
		m.opt.SetLR(lrAt(i))
		g.Replay()
		graphLoss = append(graphLoss, float32(loss.Item()))
	}
	if d := maxRelDiff(graphLoss, eagerLoss); d > 1e-5 {
		t.Errorf("losses: graph %v, eager %v (relative difference %.3g)", graphLoss, eagerLoss, d)
	}
	eagerState := append(append([]*Tensor{}, eager.ps...), eager.rm, eager.rv)
	for i, p := range state {
		want := eagerState[i]
		if d := maxRelDiff(p.Float32s(), want.Float32s()); d > 1e-5 {
			t.Errorf("tensor %d after %d replays differs from eager by %.3g (relative)", i, steps, d)
		}
	}
	if n := m.opt.Steps(); n != int64(steps) {
		t.Errorf("%d replays counted as %d steps", steps, n)
	}
	t.Logf("10 graph replays match 10 eager steps: final loss %.6f vs %.6f", graphLoss[steps-1], eagerLoss[steps-1])
}

// TestCUDAGraphDropoutFollowsEagerStream captures a dropout and checks that
// each replay draws a new mask, the one an eager call at the same point of
// the random stream would draw (the graph reads the generator's seed and
// offset at replay and advances the offset, as eager calls do).
func TestCUDAGraphDropoutFollowsEagerStream(t *testing.T) {
	dev := requireCUDAGraphs(t)
	LockThread()
	s := NewScope()
	defer s.Close()
	x := Ones(Float32, dev, 64, 1024).Persist()
	defer x.Free()
	const replays = 3
	ManualSeed(11)
	var eager [][]float32
	for i := 0; i < replays; i++ {
		eager = append(eager, Dropout(x, 0.5, true).Float32s())
	}

	g := NewGraph(dev)
	defer g.Free()
	var y *Tensor
	g.OnSideStream(func() {
		Dropout(x, 0.5, true).Free() // warm-up
		cs := NewScope()
		g.Capture(func() { y = Dropout(x, 0.5, true).Persist() })
		cs.Close()
	})
	defer y.Free()
	ManualSeed(11)
	var masks [][]float32
	for i := 0; i < replays; i++ {
		g.Replay()
		masks = append(masks, y.Float32s())
	}
	for i := range masks {
		if !slices.Equal(masks[i], eager[i]) {
			t.Errorf("replay %d: its mask differs from the eager call's at the same point of the random stream", i+1)
		}
		if i > 0 && slices.Equal(masks[i], masks[i-1]) {
			t.Errorf("replay %d drew the same mask as replay %d", i+1, i)
		}
	}
	// And the eager stream goes on after the replays where they left it.
	after := Dropout(x, 0.5, true).Float32s()
	ManualSeed(11)
	for i := 0; i < replays; i++ {
		Dropout(x, 0.5, true).Free()
	}
	if !slices.Equal(after, Dropout(x, 0.5, true).Float32s()) {
		t.Error("the eager draw after the replays is not the one after as many eager draws")
	}
}

// TestToChannelsLast checks that weights re-laid out as NHWC keep their
// values and identity (autograd still fills their .grad) and that a
// convolution in that layout gives the NCHW result.
func TestToChannelsLast(t *testing.T) {
	LockThread()
	s := NewScope()
	defer s.Close()
	ManualSeed(2)
	x := Randn(Float32, CPUDevice, 2, 3, 9, 9)
	w := Randn(Float32, CPUDevice, 5, 3, 3, 3).SetRequiresGrad(true)
	b := Randn(Float32, CPUDevice, 5).SetRequiresGrad(true)
	want := Conv2d(x, w, b, ConvOpts{Padding: [2]int64{1, 1}}).Float32s()
	before := w.Float32s()
	ToChannelsLast([]*Tensor{w, b})
	if w.IsContiguous() {
		t.Fatal("weight still in NCHW order after ToChannelsLast")
	}
	if !slices.Equal(w.Float32s(), before) {
		t.Fatal("ToChannelsLast changed the weight's values")
	}
	y := Conv2d(x.ChannelsLast(), w, b, ConvOpts{Padding: [2]int64{1, 1}})
	if d := maxRelDiff(y.Float32s(), want); d > 1e-5 {
		t.Errorf("channels_last conv differs from NCHW by %.3g", d)
	}
	y.Sum().Backward()
	if g := w.Grad(); g == nil || g.Numel() != w.Numel() {
		t.Error("no gradient reached the re-laid-out weight")
	}
}

func TestCopyOnSideStreamNeedsCUDA(t *testing.T) {
	LockThread()
	s := NewScope()
	defer s.Close()
	err := Try(func() { CopyOnSideStream(Zeros(Float32, CPUDevice, 2), Ones(Float32, CPUDevice, 2), nil) })
	if err == nil || !strings.Contains(err.Error(), "CUDA device") {
		t.Errorf("CopyOnSideStream to the CPU: got %v, want an error asking for a CUDA device", err)
	}
	err = Try(func() { RecordEvent(Zeros(Float32, CPUDevice, 2)) })
	if err == nil || !strings.Contains(err.Error(), "CUDA device") {
		t.Errorf("RecordEvent on the CPU: got %v, want an error asking for a CUDA device", err)
	}
	var ev *Event
	ev.Free() // nil-safe
	if err := Try(ev.Wait); err == nil || !strings.Contains(err.Error(), "nil or freed") {
		t.Errorf("Wait on a nil event: got %v", err)
	}
}

// TestCUDACopyOnSideStream copies pinned batches to the GPU on the copy
// stream while the default stream is busy, and checks what the default
// stream then reads.
func TestCUDACopyOnSideStream(t *testing.T) {
	dev := requireCUDA(t)
	LockThread()
	s := NewScope()
	defer s.Close()
	busy := Randn(Float32, dev, 2048, 2048)
	dst := Empty(Float32, dev, false, 4, 3, 64, 64)
	for i := 0; i < 5; i++ {
		host := Full(float64(i), Float32, CPUDevice, 4, 3, 64, 64).PinMemory()
		for j := 0; j < 4; j++ { // queue work on the default stream to overlap
			busy = busy.Tanh()
		}
		ev := CopyOnSideStream(dst, host, nil)
		ev.Wait()
		got := dst.Sum().Item()
		if want := float64(i) * 4 * 3 * 64 * 64; got != want {
			t.Fatalf("copy %d: the default stream read a sum of %g, want %g", i, got, want)
		}
		ev.Synchronize()
		ev.Free()
	}
}

// TestCUDACopyStreamWaits: a large copy on the copy stream while the default
// stream is idle, so that without Wait the default stream would read dst
// before the copy is done; and a copy into a buffer that queued work still
// reads, which without `after` would overwrite it under the reader.
func TestCUDACopyStreamWaits(t *testing.T) {
	dev := requireCUDA(t)
	LockThread()
	s := NewScope()
	defer s.Close()
	const n = 1 << 24 // 64 MiB of float32 (milliseconds on any bus); sums stay exact in float32
	host := Ones(Float32, CPUDevice, n).PinMemory()
	dst := Zeros(Float32, dev, n)
	zeroed := RecordEvent(dst) // the copy may not run before the zero fill
	ev := CopyOnSideStream(dst, host, zeroed)
	zeroed.Free()
	ev.Wait()
	if m := dst.Minimum(dst.OnesLike()).Sum().Item(); m != float64(n) {
		t.Fatalf("the step read dst with %g of %d elements copied: Wait did not order it after the copy", m, n)
	}
	ev.Free()

	// dst holds ones. A reader queued behind busy work, then a copy of twos.
	busy := Randn(Float32, dev, 4096, 4096)
	for j := 0; j < 20; j++ {
		busy = busy.Tanh()
	}
	read := dst.MulScalar(1)
	readDone := RecordEvent(dst)
	twos := Full(2, Float32, CPUDevice, n).PinMemory()
	ev = CopyOnSideStream(dst, twos, readDone)
	readDone.Free()
	ev.Wait()
	if got := read.Sum().Item(); got != float64(n) {
		t.Errorf("the reader saw a sum of %g, want %d: the copy overwrote dst before the reader ran", got, n)
	}
	if got := dst.Minimum(dst.OnesLike().MulScalar(2)).Sum().Item(); got != 2*float64(n) {
		t.Errorf("dst after the second copy sums to %g, want %d", got, 2*n)
	}
	ev.Synchronize()
	ev.Free()
}
