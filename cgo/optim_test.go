package torch

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

type optCase struct {
	Name    string         `json:"name"`
	Kind    string         `json:"kind"`
	Params  []string       `json:"params"`
	Options map[string]any `json:"options"`
	Steps   int            `json:"steps"`
	LRs     []float64      `json:"lrs,omitempty"`
	// Capturable runs gogan's Adam with its step count and learning rate on
	// the device (MakeCapturable) against PyTorch's ordinary Adam: the same
	// update, with the bias corrections rounded to float32,
	// still within the same 1e-6.
	Capturable bool `json:"-"`
}

// TestOptimizersMatchPyTorch runs 20 steps of Adam, AdamW and SGD from the
// same parameters and gradients as torch.optim, and compares the parameters
// and every state tensor: bit for bit, but for capturable Adam. NewAdam
// left at its defaults is torch.optim.Adam left at its own.
func TestOptimizersMatchPyTorch(t *testing.T) {
	LockThread()
	prev := NumThreads()
	defer SetNumThreads(prev)
	SetNumThreads(3) // Adam's chunks on several threads
	s := NewScope()
	defer s.Close()
	const steps = 20
	r := rand.New(rand.NewPCG(3, 4))
	// The last shape spans several of Adam's chunks (csrc/autograd.cpp), with a tail.
	shapes := [][]int64{{4, 3, 3, 3}, {4}, {2, 5}, {3, 200001}}
	decayLRs := make([]float64, steps)
	for i := range decayLRs {
		decayLRs[i] = 2e-4 * (1 - float64(i)/steps) // a linear decay, set before each step
	}
	cases := []optCase{
		{Name: "adam", Kind: "adam", Options: P{"lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0, "decoupled": false}},
		{Name: "adam_wd_lr", Kind: "adam", Options: P{"lr": 2e-4, "beta1": 0.9, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.01, "decoupled": false}, LRs: decayLRs},
		{Name: "adamw", Kind: "adam", Options: P{"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.05, "decoupled": true}},
		// NewAdam's defaults (every trainer's Adam) against torch.optim.Adam's own
		{Name: "adam_defaults", Kind: "adam", Options: P{"lr": 2e-4, "beta1": 0.5, "beta2": 0.999}},
		{Name: "adam_capturable", Kind: "adam", Capturable: true, Options: P{"lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0, "decoupled": false}},
		{Name: "adam_capturable_wd_lr", Kind: "adam", Capturable: true, Options: P{"lr": 2e-4, "beta1": 0.9, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.01, "decoupled": false}, LRs: decayLRs},
		{Name: "adamw_capturable_lr", Kind: "adam", Capturable: true, Options: P{"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.05, "decoupled": true}, LRs: decayLRs},
		{Name: "sgd_momentum", Kind: "sgd", Options: P{"lr": 0.01, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0, "nesterov": false}},
		{Name: "sgd_nesterov_wd", Kind: "sgd", Options: P{"lr": 0.05, "momentum": 0.8, "dampening": 0.0, "weight_decay": 1e-3, "nesterov": true}},
		{Name: "sgd_dampening", Kind: "sgd", Options: P{"lr": 0.05, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.0, "nesterov": false}},
		{Name: "sgd_plain", Kind: "sgd", Options: P{"lr": 0.1, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": false}},
	}
	var inputs []Named
	type result struct {
		params []*Tensor
		adam   *Adam
		sgd    *SGD
	}
	results := map[string]result{}
	for ci := range cases {
		c := &cases[ci]
		c.Steps = steps
		var params []*Tensor
		for i, sh := range shapes {
			v := randTensor(r, true, 0, 0, sh...)
			name := fmt.Sprintf("%s.p%d", c.Name, i)
			c.Params = append(c.Params, name)
			inputs = append(inputs, Named{name, v})
			params = append(params, v.Clone().SetRequiresGrad(true).Persist())
		}
		o := c.Options
		var adam *Adam
		var sgd *SGD
		if c.Kind == "adam" {
			adam = NewAdam(params, o["lr"].(float64), o["beta1"].(float64), o["beta2"].(float64))
			if _, set := o["eps"]; set {
				adam.Eps, adam.WeightDecay, adam.Decoupled = o["eps"].(float64), o["weight_decay"].(float64), o["decoupled"].(bool)
			}
			if c.Capturable {
				adam.MakeCapturable()
			}
		} else {
			sgd = NewSGD(params, o["lr"].(float64), o["momentum"].(float64))
			sgd.Dampening, sgd.WeightDecay, sgd.Nesterov = o["dampening"].(float64), o["weight_decay"].(float64), o["nesterov"].(bool)
		}
		for step := 0; step < steps; step++ {
			for i, p := range params {
				g := randTensor(r, true, 0, 0, shapes[i]...)
				inputs = append(inputs, Named{fmt.Sprintf("%s.grad.%d.%d", c.Name, step, i), g})
				// Autograd accumulates into .grad; a backward of sum(p*g) leaves exactly g there.
				p.ZeroGrad()
				p.Mul(g).Sum().Backward()
			}
			if c.LRs != nil {
				adam.SetLR(c.LRs[step])
			}
			if adam != nil {
				adam.Step()
			} else {
				sgd.Step()
			}
		}
		results[c.Name] = result{params, adam, sgd}
	}
	want := runReference(t, "optim", cases, inputs)
	compared := 0
	var tol float64
	cmp := func(name string, got *Tensor) {
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: PyTorch has no such value", name)
			return
		}
		assertClose(t, name, got, w, tol, tol)
		compared++
	}
	for _, c := range cases {
		// The same ops in the same order as torch.optim (the libtorch's own
		// version of them: Adam's first moment lerps from 2.0): equal bit for
		// bit, on chunks spread over threads too; capturable within 1e-6.
		tol = 0
		if c.Capturable {
			tol = 1e-6
		}
		res := results[c.Name]
		for i, p := range res.params {
			cmp(fmt.Sprintf("%s.param.%d", c.Name, i), p)
			if res.adam != nil {
				cmp(fmt.Sprintf("%s.exp_avg.%d", c.Name, i), res.adam.ExpAvg[i])
				cmp(fmt.Sprintf("%s.exp_avg_sq.%d", c.Name, i), res.adam.ExpAvgSq[i])
				if st := want[fmt.Sprintf("%s.step.%d", c.Name, i)]; len(st.data) != 1 || int64(st.data[0]) != res.adam.Steps() {
					t.Errorf("%s: step count %d, PyTorch %v", c.Name, res.adam.Steps(), st.data)
				}
			} else if c.Options["momentum"].(float64) != 0 {
				cmp(fmt.Sprintf("%s.momentum_buffer.%d", c.Name, i), res.sgd.MomentumBuffers[i])
			}
			p.Free()
		}
		if res.adam != nil {
			res.adam.Free()
		} else {
			res.sgd.Free()
		}
	}
	t.Logf("%d optimizer tensors compared after %d steps", compared, steps)
}

// TestAdamChunks checks that Adam's cache-sized chunks spread over threads
// (csrc/autograd.cpp) give bit for bit the result of one pass of each op over
// whole tensors, as torch.optim's _single_tensor_adam makes them.
func TestAdamChunks(t *testing.T) {
	LockThread()
	prevThreads, prevChunk := NumThreads(), setAdamChunk(0)
	defer func() {
		SetNumThreads(prevThreads)
		setAdamChunk(prevChunk)
	}()
	shapes := [][]int64{{3, 70001}, {1000}, {5}, {64, 3, 4, 4}}
	run := func(threads int, chunk int64, wd float64, decoupled bool) []*Tensor {
		SetNumThreads(threads)
		setAdamChunk(chunk)
		ManualSeed(5)
		var ps []*Tensor
		for _, sh := range shapes {
			ps = append(ps, Randn(Float32, CPUDevice, sh...).Persist().SetRequiresGrad(true))
		}
		o := NewAdam(ps, 1e-3, 0.5, 0.999)
		o.WeightDecay, o.Decoupled = wd, decoupled
		for step := 0; step < 5; step++ {
			s := NewScope()
			for _, p := range ps {
				p.ZeroGrad()
				p.Mul(p.RandnLike()).Sum().Backward()
			}
			o.Step()
			s.Close()
		}
		return append(append(ps, o.ExpAvg...), o.ExpAvgSq...)
	}
	for _, c := range []struct {
		wd        float64
		decoupled bool
	}{{0, false}, {0.01, false}, {0.05, true}} {
		whole := run(1, 1<<40, c.wd, c.decoupled)
		chunked := run(3, 4096, c.wd, c.decoupled)
		for i := range whole {
			a, b := whole[i].Float32s(), chunked[i].Float32s()
			for e := range a {
				if math.Float32bits(a[e]) != math.Float32bits(b[e]) {
					t.Fatalf("weight decay %g decoupled %v, tensor %d element %d: %g whole, %g in chunks", c.wd, c.decoupled, i, e, a[e], b[e])
				}
			}
			whole[i].Free()
			chunked[i].Free()
		}
	}
}

// TestCapturableKeepsTheStepCount: a resumed optimizer's step count, set on
// the host before it is made capturable, carries over to the device, and a
// capturable step is then Adam's next one (the bias corrections of step 6
// here, as the host's, up to float32's rounding of them), counted there; a
// 0-dim parameter steps as any other.
func TestCapturableKeepsTheStepCount(t *testing.T) {
	LockThread()
	err := Try(func() {
		s := NewScope()
		defer s.Close()
		p := Full(0.5, Float32, CPUDevice).SetRequiresGrad(true).Persist()
		q := Full(0.5, Float32, CPUDevice).SetRequiresGrad(true).Persist()
		dev, host := NewAdam([]*Tensor{p}, 0.1, 0.5, 0.9), NewAdam([]*Tensor{q}, 0.1, 0.5, 0.9)
		dev.SetSteps(5)
		host.SetSteps(5)
		dev.MakeCapturable()
		if n := dev.Steps(); n != 5 {
			t.Fatalf("made capturable at step 5: the device counts %d", n)
		}
		p.Mul(p).Backward()
		q.Mul(q).Backward()
		dev.Step()
		host.Step()
		if dev.Steps() != 6 || host.Steps() != 6 {
			t.Fatalf("after one more step: %d on the device, %d on the host; want 6", dev.Steps(), host.Steps())
		}
		got, want := p.Item(), q.Item()
		if math.Abs(got-want) > 1e-6*math.Abs(want) {
			t.Errorf("capturable step 6 gives %.9g, the host's %.9g", got, want)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkAdamStep: one Adam step over 8M parameters (four tensors of
// 2M) as each path takes it: the host-counted step, the capturable step
// (count and LR on the device), and fp16's step decided on the device
// (StepUnlessInf) with finite gradients and with an overflow, whose cost
// over the capturable step is what skipping on the device adds.
func BenchmarkAdamStep(b *testing.B) {
	LockThread()
	for _, c := range []struct {
		name  string
		found float64 // StepUnlessInf's flag; -1: no flag
		plain bool    // the host-counted step
	}{{"host-count", -1, true}, {"capturable", -1, false}, {"unless-inf-finite", 0, false}, {"unless-inf-overflow", 1, false}} {
		b.Run(c.name, func(b *testing.B) {
			s := NewScope()
			defer s.Close()
			ManualSeed(1)
			var ps []*Tensor
			for range 4 {
				p := Randn(Float32, CPUDevice, 2<<20).SetRequiresGrad(true).Persist()
				p.Mul(p.RandnLike()).Sum().Backward()
				ps = append(ps, p)
			}
			o := NewAdam(ps, 2e-4, 0.5, 0.999)
			if !c.plain {
				o.MakeCapturable()
			}
			found := Full(c.found, Float32, CPUDevice, 1).Persist()
			o.Step() // the moments exist before the timing
			for b.Loop() {
				if c.found < 0 {
					o.Step()
				} else {
					o.StepUnlessInf(found)
				}
			}
		})
	}
}

// TestAdamStateIsAllOrNone: moments that cannot all be made (here a freed
// parameter) leave none behind, and the next step makes them all.
func TestAdamStateIsAllOrNone(t *testing.T) {
	LockThread()
	a := Ones(Float32, CPUDevice, 3).Persist()
	b := Ones(Float32, CPUDevice, 2).Persist()
	defer a.Free()
	opt := NewAdam([]*Tensor{a, b}, 0.1, 0.5, 0.999)
	defer opt.Free()
	b.Free()
	live := LiveTensors()
	if err := Try(opt.Step); err == nil {
		t.Fatal("Adam stepped a freed parameter")
	}
	if opt.ExpAvg != nil || opt.ExpAvgSq != nil || LiveTensors() != live {
		t.Fatalf("a failed first step left state %v/%v and %d tensors", opt.ExpAvg, opt.ExpAvgSq, LiveTensors()-live)
	}
	b = Ones(Float32, CPUDevice, 2).Persist()
	defer b.Free()
	opt.Params[1] = b
	opt.Step()
	if len(opt.ExpAvg) != 2 || len(opt.ExpAvgSq) != 2 || opt.ExpAvg[1].Freed() {
		t.Fatalf("the next step's state: %v %v", opt.ExpAvg, opt.ExpAvgSq)
	}
}
