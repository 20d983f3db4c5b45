// autograd.cpp: gradients, in-place updates outside autograd, weight init and
// the optimizer steps.
#include <torch/csrc/autograd/autograd.h>
#include <torch/nn/init.h>

#include <ATen/Parallel.h>

#include <atomic>
#include <cmath>

#include "internal.h"

using gt::T;
using gt::wrap;

namespace {

// Elements per Adam chunk: parameter, gradient, both moments and the
// denominator, 1 MiB each (float32), stay in the caches between the passes.
std::atomic<int64_t> adam_chunk_elems{int64_t(1) << 18};
int64_t adam_chunk() { return adam_chunk_elems.load(std::memory_order_relaxed); }

}  // namespace

extern "C" {

void gt_copy_(GTensor dst, GTensor src, char **err) {
  GT_TRY
  at::NoGradGuard ng;
  auto &d = T(dst);
  auto &s = T(src);
  if (d.sizes() != s.sizes())
    throw std::invalid_argument("copy: destination shape " + c10::str(d.sizes()) +
                                " differs from source shape " + c10::str(s.sizes()));
  d.copy_(s);
  GT_CATCH()
}

void gt_index_copy_(GTensor x, int64_t dim, GTensor index, GTensor source, char **err) {
  GT_TRY
  at::NoGradGuard ng;
  T(x).index_copy_(dim, T(index), T(source));
  GT_CATCH()
}

void gt_fill_(GTensor t, double value, char **err) {
  GT_TRY
  at::NoGradGuard ng;
  T(t).fill_(value);
  GT_CATCH()
}

void gt_normal_(GTensor t, double mean, double std, char **err) {
  GT_TRY
  at::NoGradGuard ng;
  T(t).normal_(mean, std);
  GT_CATCH()
}

void gt_uniform_(GTensor t, double from, double to, char **err) {
  GT_TRY
  at::NoGradGuard ng;
  T(t).uniform_(from, to);
  GT_CATCH()
}

void gt_init_(GTensor t, int kind, double gain_or_a, char **err) {
  GT_TRY
  namespace init = torch::nn::init;
  auto &x = T(t);
  if (kind < GT_INIT_XAVIER_NORMAL || kind > GT_INIT_ORTHOGONAL)
    throw std::invalid_argument("unknown init kind " + std::to_string(kind));
  // A weight with a zero dimension has nothing to fill: torch.nn.init's
  // kaiming and orthogonal return it as it is. libtorch's would not:
  // orthogonal_ divides by the zero rows (SIGFPE, the process dies), the
  // others compute infinite bounds and fail.
  if (x.dim() >= 2 && x.numel() == 0) return;
  switch (kind) {
    case GT_INIT_XAVIER_NORMAL: init::xavier_normal_(x, gain_or_a); return;
    case GT_INIT_XAVIER_UNIFORM: init::xavier_uniform_(x, gain_or_a); return;
    case GT_INIT_KAIMING_NORMAL: init::kaiming_normal_(x, gain_or_a, torch::kFanIn); return;
    case GT_INIT_KAIMING_UNIFORM: init::kaiming_uniform_(x, gain_or_a, torch::kFanIn); return;
    case GT_INIT_ORTHOGONAL: init::orthogonal_(x, gain_or_a); return;
  }
  throw std::invalid_argument("unknown init kind " + std::to_string(kind));
  GT_CATCH()
}

void gt_add_scalar_(GTensor t, double value, char **err) {
  GT_TRY
  at::NoGradGuard ng;
  auto &x = T(t);
  // An integral tensor refuses a floating-point scalar: add an integer one.
  if (at::isIntegralType(x.scalar_type(), /*includeBool=*/false)) {
    // The range test comes first: casting a double outside int64's range
    // (or NaN) to an integer is undefined behaviour.
    if (!(value >= -9223372036854775808.0 && value < 9223372036854775808.0) ||
        value != static_cast<double>(static_cast<int64_t>(value)))
      throw std::invalid_argument("add_: " + std::to_string(value) + " is not an integer, tensor is " +
                                  std::string(c10::toString(x.scalar_type())));
    x.add_(static_cast<int64_t>(value));
  } else {
    x.add_(value);
  }
  GT_CATCH()
}

void gt_set_requires_grad(GTensor t, int on, char **err) {
  GT_TRY
  T(t).requires_grad_(on != 0);
  GT_CATCH()
}

void gt_set_requires_grad_n(const GTensor *ts, int n, int on, char **err) {
  GT_TRY
  for (int i = 0; i < n; i++) T(ts[i]).requires_grad_(on != 0);
  GT_CATCH()
}

int gt_requires_grad(GTensor t) { return t->t.requires_grad() ? 1 : 0; }

GTensor gt_grad(GTensor t, char **err) {
  GT_TRY
  auto g = T(t).grad();
  if (!g.defined()) return nullptr;
  return wrap(g);
  GT_CATCH(nullptr)
}

static void zero_grad(GTensor t, int set_to_none) {
  auto &g = t->t.mutable_grad();
  if (!g.defined()) return;
  if (set_to_none) {
    g.reset();
    return;
  }
  // as torch.optim.Optimizer.zero_grad(set_to_none=False)
  if (g.grad_fn()) {
    g = g.detach();
  } else {
    g.requires_grad_(false);
  }
  g.zero_();
}

void gt_zero_grad(GTensor t, int set_to_none, char **err) {
  GT_TRY
  zero_grad(t, set_to_none);
  GT_CATCH()
}

void gt_zero_grad_n(const GTensor *ts, int n, int set_to_none, char **err) {
  GT_TRY
  for (int i = 0; i < n; i++) zero_grad(ts[i], set_to_none);
  GT_CATCH()
}

void gt_backward(GTensor t, GTensor grad, int retain_graph, int create_graph, char **err) {
  GT_TRY
  at::Tensor g = grad ? grad->t : at::Tensor();
  T(t).backward(g, c10::optional<bool>(retain_graph != 0 || create_graph != 0), create_graph != 0);
  GT_CATCH()
}

int gt_autograd_grad(const GTensor *outputs, const GTensor *grad_outputs, int nout,
                     const GTensor *inputs, int nin, int retain_graph, int create_graph,
                     int allow_unused, GTensor *results, char **err) {
  GT_TRY
  std::vector<at::Tensor> outs, gouts, ins;
  for (int i = 0; i < nout; i++) {
    outs.push_back(T(outputs[i]));
    gouts.push_back(grad_outputs && grad_outputs[i] ? grad_outputs[i]->t : at::Tensor());
  }
  for (int i = 0; i < nin; i++) ins.push_back(T(inputs[i]));
  auto gs = torch::autograd::grad(outs, ins, gouts,
                                  c10::optional<bool>(retain_graph != 0 || create_graph != 0),
                                  create_graph != 0, allow_unused != 0);
  for (int i = 0; i < nin; i++) results[i] = gs[i].defined() ? wrap(gs[i]) : nullptr;
  return 1;
  GT_CATCH(0)
}

GTensor gt_detach(GTensor t, char **err) {
  GT_TRY
  return wrap(T(t).detach());
  GT_CATCH(nullptr)
}

int gt_grad_enabled(void) { return at::GradMode::is_enabled() ? 1 : 0; }
void gt_set_grad_enabled(int on) { at::GradMode::set_enabled(on != 0); }

// The arithmetic below follows torch/optim/adam.py (_single_tensor_adam, not
// capturable) op for op, so the float32 results are PyTorch's. The update is
// elementwise, so it runs on cache-sized chunks of each tensor, the chunks
// spread over the intra-op threads: every element goes through the same ATen
// kernels with the same operands as in one whole-tensor pass (ATen's vector
// and scalar loops agree element for element; the tests compare with
// torch.optim.Adam), but the six passes over a chunk hit the cache instead of
// memory, which is what bounds Adam on a CPU (pix2pix: 57M parameters).
int64_t gt_adam_chunk(int64_t n) {
  return n > 0 ? adam_chunk_elems.exchange(n) : adam_chunk();
}

void gt_adam_step(const GTensor *params, const GTensor *exp_avg, const GTensor *exp_avg_sq, int n,
                  int64_t step, double lr, double beta1, double beta2, double eps,
                  double weight_decay, int decoupled, char **err) {
  GT_TRY
  if (step < 1) throw std::invalid_argument("adam: step must be >= 1, got " + std::to_string(step));
  at::NoGradGuard ng;
  const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(step));
  const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(step));
  const double step_size = lr / bias_correction1;
  const double bias_correction2_sqrt = std::sqrt(bias_correction2);
  // denom is where the denominator goes (a chunk's scratch), or undefined.
  auto update = [&](at::Tensor p, at::Tensor g, at::Tensor m, at::Tensor v, at::Tensor denom) {
    if (weight_decay != 0) {
      if (decoupled) {
        p.mul_(1 - lr * weight_decay);
      } else {
        g = g.add(p, weight_decay);
      }
    }
    gt::adam_first_moment(m, g, beta1);
    v.mul_(beta2).addcmul_(g, g, 1 - beta2);
    // (v.sqrt() / bias_correction2_sqrt).add_(eps), into the scratch when there is one
    if (denom.defined()) {
      at::sqrt_out(denom, v).div_(bias_correction2_sqrt).add_(eps);
    } else {
      denom = (v.sqrt() / bias_correction2_sqrt).add_(eps);
    }
    p.addcdiv_(m, denom, -step_size);
  };
  struct Chunk {
    int i;
    int64_t begin, len;
  };
  for (int i = 0; i < n; i++) {
    auto &p = T(params[i]);
    if (!p.grad().defined()) continue;
    gt::check_state("exp_avg", i, T(exp_avg[i]), p);
    gt::check_state("exp_avg_sq", i, T(exp_avg_sq[i]), p);
  }
  std::vector<Chunk> chunks;
  std::vector<at::Tensor> ps(n), gs(n), ms(n), vs(n);
  const int64_t chunk = adam_chunk();
  for (int i = 0; i < n; i++) {
    auto &p = T(params[i]);
    at::Tensor g = p.grad();
    if (!g.defined()) continue;
    auto &m = T(exp_avg[i]);
    auto &v = T(exp_avg_sq[i]);
    if (!p.is_contiguous() || !g.is_contiguous() || !m.is_contiguous() || !v.is_contiguous() ||
        g.sizes() != p.sizes() || m.sizes() != p.sizes() || v.sizes() != p.sizes() ||
        g.scalar_type() != p.scalar_type() || !p.device().is_cpu()) {
      update(p, g, m, v, at::Tensor());  // whole tensors (CUDA, odd layouts): as PyTorch
      continue;
    }
    ps[i] = p.view(-1), gs[i] = g.view(-1), ms[i] = m.view(-1), vs[i] = v.view(-1);
    for (int64_t b = 0; b < p.numel(); b += chunk) chunks.push_back({i, b, std::min(chunk, p.numel() - b)});
  }
  if (chunks.empty()) return;
  at::parallel_for(0, static_cast<int64_t>(chunks.size()), 1, [&](int64_t begin, int64_t end) {
    at::NoGradGuard no_grad;  // worker threads start with grad mode on
    int64_t most = 0;
    for (int64_t c = begin; c < end; c++) most = std::max(most, chunks[c].len);
    auto scratch = at::empty({most}, ps[chunks[begin].i].options());
    for (int64_t c = begin; c < end; c++) {
      const auto &k = chunks[c];
      if (scratch.scalar_type() != ps[k.i].scalar_type()) scratch = at::empty({most}, ps[k.i].options());
      update(ps[k.i].narrow(0, k.begin, k.len), gs[k.i].narrow(0, k.begin, k.len),
             ms[k.i].narrow(0, k.begin, k.len), vs[k.i].narrow(0, k.begin, k.len),
             scratch.narrow(0, 0, k.len));
    }
  });
  GT_CATCH()
}

// As torch/optim/sgd.py (_single_tensor_sgd).
void gt_sgd_step(const GTensor *params, GTensor *bufs, int n, double lr, double momentum,
                 double dampening, double weight_decay, int nesterov, char **err) {
  GT_TRY
  at::NoGradGuard ng;
  for (int i = 0; i < n; i++) {
    auto &p = T(params[i]);
    if (p.grad().defined() && momentum != 0 && bufs[i] != nullptr) gt::check_state("momentum_buffer", i, bufs[i]->t, p);
  }
  for (int i = 0; i < n; i++) {
    auto &p = T(params[i]);
    at::Tensor d_p = p.grad();
    if (!d_p.defined()) continue;
    if (weight_decay != 0) d_p = d_p.add(p, weight_decay);
    if (momentum != 0) {
      if (bufs[i] == nullptr) {
        bufs[i] = wrap(d_p.clone().detach());
      } else {
        bufs[i]->t.mul_(momentum).add_(d_p, 1 - dampening);
      }
      if (nesterov) {
        d_p = d_p.add(bufs[i]->t, momentum);
      } else {
        d_p = bufs[i]->t;
      }
    }
    p.add_(d_p, -lr);
  }
  GT_CATCH()
}

}  // extern "C"
