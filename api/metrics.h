// Counters and a latency histogram for /metrics (Prometheus text format 0.0.4).
//
// Thread-safety: every member is a relaxed atomic; any thread may count, any thread may render.
// A scrape may see counters a few increments apart, which Prometheus tolerates.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace instaccess::api {

enum class DecryptOutcome { kOk, kCached, kInvalid, kExpired, kNotYetValid, kCount };

class Metrics {
 public:
  // Upper bounds of the latency buckets, in microseconds: around the ~1 ms an RSA-2048 private
  // operation takes, and the ~10 µs of a cache hit.
  static constexpr std::array<std::int64_t, 12> kBucketsUs = {
      10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 50000, 250000};

  void CountIssued() { issued_.fetch_add(1, std::memory_order_relaxed); }
  void CountIssueFailed() { issue_failed_.fetch_add(1, std::memory_order_relaxed); }
  void CountDecrypt(DecryptOutcome o) {
    decrypted_[static_cast<std::size_t>(o)].fetch_add(1, std::memory_order_relaxed);
  }
  void CountRotation() { rotations_.fetch_add(1, std::memory_order_relaxed); }
  void CountOverloaded() { overloaded_.fetch_add(1, std::memory_order_relaxed); }
  void ObserveLatency(std::int64_t micros);

  std::uint64_t issued() const { return issued_.load(std::memory_order_relaxed); }
  std::uint64_t rotations() const { return rotations_.load(std::memory_order_relaxed); }

  // The counters' part of the exposition; the caller appends gauges it owns.
  std::string Render() const;

 private:
  std::atomic<std::uint64_t> issued_{0};
  std::atomic<std::uint64_t> issue_failed_{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(DecryptOutcome::kCount)>
      decrypted_{};
  std::atomic<std::uint64_t> rotations_{0};
  std::atomic<std::uint64_t> overloaded_{0};
  std::array<std::atomic<std::uint64_t>, kBucketsUs.size() + 1> buckets_{};  // last: +Inf
  std::atomic<std::uint64_t> latency_sum_us_{0};
};

}  // namespace instaccess::api
