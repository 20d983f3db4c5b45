// Package torch is gogan's binding to libtorch: tensors, the ops GANs need,
// autograd, optimizers and random state, over the C ABI in csrc/gotorch.h.
//
// Errors: an op that libtorch refuses (a bad shape, a wrong dtype, a freed
// tensor, a missing CUDA device) panics with a *Error carrying libtorch's
// message; Try turns such a panic back into an error, so network code can be
// written as plain expressions and checked once per step. Panics that are not
// a *Error pass through Try unchanged.
//
// Threads: libtorch keeps grad mode, autocast and the current CUDA stream per
// OS thread. Run every libtorch call of a training run on one goroutine that
// called runtime.LockOSThread (LockThread does it).
//
// Memory: each *Tensor owns one libtorch tensor handle. Free releases it at
// once and is idempotent. Tensors made while a Scope is open belong to that
// scope and are freed when it closes, unless kept; a cleanup attached to each
// Tensor is only a backstop for handles nobody freed.
package torch

/*
#cgo CFLAGS: -I${SRCDIR}/csrc
#cgo LDFLAGS: -L${SRCDIR}/../build -lgotorch -Wl,-rpath,${SRCDIR}/../build
#include <stdlib.h>
#include "gotorch.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"unsafe"
)

// Error is a failure reported by libtorch (or by this package's own checks).
type Error struct {
	Op  string // the operation that failed, e.g. "conv2d"
	Msg string // libtorch's message, without the C++ backtrace
}

func (e *Error) Error() string { return "torch: " + e.Op + ": " + e.Msg }

// IsOutOfMemory says whether err is libtorch's failed allocation, on the
// CPU or a GPU.
func IsOutOfMemory(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "DefaultCPUAllocator: can't allocate memory") || strings.Contains(msg, "CUDA out of memory")
}

// Try runs f and returns the *Error that an op inside it panicked with, or nil.
// Other panics are not recovered.
func Try(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(*Error); ok {
				err = e
				return
			}
			panic(r)
		}
	}()
	f()
	return nil
}

// fail panics with a *Error of this package's own.
func fail(op, format string, args ...any) {
	panic(&Error{Op: op, Msg: fmt.Sprintf(format, args...)})
}

// check turns a C error message into a *Error panic, freeing the message.
func check(op string, e *C.char) {
	if e == nil {
		return
	}
	msg := C.GoString(e)
	C.free(unsafe.Pointer(e))
	panic(&Error{Op: op, Msg: msg})
}

// Tensor is a handle to one libtorch tensor. The zero value is not usable;
// tensors come from this package's constructors and ops.
type Tensor struct {
	h       C.GTensor
	cleanup runtime.Cleanup
	scope   *Scope // the scope that frees it, if any
	slot    int    // its index in scope.owned
}

func freeHandle(h C.GTensor) { C.gt_free(h) }

// wrap takes ownership of a new handle and gives it to the current scope.
func wrap(h C.GTensor) *Tensor {
	t := wrapUnscoped(h)
	scopes.adopt(t)
	return t
}

// wrapUnscoped takes ownership of a handle that no scope frees (parameters,
// optimizer state): it lives until Free.
func wrapUnscoped(h C.GTensor) *Tensor {
	t := &Tensor{h: h}
	t.cleanup = runtime.AddCleanup(t, freeHandle, h)
	return t
}

// result checks a C call's error and wraps its new handle.
func result(op string, h C.GTensor, e *C.char) *Tensor {
	check(op, e)
	if h == nil {
		fail(op, "libtorch returned no tensor")
	}
	return wrap(h)
}

// ptr is the handle of t for an op, or a *Error panic when t is nil or freed.
func (t *Tensor) ptr(op string) C.GTensor {
	if t == nil {
		fail(op, "nil tensor")
	}
	if t.h == nil {
		fail(op, "tensor used after Free")
	}
	return t.h
}

// optPtr is like ptr but lets a nil tensor through as NULL (an optional argument).
func optPtr(op string, t *Tensor) C.GTensor {
	if t == nil {
		return nil
	}
	return t.ptr(op)
}

// Free releases the libtorch tensor now. It is safe to call more than once,
// and on a nil *Tensor.
func (t *Tensor) Free() {
	if t == nil || t.h == nil {
		return
	}
	t.cleanup.Stop()
	C.gt_free(t.h)
	t.h = nil
	if t.scope != nil {
		t.scope.release(t)
	}
}

// Freed reports whether Free has released t.
func (t *Tensor) Freed() bool { return t == nil || t.h == nil }

// LiveTensors is the number of libtorch tensor handles alive in the process:
// a leak test compares it before and after a run.
func LiveTensors() int64 { return int64(C.gt_live()) }

// Version is libtorch's version, e.g. "1.13.0".
func Version() string { return C.GoString(C.gt_version()) }

// LockThread pins the calling goroutine to its OS thread, as every goroutine
// that runs libtorch calls must be (grad mode and CUDA streams are per thread).
func LockThread() { runtime.LockOSThread() }

// Scope frees the tensors made while it is the innermost open scope of its
// OS thread: one per training step keeps the step's temporaries from piling
// up. Scopes are per thread (a goroutine that opens one stays on its thread
// until it closes it), so tensors another goroutine makes meanwhile are
// never adopted by it.
type Scope struct {
	parent *Scope
	owned  []*Tensor
	closed bool
	tid    int // the OS thread whose innermost scope it is
}

type scopeStack struct {
	mu      sync.Mutex
	current map[int]*Scope // by OS thread
}

var scopes = scopeStack{current: map[int]*Scope{}}

func (s *scopeStack) adopt(t *Tensor) {
	s.mu.Lock()
	if len(s.current) > 0 {
		if c := s.current[syscall.Gettid()]; c != nil {
			t.scope, t.slot = c, len(c.owned)
			c.owned = append(c.owned, t)
		}
	}
	s.mu.Unlock()
}

// NewScope opens a scope nested in the current one of this goroutine, which
// stays on its OS thread until the scope closes. Close it on the same
// goroutine (defer s.Close()).
func NewScope() *Scope {
	runtime.LockOSThread()
	tid := syscall.Gettid()
	scopes.mu.Lock()
	defer scopes.mu.Unlock()
	s := &Scope{parent: scopes.current[tid], tid: tid}
	scopes.current[tid] = s
	return s
}

// Close frees every tensor the scope still owns. Scopes close innermost first.
func (s *Scope) Close() {
	scopes.mu.Lock()
	if s.closed {
		scopes.mu.Unlock()
		return
	}
	if scopes.current[s.tid] != s || syscall.Gettid() != s.tid {
		scopes.mu.Unlock()
		panic("torch: Scope.Close: scopes must close innermost first, on the goroutine that opened them")
	}
	if s.parent != nil {
		scopes.current[s.tid] = s.parent
	} else {
		delete(scopes.current, s.tid)
	}
	s.closed = true
	runtime.UnlockOSThread()
	owned := s.owned
	s.owned = nil
	scopes.mu.Unlock()
	for _, t := range owned {
		if t != nil {
			t.scope = nil
			t.Free()
		}
	}
}

// Keep moves t out of s into the enclosing scope (or out of all scopes when s
// is outermost), so that it outlives s. It returns t.
func (s *Scope) Keep(t *Tensor) *Tensor {
	scopes.mu.Lock()
	defer scopes.mu.Unlock()
	if t == nil || t.scope != s {
		return t
	}
	s.owned[t.slot] = nil
	t.scope = nil
	if p := s.parent; p != nil && !p.closed {
		t.scope, t.slot = p, len(p.owned)
		p.owned = append(p.owned, t)
	}
	return t
}

// Persist takes t out of whatever scope owns it: it lives until Free.
func (t *Tensor) Persist() *Tensor {
	scopes.mu.Lock()
	defer scopes.mu.Unlock()
	if t != nil && t.scope != nil {
		t.scope.owned[t.slot] = nil
		t.scope = nil
	}
	return t
}

// release forgets a tensor freed directly while its scope is open.
func (s *Scope) release(t *Tensor) {
	scopes.mu.Lock()
	if t.scope == s && t.slot < len(s.owned) && s.owned[t.slot] == t {
		s.owned[t.slot] = nil
	}
	t.scope = nil
	scopes.mu.Unlock()
}
