// cpumem.cpp: a count of the bytes CPU tensors hold, for comparing a step's
// memory with PyTorch's on a machine without a GPU (the CUDA caching
// allocator keeps its own statistics). A process that asks for it routes
// c10's CPU allocations through a wrapper that counts them; scripts load this
// library into a PyTorch process (same libc10) to count PyTorch's the same way.
#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <torch/version.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "internal.h"

namespace {

std::atomic<int64_t> current{0}, peak{0};

// libtorch 2.3 made Allocator::allocate non-const and added copy_data.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define GT_ALLOCATE_CONST
#define GT_ALLOCATOR_COPY_DATA 1
#else
#define GT_ALLOCATE_CONST const
#endif

void note_peak(int64_t now) {
  int64_t p = peak.load();
  while (now > p && !peak.compare_exchange_weak(p, now)) {
  }
}

// The size and the inner deleter of each live allocation, by address: the
// pointer must stay its own context, as raw_allocate (used by oneDNN's
// convolutions) requires of the CPU allocator.
std::mutex mu;
std::unordered_map<void *, std::pair<size_t, c10::DeleterFnPtr>> live;

void counted_delete(void *p) {
  size_t n = 0;
  c10::DeleterFnPtr inner = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = live.find(p);
    if (it != live.end()) {
      n = it->second.first;
      inner = it->second.second;
      live.erase(it);
    }
  }
  current.fetch_sub(static_cast<int64_t>(n));
  if (inner != nullptr) inner(p);
}

struct CountingAllocator final : at::Allocator {
  at::Allocator *base;
  explicit CountingAllocator(at::Allocator *b) : base(b) {}
  at::DataPtr allocate(size_t n) GT_ALLOCATE_CONST override {
    auto inner = base->allocate(n);
    void *p = inner.get();
    if (p == nullptr) return inner;
    if (inner.get_context() != p)
      throw std::runtime_error("counting CPU memory: the CPU allocator's pointers are not their own context");
    auto dev = inner.device();
    auto deleter = inner.get_deleter();
    inner.release_context();
    {
      std::lock_guard<std::mutex> lock(mu);
      live[p] = {n, deleter};
    }
    note_peak(current.fetch_add(static_cast<int64_t>(n)) + static_cast<int64_t>(n));
    return {p, p, &counted_delete, dev};
  }
  at::DeleterFnPtr raw_deleter() const override { return &counted_delete; }
#ifdef GT_ALLOCATOR_COPY_DATA
  void copy_data(void *dest, const void *src, std::size_t count) const override { base->copy_data(dest, src, count); }
#endif
};

}  // namespace

extern "C" {

void gt_cpu_mem_track(char **err) {
  GT_TRY
  static std::once_flag once;
  std::call_once(once, [] {
    static CountingAllocator counting(c10::GetCPUAllocator());
    // Above the default allocator's priority; pinned and CUDA memory are not
    // CPU allocations and keep their own allocators.
    c10::SetCPUAllocator(&counting, /*priority=*/100);
  });
  GT_CATCH()
}

void gt_cpu_mem_stats(int64_t *cur, int64_t *pk) {
  *cur = current.load();
  *pk = peak.load();
}

void gt_cpu_mem_reset_peak(void) { peak.store(current.load()); }

}  // extern "C"
