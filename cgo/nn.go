package torch

// #include "gotorch.h"
import "C"

import (
	"runtime"
	"unsafe"
)

// ConvOpts are the geometry of a 2-d (transposed) convolution. Zero Stride,
// Dilation and Groups mean 1, as nn.Conv2d's defaults.
type ConvOpts struct {
	Stride        [2]int64
	Padding       [2]int64
	OutputPadding [2]int64 // transposed convolution only
	Dilation      [2]int64
	Groups        int64
}

func (o ConvOpts) withDefaults() ConvOpts {
	one := func(p *[2]int64) {
		for i := range p {
			if p[i] == 0 {
				p[i] = 1
			}
		}
	}
	one(&o.Stride)
	one(&o.Dilation)
	if o.Groups == 0 {
		o.Groups = 1
	}
	return o
}

func pair(p *[2]int64) *C.int64_t { return (*C.int64_t)(unsafe.Pointer(&p[0])) }

// Conv2d is F.conv2d(x, w, b); b may be nil.
func Conv2d(x, w, b *Tensor, o ConvOpts) *Tensor {
	o = o.withDefaults()
	var e *C.char
	h := C.gt_conv2d(x.ptr("conv2d"), w.ptr("conv2d"), optPtr("conv2d", b),
		pair(&o.Stride), pair(&o.Padding), pair(&o.Dilation), C.int64_t(o.Groups), &e)
	runtime.KeepAlive(x)
	runtime.KeepAlive(w)
	runtime.KeepAlive(b)
	return result("conv2d", h, e)
}

// ConvTranspose2d is F.conv_transpose2d(x, w, b); b may be nil. On the CPU,
// with a weight that needs its gradient and more than one thread, it runs
// libtorch's own kernel on the threads' shares of the batch (csrc/convt.cpp):
// the same results bit for bit, where libtorch 1.13 would use one core.
func ConvTranspose2d(x, w, b *Tensor, o ConvOpts) *Tensor {
	o = o.withDefaults()
	const op = "conv_transpose2d"
	var e *C.char
	h := C.gt_conv_transpose2d(x.ptr(op), w.ptr(op), optPtr(op, b), pair(&o.Stride),
		pair(&o.Padding), pair(&o.OutputPadding), C.int64_t(o.Groups), pair(&o.Dilation), &e)
	runtime.KeepAlive(x)
	runtime.KeepAlive(w)
	runtime.KeepAlive(b)
	return result(op, h, e)
}

// convtThreaded reports whether ConvTranspose2d runs gogan's threaded CPU
// path (libtorch 1.x) rather than libtorch's op as it is.
func convtThreaded() bool { return C.gt_convt_threaded() != 0 }

func cbool(v bool) C.int {
	if v {
		return 1
	}
	return 0
}

// BatchNorm is F.batch_norm. In training it normalises with the batch's
// statistics and updates runningMean/runningVar in place (when given) with
// momentum; otherwise it uses them. weight, bias and the running stats may be nil.
func BatchNorm(x, weight, bias, runningMean, runningVar *Tensor, training bool, momentum, eps float64) *Tensor {
	const op = "batch_norm"
	var e *C.char
	h := C.gt_batch_norm(x.ptr(op), optPtr(op, weight), optPtr(op, bias), optPtr(op, runningMean),
		optPtr(op, runningVar), cbool(training), C.double(momentum), C.double(eps), &e)
	runtime.KeepAlive(x)
	runtime.KeepAlive(weight)
	runtime.KeepAlive(bias)
	runtime.KeepAlive(runningMean)
	runtime.KeepAlive(runningVar)
	return result(op, h, e)
}

// InstanceNorm is F.instance_norm: per-sample, per-channel statistics when
// useInputStats (always, unless the layer tracks running stats in eval mode).
func InstanceNorm(x, weight, bias, runningMean, runningVar *Tensor, useInputStats bool, momentum, eps float64) *Tensor {
	const op = "instance_norm"
	var e *C.char
	h := C.gt_instance_norm(x.ptr(op), optPtr(op, weight), optPtr(op, bias), optPtr(op, runningMean),
		optPtr(op, runningVar), cbool(useInputStats), C.double(momentum), C.double(eps), &e)
	runtime.KeepAlive(x)
	runtime.KeepAlive(weight)
	runtime.KeepAlive(bias)
	runtime.KeepAlive(runningMean)
	runtime.KeepAlive(runningVar)
	return result(op, h, e)
}

// Dropout zeroes each element with probability p and scales the rest by
// 1/(1-p) when train; otherwise it returns x unchanged (as a new handle).
func Dropout(x *Tensor, p float64, train bool) *Tensor {
	var e *C.char
	h := C.gt_dropout(x.ptr("dropout"), C.double(p), cbool(train), &e)
	runtime.KeepAlive(x)
	return result("dropout", h, e)
}

// PadMode is how Pad2d fills the border.
type PadMode int

// The padding modes of nn.ZeroPad2d, nn.ReflectionPad2d and nn.ReplicationPad2d.
const (
	PadZero      PadMode = C.GT_PAD_ZERO
	PadReflect   PadMode = C.GT_PAD_REFLECT
	PadReplicate PadMode = C.GT_PAD_REPLICATE
)

// Pad2d pads the last two dimensions by left, right, top and bottom.
func Pad2d(x *Tensor, mode PadMode, left, right, top, bottom int64) *Tensor {
	p := [4]int64{left, right, top, bottom}
	var e *C.char
	h := C.gt_pad2d(x.ptr("pad2d"), C.int(mode), (*C.int64_t)(unsafe.Pointer(&p[0])), &e)
	runtime.KeepAlive(x)
	return result("pad2d", h, e)
}

// AvgPool2d is F.avg_pool2d.
func AvgPool2d(x *Tensor, kernel, stride, padding [2]int64, ceilMode, countIncludePad bool) *Tensor {
	var e *C.char
	h := C.gt_avg_pool2d(x.ptr("avg_pool2d"), pair(&kernel), pair(&stride), pair(&padding),
		cbool(ceilMode), cbool(countIncludePad), &e)
	runtime.KeepAlive(x)
	return result("avg_pool2d", h, e)
}

// MaxPool2d is F.max_pool2d (dilation 1).
func MaxPool2d(x *Tensor, kernel, stride, padding [2]int64, ceilMode bool) *Tensor {
	var e *C.char
	h := C.gt_max_pool2d(x.ptr("max_pool2d"), pair(&kernel), pair(&stride), pair(&padding), cbool(ceilMode), &e)
	runtime.KeepAlive(x)
	return result("max_pool2d", h, e)
}

// UpsampleMode is the interpolation of Upsample.
type UpsampleMode int

// The upsampling modes.
const (
	Nearest  UpsampleMode = C.GT_NEAREST
	Bilinear UpsampleMode = C.GT_BILINEAR
)

// Upsample resizes the last two dimensions to outH x outW (F.interpolate with
// size=; alignCorners matters for Bilinear only).
func Upsample(x *Tensor, mode UpsampleMode, outH, outW int64, alignCorners bool) *Tensor {
	var e *C.char
	h := C.gt_upsample2d(x.ptr("upsample"), C.int(mode), C.int64_t(outH), C.int64_t(outW), cbool(alignCorners), &e)
	runtime.KeepAlive(x)
	return result("upsample", h, e)
}

// Reduction is how a loss combines its elementwise terms.
type Reduction int

// The reductions of torch.nn losses.
const (
	ReduceNone Reduction = C.GT_REDUCE_NONE
	ReduceMean Reduction = C.GT_REDUCE_MEAN
	ReduceSum  Reduction = C.GT_REDUCE_SUM
)

func loss(op string, kind C.int, input, target *Tensor, r Reduction) *Tensor {
	var e *C.char
	h := C.gt_loss(kind, input.ptr(op), target.ptr(op), C.int(r), &e)
	runtime.KeepAlive(input)
	runtime.KeepAlive(target)
	return result(op, h, e)
}

// BCELoss is F.binary_cross_entropy on probabilities.
func BCELoss(input, target *Tensor, r Reduction) *Tensor {
	return loss("bce", C.GT_BCE, input, target, r)
}

// BCEWithLogitsLoss is F.binary_cross_entropy_with_logits.
func BCEWithLogitsLoss(input, target *Tensor, r Reduction) *Tensor {
	return loss("bce_with_logits", C.GT_BCE_WITH_LOGITS, input, target, r)
}

// MSELoss is F.mse_loss.
func MSELoss(input, target *Tensor, r Reduction) *Tensor {
	return loss("mse", C.GT_MSE, input, target, r)
}

// L1Loss is F.l1_loss.
func L1Loss(input, target *Tensor, r Reduction) *Tensor {
	return loss("l1", C.GT_L1, input, target, r)
}
