// convt.cpp: ConvTranspose2d on the CPU with the intra-op threads put to use.
//
// libtorch 1.x runs a float CPU transposed convolution as slow_conv_transpose2d:
// for each sample in turn a GEMM (OpenBLAS, held to one thread: torch.SetNumThreads)
// and a col2im, forward and backward, all on one core whatever at::get_num_threads
// says. It is most of a DCGAN generator's time. Every sample's output and input
// gradient is computed on its own, so this file runs the same libtorch kernel on
// the threads' shares of the batch (of the output channels when the batch has
// fewer samples than there are threads), and in the backward computes the weight (and
// bias) gradient, which accumulates over the batch in order, on one thread while
// the others compute the input gradient. Each value comes out of the same
// kernel, with the same operands in the same order, as in the plain op: the
// results are bit for bit libtorch's (the tests check), only sooner.
#include <ATen/Parallel.h>
#include <ATen/core/LegacyTypeDispatch.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/version.h>

#include "internal.h"

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Geometry {
  std::vector<int64_t> stride, padding, output_padding, dilation;
};

std::vector<int64_t> output_size(const at::Tensor &x, const at::Tensor &w, const Geometry &g) {
  std::vector<int64_t> out{x.size(0), w.size(1)};
  for (int d = 0; d < 2; d++) {
    out.push_back((x.size(2 + d) - 1) * g.stride[d] - 2 * g.padding[d] +
                  g.dilation[d] * (w.size(2 + d) - 1) + g.output_padding[d] + 1);
  }
  return out;
}

// Runs f(i) for i in [0, n) on the intra-op threads, one call per thread
// (libtorch's ops inside run serially there, as in any parallel region).
template <typename F>
void on_threads(int64_t n, const F &f) {
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    // Worker threads start with grad mode on and no dispatch guards: compute
    // below autograd, as the op's own kernels do.
    at::AutoDispatchBelowADInplaceOrView below;
    at::NoGradGuard no_grad;
    for (int64_t i = begin; i < end; i++) f(i);
  });
}

// The [begin, end) samples of share i when n samples are split in k shares.
std::pair<int64_t, int64_t> share(int64_t n, int64_t k, int64_t i) {
  return {n * i / k, n * (i + 1) / k};
}

struct ConvTranspose2dThreaded : public torch::autograd::Function<ConvTranspose2dThreaded> {
  static at::Tensor forward(AutogradContext *ctx, const at::Tensor &x, const at::Tensor &w,
                            const c10::optional<at::Tensor> &bias, std::vector<int64_t> stride,
                            std::vector<int64_t> padding, std::vector<int64_t> output_padding,
                            std::vector<int64_t> dilation) {
    Geometry g{stride, padding, output_padding, dilation};
    ctx->save_for_backward({x, w});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    ctx->saved_data["output_padding"] = output_padding;
    ctx->saved_data["dilation"] = dilation;
    ctx->saved_data["bias"] = bias.has_value();
    auto out = at::empty(output_size(x, w, g), x.options());
    const int64_t n = x.size(0), cout = w.size(1), threads = at::get_num_threads();
    auto kernel = w.sizes().slice(2);
    if (n >= threads || cout < 2) {
      // The threads' shares of the batch.
      const int64_t k = std::min<int64_t>(n, threads);
      on_threads(k, [&](int64_t i) {
        auto [s, e] = share(n, k, i);
        auto o = out.narrow(0, s, e - s);
        at::slow_conv_transpose2d_out(o, x.narrow(0, s, e - s), w, kernel, bias, stride, padding,
                                      output_padding, dilation);
      });
      return out;
    }
    // Fewer samples than threads (pix2pix's batch 1): the threads' shares of
    // the output channels. A share is the op on those channels' slice of the
    // weight (and bias): the same GEMM rows (a dot product over the input
    // channels each), col2im and bias per channel, so the same values.
    const int64_t k = std::min<int64_t>(cout, threads);
    on_threads(k, [&](int64_t i) {
      auto [s, e] = share(cout, k, i);
      auto ws = w.narrow(1, s, e - s).contiguous();
      c10::optional<at::Tensor> bs;
      if (bias.has_value()) bs = bias->narrow(0, s, e - s);
      auto o = out.narrow(1, s, e - s);
      if (o.is_contiguous()) {  // one sample
        at::slow_conv_transpose2d_out(o, x, ws, kernel, bs, stride, padding, output_padding, dilation);
      } else {
        o.copy_(at::slow_conv_transpose2d(x, ws, kernel, bs, stride, padding, output_padding, dilation));
      }
    });
    return out;
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &x = saved[0];
    const auto &w = saved[1];
    auto go = grads[0].contiguous();
    auto ints = [&](const char *k) { return ctx->saved_data[k].toIntVector(); };
    auto stride = ints("stride"), padding = ints("padding"), output_padding = ints("output_padding"),
         dilation = ints("dilation");
    const bool has_bias = ctx->saved_data["bias"].toBool();
    const bool need_x = ctx->needs_input_grad(0), need_w = ctx->needs_input_grad(1),
               need_b = has_bias && ctx->needs_input_grad(2);
    std::vector<int64_t> bias_size{w.size(1)};
    at::OptionalIntArrayRef bias_sizes;
    if (has_bias) bias_sizes = at::IntArrayRef(bias_size);
    auto plain = [&](const at::Tensor &go_, const at::Tensor &x_, bool gx, bool gw, bool gb) {
      return at::convolution_backward(go_, x_, w, bias_sizes, stride, padding, dilation,
                                      /*transposed=*/true, output_padding, /*groups=*/1,
                                      {gx, gw, gb});
    };
    at::Tensor gx, gw, gb;
    const int64_t threads = at::get_num_threads();
    // create_graph (the backward itself recorded) or only one kind of gradient
    // wanted: libtorch's own differentiable backward.
    if (at::GradMode::is_enabled() || !need_x || !(need_w || need_b) || threads < 2) {
      std::tie(gx, gw, gb) = plain(go, x, need_x, need_w, need_b);
      return {gx, gw, gb, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    }
    // Thread 0: the weight and bias gradients over the whole batch; the others:
    // the input gradient of their shares of the batch.
    const int64_t n = x.size(0);
    const int64_t k = std::min<int64_t>(n, threads - 1);
    std::vector<at::Tensor> parts(k);
    on_threads(k + 1, [&](int64_t i) {
      if (i == 0) {
        std::tie(std::ignore, gw, gb) = plain(go, x, false, need_w, need_b);
        return;
      }
      auto [s, e] = share(n, k, i - 1);
      parts[i - 1] = std::get<0>(plain(go.narrow(0, s, e - s), x.narrow(0, s, e - s), true, false, false));
    });
    gx = k == 1 ? parts[0] : at::cat(parts, 0);
    return {gx, gw, gb, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

namespace gt {

// conv_transpose2d is at::conv_transpose2d, threaded where libtorch 1.13 is not
// (see the top of the file); elsewhere libtorch's op as it is.
at::Tensor conv_transpose2d(const at::Tensor &x, const at::Tensor &w, const c10::optional<at::Tensor> &b,
                            at::IntArrayRef stride, at::IntArrayRef padding,
                            at::IntArrayRef output_padding, int64_t groups, at::IntArrayRef dilation) {
  auto plain = [&] {
    return at::conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation);
  };
#if TORCH_VERSION_MAJOR != 1 || TORCH_VERSION_MINOR < 11
  // libtorch 2.x runs float transposed convolutions with oneDNN, threaded
  // already (and before 1.11 there is no convolution_backward).
  return plain();
#endif
  // The cases where libtorch 1.x itself takes slow_conv_transpose2d: a float
  // CPU input in the default layout and groups 1. A weight that needs its
  // gradient also keeps XNNPACK (inference only) out of the picture.
  const bool has_b = b.has_value() && b->defined();
  if (at::get_num_threads() < 2 || !x.device().is_cpu() || x.dim() != 4 || groups != 1 ||
      w.dim() != 4 || !w.requires_grad() || x.is_mkldnn() || w.is_mkldnn() ||
      (x.scalar_type() != at::kFloat && x.scalar_type() != at::kDouble) ||
      w.scalar_type() != x.scalar_type() || (has_b && b->scalar_type() != x.scalar_type()) ||
      !x.is_contiguous() || !w.is_contiguous() || (has_b && !b->is_contiguous()) ||
      x.size(0) < 1 || x.size(1) != w.size(0) || stride.size() != 2 || padding.size() != 2 ||
      output_padding.size() != 2 || dilation.size() != 2) {
    return plain();
  }
  Geometry g{stride.vec(), padding.vec(), output_padding.vec(), dilation.vec()};
  for (int d = 0; d < 2; d++) {
    // Unusual geometry: leave the checks and their messages to libtorch.
    if (g.stride[d] < 1 || g.dilation[d] < 1 || g.padding[d] < 0 || g.output_padding[d] < 0 ||
        (g.output_padding[d] >= g.stride[d] && g.output_padding[d] >= g.dilation[d]))
      return plain();
  }
  auto sz = output_size(x, w, g);
  if (sz[2] < 1 || sz[3] < 1 || x.numel() == 0 || w.numel() == 0) return plain();
  return ConvTranspose2dThreaded::apply(x, w, has_b ? b : c10::nullopt, g.stride, g.padding,
                                        g.output_padding, g.dilation);
}

}  // namespace gt

// gt_convt_threaded reports whether this build threads conv_transpose2d
// itself (libtorch 1.11 to 1.x) or leaves it to libtorch.
extern "C" int gt_convt_threaded(void) {
#if TORCH_VERSION_MAJOR != 1 || TORCH_VERSION_MINOR < 11
  return 0;
#else
  return 1;
#endif
}
