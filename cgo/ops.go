package torch

// #include "gotorch.h"
import "C"

import (
	"runtime"
	"unsafe"
)

func unary(op string, code C.int, x *Tensor) *Tensor {
	var e *C.char
	h := C.gt_unary(code, x.ptr(op), &e)
	runtime.KeepAlive(x)
	return result(op, h, e)
}

func binaryOp(op string, code C.int, a, b *Tensor) *Tensor {
	var e *C.char
	h := C.gt_binary(code, a.ptr(op), b.ptr(op), &e)
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	return result(op, h, e)
}

func scalarOp(op string, code C.int, x *Tensor, s float64) *Tensor {
	var e *C.char
	h := C.gt_scalar_op(code, x.ptr(op), C.double(s), &e)
	runtime.KeepAlive(x)
	return result(op, h, e)
}

// Relu is max(x, 0).
func (t *Tensor) Relu() *Tensor { return unary("relu", C.GT_RELU, t) }

// Relu_ overwrites t with max(t, 0) (nn.ReLU(inplace=True)) and returns a
// new handle to it. Autograd then saves the result instead of the input: one
// activation less kept for the backward pass. t must not be needed by the
// backward of the op that made it (a convolution's or a norm's output is not).
func (t *Tensor) Relu_() *Tensor { return unary("relu_", C.GT_RELU_INPLACE, t) }

// Tanh is the hyperbolic tangent.
func (t *Tensor) Tanh() *Tensor { return unary("tanh", C.GT_TANH, t) }

// Sigmoid is 1 / (1 + exp(-x)).
func (t *Tensor) Sigmoid() *Tensor { return unary("sigmoid", C.GT_SIGMOID, t) }

// Neg is -x.
func (t *Tensor) Neg() *Tensor { return unary("neg", C.GT_NEG, t) }

// Sqrt is the square root.
func (t *Tensor) Sqrt() *Tensor { return unary("sqrt", C.GT_SQRT, t) }

// Abs is |x|.
func (t *Tensor) Abs() *Tensor { return unary("abs", C.GT_ABS, t) }

// Exp is e^x.
func (t *Tensor) Exp() *Tensor { return unary("exp", C.GT_EXP, t) }

// Log is the natural logarithm.
func (t *Tensor) Log() *Tensor { return unary("log", C.GT_LOG, t) }

// Square is x*x.
func (t *Tensor) Square() *Tensor { return unary("square", C.GT_SQUARE, t) }

// OnesLike is a tensor of ones shaped, typed and placed like t.
func (t *Tensor) OnesLike() *Tensor { return unary("ones_like", C.GT_ONES_LIKE, t) }

// ZerosLike is a tensor of zeros shaped, typed and placed like t.
func (t *Tensor) ZerosLike() *Tensor { return unary("zeros_like", C.GT_ZEROS_LIKE, t) }

// RandnLike is standard normal noise shaped, typed and placed like t.
func (t *Tensor) RandnLike() *Tensor { return unary("randn_like", C.GT_RANDN_LIKE, t) }

// RandLike is uniform [0, 1) noise shaped, typed and placed like t.
func (t *Tensor) RandLike() *Tensor { return unary("rand_like", C.GT_RAND_LIKE, t) }

// FullLike is a tensor shaped, typed and placed like t, filled with v.
func (t *Tensor) FullLike(v float64) *Tensor { return scalarOp("full_like", C.GT_FULL_LIKE, t, v) }

// Add is t + o, broadcasting.
func (t *Tensor) Add(o *Tensor) *Tensor { return binaryOp("add", C.GT_ADD, t, o) }

// Eq is 1 where t == o and 0 elsewhere, in t's dtype, broadcasting
// (one-hot label maps: ids == arange(classes)).
func (t *Tensor) Eq(o *Tensor) *Tensor { return binaryOp("eq", C.GT_EQ, t, o) }

// Sub is t - o, broadcasting.
func (t *Tensor) Sub(o *Tensor) *Tensor { return binaryOp("sub", C.GT_SUB, t, o) }

// Mul is t * o elementwise, broadcasting.
func (t *Tensor) Mul(o *Tensor) *Tensor { return binaryOp("mul", C.GT_MUL, t, o) }

// Div is t / o elementwise, broadcasting.
func (t *Tensor) Div(o *Tensor) *Tensor { return binaryOp("div", C.GT_DIV, t, o) }

// Maximum is the elementwise maximum.
func (t *Tensor) Maximum(o *Tensor) *Tensor { return binaryOp("maximum", C.GT_MAXIMUM, t, o) }

// Matmul is torch.matmul(t, o).
func (t *Tensor) Matmul(o *Tensor) *Tensor { return binaryOp("matmul", C.GT_MATMUL, t, o) }

// Eigh is torch.linalg.eigh of a symmetric matrix (read from its lower
// triangle): the eigenvalues in ascending order and the eigenvectors as
// the columns of vecs.
func (t *Tensor) Eigh() (vals, vecs *Tensor) {
	var e *C.char
	var v C.GTensor
	h := C.gt_eigh(t.ptr("eigh"), &v, &e)
	runtime.KeepAlive(t)
	vals = result("eigh", h, e)
	return vals, wrap(v)
}

// Eigvalsh is torch.linalg.eigvalsh: Eigh's eigenvalues alone.
func (t *Tensor) Eigvalsh() *Tensor {
	var e *C.char
	h := C.gt_eigh(t.ptr("eigvalsh"), nil, &e)
	runtime.KeepAlive(t)
	return result("eigvalsh", h, e)
}

// Minimum is the elementwise minimum.
func (t *Tensor) Minimum(o *Tensor) *Tensor { return binaryOp("minimum", C.GT_MINIMUM, t, o) }

// AddScalar is t + s.
func (t *Tensor) AddScalar(s float64) *Tensor { return scalarOp("add_scalar", C.GT_ADD_SCALAR, t, s) }

// SubScalar is t - s.
func (t *Tensor) SubScalar(s float64) *Tensor { return scalarOp("sub_scalar", C.GT_SUB_SCALAR, t, s) }

// MulScalar is t * s.
func (t *Tensor) MulScalar(s float64) *Tensor { return scalarOp("mul_scalar", C.GT_MUL_SCALAR, t, s) }

// DivScalar is t / s.
func (t *Tensor) DivScalar(s float64) *Tensor { return scalarOp("div_scalar", C.GT_DIV_SCALAR, t, s) }

// Pow is t ** s.
func (t *Tensor) Pow(s float64) *Tensor { return scalarOp("pow", C.GT_POW_SCALAR, t, s) }

// RSub is s - t.
func (t *Tensor) RSub(s float64) *Tensor { return scalarOp("rsub", C.GT_RSUB_SCALAR, t, s) }

// LeakyRelu is x for x >= 0 and slope*x below.
func (t *Tensor) LeakyRelu(slope float64) *Tensor {
	return scalarOp("leaky_relu", C.GT_LEAKY_RELU, t, slope)
}

// LeakyRelu_ overwrites t with LeakyRelu(slope) in place, as Relu_ does.
func (t *Tensor) LeakyRelu_(slope float64) *Tensor {
	return scalarOp("leaky_relu_", C.GT_LEAKY_RELU_INPLACE, t, slope)
}

func (t *Tensor) clamp(op string, lo float64, hasLo bool, hi float64, hasHi bool) *Tensor {
	b := func(v bool) C.int {
		if v {
			return 1
		}
		return 0
	}
	var e *C.char
	h := C.gt_clamp(t.ptr(op), C.double(lo), b(hasLo), C.double(hi), b(hasHi), &e)
	runtime.KeepAlive(t)
	return result(op, h, e)
}

// Clamp limits the elements to [lo, hi].
func (t *Tensor) Clamp(lo, hi float64) *Tensor { return t.clamp("clamp", lo, true, hi, true) }

// ClampMin limits the elements to [lo, inf).
func (t *Tensor) ClampMin(lo float64) *Tensor { return t.clamp("clamp_min", lo, true, 0, false) }

// ClampMax limits the elements to (-inf, hi].
func (t *Tensor) ClampMax(hi float64) *Tensor { return t.clamp("clamp_max", 0, false, hi, true) }

func (t *Tensor) reduce(op string, code C.int, dims []int64, keepdim bool) *Tensor {
	kd := C.int(0)
	if keepdim {
		kd = 1
	}
	cd, nd := cShape(dims)
	var e *C.char
	h := C.gt_reduce(code, t.ptr(op), cd, nd, kd, &e)
	runtime.KeepAlive(t)
	runtime.KeepAlive(dims)
	return result(op, h, e)
}

// Sum is the sum of all elements (a scalar tensor).
func (t *Tensor) Sum() *Tensor { return t.reduce("sum", C.GT_SUM, nil, false) }

// Mean is the mean of all elements (a scalar tensor).
func (t *Tensor) Mean() *Tensor { return t.reduce("mean", C.GT_MEAN, nil, false) }

// SumDims sums over dims.
func (t *Tensor) SumDims(dims []int64, keepdim bool) *Tensor {
	if len(dims) == 0 {
		fail("sum_dims", "no dimensions given; use Sum for all")
	}
	return t.reduce("sum_dims", C.GT_SUM, dims, keepdim)
}

// MeanDims averages over dims.
func (t *Tensor) MeanDims(dims []int64, keepdim bool) *Tensor {
	if len(dims) == 0 {
		fail("mean_dims", "no dimensions given; use Mean for all")
	}
	return t.reduce("mean_dims", C.GT_MEAN, dims, keepdim)
}

// Norm2Dims is the Euclidean norm over dims, PyTorch's x.norm(2, dim=dims).
// Its rounding and its gradient are the op's own: computing
// sqrt(sum(square(x))) instead gives values that differ in the last bits.
func (t *Tensor) Norm2Dims(dims []int64, keepdim bool) *Tensor {
	if len(dims) == 0 {
		fail("norm2_dims", "no dimensions given")
	}
	return t.reduce("norm2_dims", C.GT_NORM2, dims, keepdim)
}

func (t *Tensor) reshape(op string, shape []int64, view C.int) *Tensor {
	cs, nd := cShape(shape)
	var e *C.char
	h := C.gt_reshape(t.ptr(op), cs, nd, view, &e)
	runtime.KeepAlive(t)
	runtime.KeepAlive(shape)
	return result(op, h, e)
}

// Reshape is t with a new shape (one entry may be -1), copying only when it must.
func (t *Tensor) Reshape(shape ...int64) *Tensor { return t.reshape("reshape", shape, 0) }

// View is t with a new shape sharing its memory; an error when the layout forbids it.
func (t *Tensor) View(shape ...int64) *Tensor { return t.reshape("view", shape, 1) }

// Permute reorders the dimensions.
func (t *Tensor) Permute(dims ...int64) *Tensor {
	cd, nd := cShape(dims)
	var e *C.char
	h := C.gt_permute(t.ptr("permute"), cd, nd, &e)
	runtime.KeepAlive(t)
	runtime.KeepAlive(dims)
	return result("permute", h, e)
}

// Flatten merges dimensions start..end (inclusive; negative counts from the end).
func (t *Tensor) Flatten(start, end int64) *Tensor {
	var e *C.char
	h := C.gt_flatten(t.ptr("flatten"), C.int64_t(start), C.int64_t(end), &e)
	runtime.KeepAlive(t)
	return result("flatten", h, e)
}

// Narrow is the slice [start, start+length) of dimension dim, sharing memory.
func (t *Tensor) Narrow(dim, start, length int64) *Tensor {
	var e *C.char
	h := C.gt_narrow(t.ptr("narrow"), C.int64_t(dim), C.int64_t(start), C.int64_t(length), &e)
	runtime.KeepAlive(t)
	return result("narrow", h, e)
}

// IndexSelect is the entries of t at the positions index (int64, on t's
// device) along dim, in index's order: torch.index_select.
func (t *Tensor) IndexSelect(dim int64, index *Tensor) *Tensor {
	const op = "index_select"
	var e *C.char
	h := C.gt_index_select(t.ptr(op), C.int64_t(dim), index.ptr(op), &e)
	runtime.KeepAlive(t)
	runtime.KeepAlive(index)
	return result(op, h, e)
}

// IndexAdd is t with source's slices along dim added at the positions
// index (int64, on t's device), repeated positions accumulating:
// torch.index_add, out of place. Differentiable in t and source; on CUDA
// the order of a position's additions is not fixed.
func (t *Tensor) IndexAdd(dim int64, index, source *Tensor) *Tensor {
	const op = "index_add"
	var e *C.char
	h := C.gt_index_add(t.ptr(op), C.int64_t(dim), index.ptr(op), source.ptr(op), &e)
	runtime.KeepAlive(t)
	runtime.KeepAlive(index)
	runtime.KeepAlive(source)
	return result(op, h, e)
}

// Flip is t reversed along each of dims (torch.flip): a copy.
func (t *Tensor) Flip(dims ...int64) *Tensor {
	const op = "flip"
	cs, nd := cShape(dims)
	var e *C.char
	h := C.gt_flip(t.ptr(op), cs, nd, &e)
	runtime.KeepAlive(t)
	runtime.KeepAlive(dims)
	return result(op, h, e)
}

// handles is a C array of the tensors' handles (NULL for nil entries when
// nullable); the caller keeps the tensors alive.
func handles(op string, ts []*Tensor, nullable bool) []C.GTensor {
	hs := make([]C.GTensor, len(ts))
	for i, t := range ts {
		if t == nil && nullable {
			continue
		}
		hs[i] = t.ptr(op)
	}
	return hs
}

func firstHandle(hs []C.GTensor) *C.GTensor {
	if len(hs) == 0 {
		return nil
	}
	return (*C.GTensor)(unsafe.Pointer(&hs[0]))
}

// Cat concatenates tensors along dim.
func Cat(ts []*Tensor, dim int64) *Tensor {
	if len(ts) == 0 {
		fail("cat", "no tensors to concatenate")
	}
	hs := handles("cat", ts, false)
	var e *C.char
	h := C.gt_cat(firstHandle(hs), C.int(len(hs)), C.int64_t(dim), &e)
	runtime.KeepAlive(ts)
	return result("cat", h, e)
}
