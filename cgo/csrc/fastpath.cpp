// fastpath.cpp: the pieces of the CUDA fast path: autocast (mixed
// precision), the gradient scaler's unscale-and-check, an Adam whose step
// count and learning rate live on the device (so a CUDA graph can replay it),
// and CUDA graphs themselves. All but the graphs work on the CPU as well,
// which is where their tests run on a machine without a GPU.
#include <ATen/autocast_mode.h>
#include <c10/core/DeviceGuard.h>
#include <c10/core/Event.h>
#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>
#include <torch/version.h>

#ifdef GOGAN_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <chrono>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include "internal.h"

using gt::T;

// libtorch 2.4 made autocast's switches per device type; 1.13 has one
// function per device.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define GT_AUTOCAST_PER_DEVICE 1
#endif
// libtorch 2.1 lets a capture choose its cudaStreamCaptureMode; 1.13 always
// captures in the global mode.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#define GT_CAPTURE_MODE 1
#endif

namespace {

at::DeviceType autocast_device(int dev_type) { return dev_type == GT_CUDA ? at::kCUDA : at::kCPU; }

bool autocast_enabled(at::DeviceType dt) {
#ifdef GT_AUTOCAST_PER_DEVICE
  return at::autocast::is_autocast_enabled(dt);
#else
  return dt == at::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

void autocast_set(at::DeviceType dt, bool on) {
#ifdef GT_AUTOCAST_PER_DEVICE
  at::autocast::set_autocast_enabled(dt, on);
#else
  if (dt == at::kCUDA) {
    at::autocast::set_enabled(on);
  } else {
    at::autocast::set_cpu_enabled(on);
  }
#endif
}

void autocast_set_dtype(at::DeviceType dt, at::ScalarType st) {
#ifdef GT_AUTOCAST_PER_DEVICE
  at::autocast::set_autocast_dtype(dt, st);
#else
  if (dt == at::kCUDA) {
    at::autocast::set_autocast_gpu_dtype(st);
  } else {
    at::autocast::set_autocast_cpu_dtype(st);
  }
#endif
}

at::ScalarType autocast_get_dtype(at::DeviceType dt) {
#ifdef GT_AUTOCAST_PER_DEVICE
  return at::autocast::get_autocast_dtype(dt);
#else
  return dt == at::kCUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}

}  // namespace

#ifdef GOGAN_WITH_CUDA
struct gt_graph {
  int device;
  at::cuda::CUDAGraph graph;
  c10::optional<c10::cuda::CUDAStreamGuard> side;  // set between side_begin and side_end
  bool captured = false;
};
#else
struct gt_graph {
  int device;
};
#endif

// Streams and events go through c10's device-generic interfaces (the guard
// implementation libc10_cuda registers): the copy stream needs no CUDA
// headers, so a libgotorch built without them still overlaps its uploads.
struct gt_event {
  explicit gt_event(c10::DeviceType t) : ev(t) {}
  c10::Event ev;
};

namespace {
// The stream batches are copied to a device on, one per device, beside the
// stream the training step runs on.
c10::Stream copy_stream(const c10::Device &dev) {
  static std::mutex mu;
  static std::map<std::pair<int, int>, c10::Stream> streams;
  std::lock_guard<std::mutex> lock(mu);
  auto key = std::make_pair(static_cast<int>(dev.type()), static_cast<int>(dev.index()));
  auto it = streams.find(key);
  if (it == streams.end()) {
    c10::impl::VirtualGuardImpl impl(dev.type());
    it = streams.emplace(key, impl.getStreamFromGlobalPool(dev, /*isHighPriority=*/false)).first;
  }
  return it->second;
}

c10::Device device_of(const c10::Event &ev) { return c10::Device(ev.device_type(), ev.device_index()); }
}  // namespace

extern "C" {

int gt_autocast_enter(int dev_type, int dtype, char **err) {
  GT_TRY
  auto dt = autocast_device(dev_type);
  auto st = gt::scalar_type(dtype);
  if (st != at::kHalf && st != at::kBFloat16)
    throw std::invalid_argument("autocast: the lower precision must be float16 or bfloat16");
  // What exit restores: whether autocast was on (bit 0) and its lower
  // precision (the dtype code above it), as torch.autocast's __exit__.
  int prev = (autocast_enabled(dt) ? 1 : 0) | (gt::dtype_code(autocast_get_dtype(dt)) << 1);
  autocast_set_dtype(dt, st);
  autocast_set(dt, true);
  at::autocast::increment_nesting();
  return prev;
  GT_CATCH(0)
}

void gt_autocast_exit(int dev_type, int prev, char **err) {
  GT_TRY
  // The cast weights are cached only inside the outermost region, as
  // torch.autocast's __exit__ does.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  auto dt = autocast_device(dev_type);
  autocast_set_dtype(dt, gt::scalar_type(prev >> 1));
  autocast_set(dt, (prev & 1) != 0);
  GT_CATCH()
}

int gt_autocast_cache(int on) {
  int prev = at::autocast::is_autocast_cache_enabled() ? 1 : 0;
  at::autocast::set_autocast_cache_enabled(on != 0);
  return prev;
}

void gt_amp_unscale(const GTensor *params, int n, GTensor inv_scale, GTensor found_inf, char **err) {
  GT_TRY
  at::NoGradGuard ng;
  auto &found = T(found_inf);
  auto &inv = T(inv_scale);
  // As the CUDA kernel checks: an empty found_inf would take no overflow
  // in on the CPU path, and the step would go on with inf gradients.
  gt::check_scalar("found_inf", found, at::kFloat);
  gt::check_scalar("inv_scale", inv, at::kFloat);
  std::vector<at::Tensor> grads;
  for (int i = 0; i < n; i++) {
    const auto &g = T(params[i]).grad();
    if (g.defined()) grads.push_back(g);
  }
  if (grads.empty()) return;
  if (grads[0].is_cuda()) {
    // The kernel GradScaler uses: one pass that scales and checks.
    at::_amp_foreach_non_finite_check_and_unscale_(grads, found, inv);
  } else {  // libtorch 1.x has no CPU kernel for it
    auto inv0 = inv.reshape(at::IntArrayRef{});  // onto gradients of any shape, 0-dim too
    for (auto &g : grads) {
      found.add_(at::isfinite(g).logical_not().any().to(at::kFloat));
      g.mul_(inv0);
    }
  }
  GT_CATCH()
}

void gt_amp_update_scale(GTensor scale, GTensor growth_tracker, GTensor found_inf, double growth, double backoff,
                         int64_t interval, char **err) {
  GT_TRY
  at::NoGradGuard ng;
  auto &s = T(scale);
  auto &tracker = T(growth_tracker);
  // _amp_update_scale_'s own checks: one element each.
  gt::check_scalar("scale", s, at::kFloat);
  gt::check_scalar("growth_tracker", tracker, at::kInt);
  gt::check_scalar("found_inf", T(found_inf), at::kFloat);
  // _amp_update_scale_'s kernel as tensor arithmetic (its CPU kernel came
  // with libtorch 2.x): an overflow backs the scale off and restarts the
  // count; interval clean steps in a row grow it, while it stays finite.
  auto found = T(found_inf).gt(0);
  auto counted = tracker + 1;
  auto full = counted.eq(interval).logical_and(found.logical_not());
  auto grown = s * growth;
  auto grow = full.logical_and(at::isfinite(grown));
  auto next = at::where(found, s * backoff, at::where(grow, grown, s));
  auto next_count = at::where(found.logical_or(full), at::zeros_like(counted), counted);
  s.copy_(next);
  tracker.copy_(next_count);
  GT_CATCH()
}

void gt_adam_step_dev(const GTensor *params, const GTensor *exp_avg, const GTensor *exp_avg_sq, int n,
                      GTensor step, GTensor lr, double beta1, double beta2, double eps, double weight_decay,
                      int decoupled, GTensor found_inf, char **err) {
  GT_TRY
  at::NoGradGuard ng;
  // torch.optim.Adam(capturable=True)'s single-tensor arithmetic: the bias
  // corrections come from the step tensor, so replays see the step count grow.
  auto &st = T(step);
  gt::check_scalar("step", st, at::kFloat);
  gt::check_scalar("lr", T(lr), at::kFloat);
  if (found_inf) gt::check_scalar("found_inf", T(found_inf), at::kFloat);
  for (int i = 0; i < n; i++) {
    auto &p = T(params[i]);
    if (!p.grad().defined()) continue;
    gt::check_state("exp_avg", i, T(exp_avg[i]), p);
    gt::check_state("exp_avg_sq", i, T(exp_avg_sq[i]), p);
  }
  // 0-dim views of the one-element tensors, so that the scalars they give
  // broadcast onto parameters of any shape, 0-dim ones included.
  auto lr_t = T(lr).reshape(at::IntArrayRef{});
  // An overflow (found_inf) keeps every tensor as it was, with no copy of
  // any: the update runs with factors that leave each unchanged (a first
  // moment lerped or scaled by 1 onto a zero gradient, a second moment
  // scaled by 1 plus 0, a weight moved by m / -inf) and the step count adds
  // 0. Without an overflow every factor is the plain step's own value, so
  // the arithmetic is the plain step's bit for bit. (A weight of -0 with
  // m < 0 comes back +0: the same value.)
  at::Tensor skip;
  if (found_inf) skip = T(found_inf).reshape(at::IntArrayRef{}).gt(0);
  auto scalar = [&](double x) { return at::full({}, x, st.options()); };
  // either the skip's value or the step's, as a 0-dim tensor on the device
  auto unless_skip = [&](double kept, const at::Tensor &stepped) { return at::where(skip, scalar(kept), stepped); };
  // The bias corrections of a skipped step are those of the step it would
  // have been: the count may be 0 (a first step that overflowed).
  auto next_st = st + 1;
  auto bc1 = at::rsub(at::pow(beta1, next_st.reshape(at::IntArrayRef{})), 1);
  auto bc2 = at::rsub(at::pow(beta2, next_st.reshape(at::IntArrayRef{})), 1);
  auto step_size_neg = (lr_t / bc1).neg();
  auto denom_scale = bc2.sqrt() * step_size_neg;
  auto eps_scaled = step_size_neg.reciprocal() * eps;
  at::Tensor decay;
  if (weight_decay != 0 && decoupled) decay = at::rsub(lr_t * weight_decay, 1);
  at::Tensor beta1_t, beta2_t, zero;
  if (skip.defined()) {
    // denom = -sqrt(v) - inf = -inf: the weight moves by m / denom, a zero
    // (denom_scale -1, not the step's: at lr 0 it is -0, and 0 / -0 a nan)
    eps_scaled = unless_skip(-std::numeric_limits<double>::infinity(), eps_scaled);
    denom_scale = unless_skip(-1, denom_scale);
    beta2_t = unless_skip(1, scalar(beta2));
#if TORCH_VERSION_MAJOR >= 2
    beta1_t = unless_skip(0, scalar(1 - beta1));  // the lerp's weight
#else
    beta1_t = unless_skip(1, scalar(beta1));
#endif
    if (decay.defined()) decay = unless_skip(1, decay);
    zero = scalar(0);
  }
  for (int i = 0; i < n; i++) {
    auto &p = T(params[i]);
    auto g = p.grad();
    if (!g.defined()) continue;
    auto &m = T(exp_avg[i]);
    auto &v = T(exp_avg_sq[i]);
    if (weight_decay != 0) {
      if (decoupled) {
        p.mul_(decay);
      } else {
        g = g.add(p, weight_decay);
      }
    }
    if (skip.defined()) {
      // inf or nan gradients become zeros: a factor of 0 keeps them nan
      g = at::where(skip, zero, g);
#if TORCH_VERSION_MAJOR >= 2
      m.lerp_(g, beta1_t);
#else
      m.mul_(beta1_t).add_(g, 1 - beta1);
#endif
      v.mul_(beta2_t).addcmul_(g, g, 1 - beta2);
    } else {
      gt::adam_first_moment(m, g, beta1);
      v.mul_(beta2).addcmul_(g, g, 1 - beta2);
    }
    auto denom = (v.sqrt() / denom_scale).add_(eps_scaled);
    p.addcdiv_(m, denom);
  }
  if (skip.defined()) {
    st.copy_(at::where(skip, st, next_st));
  } else {
    st.copy_(next_st);
  }
  GT_CATCH()
}

void gt_channels_last_n(const GTensor *ts, int n, char **err) {
  GT_TRY
  at::NoGradGuard ng;
  for (int i = 0; i < n; i++) {
    auto &t = T(ts[i]);
    // set_data keeps the tensor (a parameter's identity, requires_grad) and
    // swaps its storage, as nn.Module.to(memory_format=...) does.
    if (t.dim() == 4) t.set_data(t.contiguous(at::MemoryFormat::ChannelsLast));
  }
  GT_CATCH()
}

GEvent gt_copy_side(GTensor dst, GTensor src, GEvent after, char **err) {
  GT_TRY
  auto &d = T(dst);
  auto &s = T(src);
  if (!d.is_cuda()) throw std::invalid_argument("copy on the side stream: the destination must be on a CUDA device");
  if (d.sizes() != s.sizes())
    throw std::invalid_argument("copy on the side stream: destination shape " + c10::str(d.sizes()) +
                                " differs from source shape " + c10::str(s.sizes()));
  at::NoGradGuard ng;
  c10::DeviceGuard guard(d.device());
  auto stream = copy_stream(d.device());
  // The copy may not overwrite dst before the work that last read it (an
  // earlier step, marked by `after`) is done.
  if (after != nullptr) after->ev.block(stream);
  {
    c10::StreamGuard sg(stream);
    d.copy_(s, /*non_blocking=*/true);
  }
  // dst was allocated for the step's stream and is written on this one: its
  // memory is not reused before this stream's work is done, even if it is
  // freed with the copy in flight.
  d.record_stream(stream);
  auto e = std::make_unique<gt_event>(d.device().type());
  e->ev.record(stream);
  return e.release();
  GT_CATCH(nullptr)
}

GEvent gt_event_record(GTensor on, char **err) {
  GT_TRY
  auto dev = T(on).device();
  if (!T(on).is_cuda()) throw std::invalid_argument("event: the tensor must be on a CUDA device, not " + dev.str());
  c10::DeviceGuard guard(dev);
  c10::impl::VirtualGuardImpl impl(dev.type());
  auto e = std::make_unique<gt_event>(dev.type());
  e->ev.record(impl.getStream(dev));
  return e.release();
  GT_CATCH(nullptr)
}

void gt_event_wait(GEvent e, int host, char **err) {
  GT_TRY
  if (e == nullptr) throw std::invalid_argument("null event handle");
  if (!e->ev.was_marked_for_recording()) return;
  if (host) {
    // c10 1.13's Event has no synchronize: poll. What waits here (a host
    // buffer's copy) is nearly always done already.
    while (!e->ev.query()) std::this_thread::sleep_for(std::chrono::microseconds(20));
    return;
  }
  auto dev = device_of(e->ev);
  c10::DeviceGuard guard(dev);
  c10::impl::VirtualGuardImpl impl(dev.type());
  e->ev.block(impl.getStream(dev));
  GT_CATCH()
}

void gt_event_free(GEvent e) {
  try {
    delete e;
  } catch (...) {
  }
}

void gt_set_cudnn_deterministic(int on) { at::globalContext().setDeterministicCuDNN(on != 0); }

int gt_cuda_graphs_available(void) {
#ifdef GOGAN_WITH_CUDA
  return 1;
#else
  return 0;
#endif
}

GGraph gt_graph_new(int dev_index, char **err) {
  GT_TRY
#ifdef GOGAN_WITH_CUDA
  c10::cuda::CUDAGuard g(static_cast<c10::DeviceIndex>(dev_index));
  auto *gr = new gt_graph{dev_index};
  return gr;
#else
  (void)dev_index;
  throw std::runtime_error("CUDA graphs: this libgotorch was built without the CUDA headers (GOGAN_WITH_CUDA)");
#endif
  GT_CATCH(nullptr)
}

void gt_graph_side_stream(GGraph g, int on, char **err) {
  GT_TRY
  if (g == nullptr) throw std::invalid_argument("null graph handle");
#ifdef GOGAN_WITH_CUDA
  auto dev = static_cast<c10::DeviceIndex>(g->device);
  // Warm-up and capture run on a side stream (capture may not use the
  // default one); full synchronisation on both edges keeps the default
  // stream's work ordered with it without events. The graph's device, not
  // whichever is current (cuda:N); the guard ends before the side stream's,
  // which makes the graph's device current until it is reset.
  {
    c10::cuda::CUDAGuard guard(dev);
    c10::cuda::device_synchronize();
  }
  if (on) {
    if (!g->side) g->side.emplace(c10::cuda::getStreamFromPool(false, dev));
  } else {
    g->side.reset();
  }
#else
  (void)on;
#endif
  GT_CATCH()
}

void gt_graph_capture(GGraph g, int begin, char **err) {
  GT_TRY
  if (g == nullptr) throw std::invalid_argument("null graph handle");
#ifdef GOGAN_WITH_CUDA
  if (begin) {
    if (!g->side) throw std::logic_error("graph capture must run on the side stream");
    if (g->captured) throw std::logic_error("graph already captured");
#ifdef GT_CAPTURE_MODE
    // Thread-local mode: only this thread's unsafe calls (a cudaMalloc, a
    // sync) break the capture. Go's cleanup backstop may free tensors on
    // other OS threads meanwhile, which the global mode would turn into
    // capture errors.
    g->graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
#else
    g->graph.capture_begin();
#endif
  } else {
    g->graph.capture_end();
    g->captured = true;
  }
#else
  (void)begin;
#endif
  GT_CATCH()
}

void gt_graph_replay(GGraph g, char **err) {
  GT_TRY
  if (g == nullptr) throw std::invalid_argument("null graph handle");
#ifdef GOGAN_WITH_CUDA
  if (!g->captured) throw std::logic_error("graph replay before a capture");
  g->graph.replay();
#endif
  GT_CATCH()
}

void gt_graph_free(GGraph g) {
  try {
    delete g;
  } catch (...) {
  }
}

}  // extern "C"
