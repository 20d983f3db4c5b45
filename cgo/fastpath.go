package torch

// #include <stdlib.h>
// #include "gotorch.h"
import "C"

import (
	"runtime"
	"unsafe"
)

// Autocast runs f with automatic mixed precision on dev's device type:
// convolutions and matrix products compute in dt (Float16 or BFloat16),
// precision-sensitive ops stay in float32, as inside torch.autocast. The
// previous state comes back when f returns or panics.
func Autocast(dev Device, dt DType, f func()) {
	const op = "autocast"
	// Autocast state is per OS thread: stay on this one until it is undone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	typ := C.int(C.GT_CPU)
	if dev.IsCUDA() {
		typ = C.GT_CUDA
	}
	var e *C.char
	prev := C.gt_autocast_enter(typ, C.int(dt), &e)
	check(op, e)
	defer func() {
		var e *C.char
		C.gt_autocast_exit(typ, prev, &e)
		check(op, e)
	}()
	f()
}

// SetAutocastCache turns autocast's cache of cast weights on or off and
// returns the previous setting. CUDA graph capture turns it off, as
// torch.cuda.make_graphed_callables asks.
func SetAutocastCache(on bool) bool { return C.gt_autocast_cache(cbool(on)) != 0 }

// UnscaleGrads multiplies the gradients of params by invScale and sets
// foundInf above 0 where any of them holds an inf or NaN (both one-element
// float32 tensors on the gradients' device): GradScaler.unscale_ (one
// kernel on CUDA, _amp_foreach_non_finite_check_and_unscale_). Nothing
// waits for the device.
func UnscaleGrads(params []*Tensor, invScale, foundInf *Tensor) {
	const op = "amp_unscale"
	hs := handles(op, params, false)
	var e *C.char
	C.gt_amp_unscale(firstHandle(hs), C.int(len(hs)), invScale.ptr(op), foundInf.ptr(op), &e)
	runtime.KeepAlive(params)
	runtime.KeepAlive(invScale)
	runtime.KeepAlive(foundInf)
	check(op, e)
}

// UpdateScale is GradScaler.update on the device (_amp_update_scale_):
// after an overflow (foundInf above 0) scale is multiplied by backoff and
// tracker (int32) restarts; after interval clean steps in a row scale is
// multiplied by growth, if it stays finite, and tracker restarts.
func UpdateScale(scale, tracker, foundInf *Tensor, growth, backoff float64, interval int64) {
	const op = "amp_update_scale"
	var e *C.char
	C.gt_amp_update_scale(scale.ptr(op), tracker.ptr(op), foundInf.ptr(op), C.double(growth), C.double(backoff), C.int64_t(interval), &e)
	runtime.KeepAlive(scale)
	runtime.KeepAlive(tracker)
	runtime.KeepAlive(foundInf)
	check(op, e)
}

// ToChannelsLast re-lays every 4-d tensor of ts out in NHWC memory order
// (channels_last) in place: the tensors, their shapes and values stay; a
// network's weights keep their identity for optimizers and autograd.
func ToChannelsLast(ts []*Tensor) {
	const op = "channels_last"
	hs := handles(op, ts, false)
	var e *C.char
	C.gt_channels_last_n(firstHandle(hs), C.int(len(hs)), &e)
	runtime.KeepAlive(ts)
	check(op, e)
}

// Event marks a point in a CUDA stream's work: the end of a copy queued by
// CopyOnSideStream, or of the work queued before RecordEvent. Free releases
// it (a cleanup is only a backstop).
type Event struct {
	h       C.GEvent
	cleanup runtime.Cleanup
}

func freeEvent(h C.GEvent) { C.gt_event_free(h) }

func newEvent(op string, h C.GEvent, e *C.char) *Event {
	check(op, e)
	ev := &Event{h: h}
	ev.cleanup = runtime.AddCleanup(ev, freeEvent, h)
	return ev
}

// CopyOnSideStream queues the copy of src (pinned host memory, for the copy
// to be asynchronous) into dst, on a CUDA device, on a copy stream beside
// the current one, so that it overlaps the work queued there. The copy waits
// for after (nil: for nothing), the end of the work that last read dst; the
// returned event marks its own end: Wait on it before using dst, Synchronize
// on it before reusing src.
func CopyOnSideStream(dst, src *Tensor, after *Event) *Event {
	const op = "copy_side"
	var ah C.GEvent
	if after != nil {
		ah = after.handle(op)
	}
	var e *C.char
	h := C.gt_copy_side(dst.ptr(op), src.ptr(op), ah, &e)
	runtime.KeepAlive(dst)
	runtime.KeepAlive(src)
	runtime.KeepAlive(after)
	return newEvent(op, h, e)
}

// RecordEvent marks the end of the work queued so far on the current stream
// of on's device (a CUDA device).
func RecordEvent(on *Tensor) *Event {
	const op = "event_record"
	var e *C.char
	h := C.gt_event_record(on.ptr(op), &e)
	runtime.KeepAlive(on)
	return newEvent(op, h, e)
}

func (ev *Event) handle(op string) C.GEvent {
	if ev == nil || ev.h == nil {
		fail(op, "event is nil or freed")
	}
	return ev.h
}

// Wait makes the current stream's later work wait for the event (the host
// does not wait).
func (ev *Event) Wait() { ev.wait("event_wait", false) }

// Synchronize makes the host wait until the event's work is done.
func (ev *Event) Synchronize() { ev.wait("event_synchronize", true) }

func (ev *Event) wait(op string, host bool) {
	var e *C.char
	C.gt_event_wait(ev.handle(op), cbool(host), &e)
	runtime.KeepAlive(ev)
	check(op, e)
}

// Free releases the event. It is safe to call more than once, and on nil.
func (ev *Event) Free() {
	if ev == nil || ev.h == nil {
		return
	}
	ev.cleanup.Stop()
	C.gt_event_free(ev.h)
	ev.h = nil
}

// SetCuDNNDeterministic makes cuDNN pick only deterministic convolution
// algorithms (torch.backends.cudnn.deterministic), for comparisons that must
// not see run-to-run noise.
func SetCuDNNDeterministic(on bool) { C.gt_set_cudnn_deterministic(cbool(on)) }

// CUDAGraphsAvailable reports whether this libgotorch was built with the CUDA
// headers, which CUDA graphs need.
func CUDAGraphsAvailable() bool { return C.gt_cuda_graphs_available() != 0 }

// Graph is a CUDA graph: work captured once on a side stream, then replayed
// with one launch. Everything a replay reads or writes must stay at the
// addresses it had during the capture: copy new inputs into the tensors the
// captured work read, and read results from the tensors it wrote.
type Graph struct {
	h      C.GGraph
	side   bool // inside OnSideStream
	broken bool // a Capture whose f panicked: it holds part of f's work
}

// NewGraph prepares a graph on CUDA device dev.
func NewGraph(dev Device) *Graph {
	const op = "graph"
	if !dev.IsCUDA() {
		fail(op, "CUDA graphs need a CUDA device, not %s", dev)
	}
	var e *C.char
	h := C.gt_graph_new(C.int(dev.Index), &e)
	check(op, e)
	return &Graph{h: h}
}

func (g *Graph) handle(op string) C.GGraph {
	if g == nil || g.h == nil {
		fail(op, "graph is freed or nil")
	}
	return g.h
}

// OnSideStream runs f with a side stream of the graph's device current: the
// warm-up steps and Capture run there. The device is synchronised before and
// after, so work on the default stream and on the side stream stays ordered.
func (g *Graph) OnSideStream(f func()) {
	const op = "graph_side_stream"
	h := g.handle(op)
	// The current stream is per OS thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var e *C.char
	C.gt_graph_side_stream(h, 1, &e)
	check(op, e)
	g.side = true
	defer func() {
		var e *C.char
		C.gt_graph_side_stream(h, 0, &e)
		g.side = false
		check(op, e)
	}()
	f()
}

// Capture records the device work f queues (f runs once, but its kernels
// do not: the first Replay runs them). It must run inside OnSideStream, and f
// must not wait for the device (no Item, no copies to the host).
func (g *Graph) Capture(f func()) {
	const op = "graph_capture"
	h := g.handle(op)
	// Capture records the work this OS thread queues.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if !g.side {
		fail(op, "Capture must run inside OnSideStream")
	}
	var e *C.char
	C.gt_graph_capture(h, 1, &e)
	check(op, e)
	ended := false
	defer func() {
		if ended {
			return
		}
		// f panicked: end the capture so the stream leaves capture mode; the
		// panic that is already under way is the error to report. The graph
		// holds only the work f queued before it panicked: never replay it.
		g.broken = true
		var e *C.char
		C.gt_graph_capture(h, 0, &e)
		if e != nil {
			C.free(unsafe.Pointer(e))
		}
	}()
	f()
	ended = true
	C.gt_graph_capture(h, 0, &e)
	check(op, e)
}

// Replay launches the captured work on the current stream.
func (g *Graph) Replay() {
	const op = "graph_replay"
	h := g.handle(op)
	if g.broken {
		fail(op, "the graph's capture failed part way (its function panicked): capture on a new graph")
	}
	var e *C.char
	C.gt_graph_replay(h, &e)
	check(op, e)
}

// Free releases the graph and the memory pool its captured work used.
func (g *Graph) Free() {
	if g == nil || g.h == nil {
		return
	}
	C.gt_graph_free(g.h)
	g.h = nil
}
