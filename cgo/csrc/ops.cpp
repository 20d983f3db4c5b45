// ops.cpp: the tensor and network ops GANs need, as thin calls to ATen.
#include "internal.h"

using gt::opt;
using gt::T;
using gt::vec;
using gt::wrap;

extern "C" {

GTensor gt_unary(int op, GTensor x, char **err) {
  GT_TRY
  auto &a = T(x);
  switch (op) {
    case GT_RELU: return wrap(at::relu(a));
    case GT_TANH: return wrap(at::tanh(a));
    case GT_SIGMOID: return wrap(at::sigmoid(a));
    case GT_NEG: return wrap(at::neg(a));
    case GT_SQRT: return wrap(at::sqrt(a));
    case GT_ABS: return wrap(at::abs(a));
    case GT_EXP: return wrap(at::exp(a));
    case GT_LOG: return wrap(at::log(a));
    case GT_SQUARE: return wrap(at::square(a));
    case GT_ONES_LIKE: return wrap(at::ones_like(a));
    case GT_ZEROS_LIKE: return wrap(at::zeros_like(a));
    case GT_RANDN_LIKE: return wrap(at::randn_like(a));
    case GT_RAND_LIKE: return wrap(at::rand_like(a));
    case GT_RELU_INPLACE: return wrap(at::relu_(a));
  }
  throw std::invalid_argument("unknown unary op " + std::to_string(op));
  GT_CATCH(nullptr)
}

GTensor gt_binary(int op, GTensor a, GTensor b, char **err) {
  GT_TRY
  auto &x = T(a);
  auto &y = T(b);
  switch (op) {
    case GT_ADD: return wrap(at::add(x, y));
    case GT_SUB: return wrap(at::sub(x, y));
    case GT_MUL: return wrap(at::mul(x, y));
    case GT_DIV: return wrap(at::div(x, y));
    case GT_MAXIMUM: return wrap(at::maximum(x, y));
    case GT_MINIMUM: return wrap(at::minimum(x, y));
    case GT_EQ: return wrap(at::eq(x, y).to(x.scalar_type()));
    case GT_MATMUL: return wrap(at::matmul(x, y));
  }
  throw std::invalid_argument("unknown binary op " + std::to_string(op));
  GT_CATCH(nullptr)
}

GTensor gt_eigh(GTensor x, GTensor *vecs, char **err) {
  GT_TRY
  if (vecs == nullptr) return wrap(at::linalg_eigvalsh(T(x)));
  auto r = at::linalg_eigh(T(x));
  // Both handles or neither: a wrap that fails must not strand the other.
  GTensor values = wrap(std::get<0>(r));
  try {
    *vecs = wrap(std::get<1>(r));
  } catch (...) {
    gt_free(values);
    throw;
  }
  return values;
  GT_CATCH(nullptr)
}

// number is s as Python passes `tensor * 0.5` to libtorch: a wrapped-number
// tensor for the Tensor overload. The Scalar overloads compute the same
// forward, but their backward on a 0-dim tensor (a loss times a weight)
// multiplies in double, so gradients would differ from PyTorch's in the last
// bit whenever the weight is not exact in float32.
static at::Tensor number(double s) {
  at::Tensor t = at::scalar_to_tensor(s);
  t.unsafeGetTensorImpl()->set_wrapped_number(true);
  return t;
}

GTensor gt_scalar_op(int op, GTensor x, double s, char **err) {
  GT_TRY
  auto &a = T(x);
  switch (op) {
    case GT_ADD_SCALAR: return wrap(at::add(a, number(s)));
    case GT_SUB_SCALAR: return wrap(at::sub(a, number(s)));
    case GT_MUL_SCALAR: return wrap(at::mul(a, number(s)));
    case GT_DIV_SCALAR: return wrap(at::div(a, number(s)));
    case GT_POW_SCALAR: return wrap(at::pow(a, s));
    case GT_RSUB_SCALAR: return wrap(at::rsub(a, s));
    case GT_LEAKY_RELU: return wrap(at::leaky_relu(a, s));
    case GT_FULL_LIKE: return wrap(at::full_like(a, s));
    case GT_LEAKY_RELU_INPLACE: return wrap(at::leaky_relu_(a, s));
  }
  throw std::invalid_argument("unknown scalar op " + std::to_string(op));
  GT_CATCH(nullptr)
}

GTensor gt_clamp(GTensor x, double min, int has_min, double max, int has_max, char **err) {
  GT_TRY
  c10::optional<at::Scalar> lo, hi;
  if (has_min) lo = min;
  if (has_max) hi = max;
  return wrap(at::clamp(T(x), lo, hi));
  GT_CATCH(nullptr)
}

GTensor gt_reduce(int op, GTensor x, const int64_t *dims, int ndims, int keepdim, char **err) {
  GT_TRY
  auto &a = T(x);
  if (ndims == 0) {
    switch (op) {
      case GT_SUM: return wrap(at::sum(a));
      case GT_MEAN: return wrap(at::mean(a));
      case GT_NORM2: return wrap(at::linalg_vector_norm(a, 2));
    }
  } else {
    auto d = vec(dims, ndims);
    switch (op) {
      case GT_SUM: return wrap(at::sum(a, d, keepdim != 0));
      case GT_MEAN: return wrap(at::mean(a, d, keepdim != 0));
      // PyTorch's x.norm(2, dim): linalg_vector_norm since 2.0; 1.13 calls
      // at::norm, which gives the same values and gradients.
      case GT_NORM2: return wrap(at::linalg_vector_norm(a, 2, d, keepdim != 0));
    }
  }
  throw std::invalid_argument("unknown reduction " + std::to_string(op));
  GT_CATCH(nullptr)
}

GTensor gt_reshape(GTensor x, const int64_t *shape, int ndim, int view, char **err) {
  GT_TRY
  auto s = vec(shape, ndim);
  return wrap(view ? T(x).view(s) : T(x).reshape(s));
  GT_CATCH(nullptr)
}

GTensor gt_permute(GTensor x, const int64_t *dims, int ndim, char **err) {
  GT_TRY
  return wrap(T(x).permute(vec(dims, ndim)));
  GT_CATCH(nullptr)
}

GTensor gt_flatten(GTensor x, int64_t start, int64_t end, char **err) {
  GT_TRY
  return wrap(T(x).flatten(start, end));
  GT_CATCH(nullptr)
}

GTensor gt_narrow(GTensor x, int64_t dim, int64_t start, int64_t length, char **err) {
  GT_TRY
  return wrap(T(x).narrow(dim, start, length));
  GT_CATCH(nullptr)
}

GTensor gt_index_select(GTensor x, int64_t dim, GTensor index, char **err) {
  GT_TRY
  return wrap(at::index_select(T(x), dim, T(index)));
  GT_CATCH(nullptr)
}

GTensor gt_index_add(GTensor x, int64_t dim, GTensor index, GTensor source, char **err) {
  GT_TRY
  return wrap(at::index_add(T(x), dim, T(index), T(source)));
  GT_CATCH(nullptr)
}

GTensor gt_flip(GTensor x, const int64_t *dims, int ndims, char **err) {
  GT_TRY
  return wrap(at::flip(T(x), vec(dims, ndims)));
  GT_CATCH(nullptr)
}

GTensor gt_cat(const GTensor *xs, int n, int64_t dim, char **err) {
  GT_TRY
  std::vector<at::Tensor> ts;
  ts.reserve(n);
  for (int i = 0; i < n; i++) ts.push_back(T(xs[i]));
  return wrap(at::cat(ts, dim));
  GT_CATCH(nullptr)
}

GTensor gt_conv2d(GTensor x, GTensor w, GTensor b, const int64_t *stride, const int64_t *padding,
                  const int64_t *dilation, int64_t groups, char **err) {
  GT_TRY
  return wrap(at::conv2d(T(x), T(w), opt(b), vec(stride, 2), vec(padding, 2), vec(dilation, 2),
                         groups));
  GT_CATCH(nullptr)
}

GTensor gt_conv_transpose2d(GTensor x, GTensor w, GTensor b, const int64_t *stride,
                            const int64_t *padding, const int64_t *output_padding, int64_t groups,
                            const int64_t *dilation, char **err) {
  GT_TRY
  return wrap(gt::conv_transpose2d(T(x), T(w), opt(b), vec(stride, 2), vec(padding, 2),
                                   vec(output_padding, 2), groups, vec(dilation, 2)));
  GT_CATCH(nullptr)
}

// values_per_channel is the product of x's sizes from dimension `from` on,
// times its batch (first) size when with_batch: the count of values each
// channel's statistics come from.
static int64_t values_per_channel(const at::Tensor &x, bool with_batch) {
  int64_t n = with_batch && x.dim() > 0 ? x.size(0) : 1;
  for (int64_t d = 2; d < x.dim(); d++) n *= x.size(d);
  return n;
}

GTensor gt_batch_norm(GTensor x, GTensor w, GTensor b, GTensor running_mean, GTensor running_var,
                      int training, double momentum, double eps, char **err) {
  GT_TRY
  // F.batch_norm's _verify_batch_size: one value per channel has no
  // variance (at::batch_norm takes it, normalises to zeros and makes the
  // running variance NaN, which every later eval-mode pass spreads).
  if (training && T(x).dim() >= 2 && values_per_channel(T(x), true) == 1)
    throw std::invalid_argument("Expected more than 1 value per channel when training, got input size " +
                                c10::str(T(x).sizes()) + " (a larger batch or image, or fewer downsamplings)");
  return wrap(at::batch_norm(T(x), opt(w), opt(b), opt(running_mean), opt(running_var),
                             training != 0, momentum, eps, at::globalContext().userEnabledCuDNN()));
  GT_CATCH(nullptr)
}

GTensor gt_instance_norm(GTensor x, GTensor w, GTensor b, GTensor running_mean,
                         GTensor running_var, int use_input_stats, double momentum, double eps,
                         char **err) {
  GT_TRY
  // F.instance_norm's _verify_spatial_size: one value per sample and
  // channel has no variance.
  if (use_input_stats && values_per_channel(T(x), false) == 1)
    throw std::invalid_argument("Expected more than 1 spatial element when training, got input size " +
                                c10::str(T(x).sizes()) + " (a larger image, or fewer downsamplings)");
  return wrap(at::instance_norm(T(x), opt(w), opt(b), opt(running_mean), opt(running_var),
                                use_input_stats != 0, momentum, eps,
                                at::globalContext().userEnabledCuDNN()));
  GT_CATCH(nullptr)
}

GTensor gt_dropout(GTensor x, double p, int train, char **err) {
  GT_TRY
  if (p < 0 || p > 1) throw std::invalid_argument("dropout probability " + std::to_string(p) +
                                                  " is outside [0, 1]");
  return wrap(at::dropout(T(x), p, train != 0));
  GT_CATCH(nullptr)
}

GTensor gt_pad2d(GTensor x, int mode, const int64_t *pad, char **err) {
  GT_TRY
  auto p = vec(pad, 4);
  switch (mode) {
    case GT_PAD_ZERO: return wrap(at::constant_pad_nd(T(x), p, 0));
    case GT_PAD_REFLECT: return wrap(at::reflection_pad2d(T(x), p));
    case GT_PAD_REPLICATE: return wrap(at::replication_pad2d(T(x), p));
  }
  throw std::invalid_argument("unknown padding mode " + std::to_string(mode));
  GT_CATCH(nullptr)
}

GTensor gt_avg_pool2d(GTensor x, const int64_t *kernel, const int64_t *stride,
                      const int64_t *padding, int ceil_mode, int count_include_pad, char **err) {
  GT_TRY
  return wrap(at::avg_pool2d(T(x), vec(kernel, 2), vec(stride, 2), vec(padding, 2),
                             ceil_mode != 0, count_include_pad != 0));
  GT_CATCH(nullptr)
}

GTensor gt_max_pool2d(GTensor x, const int64_t *kernel, const int64_t *stride,
                      const int64_t *padding, int ceil_mode, char **err) {
  GT_TRY
  return wrap(at::max_pool2d(T(x), vec(kernel, 2), vec(stride, 2), vec(padding, 2), {1, 1}, ceil_mode != 0));
  GT_CATCH(nullptr)
}

GTensor gt_upsample2d(GTensor x, int mode, int64_t out_h, int64_t out_w, int align_corners,
                      char **err) {
  GT_TRY
  std::vector<int64_t> size{out_h, out_w};
  switch (mode) {
    case GT_NEAREST: return wrap(at::upsample_nearest2d(T(x), size));
    case GT_BILINEAR: return wrap(at::upsample_bilinear2d(T(x), size, align_corners != 0));
  }
  throw std::invalid_argument("unknown upsampling mode " + std::to_string(mode));
  GT_CATCH(nullptr)
}

GTensor gt_loss(int kind, GTensor input, GTensor target, int reduction, char **err) {
  GT_TRY
  if (reduction < GT_REDUCE_NONE || reduction > GT_REDUCE_SUM)
    throw std::invalid_argument("unknown reduction " + std::to_string(reduction));
  auto &x = T(input);
  auto &y = T(target);
  // PyTorch's binary_cross_entropy(_with_logits) refuse a target of another
  // size, mse_loss and l1_loss warn that broadcasting "will likely lead to
  // incorrect results"; libtorch's ops broadcast either way, the input too
  // (a [N, 1] prediction against [N, C] labels). gogan's losses are always
  // taken between tensors of one shape: any other is refused.
  if (x.sizes() != y.sizes())
    throw std::invalid_argument("target size " + c10::str(y.sizes()) + " differs from input size " +
                                c10::str(x.sizes()) + ": give a target of the input's shape (a loss would broadcast them)");
  // at::Reduction uses the same numbering: None 0, Mean 1, Sum 2.
  switch (kind) {
    case GT_BCE: return wrap(at::binary_cross_entropy(x, y, {}, reduction));
    case GT_BCE_WITH_LOGITS:
      return wrap(at::binary_cross_entropy_with_logits(x, y, {}, {}, reduction));
    case GT_MSE: return wrap(at::mse_loss(x, y, reduction));
    case GT_L1: return wrap(at::l1_loss(x, y, reduction));
  }
  throw std::invalid_argument("unknown loss " + std::to_string(kind));
  GT_CATCH(nullptr)
}

}  // extern "C"
