package torch

// #include <stdlib.h>
// #include "gotorch.h"
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// cShape is a shape as C wants it; nil for a scalar (zero dimensions).
func cShape(shape []int64) (*C.int64_t, C.int) {
	if len(shape) == 0 {
		return nil, 0
	}
	return (*C.int64_t)(unsafe.Pointer(&shape[0])), C.int(len(shape))
}

func numel(shape []int64) int64 {
	n := int64(1)
	for _, s := range shape {
		n *= s
	}
	return n
}

// fromData copies a Go slice's bytes into a new tensor on dev.
func fromData(op string, p unsafe.Pointer, nbytes int, dt DType, dev Device, shape []int64) *Tensor {
	if dt.Size() == 0 {
		fail(op, "unknown dtype %v: use one of this package's DType constants (Float32, Uint8, ...)", dt)
	}
	for _, s := range shape {
		if s < 0 {
			fail(op, "negative dimension in shape %v", shape)
		}
	}
	if want := numel(shape) * int64(dt.Size()); int64(nbytes) != want {
		fail(op, "%d %s values do not fill shape %v (%d values)", nbytes/dt.Size(), dt, shape, want/int64(dt.Size()))
	}
	cs, nd := cShape(shape)
	var e *C.char
	h := C.gt_from_data(p, C.int64_t(nbytes), C.int(dt), cs, nd, C.int(dev.Type), C.int(dev.Index), &e)
	runtime.KeepAlive(shape)
	return result(op, h, e)
}

func slicePtr[T any](s []T) unsafe.Pointer {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Pointer(&s[0])
}

// FromFloat32 copies data into a new float32 tensor of the given shape on the CPU.
func FromFloat32(data []float32, shape ...int64) *Tensor {
	return fromData("from_float32", slicePtr(data), len(data)*4, Float32, CPUDevice, shape)
}

// FromUint8 copies data into a new uint8 tensor of the given shape on the CPU.
func FromUint8(data []uint8, shape ...int64) *Tensor {
	return fromData("from_uint8", slicePtr(data), len(data), Uint8, CPUDevice, shape)
}

// FromInt64 copies data into a new int64 tensor of the given shape on the CPU.
func FromInt64(data []int64, shape ...int64) *Tensor {
	return fromData("from_int64", slicePtr(data), len(data)*8, Int64, CPUDevice, shape)
}

// FromBytes makes a tensor of dtype dt from its raw little-endian bytes
// (the layout of safetensors), on dev.
func FromBytes(b []byte, dt DType, dev Device, shape ...int64) *Tensor {
	return fromData("from_bytes", slicePtr(b), len(b), dt, dev, shape)
}

func filled(op string, kind C.int, v float64, dt DType, dev Device, shape []int64) *Tensor {
	cs, nd := cShape(shape)
	var e *C.char
	h := C.gt_filled(kind, C.double(v), cs, nd, C.int(dt), C.int(dev.Type), C.int(dev.Index), &e)
	runtime.KeepAlive(shape)
	return result(op, h, e)
}

// Zeros is a tensor of zeros.
func Zeros(dt DType, dev Device, shape ...int64) *Tensor {
	return filled("zeros", C.GT_FILL_ZEROS, 0, dt, dev, shape)
}

// Ones is a tensor of ones.
func Ones(dt DType, dev Device, shape ...int64) *Tensor {
	return filled("ones", C.GT_FILL_ONES, 0, dt, dev, shape)
}

// Full is a tensor filled with v.
func Full(v float64, dt DType, dev Device, shape ...int64) *Tensor {
	return filled("full", C.GT_FILL_FULL, v, dt, dev, shape)
}

// Randn is a tensor of standard normal samples from the default generator.
func Randn(dt DType, dev Device, shape ...int64) *Tensor {
	return filled("randn", C.GT_FILL_RANDN, 0, dt, dev, shape)
}

// Rand is a tensor of uniform samples in [0, 1) from the default generator.
func Rand(dt DType, dev Device, shape ...int64) *Tensor {
	return filled("rand", C.GT_FILL_RAND, 0, dt, dev, shape)
}

// Arange is start, start+step, ... up to but excluding end.
func Arange(start, end, step float64, dt DType, dev Device) *Tensor {
	var e *C.char
	h := C.gt_arange(C.double(start), C.double(end), C.double(step), C.int(dt), C.int(dev.Type), C.int(dev.Index), &e)
	return result("arange", h, e)
}

// Empty is an uninitialised tensor. pinned asks for page-locked host memory,
// which CUDA copies from without staging (it needs a CUDA build of libtorch).
func Empty(dt DType, dev Device, pinned bool, shape ...int64) *Tensor {
	cs, nd := cShape(shape)
	p := C.int(0)
	if pinned {
		p = 1
	}
	var e *C.char
	h := C.gt_empty(cs, nd, C.int(dt), C.int(dev.Type), C.int(dev.Index), p, &e)
	runtime.KeepAlive(shape)
	return result("empty", h, e)
}

// Dim is the number of dimensions.
func (t *Tensor) Dim() int {
	n := int(C.gt_ndim(t.ptr("dim")))
	runtime.KeepAlive(t)
	return n
}

// Shape is the size of each dimension.
func (t *Tensor) Shape() []int64 {
	h := t.ptr("shape")
	s := make([]int64, int(C.gt_ndim(h)))
	if len(s) > 0 {
		C.gt_shape(h, (*C.int64_t)(unsafe.Pointer(&s[0])))
	}
	runtime.KeepAlive(t)
	return s
}

// Numel is the number of elements.
func (t *Tensor) Numel() int64 { return numel(t.Shape()) }

// DType is the element type.
func (t *Tensor) DType() DType {
	d := DType(C.gt_dtype(t.ptr("dtype")))
	runtime.KeepAlive(t)
	return d
}

// Device is where the tensor lives.
func (t *Tensor) Device() Device {
	var typ, idx C.int
	C.gt_device(t.ptr("device"), &typ, &idx)
	runtime.KeepAlive(t)
	return Device{Type: DeviceType(typ), Index: int(idx)}
}

// IsPinned reports whether t is in page-locked host memory.
func (t *Tensor) IsPinned() bool {
	p := C.gt_is_pinned(t.ptr("is_pinned")) != 0
	runtime.KeepAlive(t)
	return p
}

// IsContiguous reports whether t is laid out row-major without gaps.
func (t *Tensor) IsContiguous() bool {
	p := C.gt_is_contiguous(t.ptr("is_contiguous")) != 0
	runtime.KeepAlive(t)
	return p
}

func (t *Tensor) String() string {
	if t.Freed() {
		return "Tensor(freed)"
	}
	return fmt.Sprintf("Tensor(%v, %s, %s)", t.Shape(), t.DType(), t.Device())
}

// copyOut copies t's elements, as dtype dt, into dst (nbytes bytes).
func (t *Tensor) copyOut(op string, dt DType, dst unsafe.Pointer, nbytes int) {
	src := t
	if t.DType() != dt {
		src = t.ToDType(dt)
		defer src.Free()
	}
	var e *C.char
	C.gt_copy_to_host(src.ptr(op), dst, C.int64_t(nbytes), &e)
	runtime.KeepAlive(src)
	check(op, e)
}

// Float32s copies the elements, converted to float32, to a new Go slice.
func (t *Tensor) Float32s() []float32 {
	out := make([]float32, t.Numel())
	t.copyOut("float32s", Float32, slicePtr(out), len(out)*4)
	return out
}

// Int64s copies the elements, converted to int64, to a new Go slice.
func (t *Tensor) Int64s() []int64 {
	out := make([]int64, t.Numel())
	t.copyOut("int64s", Int64, slicePtr(out), len(out)*8)
	return out
}

// Uint8s copies the elements, converted to uint8, to a new Go slice.
func (t *Tensor) Uint8s() []uint8 {
	out := make([]uint8, t.Numel())
	t.copyOut("uint8s", Uint8, slicePtr(out), len(out))
	return out
}

// Bytes is the raw little-endian bytes of the elements in their own dtype.
func (t *Tensor) Bytes() []byte {
	dt := t.DType()
	out := make([]byte, t.Numel()*int64(dt.Size()))
	t.copyOut("bytes", dt, slicePtr(out), len(out))
	return out
}

// Item is the value of a one-element tensor.
func (t *Tensor) Item() float64 {
	var e *C.char
	v := C.gt_item(t.ptr("item"), &e)
	runtime.KeepAlive(t)
	check("item", e)
	return float64(v)
}

// Float32Data is a Go view of the memory of a contiguous float32 CPU tensor
// (a pinned batch buffer, say): writes go straight into the tensor. The view
// is valid only while t is alive and not freed.
func (t *Tensor) Float32Data() []float32 {
	if d := t.DType(); d != Float32 {
		fail("float32_data", "tensor is %s, not float32", d)
	}
	return unsafe.Slice((*float32)(t.dataPtr("float32_data")), t.Numel())
}

// Uint8Data is like Float32Data for a uint8 tensor.
func (t *Tensor) Uint8Data() []uint8 {
	if d := t.DType(); d != Uint8 {
		fail("uint8_data", "tensor is %s, not uint8", d)
	}
	return unsafe.Slice((*uint8)(t.dataPtr("uint8_data")), t.Numel())
}

func (t *Tensor) dataPtr(op string) unsafe.Pointer {
	var e *C.char
	p := C.gt_data_ptr(t.ptr(op), &e)
	runtime.KeepAlive(t)
	check(op, e)
	return p
}

func (t *Tensor) to(op string, dev Device, dt DType, nonBlocking bool) *Tensor {
	nb := C.int(0)
	if nonBlocking {
		nb = 1
	}
	var e *C.char
	h := C.gt_to(t.ptr(op), C.int(dev.Type), C.int(dev.Index), C.int(dt), nb, &e)
	runtime.KeepAlive(t)
	return result(op, h, e)
}

// To is t on dev (t itself, as a new handle, when it is there already).
func (t *Tensor) To(dev Device) *Tensor { return t.to("to", dev, -1, false) }

// ToAsync is To without waiting: from pinned host memory to a CUDA device the
// copy overlaps with work already queued. Elsewhere it is To.
func (t *Tensor) ToAsync(dev Device) *Tensor { return t.to("to_async", dev, -1, true) }

// Upload is a small host tensor (indices, picks drawn on the host) on dev
// without the host waiting for the device: on a GPU through a pinned copy,
// which the caching host allocator keeps until the copy is done; on the CPU
// To.
func (t *Tensor) Upload(dev Device) *Tensor {
	if !dev.IsCUDA() {
		return t.To(dev)
	}
	pinned := t.PinMemory()
	// The caching host allocator keeps a page-locked block until the copies
	// queued from it are done, so the copy can go now, on every path, instead
	// of holding page-locked memory until its scope or the collector frees it.
	defer pinned.Free()
	return pinned.ToAsync(dev)
}

// ToDType converts t's elements to dt on its own device.
func (t *Tensor) ToDType(dt DType) *Tensor { return t.to("to_dtype", t.Device(), dt, false) }

func (t *Tensor) contiguous(op string, format C.int) *Tensor {
	var e *C.char
	h := C.gt_contiguous(t.ptr(op), format, &e)
	runtime.KeepAlive(t)
	return result(op, h, e)
}

// Contiguous is t in row-major (NCHW) layout.
func (t *Tensor) Contiguous() *Tensor { return t.contiguous("contiguous", C.GT_FORMAT_CONTIGUOUS) }

// ChannelsLast is a 4-d t in NHWC memory layout (the shape stays NCHW).
func (t *Tensor) ChannelsLast() *Tensor {
	return t.contiguous("channels_last", C.GT_FORMAT_CHANNELS_LAST)
}

// Clone is a copy of t with its own memory (differentiable).
func (t *Tensor) Clone() *Tensor {
	var e *C.char
	h := C.gt_clone(t.ptr("clone"), &e)
	runtime.KeepAlive(t)
	return result("clone", h, e)
}

// PinMemory is a copy of a CPU tensor in page-locked memory (needs CUDA).
func (t *Tensor) PinMemory() *Tensor {
	var e *C.char
	h := C.gt_pin_memory(t.ptr("pin_memory"), &e)
	runtime.KeepAlive(t)
	return result("pin_memory", h, e)
}
