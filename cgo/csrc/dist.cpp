// dist.cpp: data parallelism on PyTorch's c10d. One process group per
// process (as torch.distributed's default group): a TCPStore for the
// rendezvous (served by rank 0, or torchrun's agent), Gloo on the CPU, NCCL on
// CUDA where libtorch has it. Collectives run in buckets, all launched before
// the first is waited for; Gloo's ReduceOp::AVG throws inside its worker
// thread (no catch can stop it), so averages are SUM then a division.
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "internal.h"

using gt::T;
using gt::wrap;

namespace {

// In libtorch 2.x the backends derive from c10d::Backend, in 1.13 from
// c10d::ProcessGroup; both declare the collectives used here.
#if TORCH_VERSION_MAJOR >= 2
using Backend = c10d::Backend;
#else
using Backend = c10d::ProcessGroup;
#endif

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Backend> pg;
  int rank = 0, world = 1;
  std::chrono::milliseconds timeout{0};
  std::string backend;
  // NCCL works the current stream waits for and the host has not yet
  // (wait_all); the next host wait waits for them first, within the timeout.
  std::mutex mu;
  std::vector<c10::intrusive_ptr<c10d::Work>> unconfirmed;
};

std::unique_ptr<Group> group;

// without_libuv turns off the libuv store backend where TCPStoreOptions has
// the switch (libtorch 2.2+; libuv is the default from 2.4, and builds without
// libuv, Debian's 2.6 among them, refuse it).
template <typename O>
auto without_libuv(O &o, int) -> decltype(o.useLibUV = false, bool()) {
  o.useLibUV = false;
  return true;
}
template <typename O>
bool without_libuv(O &, long) {
  return false;
}

// tcp_store opens the store, on the legacy backend when this libtorch was
// built without the libuv one that it asks for by default.
c10::intrusive_ptr<c10d::TCPStore> tcp_store(const std::string &addr, c10d::TCPStoreOptions so) {
  try {
    return c10::make_intrusive<c10d::TCPStore>(addr, so);
  } catch (const std::exception &e) {
    if (std::string(e.what()).find("libuv") == std::string::npos || !without_libuv(so, 0)) throw;
    return c10::make_intrusive<c10d::TCPStore>(addr, so);
  }
}

// Each rank leaves its world size in the store and checks every other
// rank's as it comes, before the backend's rendezvous, so that ranks started
// with other WORLD_SIZEs stop at once, each told so: the Gloo of libtorch
// 1.13 failed on the other size of their addresses ("sizeof(impl_) ==
// bytes.size()"), the Gloo of 2.x reads one address per rank and lets a rank
// of the smaller world join (its collectives then wait for a rank that never
// answers) while the others wait for ranks that never come.
std::string world_key(int r) { return "world_size/" + std::to_string(r); }
std::string checked_key(int r) { return "world_checked/" + std::to_string(r); }

std::vector<uint8_t> bytes(const std::string &s) { return std::vector<uint8_t>(s.begin(), s.end()); }

// until is the time left to t, at least 1 ms (a store wait of 0 waits for ever).
std::chrono::milliseconds until(std::chrono::steady_clock::time_point t) {
  return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(t - std::chrono::steady_clock::now()),
                  std::chrono::milliseconds(1));
}

// deadline ends the join's timeout, which the store's connection began:
// a rank that never comes fails the join after train.dist_timeout, once,
// with the store's own timeout error.
void check_world_sizes(c10d::Store &s, int rank, int world, std::chrono::steady_clock::time_point deadline,
                       std::chrono::milliseconds timeout, bool serves) {
  auto w = std::to_string(world);
  s.set(world_key(rank), bytes(w));
  std::string differ;
  int ranks = world;  // the most ranks any rank said the job has
  for (int r = 0; r < world && differ.empty(); r++) {
    if (r == rank) continue;
    s.wait({world_key(r)}, until(deadline));
    auto v = s.get(world_key(r));
    std::string theirs(v.begin(), v.end());
    if (theirs != w) {
      differ = "world sizes differ: rank " + std::to_string(r) + " has " + theirs + ", rank " + std::to_string(rank) +
               " (this one) " + w;
      try {
        ranks = std::max(ranks, std::stoi(theirs));
      } catch (...) {
      }
    }
  }
  s.set(checked_key(rank), bytes("1"));
  if (differ.empty()) return;
  if (serves) {
    // Rank 0 serves the store (not torchrun's agent store, which outlives
    // it): it stays until each rank that came has read what tells it so
    // too (a few seconds at most), or their reads would end in a broken
    // pipe instead.
    auto linger = std::chrono::steady_clock::now() + std::min(timeout, std::chrono::milliseconds(10000));
    for (int r = 1; r < ranks && std::chrono::steady_clock::now() < linger; r++) {
      try {
        if (!s.check({world_key(r)})) continue;
        s.wait({checked_key(r)}, until(linger));
      } catch (...) {
        break;
      }
    }
  }
  throw std::runtime_error(differ);
}

Group &G() {
  if (!group) throw std::runtime_error("no process group: call dist init first");
  return *group;
}

// wait_all waits for works. host: the host waits for them, up to the
// group's timeout (a caller that reads the results on the host). Otherwise,
// on NCCL, only the current stream is ordered after them and the host goes
// on queueing work: since libtorch 2.x WorkNCCL::wait with a timeout blocks
// the host until the collective is done (ProcessGroupNCCL.hpp: "Otherwise,
// it will block the CPU thread until the NCCL work is completed"), where
// wait() orders the stream (1.13 ignored the timeout), and a host wait for
// each gradient allreduce drained the device's queue at every optimizer's
// update (and at every SyncBatchNorm layer, forward and backward). Those
// works are kept, and the next host wait (the step's loss agreement, a
// broadcast, a barrier), which the host makes anyway, waits for them first
// within the timeout: a collective that never ends stops the run with the
// same error as before. Gloo's works run on the CPU, whose tensors are read
// right after: always waited for.
void wait_all(std::vector<c10::intrusive_ptr<c10d::Work>> &works, const char *what, bool host = true) {
  auto &g = G();
  auto confirm = [&](const c10::intrusive_ptr<c10d::Work> &w, const char *of) {
    if (!w->wait(g.timeout))
      throw std::runtime_error(std::string(of) + ": no answer within " + std::to_string(g.timeout.count() / 1000) +
                               " s");
  };
  if (!host && g.backend == "nccl") {
    for (auto &w : works) w->wait();
    std::lock_guard<std::mutex> l(g.mu);  // the autograd engine's threads wait here too
    g.unconfirmed.insert(g.unconfirmed.end(), works.begin(), works.end());
    return;
  }
  std::vector<c10::intrusive_ptr<c10d::Work>> earlier;
  {
    std::lock_guard<std::mutex> l(g.mu);
    earlier.swap(g.unconfirmed);
  }
  for (auto &w : earlier) confirm(w, "an earlier collective (gradients)");
  for (auto &w : works) confirm(w, what);
}

// A bucket is a run of tensors of one dtype and device, flattened into one.
struct Bucket {
  std::vector<at::Tensor> parts;  // the tensors (or gradients) it holds, in order
  at::Tensor flat;
};

// buckets groups ts in order; the first bucket holds up to first_bytes,
// the others up to bucket_bytes.
std::vector<Bucket> buckets(const std::vector<at::Tensor> &ts, int64_t bucket_bytes, int64_t first_bytes = -1) {
  std::vector<Bucket> out;
  int64_t bytes = 0;
  for (const auto &t : ts) {
    int64_t cap = out.size() == 1 && first_bytes >= 0 ? first_bytes : bucket_bytes;
    bool fresh = out.empty() || bytes + int64_t(t.nbytes()) > cap ||
                 out.back().parts[0].scalar_type() != t.scalar_type() ||
                 out.back().parts[0].device() != t.device();
    if (fresh) {
      out.emplace_back();
      bytes = 0;
    }
    out.back().parts.push_back(t);
    bytes += t.nbytes();
  }
  for (auto &b : out) {
    std::vector<at::Tensor> flat;
    for (auto &p : b.parts) flat.push_back(p.reshape({-1}));
    b.flat = at::cat(flat);
  }
  return out;
}

// allreduce sums every bucket over the ranks (launching all, then waiting:
// on the host where host says so, see wait_all) and, with avg, divides by
// the world size.
void allreduce(std::vector<Bucket> &bs, bool avg, const char *what, bool host) {
  auto &g = G();
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto &b : bs) {
    std::vector<at::Tensor> one{b.flat};
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    o.timeout = g.timeout;
    works.push_back(g.pg->allreduce(one, o));
  }
  wait_all(works, what, host);
  if (avg)
    for (auto &b : bs) b.flat.div_(g.world);
}

// unflatten copies each bucket's slices back into dst (its parts, or for
// gradients the defined ones).
void unflatten(std::vector<Bucket> &bs, const std::vector<at::Tensor> &dst) {
  size_t k = 0;
  for (auto &b : bs) {
    int64_t off = 0;
    for (auto &p : b.parts) {
      auto n = p.numel();
      if (dst[k].defined()) dst[k].copy_(b.flat.narrow(0, off, n).view(p.sizes()));
      off += n, k++;
    }
  }
}

void allreduce_sum(at::Tensor &t, const char *what) {
  auto bs = buckets({t}, INT64_MAX);
  allreduce(bs, false, what, /*host=*/false);  // SyncBatchNorm's statistics: read on the device
  unflatten(bs, {t});
}

// AllReduceSum is a sum over the ranks that autograd differentiates: its
// gradient is the sum of the ranks' gradients (SyncBatchNorm's statistics).
struct AllReduceSum : public torch::autograd::Function<AllReduceSum> {
  static at::Tensor forward(torch::autograd::AutogradContext *, at::Tensor x) {
    auto y = x.detach().clone();
    allreduce_sum(y, "allreduce (sync_bn forward)");
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *,
                                                 torch::autograd::variable_list g) {
    auto gi = g[0].detach().clone();
    allreduce_sum(gi, "allreduce (sync_bn backward)");
    return {gi};
  }
};

// reduce_grads replaces the gradients of params (in the order to bucket
// them) with their mean over the ranks. A parameter without a gradient takes
// part as zeros, so every rank issues the same collectives; it gets no
// gradient afterwards.
void reduce_grads(const std::vector<at::Tensor> &params, int64_t bucket_bytes) {
  at::NoGradGuard ng;
  std::vector<at::Tensor> grads, parts;
  for (auto &p : params) {
    auto gr = p.grad();
    grads.push_back(gr);
    parts.push_back(gr.defined() ? gr : at::zeros_like(p));
  }
  auto bs = buckets(parts, bucket_bytes);
  allreduce(bs, true, "allreduce of gradients", /*host=*/false);  // read by the optimizer, on the device
  unflatten(bs, grads);
}

// Reducer is DistributedDataParallel's overlap of the gradients' allreduce
// with the backward pass, for one optimizer's parameters. They are bucketed
// in reverse order (the last layers' gradients are ready first; the first
// bucket small, DDP's first_bucket_bytes, so that talking starts early). A
// post hook on each parameter's gradient accumulator marks it ready; a
// bucket whose parameters are all ready is copied into its flat buffer and
// its allreduce launched, in bucket order, while backward goes on. Armed
// from the optimizer's zero_grad to its step; finish waits for the buckets,
// launches those that backward did not complete (a parameter without a
// gradient takes part as zeros and keeps none), and copies the means back.
// A parameter made ready twice in one window (two backward passes into one
// optimizer, as DCGAN's D on the real and the fake batch) spoils the
// window: finish reduces the gradients again, in full, and the reducer
// stops overlapping for good. Every rank runs the same graph, so every rank
// issues the same collectives in the same order.
struct Reducer {
  std::vector<at::Tensor> params;  // reverse parameter order
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators;
  std::vector<uintptr_t> hooks;
  std::vector<Bucket> bs;  // parts: the parameters
  std::vector<int> pending;  // by bucket: parameters not ready yet
  std::vector<c10::intrusive_ptr<c10d::Work>> works;  // by bucket, while in flight
  std::vector<int> bucket_of;
  std::vector<char> ready;
  int64_t bucket_bytes = 0;
  size_t next = 0;
  bool armed = false, spoiled = false, off = false;
  int64_t early = 0, launched = 0;  // buckets launched during backward, in all
  std::mutex mu;

  void mark(int j) {
    std::lock_guard<std::mutex> l(mu);
    if (!armed || off) return;
    if (ready[j]) spoiled = true;
    ready[j] = 1;
    if (spoiled) return;
    if (--pending[bucket_of[j]] == 0)
      while (next < bs.size() && pending[next] == 0) launch(next++, true);
  }

  void launch(size_t k, bool during_backward) {
    at::NoGradGuard ng;
    auto &g = G();
    auto &b = bs[k];
    int64_t pos = 0;
    for (auto &p : b.parts) {
      auto gr = p.grad();
      auto dst = b.flat.narrow(0, pos, p.numel());
      if (gr.defined())
        dst.copy_(gr.reshape({-1}));
      else
        dst.zero_();
      pos += p.numel();
    }
    std::vector<at::Tensor> one{b.flat};
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    o.timeout = g.timeout;
    works[k] = g.pg->allreduce(one, o);
    launched++;
    if (during_backward) early++;
  }

  // wait waits for the collectives in flight: all of them (finish), or
  // those a window that ended without finish left (its step failed), so
  // that their buffers may be refilled.
  void wait() {
    std::vector<c10::intrusive_ptr<c10d::Work>> in_flight;
    for (auto &w : works)
      if (w) in_flight.push_back(w), w.reset();
    if (!in_flight.empty()) wait_all(in_flight, "allreduce of gradients", /*host=*/false);
  }

  void reset() {
    std::fill(ready.begin(), ready.end(), 0);
    for (size_t k = 0; k < bs.size(); k++) pending[k] = int(bs[k].parts.size());
    next = 0;
    spoiled = false;
  }

  void arm() {
    std::lock_guard<std::mutex> l(mu);
    wait();
    reset();
    armed = true;
  }

  void finish() {
    std::unique_lock<std::mutex> l(mu);
    bool overlapped = armed && !off && !spoiled;
    if (armed && spoiled) off = true;
    armed = false;
    if (!overlapped) {
      wait();
      reset();
      reduce_grads(params, bucket_bytes);
      return;
    }
    while (next < bs.size()) launch(next++, false);
    wait();
    at::NoGradGuard ng;
    std::vector<at::Tensor> grads;
    for (auto &p : params) grads.push_back(p.grad());
    for (auto &b : bs) b.flat.div_(G().world);
    unflatten(bs, grads);
    reset();
  }

  ~Reducer() {
    for (size_t j = 0; j < accumulators.size(); j++) accumulators[j]->del_post_hook(hooks[j]);
  }
};

std::vector<at::Tensor> tensors(const GTensor *ts, int n) {
  std::vector<at::Tensor> out;
  for (int i = 0; i < n; i++) out.push_back(T(ts[i]));
  return out;
}

// connect makes g's process group on backend, through g's store.
void connect(Group &g, int backend, int rank, int world, const char *addr, const char *ifname) {
  if (backend == GT_DIST_GLOO) {
#ifdef USE_C10D_GLOO
    auto o = c10d::ProcessGroupGloo::Options::create(g.timeout);
    if (ifname && *ifname) {
      o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    } else if (std::string(addr) == "127.0.0.1" || std::string(addr) == "localhost") {
      // one machine: the loopback, whatever the host name resolves to
      o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    o->threads = 2;
    g.pg = c10::make_intrusive<c10d::ProcessGroupGloo>(g.store, rank, world, o);
    g.backend = "gloo";
#else
    throw std::runtime_error("this libgotorch was built without Gloo (install libgloo-dev and rebuild: make lib)");
#endif
  } else if (backend == GT_DIST_NCCL) {
#ifdef USE_C10D_NCCL
    auto o = c10d::ProcessGroupNCCL::Options::create();
    o->timeout = g.timeout;
    g.pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(g.store, rank, world, o);
    g.backend = "nccl";
#else
    throw std::runtime_error(
        "this libgotorch was built without NCCL (it needs a CUDA libtorch with ProcessGroupNCCL, nccl.h and the CUDA "
        "headers; scripts/libtorch-env looks for them): use backend gloo");
#endif
  } else {
    throw std::invalid_argument("unknown backend " + std::to_string(backend));
  }
}

}  // namespace

extern "C" {

int gt_dist_backends(void) {
  int b = 0;
#ifdef USE_C10D_GLOO
  b |= 1 << GT_DIST_GLOO;
#endif
#ifdef USE_C10D_NCCL
  b |= 1 << GT_DIST_NCCL;
#endif
  return b;
}

void gt_dist_init(int backend, int rank, int world, const char *addr, int port, int agent_store, const char *prefix,
                  const char *ifname, int64_t timeout_ms, char **err) {
  GT_TRY
  if (group) throw std::runtime_error("a process group exists already in this process");
  if (world < 1 || rank < 0 || rank >= world)
    throw std::invalid_argument("rank " + std::to_string(rank) + " is outside world size " + std::to_string(world));
  auto g = std::make_unique<Group>();
  g->rank = rank, g->world = world, g->timeout = std::chrono::milliseconds(timeout_ms);
  c10d::TCPStoreOptions so;
  so.port = uint16_t(port);
  so.isServer = !agent_store && rank == 0;
  so.numWorkers = size_t(world);
  // check_world_sizes below waits (up to the timeout) for every rank
  // anyway. Rank 0 waiting for the workers first made a job missing a rank
  // fail after twice the timeout in libtorch 1.13, whose wait ends silently
  // at the timeout.
  so.waitWorkers = false;
  so.timeout = g->timeout;
  auto deadline = std::chrono::steady_clock::now() + g->timeout;
  g->store = c10::make_intrusive<c10d::PrefixStore>(std::string(prefix), tcp_store(addr, so));
  check_world_sizes(*g->store, rank, world, deadline, g->timeout, so.isServer);
  connect(*g, backend, rank, world, addr, ifname);
  group = std::move(g);
  GT_CATCH()
}

struct gt_store_server {
  c10::intrusive_ptr<c10d::TCPStore> store;
};

GStoreServer gt_store_serve(int port, int64_t timeout_ms, int *bound, char **err) {
  GT_TRY
  c10d::TCPStoreOptions so;
  so.port = uint16_t(port);
  so.isServer = true;
  so.waitWorkers = false;  // the ranks connect as clients when they start
  so.timeout = std::chrono::milliseconds(timeout_ms);
  auto s = std::make_unique<gt_store_server>(gt_store_server{tcp_store("127.0.0.1", so)});
  *bound = int(s->store->getPort());
  return s.release();
  GT_CATCH(nullptr)
}

void gt_store_server_free(GStoreServer s) { delete s; }

void gt_dist_destroy(void) { group.reset(); }

void gt_dist_allreduce(const GTensor *ts, int n, int avg, int64_t bucket_bytes, char **err) {
  GT_TRY
  at::NoGradGuard ng;
  auto dst = tensors(ts, n);
  auto bs = buckets(dst, bucket_bytes);
  allreduce(bs, avg != 0, "allreduce", /*host=*/true);
  unflatten(bs, dst);
  GT_CATCH()
}

void gt_dist_allreduce_grads(const GTensor *params, int n, int64_t bucket_bytes, char **err) {
  GT_TRY
  // Reverse order, as DDP's buckets: the last layers' gradients come first.
  std::vector<at::Tensor> ps;
  for (int i = n - 1; i >= 0; i--) ps.push_back(T(params[i]));
  reduce_grads(ps, bucket_bytes);
  GT_CATCH()
}

struct gt_reducer {
  std::shared_ptr<Reducer> r;
};

GReducer gt_reducer_new(const GTensor *params, int n, int64_t bucket_bytes, int64_t first_bucket_bytes, char **err) {
  GT_TRY
  auto r = std::make_shared<Reducer>();
  r->bucket_bytes = bucket_bytes;
  for (int i = n - 1; i >= 0; i--) {
    auto &p = T(params[i]);
    if (!p.requires_grad() || !p.is_leaf())
      throw std::invalid_argument("parameter " + std::to_string(i) + " is not a leaf that requires grad");
    r->params.push_back(p);
  }
  {
    at::NoGradGuard ng;  // the flat buffers: copies of the parameters, refilled with gradients
    r->bs = buckets(r->params, bucket_bytes, first_bucket_bytes);
  }
  for (size_t k = 0; k < r->bs.size(); k++) r->bucket_of.insert(r->bucket_of.end(), r->bs[k].parts.size(), int(k));
  r->pending.resize(r->bs.size());
  r->works.resize(r->bs.size());
  r->ready.resize(r->params.size());
  std::weak_ptr<Reducer> w = r;
  for (int k = 0; k < int(r->params.size()); k++) {
    auto acc = torch::autograd::impl::grad_accumulator(r->params[k]);
    r->hooks.push_back(acc->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
        [w, k](const torch::autograd::variable_list &outputs, const torch::autograd::variable_list &) {
          if (auto r = w.lock()) r->mark(k);
          return outputs;
        })));
    r->accumulators.push_back(std::move(acc));
  }
  r->reset();
  return new gt_reducer{std::move(r)};
  GT_CATCH(nullptr)
}

void gt_reducer_arm(GReducer r, char **err) {
  GT_TRY
  r->r->arm();
  GT_CATCH()
}

void gt_reducer_finish(GReducer r, char **err) {
  GT_TRY
  r->r->finish();
  GT_CATCH()
}

void gt_reducer_stats(GReducer r, int64_t *early, int64_t *launched, int *off) {
  std::lock_guard<std::mutex> l(r->r->mu);
  *early = r->r->early, *launched = r->r->launched, *off = r->r->off ? 1 : 0;
}

void gt_reducer_free(GReducer r) {
  if (!r) return;
  try {
    r->r->wait();
  } catch (...) {
    // a failed collective: the job is ending with its error already
  }
  delete r;
}

void gt_dist_broadcast(const GTensor *ts, int n, int root, int64_t bucket_bytes, char **err) {
  GT_TRY
  at::NoGradGuard ng;
  auto &g = G();
  auto dst = tensors(ts, n);
  auto bs = buckets(dst, bucket_bytes);
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto &b : bs) {
    std::vector<at::Tensor> one{b.flat};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    o.timeout = g.timeout;
    works.push_back(g.pg->broadcast(one, o));
  }
  wait_all(works, "broadcast");
  unflatten(bs, dst);
  GT_CATCH()
}

void gt_dist_barrier(char **err) {
  GT_TRY
  auto &g = G();
  c10d::BarrierOptions o;
  o.timeout = g.timeout;
  auto w = g.pg->barrier(o);
  std::vector<c10::intrusive_ptr<c10d::Work>> works{w};
  wait_all(works, "barrier");
  GT_CATCH()
}

GTensor gt_dist_allreduce_sum_autograd(GTensor t, char **err) {
  GT_TRY
  return wrap(AllReduceSum::apply(T(t)));
  GT_CATCH(nullptr)
}

void gt_dist_store_set(const char *key, const uint8_t *data, int64_t n, char **err) {
  GT_TRY
  G().store->set(key, std::vector<uint8_t>(data, data + n));
  GT_CATCH()
}

uint8_t *gt_dist_store_get(const char *key, int64_t *n, char **err) {
  GT_TRY
  auto v = G().store->get(key);
  auto *out = static_cast<uint8_t *>(malloc(v.size() + 1));
  if (out == nullptr) throw std::bad_alloc();
  if (!v.empty()) memcpy(out, v.data(), v.size());
  *n = int64_t(v.size());
  return out;
  GT_CATCH(nullptr)
}

int gt_dist_store_check(const char *key, char **err) {
  GT_TRY
  return G().store->check({key}) ? 1 : 0;
  GT_CATCH(0)
}

}  // extern "C"
