package torch

// #include "gotorch.h"
import "C"

import (
	"fmt"
	"runtime"
)

// Adam is torch.optim.Adam (AdamW with Decoupled), with PyTorch's arithmetic.
// Its state tensors are plain fields so checkpoints can save and restore them.
type Adam struct {
	Params      []*Tensor
	Beta1       float64
	Beta2       float64
	Eps         float64
	WeightDecay float64
	Decoupled   bool // AdamW: decay the weights directly, not through the gradient

	ExpAvg   []*Tensor // first moments, one per parameter; nil until the first step
	ExpAvgSq []*Tensor // second moments

	// Reducer, with data parallelism, averages the gradients over the
	// ranks while backward runs: ZeroGrad arms it, the caller finishes it
	// before Step. Free frees it.
	Reducer *GradReducer

	// The learning rate: read with LR, changed with SetLR only, which keeps
	// the device copy that a CUDA graph's replays read in step.
	lr float64
	// The updates made so far: read with Steps, set with SetSteps.
	steps int64
	// With MakeCapturable, the step count and the learning rate live on the
	// device, where a CUDA graph's replays read and advance them (and an
	// update skipped on the device, StepUnlessInf, does not count): steps
	// is then read from there.
	stepT, lrT *Tensor
}

// NewAdam is Adam over params with PyTorch's defaults for eps (1e-8) and weight decay (0).
func NewAdam(params []*Tensor, lr, beta1, beta2 float64) *Adam {
	return &Adam{Params: params, lr: lr, Beta1: beta1, Beta2: beta2, Eps: 1e-8}
}

// zerosLike is a zero tensor like t that no scope frees.
func zerosLike(t *Tensor) *Tensor {
	z := t.ZerosLike()
	return z.Persist()
}

// initState allocates the moments on first use, all or none: one that fails
// (out of memory, a freed parameter) frees those made before it and leaves
// the state unset, so that the next step tries again instead of finding
// holes.
func (o *Adam) initState() {
	if o.ExpAvg != nil {
		return
	}
	m := make([]*Tensor, 0, len(o.Params))
	v := make([]*Tensor, 0, len(o.Params))
	done := false
	defer func() {
		if !done {
			for _, t := range append(m, v...) {
				t.Free()
			}
		}
	}()
	for _, p := range o.Params {
		m = append(m, zerosLike(p))
		v = append(v, zerosLike(p))
	}
	o.ExpAvg, o.ExpAvgSq = m, v
	done = true
}

// MakeCapturable moves the step count and the learning rate onto the
// parameters' device (torch.optim.Adam's capturable=True), so that Step
// queues only device work and a CUDA graph that captured it updates the
// parameters correctly on every replay. It allocates the moments too, which a
// capture must not do. Once capturable, it does nothing.
func (o *Adam) MakeCapturable() {
	if len(o.Params) == 0 || o.stepT != nil {
		return
	}
	o.initState()
	dev := o.Params[0].Device()
	o.stepT = Full(float64(o.steps), Float32, dev, 1).Persist()
	o.lrT = Full(o.lr, Float32, dev, 1).Persist()
}

// Steps is the number of updates made so far (read from the device when
// capturable: the host waits for it).
func (o *Adam) Steps() int64 {
	if o.stepT != nil {
		o.steps = int64(o.stepT.Item())
	}
	return o.steps
}

// SetSteps sets the number of updates made so far (a checkpoint's, or
// before a warm-up that is undone), on the device too when capturable. It
// must not run inside a capture.
func (o *Adam) SetSteps(n int64) {
	o.steps = n
	if o.stepT != nil {
		o.stepT.Fill(float64(n))
	}
}

// LR is the learning rate of the next step.
func (o *Adam) LR() float64 { return o.lr }

// SetLR changes the learning rate for the next steps (an LR schedule),
// on the device too when capturable.
func (o *Adam) SetLR(lr float64) {
	o.lr = lr
	if o.lrT != nil {
		o.lrT.Fill(lr)
	}
}

// Step updates every parameter that has a gradient.
func (o *Adam) Step() { o.step("adam_step", nil) }

// StepUnlessInf is Step, skipped on the device where foundInf (one
// element, float32) is above 0 (the grad scaler found an overflow):
// nothing waits for the device to decide. It makes the optimizer
// capturable.
func (o *Adam) StepUnlessInf(foundInf *Tensor) {
	o.MakeCapturable()
	o.step("adam_step_unless_inf", foundInf)
}

func (o *Adam) step(op string, foundInf *Tensor) {
	o.initState()
	if len(o.ExpAvg) != len(o.Params) || len(o.ExpAvgSq) != len(o.Params) {
		fail(op, "state for %d/%d parameters, optimizer has %d", len(o.ExpAvg), len(o.ExpAvgSq), len(o.Params))
	}
	ps := handles(op, o.Params, false)
	m := handles(op, o.ExpAvg, false)
	v := handles(op, o.ExpAvgSq, false)
	var e *C.char
	if o.stepT != nil {
		var found C.GTensor
		if foundInf != nil {
			found = foundInf.ptr(op)
		}
		C.gt_adam_step_dev(firstHandle(ps), firstHandle(m), firstHandle(v), C.int(len(ps)), o.stepT.ptr(op), o.lrT.ptr(op),
			C.double(o.Beta1), C.double(o.Beta2), C.double(o.Eps), C.double(o.WeightDecay), cbool(o.Decoupled), found, &e)
		runtime.KeepAlive(foundInf)
	} else {
		C.gt_adam_step(firstHandle(ps), firstHandle(m), firstHandle(v), C.int(len(ps)), C.int64_t(o.steps+1),
			C.double(o.lr), C.double(o.Beta1), C.double(o.Beta2), C.double(o.Eps), C.double(o.WeightDecay),
			cbool(o.Decoupled), &e)
		if e == nil {
			o.steps++ // capturable: counted on the device
		}
	}
	runtime.KeepAlive(o)
	check(op, e)
}

// setAdamChunk sets the elements per chunk of Adam's CPU update (n > 0) and
// returns the previous size; n <= 0 only returns the current one. For tests.
func setAdamChunk(n int64) int64 { return int64(C.gt_adam_chunk(C.int64_t(n))) }

// ZeroGrad drops every parameter's gradient, and arms the Reducer.
func (o *Adam) ZeroGrad() {
	if o.Reducer != nil {
		o.Reducer.Arm()
	}
	zeroGrads(o.Params)
}

// Free releases the optimizer state.
func (o *Adam) Free() {
	for _, t := range o.ExpAvg {
		t.Free()
	}
	for _, t := range o.ExpAvgSq {
		t.Free()
	}
	o.ExpAvg, o.ExpAvgSq = nil, nil
	o.Reducer.Free()
	o.Reducer = nil
	o.stepT.Free()
	o.lrT.Free()
	o.stepT, o.lrT = nil, nil
}

// State names the optimizer's tensors (allocating them if no step ran yet),
// for a checkpoint: prefix+"exp_avg.<i>" and prefix+"exp_avg_sq.<i>".
func (o *Adam) State(prefix string) map[string]*Tensor {
	o.initState()
	st := make(map[string]*Tensor, 2*len(o.Params))
	for i := range o.Params {
		st[fmt.Sprintf("%sexp_avg.%d", prefix, i)] = o.ExpAvg[i]
		st[fmt.Sprintf("%sexp_avg_sq.%d", prefix, i)] = o.ExpAvgSq[i]
	}
	return st
}

// SGD is torch.optim.SGD with momentum, dampening, Nesterov and weight decay.
type SGD struct {
	Params      []*Tensor
	LR          float64
	Momentum    float64
	Dampening   float64
	WeightDecay float64
	Nesterov    bool

	MomentumBuffers []*Tensor // nil entries until a parameter's first update
}

// NewSGD is SGD over params.
func NewSGD(params []*Tensor, lr, momentum float64) *SGD {
	return &SGD{Params: params, LR: lr, Momentum: momentum}
}

// Step updates every parameter that has a gradient.
func (o *SGD) Step() {
	const op = "sgd_step"
	if o.MomentumBuffers == nil {
		o.MomentumBuffers = make([]*Tensor, len(o.Params))
	}
	if len(o.MomentumBuffers) != len(o.Params) {
		fail(op, "%d momentum buffers for %d parameters", len(o.MomentumBuffers), len(o.Params))
	}
	ps := handles(op, o.Params, false)
	bufs := handles(op, o.MomentumBuffers, true)
	var e *C.char
	C.gt_sgd_step(firstHandle(ps), firstHandle(bufs), C.int(len(ps)), C.double(o.LR), C.double(o.Momentum),
		C.double(o.Dampening), C.double(o.WeightDecay), cbool(o.Nesterov), &e)
	runtime.KeepAlive(o)
	// New buffers were stored before any error: take ownership either way.
	for i, h := range bufs {
		if h != nil && o.MomentumBuffers[i] == nil {
			o.MomentumBuffers[i] = wrapUnscoped(h)
		}
	}
	check(op, e)
}

// ZeroGrad drops every parameter's gradient.
func (o *SGD) ZeroGrad() { zeroGrads(o.Params) }

// Free releases the momentum buffers.
func (o *SGD) Free() {
	for _, t := range o.MomentumBuffers {
		t.Free()
	}
	o.MomentumBuffers = nil
}

// zeroGrads drops the gradients of ps (zero_grad(set_to_none=True)) in one call.
func zeroGrads(ps []*Tensor) {
	hs := handles("zero_grad", ps, false)
	var e *C.char
	C.gt_zero_grad_n(firstHandle(hs), C.int(len(hs)), 1, &e)
	runtime.KeepAlive(ps)
	check("zero_grad", e)
}
