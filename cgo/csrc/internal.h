// internal.h: helpers shared by the C++ files behind gotorch.h.
#pragma once

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

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
