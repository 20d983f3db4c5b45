package torch

// #include "gotorch.h"
import "C"

import "runtime"

// SetRequiresGrad marks t as a leaf whose gradient autograd accumulates. It returns t.
func (t *Tensor) SetRequiresGrad(on bool) *Tensor {
	var e *C.char
	C.gt_set_requires_grad(t.ptr("requires_grad"), cbool(on), &e)
	runtime.KeepAlive(t)
	check("requires_grad", e)
	return t
}

// SetRequiresGradAll is SetRequiresGrad on every tensor of ts, in one call
// into libtorch (a network's parameters are toggled twice a training step).
func SetRequiresGradAll(ts []*Tensor, on bool) {
	const op = "requires_grad"
	hs := handles(op, ts, false)
	var e *C.char
	C.gt_set_requires_grad_n(firstHandle(hs), C.int(len(hs)), cbool(on), &e)
	runtime.KeepAlive(ts)
	check(op, e)
}

// RequiresGrad reports whether autograd tracks t.
func (t *Tensor) RequiresGrad() bool {
	r := C.gt_requires_grad(t.ptr("requires_grad")) != 0
	runtime.KeepAlive(t)
	return r
}

// Grad is t's accumulated gradient (sharing its memory), or nil if it has none.
func (t *Tensor) Grad() *Tensor {
	var e *C.char
	h := C.gt_grad(t.ptr("grad"), &e)
	runtime.KeepAlive(t)
	check("grad", e)
	if h == nil {
		return nil
	}
	return wrap(h)
}

// ZeroGrad drops t's gradient, as PyTorch's zero_grad(set_to_none=True).
func (t *Tensor) ZeroGrad() {
	var e *C.char
	C.gt_zero_grad(t.ptr("zero_grad"), 1, &e)
	runtime.KeepAlive(t)
	check("zero_grad", e)
}

// Backward accumulates the gradient of the one-element tensor t into the leaves.
func (t *Tensor) Backward() { t.BackwardWith(nil, false, false) }

// BackwardWith is Tensor.backward(gradient, retain_graph, create_graph);
// grad may be nil for a one-element t.
func (t *Tensor) BackwardWith(grad *Tensor, retainGraph, createGraph bool) {
	var e *C.char
	C.gt_backward(t.ptr("backward"), optPtr("backward", grad), cbool(retainGraph), cbool(createGraph), &e)
	runtime.KeepAlive(t)
	runtime.KeepAlive(grad)
	check("backward", e)
}

// GradOpts are the options of torch.autograd.grad.
type GradOpts struct {
	GradOutputs []*Tensor // one per output; nil entries (or a nil slice) for one-element outputs
	RetainGraph bool
	CreateGraph bool // build the graph of the gradients, for penalties on them (WGAN-GP)
	AllowUnused bool // an input that the outputs do not depend on gets a nil gradient
}

// Grads is torch.autograd.grad(outputs, inputs): the gradients of the outputs
// with respect to each input.
func Grads(outputs, inputs []*Tensor, o GradOpts) []*Tensor {
	const op = "autograd_grad"
	if len(outputs) == 0 || len(inputs) == 0 {
		fail(op, "need at least one output and one input")
	}
	if o.GradOutputs != nil && len(o.GradOutputs) != len(outputs) {
		fail(op, "%d grad outputs for %d outputs", len(o.GradOutputs), len(outputs))
	}
	outs := handles(op, outputs, false)
	ins := handles(op, inputs, false)
	var gouts *C.GTensor
	var gh []C.GTensor
	if o.GradOutputs != nil {
		gh = handles(op, o.GradOutputs, true)
		gouts = firstHandle(gh)
	}
	res := make([]C.GTensor, len(inputs))
	var e *C.char
	C.gt_autograd_grad(firstHandle(outs), gouts, C.int(len(outs)), firstHandle(ins), C.int(len(ins)),
		cbool(o.RetainGraph), cbool(o.CreateGraph), cbool(o.AllowUnused), firstHandle(res), &e)
	runtime.KeepAlive(outputs)
	runtime.KeepAlive(inputs)
	runtime.KeepAlive(o.GradOutputs)
	check(op, e)
	grads := make([]*Tensor, len(res))
	for i, h := range res {
		if h != nil {
			grads[i] = wrap(h)
		}
	}
	return grads
}

// Detach is t cut from the autograd graph, sharing its memory.
func (t *Tensor) Detach() *Tensor {
	var e *C.char
	h := C.gt_detach(t.ptr("detach"), &e)
	runtime.KeepAlive(t)
	return result("detach", h, e)
}

// GradEnabled reports whether autograd records ops on this OS thread.
func GradEnabled() bool { return C.gt_grad_enabled() != 0 }

// NoGrad runs f with autograd off on this thread (torch.no_grad()), restoring
// the previous mode afterwards even if f panics.
func NoGrad(f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	prev := C.gt_grad_enabled()
	C.gt_set_grad_enabled(0)
	defer C.gt_set_grad_enabled(prev)
	f()
}

// CopyFrom copies src's values into t in place (outside autograd); shapes must match.
func (t *Tensor) CopyFrom(src *Tensor) {
	var e *C.char
	C.gt_copy_(t.ptr("copy"), src.ptr("copy"), &e)
	runtime.KeepAlive(t)
	runtime.KeepAlive(src)
	check("copy", e)
}

// IndexCopy_ writes source's slices along dim into t at the positions index
// (int64, on t's device), in place and outside autograd (index_copy_). The
// positions are read on the device: a CUDA graph's replays write where
// each replay's index says, where Narrow's offsets are fixed at capture.
func (t *Tensor) IndexCopy_(dim int64, index, source *Tensor) {
	const op = "index_copy_"
	var e *C.char
	C.gt_index_copy_(t.ptr(op), C.int64_t(dim), index.ptr(op), source.ptr(op), &e)
	runtime.KeepAlive(t)
	runtime.KeepAlive(index)
	runtime.KeepAlive(source)
	check(op, e)
}

// Fill sets every element of t to v in place (outside autograd).
func (t *Tensor) Fill(v float64) {
	var e *C.char
	C.gt_fill_(t.ptr("fill"), C.double(v), &e)
	runtime.KeepAlive(t)
	check("fill", e)
}

// FillNormal fills t in place with N(mean, std) samples from the default generator.
func (t *Tensor) FillNormal(mean, std float64) {
	var e *C.char
	C.gt_normal_(t.ptr("normal"), C.double(mean), C.double(std), &e)
	runtime.KeepAlive(t)
	check("normal", e)
}

// FillUniform fills t in place with U(from, to) samples from the default generator.
func (t *Tensor) FillUniform(from, to float64) {
	var e *C.char
	C.gt_uniform_(t.ptr("uniform"), C.double(from), C.double(to), &e)
	runtime.KeepAlive(t)
	check("uniform", e)
}

// AddInPlace adds v to every element of t in place (outside autograd), e.g.
// BatchNorm's num_batches_tracked.
func (t *Tensor) AddInPlace(v float64) {
	var e *C.char
	C.gt_add_scalar_(t.ptr("add_"), C.double(v), &e)
	runtime.KeepAlive(t)
	check("add_", e)
}

// InitKind is a weight initialisation of torch.nn.init.
type InitKind int

// The initialisations of torch.nn.init that the reference networks use.
const (
	XavierNormal   InitKind = C.GT_INIT_XAVIER_NORMAL
	XavierUniform  InitKind = C.GT_INIT_XAVIER_UNIFORM
	KaimingNormal  InitKind = C.GT_INIT_KAIMING_NORMAL  // fan_in, leaky_relu with slope a
	KaimingUniform InitKind = C.GT_INIT_KAIMING_UNIFORM // fan_in, leaky_relu with slope a
	Orthogonal     InitKind = C.GT_INIT_ORTHOGONAL
)

// Init fills t in place as torch.nn.init does: gainOrA is the gain for the
// xavier and orthogonal kinds and the negative slope a for the kaiming kinds.
func (t *Tensor) Init(kind InitKind, gainOrA float64) {
	var e *C.char
	C.gt_init_(t.ptr("init"), C.int(kind), C.double(gainOrA), &e)
	runtime.KeepAlive(t)
	check("init", e)
}
