package torch

// #include "gotorch.h"
import "C"

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// ManualSeed seeds the default generators of the CPU and of every CUDA device.
func ManualSeed(seed uint64) {
	var e *C.char
	C.gt_manual_seed(C.uint64_t(seed), &e)
	check("manual_seed", e)
}

// DrawCPUSeed draws from the CPU's default generator what
// torch.empty((), dtype=torch.int64).random_() draws: how torch's DataLoader
// takes its workers' base seed at each epoch's iterator, and RandomSampler
// the seed of its shuffle.
func DrawCPUSeed() int64 {
	var e *C.char
	v := C.gt_cpu_seed_draw(&e)
	check("cpu_seed_draw", e)
	return int64(v)
}

// RandpermSeeded is torch.randperm(n, generator=g) for a CPU generator g
// seeded with seed: torch's RandomSampler order of an epoch.
func RandpermSeeded(n int, seed uint64) []int {
	var e *C.char
	h := C.gt_randperm_seeded(C.int64_t(n), C.uint64_t(seed), &e)
	t := result("randperm", h, e)
	defer t.Free()
	p := make([]int, n)
	for i, v := range t.Int64s() {
		p[i] = int(v)
	}
	return p
}

// RNGState is a copy of dev's default generator state (a uint8 tensor), for
// checkpoints.
func RNGState(dev Device) *Tensor {
	var e *C.char
	h := C.gt_rng_state(C.int(dev.Type), C.int(dev.Index), &e)
	return result("rng_state", h, e)
}

// SetRNGState restores a state that RNGState returned.
func SetRNGState(dev Device, state *Tensor) {
	var e *C.char
	C.gt_set_rng_state(C.int(dev.Type), C.int(dev.Index), state.ptr("set_rng_state"), &e)
	runtime.KeepAlive(state)
	check("set_rng_state", e)
}

// SetNumThreads sets libtorch's intra-op thread count (n >= 1) and keeps
// OpenBLAS to one thread of its own, so the two never oversubscribe the
// cores (DESIGN.md point 6). It reports whether OpenBLAS was found.
func SetNumThreads(n int) (openBLAS bool, err error) {
	if n < 1 {
		return false, fmt.Errorf("torch: thread count %d: must be at least 1", n)
	}
	if err := threadRoom(n); err != nil {
		return false, err
	}
	var e *C.char
	C.gt_set_num_threads(C.int(n), &e)
	if err := Try(func() { check("set_num_threads", e) }); err != nil {
		return false, err
	}
	poolMade.Store(true)
	return C.gt_openblas_set_num_threads(1) != 0, nil
}

// SetThreads is SetNumThreads for a thread setting in which 0 stands for one
// thread a core this process may use (CPUs, threads: 0): libtorch's own
// default counts the host's cores, not a container's CPU limit.
func SetThreads(n int) error {
	if n == 0 {
		n = CPUs()
	}
	_, err := SetNumThreads(n)
	return err
}

// poolMade says that a SetNumThreads has made libtorch's pthreadpool, so
// that a later one does not make the first call's pool of the host's size.
var poolMade atomic.Bool

// threadRoom checks that this process may start the threads that n intra-op
// threads take (libgomp's n-1 and pthreadpool's n) and two more for the Go
// runtime and the loader, all at once: a training's peak (7 threads at its
// start, 9 with n = 1, 11 with 2, 14 with 4). Under a limit of tasks (ulimit -u
// counts every thread of the user's processes, a container's pids.max those
// of its cgroup) libtorch does not fail when a thread cannot start:
// pthreadpool waits for it for ever, and the run hangs (in its first step,
// or in set_num_threads itself). On libtorch 1.x the first set_num_threads
// makes a pthreadpool of the host's processors (P) before the one of n,
// both alive at once: then the peak is P + n - 2 threads of libtorch's, and
// the two more of gogan's and one of margin as above.
func threadRoom(n int) error {
	made, first := poolMade.Load(), 0
	if !made { // what a later call's count needs not
		first = int(C.gt_first_pool_threads())
	}
	need := threadsNeeded(n, made, first)
	var eno C.int
	got := int(C.gt_start_threads(C.int(need), &eno))
	if got >= need {
		return nil
	}
	why, fix := "", "raise the limit, or use fewer threads (GOMAXPROCS caps the default of one a core)"
	if need > 2*n+1 { // the first pool counted
		why = fmt.Sprintf("; libtorch %s first starts a pool of a thread for each of the host's %d processors, whatever the thread count", Version(), first)
		fix = "raise the limit (fewer threads leave that pool as large)"
	}
	return fmt.Errorf("torch: %d threads: this process could start %d more threads, not the %d that libtorch's thread pools and gogan take with them (%v%s): %s; %s",
		n, got, need, syscall.Errno(eno), why, taskLimits(), fix)
}

// threadsNeeded is how many threads threadRoom starts for n intra-op
// threads: 2n+1, or where libtorch's pthreadpool is not made yet (made is
// false) and its first is made at the host's processors (first > 0, libtorch
// 1.x), at least first+n+1.
func threadsNeeded(n int, made bool, first int) int {
	if made || first <= 0 {
		return 2*n + 1
	}
	return max(2*n+1, first+n+1)
}

// taskLimits says which limits count this process's threads: the user's
// (RLIMIT_NPROC, ulimit -u) and its cgroup's (pids.max), where finite.
func taskLimits() string {
	var says []string
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(unix.RLIMIT_NPROC, &rl); err == nil && rl.Cur != unix.RLIM_INFINITY {
		says = append(says, fmt.Sprintf("the processes and threads of user %d, all its processes together, are limited to %d (ulimit -u)", os.Getuid(), rl.Cur))
	}
	if max, cur, ok := cgroupPids(); ok {
		says = append(says, fmt.Sprintf("its cgroup allows %s tasks and runs %s (pids.max, pids.current: a container's --pids-limit)", max, cur))
	}
	if len(says) == 0 {
		return "neither ulimit -u nor a cgroup's pids.max limits them (the kernel's /proc/sys/kernel/threads-max may be reached)"
	}
	return strings.Join(says, "; ")
}

// cgroupPids is the pids controller's limit and count for this process's
// cgroup or the nearest ancestor with a finite limit.
func cgroupPids() (max, cur string, ok bool) {
	return cgroupPidsIn("/proc/self/cgroup", "/sys/fs/cgroup")
}

// cgroupPidsIn is cgroupPids with /proc/self/cgroup at self and the cgroup
// mounts under fs: cgroup v2's unified hierarchy (the line 0::PATH, mounted
// at fs) or v1's pids hierarchy (N:pids:PATH, at fs/pids). PATH is as seen
// from the process's cgroup namespace: in a container with a namespace of its
// own (Docker's and Kubernetes's on cgroup v2) it is /, and the container's
// cgroup, its --pids-limit, is the mount itself; without one, the host's
// PATH may not exist in the container's mount, whose root is again the
// container's cgroup.
func cgroupPidsIn(self, fs string) (max, cur string, ok bool) {
	b, err := os.ReadFile(self)
	if err != nil {
		return "", "", false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		var mount string
		switch {
		case f[0] == "0" && f[1] == "":
			mount = fs
		case slices.Contains(strings.Split(f[1], ","), "pids"):
			mount = filepath.Join(fs, "pids")
		default:
			continue
		}
		for dir := filepath.Join(mount, f[2]); dir == mount || strings.HasPrefix(dir, mount+"/"); dir = filepath.Dir(dir) {
			m, err := os.ReadFile(filepath.Join(dir, "pids.max"))
			if v := strings.TrimSpace(string(m)); err == nil && v != "max" {
				c, _ := os.ReadFile(filepath.Join(dir, "pids.current"))
				return v, cmp.Or(strings.TrimSpace(string(c)), "?"), true
			}
			if dir == mount {
				break
			}
		}
	}
	return "", "", false
}

// CPUs is how many CPUs this process may use, the intra-op thread count
// that a thread count of 0 stands for: Go's GOMAXPROCS, which counts the
// cores of the process's CPU affinity and, in a container, its CPU limit
// (cgroup cpu.max or cfs quota, rounded up, at least 2), or a lower
// GOMAXPROCS the user set. runtime.NumCPU sees the affinity alone: a
// container allowed 4 CPUs of a 96-core host would run 96 threads, each
// step slowed by the quota. A GOMAXPROCS set above the affinity's cores
// (more goroutines at once, for a server's I/O) is no count of cores:
// libtorch's threads would only take turns for them.
func CPUs() int { return min(runtime.GOMAXPROCS(0), runtime.NumCPU()) }

// KeepHostMemory makes the C allocator (glibc's malloc, which libtorch's CPU
// tensors come from) keep freed memory for reuse rather than unmap it, so that
// a training step, which allocates the same sizes every time, stops paying
// page faults for its activations: 10-15% of a CPU step at 64x64 and above.
// The price is that the process's resident memory stays at its peak. Call it
// once, before the first tensors; it does nothing when MALLOC_* or
// GLIBC_TUNABLES variables tune the allocator already, or off glibc. It
// reports whether it applied.
func KeepHostMemory() bool {
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "MALLOC_") || strings.HasPrefix(kv, "GLIBC_TUNABLES=") {
			return false
		}
	}
	return C.gt_keep_host_memory() != 0
}

// ShortSpinCount is the GOMP_SPINCOUNT gogan runs libgomp with (SpinBriefly).
const ShortSpinCount = "3000"

// SpinBriefly makes libgomp's idle threads spin ShortSpinCount times (some
// 50 us) before they sleep, where libgomp's default is 300,000. Between
// parallel regions libtorch's OpenMP threads spin waiting for work; when
// another process takes a core, the spinning takes it from the one thread a
// region waits for: on 2 cores a DCGAN-32 step beside a second training ran at
// a tenth of its speed alone (scripts/bench-contention). libgomp reads
// GOMP_SPINCOUNT once, as it loads, so SpinBriefly executes the program again
// with it set (same pid, arguments and other environment); call it before
// any work. It returns (nil) without doing so where OMP_WAIT_POLICY or
// GOMP_SPINCOUNT is set (the user's choice stands) or libgomp is not loaded
// (libtorch built with another OpenMP), and returns an error only when the
// exec itself failed.
func SpinBriefly() error {
	if _, set := os.LookupEnv("GOMP_SPINCOUNT"); set {
		return nil
	}
	if _, set := os.LookupEnv("OMP_WAIT_POLICY"); set {
		return nil
	}
	if !libgompLoaded() {
		return nil
	}
	env := append(os.Environ(), "GOMP_SPINCOUNT="+ShortSpinCount)
	if err := syscall.Exec("/proc/self/exe", os.Args, env); err != nil {
		return fmt.Errorf("torch: executing gogan again with GOMP_SPINCOUNT=%s (libgomp's idle threads spinning briefly): %w; it runs on with libgomp's default", ShortSpinCount, err)
	}
	return nil // not reached
}

// OpenMPWait says how libgomp's idle threads wait in this process: the
// GOMP_SPINCOUNT or OMP_WAIT_POLICY it was started with, "libgomp's default"
// without either, or "" where libgomp is not loaded.
func OpenMPWait() string {
	if !libgompLoaded() {
		return ""
	}
	for _, k := range []string{"GOMP_SPINCOUNT", "OMP_WAIT_POLICY"} {
		if v, set := os.LookupEnv(k); set {
			return k + "=" + v
		}
	}
	return "libgomp's default"
}

// libgompLoaded reports whether GNU OpenMP (Debian's libgomp.so.1, the
// PyTorch wheels' libgomp-<hash>.so.1) is mapped into this process.
func libgompLoaded() bool {
	maps, err := os.ReadFile("/proc/self/maps")
	return err == nil && strings.Contains(string(maps), "/libgomp")
}

// BLASThreads is OpenBLAS's own thread count, or 0 when OpenBLAS is not the
// BLAS libtorch loaded.
func BLASThreads() int { return int(C.gt_openblas_num_threads()) }

// HasMKL reports whether libtorch was built with Intel MKL as its BLAS (the
// PyTorch wheels are), which at::set_num_threads already governs.
func HasMKL() bool { return C.gt_has_mkl() != 0 }

// NumThreads is libtorch's intra-op thread count.
func NumThreads() int { return int(C.gt_num_threads()) }

// SetCuDNNBenchmark turns cuDNN's autotuner on or off (fastest convolution
// algorithms for fixed shapes, at the cost of a first slow step).
func SetCuDNNBenchmark(on bool) { C.gt_set_cudnn_benchmark(cbool(on)) }

// SetAllowTF32 lets float32 convolutions and matrix products on CUDA use
// TF32 tensor cores (faster, about 1e-3 relative error). Off gives full float32.
func SetAllowTF32(on bool) { C.gt_set_allow_tf32(cbool(on)) }

// CUDASynchronize waits for all work queued on CUDA device i.
func CUDASynchronize(i int) error {
	var e *C.char
	C.gt_cuda_synchronize(C.int(i), &e)
	return Try(func() { check("cuda_synchronize", e) })
}

// SetCUDADevice makes dev (a CUDA device) the calling OS thread's current
// CUDA device, as torch.cuda.set_device, and returns the index that was
// current. The ops take their device from their tensors, but what has none
// lands on the current device, cuda:0 unless set: page-locked host memory
// (the loader's pinned buffers) is allocated in the context of a device that
// has one already, or else the current device's, which it then creates. A
// process training on cuda:1 (a data-parallel rank) that has not set it
// creates a second CUDA context on cuda:0 for its first pinned buffers.
func SetCUDADevice(dev Device) (prev int, err error) {
	if !dev.IsCUDA() {
		return 0, &Error{Op: "cuda_set_device", Msg: fmt.Sprintf("%s is not a CUDA device", dev)}
	}
	var e *C.char
	p := C.gt_cuda_set_device(C.int(dev.Index), &e)
	if err := Try(func() { check("cuda_set_device", e) }); err != nil {
		return 0, err
	}
	return int(p), nil
}

// UseDevice is ParseDevice for a command that runs on the device: a CUDA
// device is made the calling OS thread's current one (SetCUDADevice), as
// torch.cuda.set_device, so that what has no device of its own (pinned
// host memory, a CUDA context) lands on it rather than on cuda:0, another
// job's GPU perhaps. Call it on the locked thread that runs the work.
func UseDevice(s string) (Device, error) {
	dev, err := ParseDevice(s)
	if err != nil || !dev.IsCUDA() {
		return dev, err
	}
	_, err = SetCUDADevice(dev)
	return dev, err
}

// CUDAMaxAllocated is the peak of bytes allocated on CUDA device i since the
// last CUDAResetPeak; -1 when this libgotorch was built without CUDA headers.
func CUDAMaxAllocated(i int) (int64, error) {
	var e *C.char
	n := C.gt_cuda_max_allocated(C.int(i), 0, &e)
	return int64(n), Try(func() { check("cuda_max_allocated", e) })
}

// CUDAMaxReserved is the peak of bytes the caching allocator held on device
// i since the last CUDAResetPeak: its cache and CUDA graphs' private pools
// included (torch.cuda.max_memory_reserved); -1 without CUDA headers.
func CUDAMaxReserved(i int) (int64, error) {
	var e *C.char
	n := C.gt_cuda_max_allocated(C.int(i), 1, &e)
	return int64(n), Try(func() { check("cuda_max_reserved", e) })
}

// TrackCPUMemory starts counting the bytes held by CPU tensors allocated
// from now on (CPUMemory reads the count), for memory figures on a machine
// without a GPU. The count is process-wide and stays on once started.
func TrackCPUMemory() error {
	var e *C.char
	C.gt_cpu_mem_track(&e)
	return Try(func() { check("cpu_mem_track", e) })
}

// CPUMemory is the count TrackCPUMemory keeps: the bytes held now and the
// most held since the last ResetCPUPeak.
func CPUMemory() (current, peak int64) {
	var c, p C.int64_t
	C.gt_cpu_mem_stats(&c, &p)
	return int64(c), int64(p)
}

// ResetCPUPeak restarts CPUMemory's peak at the current count.
func ResetCPUPeak() { C.gt_cpu_mem_reset_peak() }

// CUDAResetPeak restarts CUDAMaxAllocated's count on device i.
func CUDAResetPeak(i int) error {
	var e *C.char
	C.gt_cuda_reset_peak(C.int(i), &e)
	return Try(func() { check("cuda_reset_peak", e) })
}
