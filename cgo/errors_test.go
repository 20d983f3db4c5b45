package torch

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestErrorsNotCrashes feeds libtorch bad input: each becomes a Go error with
// libtorch's message and no C++ backtrace, and the process goes on.
func TestErrorsNotCrashes(t *testing.T) {
	LockThread()
	s := NewScope()
	defer s.Close()
	x := Randn(Float32, CPUDevice, 2, 3, 8, 8)
	freed := Randn(Float32, CPUDevice, 2, 2)
	freed.Free()
	cases := []struct {
		name string
		f    func()
		want string // a part of the message, never empty
	}{
		{"conv channels", func() { Conv2d(x, Randn(Float32, CPUDevice, 4, 5, 3, 3), nil, ConvOpts{}) }, "channels"},
		{"broadcast", func() { x.Add(Randn(Float32, CPUDevice, 7)) }, "must match"},
		{"view of permuted", func() { x.Permute(0, 2, 3, 1).View(-1) }, "view"},
		{"reshape count", func() { x.Reshape(5, 7) }, "invalid for input of size"},
		{"wrong dtype conv", func() {
			Conv2d(Zeros(Uint8, CPUDevice, 2, 3, 8, 8), Randn(Float32, CPUDevice, 4, 3, 3, 3), nil, ConvOpts{})
		}, "type"},
		{"wrong dtype loss", func() { BCELoss(x.Sigmoid(), Zeros(Int64, CPUDevice, 2, 3, 8, 8), ReduceMean) }, "expected Float"},
		{"freed tensor", func() { freed.Relu() }, "after Free"},
		{"nil tensor", func() { x.Add(nil) }, "nil tensor"},
		{"missing CUDA device", func() { x.To(CUDADevice(7)) }, "cuda:7"},
		{"short data", func() { FromFloat32([]float32{1, 2, 3}, 2, 2) }, "do not fill"},
		{"backward of non-scalar", func() { x.Clone().SetRequiresGrad(true).Mul(x).Backward() }, "scalar"},
		{"dropout p", func() { Dropout(x, 1.5, true) }, "outside [0, 1]"},
		{"item of many", func() { x.Item() }, "384 elements cannot be converted to Scalar"},
		{"index_copy_ past the end", func() { x.Clone().IndexCopy_(0, FromInt64([]int64{2}, 1), x.Narrow(0, 0, 1)) }, "out of bounds"},
		{"upsample of 2-d", func() { Upsample(Randn(Float32, CPUDevice, 3, 3), Nearest, 6, 6, false) }, "expected input_size equals to 4"},
		// Losses broadcast a target of another shape (or the input): silently wrong values.
		{"bce target of one element", func() { BCELoss(x.Sigmoid(), Ones(Float32, CPUDevice, 1), ReduceMean) },
			"target size [1] differs from input size [2, 3, 8, 8]"},
		{"bce_with_logits input of one channel", func() { BCEWithLogitsLoss(x.Narrow(1, 0, 1), x.Sigmoid(), ReduceMean) },
			"target size [2, 3, 8, 8] differs from input size [2, 1, 8, 8]"},
		{"mse target of one column", func() { MSELoss(x, x.Narrow(3, 0, 1), ReduceMean) },
			"target size [2, 3, 8, 1] differs from input size [2, 3, 8, 8]"},
		{"l1 target without the batch", func() { L1Loss(x, x.Narrow(0, 0, 1).Reshape(3, 8, 8), ReduceSum) },
			"target size [3, 8, 8] differs from input size [2, 3, 8, 8]"},
		// A DType that is none of the constants once divided by its zero size.
		{"bytes of an unknown dtype", func() { FromBytes([]byte{1, 2, 3, 4}, DType(42), CPUDevice, 1) }, "unknown dtype dtype(42)"},
		// On the CPU an empty found_inf took in no overflow: the step went on with inf gradients.
		{"found_inf of no element", func() {
			p := Ones(Float32, CPUDevice, 2).SetRequiresGrad(true)
			p.MulScalar(math.Inf(1)).Sum().Backward()
			UnscaleGrads([]*Tensor{p}, Ones(Float32, CPUDevice, 1), Zeros(Float32, CPUDevice, 0))
		}, "found_inf must be one Float element, not [0] Float on cpu"},
		{"inv_scale of two elements", func() {
			p := Ones(Float32, CPUDevice, 2).SetRequiresGrad(true)
			p.Sum().Backward()
			UnscaleGrads([]*Tensor{p}, Ones(Float32, CPUDevice, 2), Zeros(Float32, CPUDevice, 1))
		}, "inv_scale must be one Float element, not [2] Float on cpu"},
		// Two-element scales were updated elementwise without a word.
		{"scale of two elements", func() {
			UpdateScale(Ones(Float32, CPUDevice, 2), Zeros(Int32, CPUDevice, 2), Zeros(Float32, CPUDevice, 1), 2, 0.5, 10)
		}, "scale must be one Float element, not [2] Float on cpu"},
		{"growth tracker of float32", func() {
			UpdateScale(Ones(Float32, CPUDevice, 1), Zeros(Float32, CPUDevice, 1), Zeros(Float32, CPUDevice, 1), 2, 0.5, 10)
		}, "growth_tracker must be one Int element, not [1] Float on cpu"},
	}
	if CUDAIsAvailable() {
		cases = append(cases, struct {
			name string
			f    func()
			want string
		}{"tensors on two devices", func() { x.Add(Ones(Float32, CUDADevice(0), 2, 3, 8, 8)) }, "same device"})
	} else {
		cases = append(cases, struct {
			name string
			f    func()
			want string
		}{"pinned without CUDA", func() { Empty(Float32, CPUDevice, true, 4) }, "pinned"})
	}
	for _, c := range cases {
		if c.want == "" {
			t.Fatalf("%s: no expected message", c.name)
		}
		err := Try(c.f)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		var te *Error
		if !errors.As(err, &te) {
			t.Errorf("%s: error %T is not a *torch.Error", c.name, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) {
			t.Errorf("%s: message %q lacks %q", c.name, msg, c.want)
		}
		if strings.Contains(msg, "Exception raised from") || strings.Contains(msg, "frame #") {
			t.Errorf("%s: message carries the C++ backtrace: %q", c.name, msg)
		}
		t.Logf("%s: %s", c.name, firstLine(msg))
	}
	// The process is intact: ordinary work still runs.
	if v := Ones(Float32, CPUDevice, 3).Sum().Item(); v != 3 {
		t.Fatalf("after the errors, sum of ones is %v", v)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func TestTryPassesOtherPanics(t *testing.T) {
	defer func() {
		if r := recover(); r != "not torch" {
			t.Fatalf("recovered %v, want the original panic", r)
		}
	}()
	_ = Try(func() { panic("not torch") })
	t.Fatal("Try swallowed a foreign panic")
}

func TestParseDevice(t *testing.T) {
	for in, want := range map[string]Device{"cpu": CPUDevice} {
		got, err := ParseDevice(in)
		if err != nil || got != want {
			t.Errorf("ParseDevice(%q) = %v, %v", in, got, err)
		}
	}
	auto, err := ParseDevice("auto")
	if err != nil || auto.IsCUDA() != CUDAIsAvailable() {
		t.Errorf("auto = %v, %v with CUDA available %v", auto, err, CUDAIsAvailable())
	}
	for _, bad := range []string{"gpu", "cuda:x", "cuda:-1", "cuda:99", "cuda:01", "cuda:+0", "cuda: 0", " cpu", "CPU", "Cuda"} {
		if _, err := ParseDevice(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseDevice(%q): error %v should name the value", bad, err)
		}
	}
	// Refused for its spelling, whatever devices this machine has.
	for _, bad := range []string{"cuda:01", "cuda:+0"} {
		if _, err := ParseDevice(bad); err == nil || !strings.Contains(err.Error(), "leading zeros") {
			t.Errorf("ParseDevice(%q): error %v should say how to write the number", bad, err)
		}
	}
}

// TestInitOfEmptyWeights: initialising a weight with a zero dimension is a
// no-op, as torch.nn.init's kaiming and orthogonal make it. libtorch's
// orthogonal_ divided by the zero rows (SIGFPE: the whole process died),
// and the others failed on infinite bounds.
func TestInitOfEmptyWeights(t *testing.T) {
	LockThread()
	s := NewScope()
	defer s.Close()
	kinds := map[InitKind]string{XavierNormal: "xavier_normal", XavierUniform: "xavier_uniform",
		KaimingNormal: "kaiming_normal", KaimingUniform: "kaiming_uniform", Orthogonal: "orthogonal"}
	for kind, name := range kinds {
		for _, shape := range [][]int64{{0, 3}, {3, 0}, {0, 0}, {4, 0, 3, 3}, {0, 0, 3, 3}} {
			w := Zeros(Float32, CPUDevice, shape...)
			if err := Try(func() { w.Init(kind, 1) }); err != nil {
				t.Errorf("%s of a %v weight: %v", name, shape, err)
			}
			if got := w.Shape(); !slices.Equal(got, shape) {
				t.Errorf("%s of a %v weight: shape %v after", name, shape, got)
			}
		}
		// A weight with elements is still filled (the checks run before the no-op).
		w := Zeros(Float32, CPUDevice, 4, 3)
		w.Init(kind, 1)
		if w.Abs().Sum().Item() == 0 {
			t.Errorf("%s left a 4x3 weight at zero", name)
		}
	}
	if err := Try(func() { Zeros(Float32, CPUDevice, 0).Init(Orthogonal, 1) }); err == nil ||
		!strings.Contains(err.Error(), "2 or more dimensions") && !strings.Contains(err.Error(), "fewer than 2") {
		t.Errorf("orthogonal of a 1-d weight: %v, want libtorch's refusal", err)
	}
}

// TestOptimizerStateMismatchChangesNothing: optimizer state that does not
// match its parameter (shape or dtype) is refused, naming the tensor, before
// anything is updated: no parameter, moment or buffer moves and the step
// count stays. libtorch found the mismatch halfway, with the moments (or the
// momentum buffer) already overwritten, Adam counted the failed step, and a
// float64 moment tripped an internal assert that said to report a bug.
func TestOptimizerStateMismatchChangesNothing(t *testing.T) {
	LockThread()
	s := NewScope()
	defer s.Close()
	newParams := func() (*Tensor, *Tensor) {
		ok := FromFloat32([]float32{1, 2}, 2).SetRequiresGrad(true)
		p := FromFloat32([]float32{0.5, -1, 2}, 3).SetRequiresGrad(true)
		ok.Square().Sum().Add(p.Square().Sum()).Backward()
		return ok, p
	}
	for _, c := range []struct {
		name  string
		state func() *Tensor
		want  string
	}{
		{"shape", func() *Tensor { return Full(0.25, Float32, CPUDevice, 2, 3) }, "exp_avg of parameter 1 is [2, 3] Float on cpu, the parameter [3] Float on cpu"},
		{"dtype", func() *Tensor { return Full(0.25, Float64, CPUDevice, 3) }, "exp_avg of parameter 1 is [3] Double on cpu, the parameter [3] Float on cpu"},
	} {
		for _, capturable := range []bool{false, true} {
			name := fmt.Sprintf("adam %s capturable=%v", c.name, capturable)
			ok, p := newParams()
			o := NewAdam([]*Tensor{ok, p}, 0.1, 0.9, 0.999)
			o.ExpAvg = []*Tensor{ok.ZerosLike(), c.state()}
			o.ExpAvgSq = []*Tensor{ok.ZerosLike(), c.state()}
			if capturable {
				o.MakeCapturable()
			}
			before := [][]float32{ok.Float32s(), p.Float32s(), o.ExpAvg[1].Float32s(), o.ExpAvgSq[1].Float32s()}
			err := Try(func() {
				if capturable {
					o.StepUnlessInf(Zeros(Float32, CPUDevice, 1))
				} else {
					o.Step()
				}
			})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: error %v, want one that says %q", name, err, c.want)
			}
			after := [][]float32{ok.Float32s(), p.Float32s(), o.ExpAvg[1].Float32s(), o.ExpAvgSq[1].Float32s()}
			for i, what := range []string{"the other parameter", "the parameter", "exp_avg", "exp_avg_sq"} {
				if !slices.Equal(before[i], after[i]) {
					t.Errorf("%s: %s changed from %v to %v", name, what, before[i], after[i])
				}
			}
			if n := o.Steps(); n != 0 {
				t.Errorf("%s: %d steps counted after the failed one", name, n)
			}
		}
		ok, p := newParams()
		o := NewSGD([]*Tensor{ok, p}, 0.1, 0.9)
		o.MomentumBuffers = []*Tensor{nil, c.state()}
		before := [][]float32{ok.Float32s(), p.Float32s(), o.MomentumBuffers[1].Float32s()}
		err := Try(o.Step)
		want := strings.Replace(c.want, "exp_avg", "momentum_buffer", 1)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("sgd %s: error %v, want one that says %q", c.name, err, want)
		}
		after := [][]float32{ok.Float32s(), p.Float32s(), o.MomentumBuffers[1].Float32s()}
		for i, what := range []string{"the other parameter", "the parameter", "momentum buffer"} {
			if !slices.Equal(before[i], after[i]) {
				t.Errorf("sgd %s: %s changed from %v to %v", c.name, what, before[i], after[i])
			}
		}
		o.Free()
	}
}

// TestDistRefusesPortsOutOfRange: a port number outside 0-65535 is an error
// that names it. libtorch takes a uint16: 70000 became port 4464 and -1
// port 65535, and the group or store went ahead there.
func TestDistRefusesPortsOutOfRange(t *testing.T) {
	if !HasBackend(Gloo) {
		t.Skip("this libgotorch has no Gloo backend")
	}
	for _, port := range []int{70000, -1} {
		err := InitGroup(GroupOptions{Backend: Gloo, Rank: 0, World: 1, Addr: "127.0.0.1", Port: port, Prefix: "/test/", Timeout: 5 * time.Second})
		if err == nil {
			DestroyGroup()
		}
		if want := fmt.Sprintf("port %d is not a TCP port", port); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("InitGroup on port %d: %v, want an error that says %q", port, err, want)
		}
		s, err := ServeStore(port, 5*time.Second)
		if err == nil {
			t.Errorf("ServeStore on port %d: serving on port %d", port, s.Port)
			s.Close()
		} else if want := fmt.Sprintf("port %d is not a TCP port", port); !strings.Contains(err.Error(), want) {
			t.Errorf("ServeStore on port %d: %v, want an error that says %q", port, err, want)
		}
	}
	var none *StoreServer
	none.Close() // nil: nothing to stop, no panic
}

// TestNormsRefuseOneValuePerChannel: batch norm in training with one value
// per channel (batch 1 of 1x1 maps) and instance norm with one spatial
// element are errors that give the input's size, as F.batch_norm and
// F.instance_norm make them. at::batch_norm took them: the output was the
// bias and the running variance became NaN, which every later eval-mode
// pass spread.
func TestNormsRefuseOneValuePerChannel(t *testing.T) {
	LockThread()
	s := NewScope()
	defer s.Close()
	one := Randn(Float32, CPUDevice, 1, 3, 1, 1)
	rm, rv := Zeros(Float32, CPUDevice, 3), Ones(Float32, CPUDevice, 3)
	for _, c := range []struct {
		name string
		f    func()
		want string
	}{
		{"batch norm with running stats", func() { BatchNorm(one, nil, nil, rm, rv, true, 0.1, 1e-5) },
			"Expected more than 1 value per channel when training, got input size [1, 3, 1, 1]"},
		{"batch norm without running stats", func() { BatchNorm(one, nil, nil, nil, nil, true, 0.1, 1e-5) },
			"Expected more than 1 value per channel when training, got input size [1, 3, 1, 1]"},
		{"instance norm", func() { InstanceNorm(Randn(Float32, CPUDevice, 2, 3, 1, 1), nil, nil, nil, nil, true, 0.1, 1e-5) },
			"Expected more than 1 spatial element when training, got input size [2, 3, 1, 1]"},
	} {
		if err := Try(c.f); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one that says %q", c.name, err, c.want)
		}
	}
	if got := rv.Float32s(); !slices.Equal(got, []float32{1, 1, 1}) {
		t.Errorf("running variance after the refused step: %v, want it untouched", got)
	}
	// What PyTorch allows still runs: eval mode with running statistics,
	// two values per channel, instance norm from running statistics.
	for name, f := range map[string]func(){
		"batch norm in eval mode":    func() { BatchNorm(one, nil, nil, rm, rv, false, 0.1, 1e-5) },
		"batch norm of two values":   func() { BatchNorm(Randn(Float32, CPUDevice, 2, 3, 1, 1), nil, nil, rm, rv, true, 0.1, 1e-5) },
		"batch norm of a 1x2 map":    func() { BatchNorm(Randn(Float32, CPUDevice, 1, 3, 1, 2), nil, nil, nil, nil, true, 0.1, 1e-5) },
		"instance norm of a 2x1 map": func() { InstanceNorm(Randn(Float32, CPUDevice, 1, 3, 2, 1), nil, nil, nil, nil, true, 0.1, 1e-5) },
		"instance norm from running statistics": func() {
			InstanceNorm(Randn(Float32, CPUDevice, 2, 3, 1, 1), nil, nil, rm, rv, false, 0.1, 1e-5)
		},
	} {
		if err := Try(f); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if got := rv.Float32s(); slices.ContainsFunc(got, func(v float32) bool { return v != v }) {
		t.Errorf("running variance %v after a batch of two", got)
	}
}
