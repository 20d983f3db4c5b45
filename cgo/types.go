package torch

// #include "gotorch.h"
import "C"

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// DType is a tensor element type.
type DType int

// The element types gogan uses.
const (
	Float32  DType = C.GT_FLOAT32
	Float16  DType = C.GT_FLOAT16
	BFloat16 DType = C.GT_BFLOAT16
	Int64    DType = C.GT_INT64
	Uint8    DType = C.GT_UINT8
	Bool     DType = C.GT_BOOL
	Float64  DType = C.GT_FLOAT64
	Int32    DType = C.GT_INT32
)

var dtypeInfo = map[DType]struct {
	name string
	size int
	st   string // the safetensors name
}{
	Float32:  {"float32", 4, "F32"},
	Float16:  {"float16", 2, "F16"},
	BFloat16: {"bfloat16", 2, "BF16"},
	Int64:    {"int64", 8, "I64"},
	Uint8:    {"uint8", 1, "U8"},
	Bool:     {"bool", 1, "BOOL"},
	Float64:  {"float64", 8, "F64"},
	Int32:    {"int32", 4, "I32"},
}

func (d DType) String() string {
	if i, ok := dtypeInfo[d]; ok {
		return i.name
	}
	return "dtype(" + strconv.Itoa(int(d)) + ")"
}

// Size is the number of bytes of one element.
func (d DType) Size() int { return dtypeInfo[d].size }

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool {
	return d == Float32 || d == Float16 || d == BFloat16 || d == Float64
}

// DeviceType is CPU or CUDA.
type DeviceType int

// The device types.
const (
	CPU  DeviceType = C.GT_CPU
	CUDA DeviceType = C.GT_CUDA
)

// Device is where a tensor lives: the CPU or one CUDA device.
type Device struct {
	Type  DeviceType
	Index int // the CUDA device number; 0 for the CPU
}

// CPUDevice is the host.
var CPUDevice = Device{Type: CPU}

// CUDADevice is CUDA device i.
func CUDADevice(i int) Device { return Device{Type: CUDA, Index: i} }

func (d Device) String() string {
	if d.Type == CUDA {
		return "cuda:" + strconv.Itoa(d.Index)
	}
	return "cpu"
}

// IsCUDA reports whether d is a CUDA device.
func (d Device) IsCUDA() bool { return d.Type == CUDA }

// ErrNoCUDA is ParseDevice's refusal of cuda or cuda:N on a machine where
// libtorch sees no CUDA device: the caller says what to give instead in
// its own words (config's device key, a command's --device).
var ErrNoCUDA = errors.New("no CUDA device is available here")

// DeviceError is ParseDevice's refusal of Value; Err says why, without the
// value, for a caller that names it itself (a --device flag's error).
type DeviceError struct {
	Value string
	Err   error
}

func (e *DeviceError) Error() string { return fmt.Sprintf("device %q: %v", e.Value, e.Err) }
func (e *DeviceError) Unwrap() error { return e.Err }

// ParseDevice reads "cpu", "cuda", "cuda:N" or "auto" (the first CUDA device
// when there is one, else the CPU). A CUDA device that this machine lacks is
// a *DeviceError that says which devices there are (ErrNoCUDA where none).
func ParseDevice(s string) (Device, error) {
	switch {
	case s == "auto":
		if CUDAIsAvailable() {
			return CUDADevice(0), nil
		}
		return CPUDevice, nil
	case s == "cpu":
		return CPUDevice, nil
	case s == "cuda" || strings.HasPrefix(s, "cuda:"):
		idx := 0
		if s != "cuda" {
			// As config's device key and torch.device: digits alone, no sign
			// or leading zero, so one device has one name.
			digits := strings.TrimPrefix(s, "cuda:")
			n, err := strconv.Atoi(digits)
			if err != nil || n < 0 || strconv.Itoa(n) != digits {
				return Device{}, &DeviceError{s, errors.New("the CUDA device number must be a non-negative integer without sign or leading zeros, as in cuda:0")}
			}
			idx = n
		}
		if n := CUDADeviceCount(); idx >= n {
			if n == 0 {
				return Device{}, &DeviceError{s, fmt.Errorf("%w (libtorch %s)", ErrNoCUDA, Version())}
			}
			return Device{}, &DeviceError{s, fmt.Errorf("this machine has %d CUDA device(s), cuda:0 to cuda:%d", n, n-1)}
		}
		return CUDADevice(idx), nil
	}
	return Device{}, &DeviceError{s, errors.New("expected auto, cpu, cuda or cuda:N")}
}

// CUDAIsAvailable reports whether libtorch sees a usable CUDA device.
func CUDAIsAvailable() bool { return C.gt_cuda_is_available() != 0 }

// CUDADeviceCount is the number of CUDA devices libtorch sees.
func CUDADeviceCount() int { return int(C.gt_cuda_device_count()) }
