package torch

/*
#include <stdlib.h>
#include "gotorch.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"time"
	"unsafe"
)

// Backend is a c10d communication backend.
type Backend int

const (
	Gloo Backend = C.GT_DIST_GLOO // CPU tensors
	NCCL Backend = C.GT_DIST_NCCL // CUDA tensors
)

func (b Backend) String() string {
	if b == NCCL {
		return "nccl"
	}
	return "gloo"
}

// HasBackend says whether this libgotorch was built with b.
func HasBackend(b Backend) bool { return C.gt_dist_backends()&(1<<C.int(b)) != 0 }

// BucketBytes is the size of the buckets reduced at once (DDP's
// bucket_cap_mb, 25 MiB), unless a gradient reduction says otherwise.
const BucketBytes = 25 << 20

func orBucketBytes(b int64) int64 {
	if b <= 0 {
		return BucketBytes
	}
	return b
}

// GroupOptions say how a process joins the process group.
type GroupOptions struct {
	Backend    Backend
	Rank       int
	World      int
	Addr       string // the rendezvous store's host (MASTER_ADDR)
	Port       int    // and port (MASTER_PORT)
	AgentStore bool   // the store is torchrun's agent's: every rank is a client
	Prefix     string // prefix of every store key
	IfName     string // Gloo's network interface (GLOO_SOCKET_IFNAME); "" picks one
	Timeout    time.Duration
}

// InitGroup joins the process's one process group (torch.distributed's
// init_process_group): it returns once every rank has joined, or with an
// error after the timeout.
func InitGroup(o GroupOptions) error {
	if err := checkPort("init_process_group", o.Port); err != nil {
		return err
	}
	addr, prefix, ifname := C.CString(o.Addr), C.CString(o.Prefix), C.CString(o.IfName)
	defer C.free(unsafe.Pointer(addr))
	defer C.free(unsafe.Pointer(prefix))
	defer C.free(unsafe.Pointer(ifname))
	var e *C.char
	C.gt_dist_init(C.int(o.Backend), C.int(o.Rank), C.int(o.World), addr, C.int(o.Port), cbool(o.AgentStore), prefix,
		ifname, C.int64_t(o.Timeout.Milliseconds()), &e)
	return Try(func() { check("init_process_group", e) })
}

// DestroyGroup leaves the process group (a no-op without one).
func DestroyGroup() { C.gt_dist_destroy() }

// AllReduce replaces each tensor, in place, with its sum over the ranks
// (avg: its mean), in buckets launched together. The host waits for them,
// and for the gradient collectives queued before, at most the group's
// timeout.
func AllReduce(ts []*Tensor, avg bool) {
	const op = "allreduce"
	hs := handles(op, ts, false)
	var e *C.char
	C.gt_dist_allreduce(firstHandle(hs), C.int(len(hs)), cbool(avg), BucketBytes, &e)
	runtime.KeepAlive(ts)
	check(op, e)
}

// AllReduceGrads replaces the gradients of params with their mean over the
// ranks (DDP's reducer): buckets of bucketBytes (0: BucketBytes) in reverse
// parameter order, all in flight at once; a parameter without a gradient
// takes part as zeros so that every rank issues the same collectives, and
// keeps none. On NCCL the host does not wait: the current stream's later
// work (the optimizer's step) waits for the collectives on the device, and
// the next collective the host waits for (AllReduce, Broadcast, Barrier)
// waits for these first, within the group's timeout.
func AllReduceGrads(params []*Tensor, bucketBytes int64) {
	const op = "allreduce_grads"
	hs := handles(op, params, false)
	var e *C.char
	C.gt_dist_allreduce_grads(firstHandle(hs), C.int(len(hs)), C.int64_t(orBucketBytes(bucketBytes)), &e)
	runtime.KeepAlive(params)
	check(op, e)
}

// FirstBucketBytes is the first gradient bucket's size under a GradReducer
// (DDP's first_bucket_bytes, 1 MiB; at most the other buckets' size): the
// last layers' gradients, ready first, go out at once.
const FirstBucketBytes = 1 << 20

// GradReducer averages an optimizer's gradients over the ranks as
// DistributedDataParallel's reducer does: while backward runs, each bucket
// of gradients (reverse parameter order) is sent as soon as all of its
// gradients are ready. Arm it before the backward passes (Adam.ZeroGrad
// does, for its Reducer) and Finish it before the step: the gradients then
// hold the mean over the ranks, as after AllReduceGrads. Two backward passes
// into one parameter between Arm and Finish (DCGAN's D) make it reduce
// after backward instead, from then on.
type GradReducer struct{ h C.GReducer }

// NewGradReducer hooks a reducer onto params' gradient accumulators, with
// buckets of bucketBytes (0: BucketBytes).
func NewGradReducer(params []*Tensor, bucketBytes int64) *GradReducer {
	const op = "grad_reducer"
	hs := handles(op, params, false)
	var e *C.char
	b := orBucketBytes(bucketBytes)
	h := C.gt_reducer_new(firstHandle(hs), C.int(len(hs)), C.int64_t(b), C.int64_t(min(b, FirstBucketBytes)), &e)
	runtime.KeepAlive(params)
	check(op, e)
	return &GradReducer{h: h}
}

// Arm starts a window: the gradients that backward makes are sent as they
// are ready.
func (r *GradReducer) Arm() {
	var e *C.char
	C.gt_reducer_arm(r.handle("reducer_arm"), &e)
	check("reducer_arm", e)
}

// Finish ends the window: it waits for the buckets in flight, reduces what
// backward did not reach, and leaves the means in the gradients.
func (r *GradReducer) Finish() {
	var e *C.char
	C.gt_reducer_finish(r.handle("allreduce_grads"), &e)
	check("allreduce_grads", e)
}

// Stats are the buckets sent while backward ran and in all, and whether
// the reducer stopped overlapping.
func (r *GradReducer) Stats() (early, launched int64, stopped bool) {
	var e, l C.int64_t
	var off C.int
	C.gt_reducer_stats(r.handle("reducer_stats"), &e, &l, &off)
	return int64(e), int64(l), off != 0
}

func (r *GradReducer) handle(op string) C.GReducer {
	if r == nil || r.h == nil {
		fail(op, "the gradient reducer is freed")
	}
	return r.h
}

// Free unhooks the reducer (after the collectives in flight).
func (r *GradReducer) Free() {
	if r == nil || r.h == nil {
		return
	}
	C.gt_reducer_free(r.h)
	r.h = nil
}

// Broadcast gives every rank root's values of ts, in place.
func Broadcast(ts []*Tensor, root int) {
	const op = "broadcast"
	hs := handles(op, ts, false)
	var e *C.char
	C.gt_dist_broadcast(firstHandle(hs), C.int(len(hs)), C.int(root), BucketBytes, &e)
	runtime.KeepAlive(ts)
	check(op, e)
}

// Barrier returns when every rank has reached it.
func Barrier() {
	var e *C.char
	C.gt_dist_barrier(&e)
	check("barrier", e)
}

// SumOverRanks is t summed over the ranks, differentiable: the gradient
// that reaches t is the sum of every rank's (SyncBatchNorm's statistics).
func SumOverRanks(t *Tensor) *Tensor {
	const op = "sum_over_ranks"
	var e *C.char
	h := C.gt_dist_allreduce_sum_autograd(t.ptr(op), &e)
	runtime.KeepAlive(t)
	return result(op, h, e)
}

// StoreSet sets a key of the rendezvous store.
func StoreSet(key string, value []byte) error {
	k := C.CString(key)
	defer C.free(unsafe.Pointer(k))
	var p *C.uint8_t
	if len(value) > 0 {
		p = (*C.uint8_t)(unsafe.Pointer(&value[0]))
	}
	var e *C.char
	C.gt_dist_store_set(k, p, C.int64_t(len(value)), &e)
	runtime.KeepAlive(value)
	return storeErr("set", key, e)
}

// StoreGet waits (up to the group's timeout) for a key of the store.
func StoreGet(key string) ([]byte, error) {
	k := C.CString(key)
	defer C.free(unsafe.Pointer(k))
	var n C.int64_t
	var e *C.char
	p := C.gt_dist_store_get(k, &n, &e)
	if err := storeErr("get", key, e); err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(p))
	return C.GoBytes(unsafe.Pointer(p), C.int(n)), nil
}

// StoreHas says whether the store holds key, without waiting.
func StoreHas(key string) (bool, error) {
	k := C.CString(key)
	defer C.free(unsafe.Pointer(k))
	var e *C.char
	ok := C.gt_dist_store_check(k, &e)
	return ok == 1, storeErr("check", key, e)
}

func storeErr(op, key string, e *C.char) error {
	if e == nil {
		return nil
	}
	msg := C.GoString(e)
	C.free(unsafe.Pointer(e))
	return &Error{Op: "store " + op, Msg: fmt.Sprintf("key %q: %s", key, msg)}
}

// StoreServer is a rendezvous store that this process serves for ranks it
// starts, as torchrun's agent does (the ranks join with
// GroupOptions.AgentStore).
type StoreServer struct {
	h    C.GStoreServer
	Port int
}

// ServeStore serves a store on port, or on a free one for 0: bound here
// before any rank starts, so that no other program can take it between the
// choice and the ranks' rendezvous.
func ServeStore(port int, timeout time.Duration) (*StoreServer, error) {
	if err := checkPort("store_serve", port); err != nil {
		return nil, err
	}
	var e *C.char
	var bound C.int
	h := C.gt_store_serve(C.int(port), C.int64_t(timeout.Milliseconds()), &bound, &e)
	if err := Try(func() { check("store_serve", e) }); err != nil {
		return nil, err
	}
	return &StoreServer{h: h, Port: int(bound)}, nil
}

// checkPort refuses a port number that a TCP port cannot be: libtorch
// takes a uint16, so 70000 would quietly become 4464.
func checkPort(op string, port int) error {
	if port < 0 || port > 65535 {
		return &Error{Op: op, Msg: fmt.Sprintf("port %d is not a TCP port: give one from 1 to 65535 (0: a free one)", port)}
	}
	return nil
}

// Close stops serving. It is safe to call more than once, and on nil.
func (s *StoreServer) Close() {
	if s != nil && s.h != nil {
		C.gt_store_server_free(s.h)
		s.h = nil
	}
}
