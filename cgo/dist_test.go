package torch

import (
	"net"
	"testing"
	"time"
)

// oneRankGroup starts a process group of one rank on backend, ended when
// the test ends.
func oneRankGroup(t *testing.T, backend Backend) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	if err := InitGroup(GroupOptions{Backend: backend, World: 1, Addr: "127.0.0.1", Port: port, Prefix: "/t/", Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(DestroyGroup)
}

// checkGradsReduced: gradients made at the end of a long queue of device
// work, averaged over the ranks by AllReduceGrads and by a GradReducer
// during backward, read right after: on NCCL the host does not wait for
// the collectives, only the current stream does, so a reader that were
// not ordered after them would see the gradients half made.
func checkGradsReduced(t *testing.T, dev Device) {
	t.Helper()
	s := NewScope()
	defer s.Close()
	const n = 1 << 20
	p := Zeros(Float32, dev, n).SetRequiresGrad(true)
	q := Zeros(Float32, dev, 3, n/3).SetRequiresGrad(true)
	backward := func() {
		x := Randn(Float32, dev, 1024, 1024)
		for range 40 { // device work queued ahead of the gradients
			x = x.Tanh()
		}
		three := x.Mean().MulScalar(0).AddScalar(3) // 3, once the queue is done
		p.Mul(three).Sum().Add(q.Mul(three.AddScalar(1)).Sum()).Backward()
	}
	check := func(how string) {
		t.Helper()
		for _, c := range []struct {
			g    *Tensor
			want float32
		}{{p.Grad(), 3}, {q.Grad(), 4}} {
			vs := c.g.Float32s()
			for i, v := range vs {
				if v != c.want {
					t.Fatalf("%s on %s: gradient element %d of %d is %g, want %g", how, dev, i, len(vs), v, c.want)
				}
			}
		}
	}
	params := []*Tensor{p, q}
	zeroGrads(params)
	backward()
	AllReduceGrads(params, 1<<20) // two buckets
	check("AllReduceGrads")
	// A collective the host waits for, which on NCCL first waits for the
	// gradients' (the step's loss agreement).
	one := Ones(Float32, dev, 1)
	AllReduce([]*Tensor{one}, true)
	if v := one.Float32s()[0]; v != 1 {
		t.Errorf("AllReduce after the gradients' on %s: %g, want 1", dev, v)
	}

	r := NewGradReducer(params, 1<<20)
	defer r.Free()
	for step := range 2 {
		zeroGrads(params)
		r.Arm()
		backward()
		r.Finish()
		check("a GradReducer's window")
		AllReduce([]*Tensor{one}, true)
		if early, _, off := r.Stats(); off || (step == 1 && early == 0) {
			t.Errorf("GradReducer on %s: %d buckets sent during backward, stopped %v", dev, early, off)
		}
	}
}

func TestGradsReducedOverOneRank(t *testing.T) {
	LockThread()
	if !HasBackend(Gloo) {
		t.Skip("this libgotorch has no Gloo backend")
	}
	oneRankGroup(t, Gloo)
	checkGradsReduced(t, CPUDevice)
}

// TestCUDAGradsReducedOverOneRank is the same on NCCL, where the host goes
// on as soon as the gradients' collectives are queued.
func TestCUDAGradsReducedOverOneRank(t *testing.T) {
	dev := requireCUDA(t)
	LockThread()
	if !HasBackend(NCCL) {
		t.Skip("this libgotorch was built without c10d's NCCL backend (scripts/libtorch-env found no nccl.h)")
	}
	if _, err := SetCUDADevice(dev); err != nil {
		t.Fatal(err)
	}
	oneRankGroup(t, NCCL)
	checkGradsReduced(t, dev)
}
