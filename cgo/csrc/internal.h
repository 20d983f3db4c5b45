// internal.h: helpers shared by the C++ files behind gotorch.h.
#pragma once

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/version.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "gotorch.h"

struct gt_tensor {
  at::Tensor t;
};

namespace gt {

extern std::atomic<int64_t> live;

inline GTensor wrap(at::Tensor t) {
  live.fetch_add(1, std::memory_order_relaxed);
  return new gt_tensor{std::move(t)};
}

inline void set_err(char **err, const char *msg) {
  if (err == nullptr) return;
  *err = strdup(msg ? msg : "unknown error");
}

// T(h) dereferences a handle, turning NULL into an error instead of a crash.
inline at::Tensor &T(GTensor h) {
  if (h == nullptr) throw std::invalid_argument("null tensor handle (freed or never created)");
  return h->t;
}

// opt(h) is an undefined tensor for a NULL handle: the "optional" arguments of ATen.
inline c10::optional<at::Tensor> opt(GTensor h) {
  if (h == nullptr) return c10::nullopt;
  return h->t;
}

at::ScalarType scalar_type(int dtype);
int dtype_code(at::ScalarType st);
at::Device device(int type, int index);
// at::conv_transpose2d, threaded on the CPU (convt.cpp).
at::Tensor conv_transpose2d(const at::Tensor &x, const at::Tensor &w, const c10::optional<at::Tensor> &b,
                            at::IntArrayRef stride, at::IntArrayRef padding,
                            at::IntArrayRef output_padding, int64_t groups, at::IntArrayRef dilation);
inline std::vector<int64_t> vec(const int64_t *p, int n) { return std::vector<int64_t>(p, p + n); }

// describe is a tensor's shape, dtype and device, for messages.
inline std::string describe(const at::Tensor &t) {
  return c10::str(t.sizes(), " ", t.scalar_type(), " on ", t.device());
}

// check_state refuses an optimizer's state tensor (what, of parameter i)
// that differs from its parameter in shape, dtype or device. The optimizers
// check every tensor before they update any: a mismatch that libtorch found
// halfway would leave some parameters and moments stepped and the rest not
// (and a float64 moment of a float32 parameter trips an internal assert).
inline void check_state(const char *what, int i, const at::Tensor &state, const at::Tensor &p) {
  if (state.sizes() != p.sizes() || state.scalar_type() != p.scalar_type() || state.device() != p.device())
    throw std::invalid_argument(std::string(what) + " of parameter " + std::to_string(i) + " is " + describe(state) +
                                ", the parameter " + describe(p) +
                                ": optimizer state must match its parameter (state of another model?)");
}

// check_scalar refuses a tensor that is not one element of dtype st (a
// grad scaler's or a capturable optimizer's device-side number).
inline void check_scalar(const char *what, const at::Tensor &t, at::ScalarType st) {
  if (t.numel() != 1 || t.scalar_type() != st)
    throw std::invalid_argument(std::string(what) + " must be one " + c10::toString(st) + " element, not " +
                                describe(t));
}

// adam_first_moment is torch.optim.Adam's exp_avg update as the libtorch it is
// built against has it: 2.x lerps (exp_avg.lerp_(grad, 1 - beta1)), 1.x
// scales and adds; the two round differently, and the gradient of a bias
// before a norm, rounding noise itself, turns a last-bit difference into an
// Adam step of lr either way.
inline void adam_first_moment(at::Tensor &m, const at::Tensor &g, double beta1) {
#if TORCH_VERSION_MAJOR >= 2
  m.lerp_(g, 1 - beta1);
#else
  m.mul_(beta1).add_(g, 1 - beta1);
#endif
}

}  // namespace gt

// GT_TRY / GT_CATCH wrap every exported function body: C++ exceptions never cross
// into Go; they become the message in *err.
#define GT_TRY try {
#define GT_CATCH(ret)                                   \
  }                                                     \
  catch (const c10::Error &e) {                         \
    gt::set_err(err, e.what_without_backtrace());       \
  }                                                     \
  catch (const std::exception &e) {                     \
    gt::set_err(err, e.what());                         \
  }                                                     \
  catch (...) {                                         \
    gt::set_err(err, "unknown C++ exception");          \
  }                                                     \
  return ret;
