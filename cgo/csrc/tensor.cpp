// tensor.cpp: handles, creation, host transfer, devices, seeds and threads.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/core/impl/VirtualGuardImpl.h>
#include <dlfcn.h>
#include <malloc.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <thread>
#include <mutex>
#include <pthread.h>
#include <vector>

#ifdef GOGAN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include "internal.h"

namespace gt {

std::atomic<int64_t> live{0};

at::ScalarType scalar_type(int dtype) {
  switch (dtype) {
    case GT_FLOAT32: return at::kFloat;
    case GT_FLOAT16: return at::kHalf;
    case GT_BFLOAT16: return at::kBFloat16;
    case GT_INT64: return at::kLong;
    case GT_UINT8: return at::kByte;
    case GT_BOOL: return at::kBool;
    case GT_FLOAT64: return at::kDouble;
    case GT_INT32: return at::kInt;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(dtype));
}

int dtype_code(at::ScalarType st) {
  switch (st) {
    case at::kFloat: return GT_FLOAT32;
    case at::kHalf: return GT_FLOAT16;
    case at::kBFloat16: return GT_BFLOAT16;
    case at::kLong: return GT_INT64;
    case at::kByte: return GT_UINT8;
    case at::kBool: return GT_BOOL;
    case at::kDouble: return GT_FLOAT64;
    case at::kInt: return GT_INT32;
    default: return -1;
  }
}

at::Device device(int type, int index) {
  switch (type) {
    case GT_CPU: return at::Device(at::kCPU);
    case GT_CUDA: {
      // Checked here so the message says what is wrong, not which dispatch key failed.
      auto n = static_cast<int>(torch::cuda::device_count());
      if (n == 0)
        throw std::invalid_argument("cuda:" + std::to_string(index) +
                                    ": no CUDA device (this libtorch has no CUDA, or no GPU is visible)");
      if (index < 0 || index >= n)
        throw std::invalid_argument("cuda:" + std::to_string(index) + ": no such device; there are " +
                                    std::to_string(n) + " (cuda:0 to cuda:" + std::to_string(n - 1) + ")");
      return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
    }
  }
  throw std::invalid_argument("unknown device type " + std::to_string(type));
}

}  // namespace gt

using gt::T;
using gt::wrap;

extern "C" {

void gt_free(GTensor t) {
  if (t == nullptr) return;
  delete t;
  gt::live.fetch_sub(1, std::memory_order_relaxed);
}

int64_t gt_live(void) { return gt::live.load(std::memory_order_relaxed); }
int gt_ndim(GTensor t) { return static_cast<int>(t->t.dim()); }
void gt_shape(GTensor t, int64_t *out) {
  auto s = t->t.sizes();
  for (size_t i = 0; i < s.size(); i++) out[i] = s[i];
}
int gt_dtype(GTensor t) { return gt::dtype_code(t->t.scalar_type()); }
void gt_device(GTensor t, int *type, int *index) {
  auto d = t->t.device();
  *type = d.is_cuda() ? GT_CUDA : GT_CPU;
  *index = d.has_index() ? d.index() : 0;
}
// A CUDA build's pinned check asks the driver, which can throw (after a
// device-side assert): no exception may reach Go, so that reads as not pinned.
int gt_is_pinned(GTensor t) {
  try {
    return t != nullptr && t->t.device().is_cpu() && t->t.is_pinned() ? 1 : 0;
  } catch (...) {
    return 0;
  }
}
int gt_is_contiguous(GTensor t) { return t->t.is_contiguous() ? 1 : 0; }
const char *gt_version(void) { return TORCH_VERSION; }

GTensor gt_from_data(const void *data, int64_t nbytes, int dtype, const int64_t *shape, int ndim,
                     int dev_type, int dev_index, char **err) {
  GT_TRY
  auto host = at::empty(gt::vec(shape, ndim), at::TensorOptions().dtype(gt::scalar_type(dtype)));
  int64_t want = host.numel() * static_cast<int64_t>(host.element_size());
  if (nbytes != want)
    throw std::invalid_argument("data has " + std::to_string(nbytes) + " bytes, shape " +
                                c10::str(host.sizes()) + " needs " + std::to_string(want));
  if (want > 0) std::memcpy(host.data_ptr(), data, static_cast<size_t>(want));
  auto dev = gt::device(dev_type, dev_index);
  return wrap(dev.is_cpu() ? host : host.to(dev));
  GT_CATCH(nullptr)
}

GTensor gt_empty(const int64_t *shape, int ndim, int dtype, int dev_type, int dev_index, int pinned,
                 char **err) {
  GT_TRY
  if (pinned && !torch::cuda::is_available())
    throw std::invalid_argument("pinned host memory needs a CUDA build of libtorch and a visible GPU");
  auto opts = at::TensorOptions()
                  .dtype(gt::scalar_type(dtype))
                  .device(gt::device(dev_type, dev_index))
                  .pinned_memory(pinned != 0);
  return wrap(at::empty(gt::vec(shape, ndim), opts));
  GT_CATCH(nullptr)
}

GTensor gt_filled(int kind, double value, const int64_t *shape, int ndim, int dtype, int dev_type,
                  int dev_index, char **err) {
  GT_TRY
  auto opts =
      at::TensorOptions().dtype(gt::scalar_type(dtype)).device(gt::device(dev_type, dev_index));
  auto s = gt::vec(shape, ndim);
  switch (kind) {
    case GT_FILL_ZEROS: return wrap(at::zeros(s, opts));
    case GT_FILL_ONES: return wrap(at::ones(s, opts));
    case GT_FILL_FULL: return wrap(at::full(s, value, opts));
    case GT_FILL_RANDN: return wrap(at::randn(s, opts));
    case GT_FILL_RAND: return wrap(at::rand(s, opts));
  }
  throw std::invalid_argument("unknown fill kind " + std::to_string(kind));
  GT_CATCH(nullptr)
}

GTensor gt_arange(double start, double end, double step, int dtype, int dev_type, int dev_index,
                  char **err) {
  GT_TRY
  auto opts =
      at::TensorOptions().dtype(gt::scalar_type(dtype)).device(gt::device(dev_type, dev_index));
  return wrap(at::arange(start, end, step, opts));
  GT_CATCH(nullptr)
}

void gt_copy_to_host(GTensor t, void *dst, int64_t nbytes, char **err) {
  GT_TRY
  auto c = T(t).detach().to(at::kCPU).contiguous();
  int64_t have = c.numel() * static_cast<int64_t>(c.element_size());
  if (nbytes != have)
    throw std::invalid_argument("destination has " + std::to_string(nbytes) + " bytes, tensor " +
                                c10::str(c.sizes()) + " has " + std::to_string(have));
  if (have > 0) std::memcpy(dst, c.data_ptr(), static_cast<size_t>(have));
  GT_CATCH()
}

void *gt_data_ptr(GTensor t, char **err) {
  GT_TRY
  auto &x = T(t);
  if (!x.device().is_cpu()) throw std::invalid_argument("data pointer of a non-CPU tensor");
  if (!x.is_contiguous()) throw std::invalid_argument("data pointer of a non-contiguous tensor");
  return x.data_ptr();
  GT_CATCH(nullptr)
}

double gt_item(GTensor t, char **err) {
  GT_TRY
  return T(t).item<double>();
  GT_CATCH(0)
}

GTensor gt_to(GTensor t, int dev_type, int dev_index, int dtype, int non_blocking, char **err) {
  GT_TRY
  auto &x = T(t);
  auto st = dtype < 0 ? x.scalar_type() : gt::scalar_type(dtype);
  return wrap(x.to(gt::device(dev_type, dev_index), st, non_blocking != 0));
  GT_CATCH(nullptr)
}

GTensor gt_contiguous(GTensor t, int format, char **err) {
  GT_TRY
  auto mf = format == GT_FORMAT_CHANNELS_LAST ? at::MemoryFormat::ChannelsLast
                                              : at::MemoryFormat::Contiguous;
  return wrap(T(t).contiguous(mf));
  GT_CATCH(nullptr)
}

GTensor gt_clone(GTensor t, char **err) {
  GT_TRY
  return wrap(T(t).clone());
  GT_CATCH(nullptr)
}

GTensor gt_pin_memory(GTensor t, char **err) {
  GT_TRY
  return wrap(T(t).pin_memory());
  GT_CATCH(nullptr)
}

int gt_cuda_is_available(void) {
  try {
    return torch::cuda::is_available() ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

int gt_cuda_device_count(void) {
  try {
    return static_cast<int>(torch::cuda::device_count());
  } catch (...) {
    return 0;
  }
}

void gt_manual_seed(uint64_t seed, char **err) {
  GT_TRY
  at::manual_seed(seed);
  GT_CATCH()
}

int64_t gt_cpu_seed_draw(char **err) {
  GT_TRY
  return at::empty({}, at::kLong).random_().item<int64_t>();
  GT_CATCH(0)
}

GTensor gt_randperm_seeded(int64_t n, uint64_t seed, char **err) {
  GT_TRY
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return wrap(at::randperm(n, g, at::TensorOptions().dtype(at::kLong)));
  GT_CATCH(nullptr)
}

GTensor gt_rng_state(int dev_type, int dev_index, char **err) {
  GT_TRY
  auto gen = at::globalContext().defaultGenerator(gt::device(dev_type, dev_index));
  std::lock_guard<std::mutex> lock(gen.mutex());
  return wrap(gen.get_state());
  GT_CATCH(nullptr)
}

void gt_set_rng_state(int dev_type, int dev_index, GTensor state, char **err) {
  GT_TRY
  auto &s = T(state);
  auto gen = at::globalContext().defaultGenerator(gt::device(dev_type, dev_index));
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(s);
  GT_CATCH()
}

void gt_set_num_threads(int n, char **err) {
  GT_TRY
  at::set_num_threads(n);
  GT_CATCH()
}
int gt_num_threads(void) { return at::get_num_threads(); }

namespace {
struct Gate {
  std::mutex m;
  std::condition_variable cv;
  bool open = false;
};

void *wait_at_gate(void *arg) {
  auto *g = static_cast<Gate *>(arg);
  std::unique_lock<std::mutex> lock(g->m);
  g->cv.wait(lock, [g] { return g->open; });
  return nullptr;
}
}  // namespace

int gt_start_threads(int k, int *err_no) {
  // All k alive at once, as libtorch's pools will be, with the default
  // attributes its pools start theirs with (a small stack would not hold
  // libtorch's thread-local storage: EINVAL).
  Gate gate;
  std::vector<pthread_t> started;
  *err_no = 0;
  for (int i = 0; i < k; i++) {
    pthread_t t;
    int rc = pthread_create(&t, nullptr, wait_at_gate, &gate);
    if (rc != 0) {
      *err_no = rc;
      break;
    }
    started.push_back(t);
  }
  {
    std::lock_guard<std::mutex> lock(gate.m);
    gate.open = true;
  }
  gate.cv.notify_all();
  for (auto t : started) pthread_join(t, nullptr);
  return static_cast<int>(started.size());
}

int gt_first_pool_threads(void) {
#if TORCH_VERSION_MAJOR < 2
  // libtorch 1.x's at::set_num_threads makes caffe2's pthreadpool, on its
  // first call, at the default size (caffe2::getDefaultNumThreads: cpuinfo's
  // processors, else hardware_concurrency), and then the one asked for
  // while that one still lives. The count is the host's, not this process's
  // affinity nor a container's CPU limit. cpuinfo is libtorch's own (a
  // shared library on Debian); where it cannot be found, the fallback.
  using init_fn = bool (*)(void);
  using count_fn = uint32_t (*)(void);
  auto init = reinterpret_cast<init_fn>(dlsym(RTLD_DEFAULT, "cpuinfo_initialize"));
  auto count = reinterpret_cast<count_fn>(dlsym(RTLD_DEFAULT, "cpuinfo_get_processors_count"));
  if (init != nullptr && count != nullptr && init()) return static_cast<int>(std::max<uint32_t>(count(), 1));
  return static_cast<int>(std::max(std::thread::hardware_concurrency(), 1u));
#else
  // 2.x makes it at the size asked for (caffe2::pthreadpool(nthreads)).
  return 0;
#endif
}

int gt_openblas_set_num_threads(int n) {
  using setter = void (*)(int);
  auto f = reinterpret_cast<setter>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (f == nullptr) return 0;
  f(n);
  return 1;
}

int gt_has_mkl(void) { return at::hasMKL() ? 1 : 0; }

int gt_openblas_num_threads(void) {
  using getter = int (*)(void);
  auto f = reinterpret_cast<getter>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return f == nullptr ? 0 : f();
}

int gt_keep_host_memory(void) {
#ifdef __GLIBC__
  // glibc hands blocks over 128 KiB-32 MiB to mmap and gives freed heap tops
  // back to the kernel, so each training step faults its activations in anew
  // (a pix2pix step at batch 16: 3.5 GB of page faults). Keep freed memory
  // for reuse instead: one heap for every thread (a thread's own arena maps
  // blocks over 64 MiB anyway), no mmap, no trimming.
  int ok = mallopt(M_ARENA_MAX, 1);
  ok &= mallopt(M_MMAP_MAX, 0);
  ok &= mallopt(M_TRIM_THRESHOLD, INT_MAX);
  return ok ? 1 : 0;
#else
  return 0;
#endif
}

void gt_set_cudnn_benchmark(int on) { at::globalContext().setBenchmarkCuDNN(on != 0); }

void gt_set_allow_tf32(int on) {
  at::globalContext().setAllowTF32CuDNN(on != 0);
  at::globalContext().setAllowTF32CuBLAS(on != 0);
}

void gt_cuda_synchronize(int dev_index, char **err) {
  GT_TRY
  torch::cuda::synchronize(dev_index);
  GT_CATCH()
}

int gt_cuda_set_device(int dev_index, char **err) {
  GT_TRY
  // Through c10's device-generic guard (the CUDA one libc10_cuda registers),
  // so that a build without the CUDA headers has it too.
  auto dev = gt::device(GT_CUDA, dev_index);
  c10::impl::VirtualGuardImpl impl(dev.type());
  return static_cast<int>(impl.exchangeDevice(dev).index());
  GT_CATCH(-1)
}

int64_t gt_cuda_max_allocated(int dev_index, int reserved, char **err) {
  GT_TRY
#ifdef GOGAN_WITH_CUDA
  // Index 0 is StatType::AGGREGATE (all pools); the enum moved namespaces across
  // libtorch versions, its value did not.
  auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(dev_index));
  return reserved ? stats.reserved_bytes[0].peak : stats.allocated_bytes[0].peak;
#else
  (void)reserved;
  (void)dev_index;
  return -1;
#endif
  GT_CATCH(-1)
}

void gt_cuda_reset_peak(int dev_index, char **err) {
  GT_TRY
#ifdef GOGAN_WITH_CUDA
  c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(dev_index));
#else
  (void)dev_index;
#endif
  GT_CATCH()
}

}  // extern "C"
