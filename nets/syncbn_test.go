package nets

import (
	"math"
	"net"
	"runtime"
	"testing"
	"time"

	torch "gogan/cgo"
)

// TestSyncBatchNormIsBatchNorm: in a process group of one rank,
// SyncBatchNorm's output, input gradient, parameter gradients and running
// statistics are BatchNorm's (ATen's native kernel) up to float32 rounding.
func TestSyncBatchNormIsBatchNorm(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if !torch.HasBackend(torch.Gloo) {
		t.Fatal("libgotorch lacks c10d's Gloo backend: install libgloo-dev (make setup) and rebuild with make lib")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	if err := torch.InitGroup(torch.GroupOptions{Backend: torch.Gloo, World: 1, Addr: "127.0.0.1", Port: port, Prefix: "/t/", Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	defer torch.DestroyGroup()
	torch.ManualSeed(3)
	x := torch.Randn(torch.Float32, torch.CPUDevice, 16, 8, 6, 6).MulScalar(3).AddScalar(1.5)
	w := torch.Randn(torch.Float32, torch.CPUDevice, 16, 8, 6, 6)
	gamma := torch.Randn(torch.Float32, torch.CPUDevice, 8).AddScalar(1)
	beta := torch.Randn(torch.Float32, torch.CPUDevice, 8)
	run := func(sync bool) [][]float32 {
		b := NewBatchNorm2d(8, true, true, torch.CPUDevice)
		torch.NoGrad(func() {
			b.Weight.CopyFrom(gamma)
			b.Bias.CopyFrom(beta)
		})
		b.Weight.SetRequiresGrad(true)
		b.Bias.SetRequiresGrad(true)
		in := x.Clone().SetRequiresGrad(true)
		var y *torch.Tensor
		if sync {
			b.syncRanks = 1
			y = b.syncForward(in)
		} else {
			y = b.Forward(in)
		}
		y.Mul(w).Sum().Backward()
		return [][]float32{y.Float32s(), in.Grad().Float32s(), b.Weight.Grad().Float32s(), b.Bias.Grad().Float32s(),
			b.RunningMean.Float32s(), b.RunningVar.Float32s()}
	}
	native, synced := run(false), run(true)
	for i, what := range []string{"output", "input gradient", "weight gradient", "bias gradient", "running mean", "running var"} {
		worst := 0.0
		for j := range native[i] {
			d := math.Abs(float64(native[i][j]-synced[i][j])) / math.Max(1, math.Abs(float64(native[i][j])))
			worst = math.Max(worst, d)
		}
		t.Logf("%s: largest difference %.3g", what, worst)
		// float32 sums of 576 terms against ATen's double accumulation
		if worst > 1e-5 {
			t.Errorf("%s: SyncBatchNorm differs from BatchNorm by %g", what, worst)
		}
	}
}
