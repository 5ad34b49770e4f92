#include "jose/rsa_cpu.h"

#include <time.h>

#include <array>
#include <atomic>

namespace instaccess::jose {

namespace {

struct AtomicTotals {
  std::atomic<std::uint64_t> timed_ops{0};
  std::atomic<std::uint64_t> cpu_ns{0};
};

std::array<AtomicTotals, kRsaOpKinds> g_totals;

// Operations seen by this thread, per kind: the sampling needs no shared state.
thread_local std::array<std::uint32_t, kRsaOpKinds> t_seen{};

std::size_t IndexOf(RsaOpKind kind) { return static_cast<std::size_t>(kind); }

// -1 when the clock cannot be read; the operation is then not counted.
std::int64_t ThreadCpuNs() {
  timespec ts{};
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return -1;
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

RsaCpuTotals RsaCpuSoFar(RsaOpKind kind) {
  const AtomicTotals& t = g_totals[IndexOf(kind)];
  return {t.timed_ops.load(std::memory_order_relaxed), t.cpu_ns.load(std::memory_order_relaxed)};
}

namespace internal {

RsaCpuTimer::RsaCpuTimer(RsaOpKind kind) : kind_(kind) {
  if (++t_seen[IndexOf(kind)] % kRsaCpuSampleEvery == 0) start_ns_ = ThreadCpuNs();
}

RsaCpuTimer::~RsaCpuTimer() {
  if (start_ns_ < 0) return;
  const std::int64_t end_ns = ThreadCpuNs();
  if (end_ns < start_ns_) return;
  AtomicTotals& t = g_totals[IndexOf(kind_)];
  t.timed_ops.fetch_add(1, std::memory_order_relaxed);
  t.cpu_ns.fetch_add(static_cast<std::uint64_t>(end_ns - start_ns_), std::memory_order_relaxed);
}

}  // namespace internal
}  // namespace instaccess::jose
