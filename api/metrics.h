// The request layer's counters and latency histograms for /metrics, and the collectors through
// which other parts of the daemon add their own families (docs/api.md lists every metric).
//
// To add a metric: a counter of the request layer is a Counter member, counted where it happens
// and written in Render() with one Exposition line; a figure that lives elsewhere (a keyring, a
// peer follower) is one Exposition line in Service::MetricsText, or in a collector the daemon
// adds when it wires that part in. Names follow Prometheus's conventions: `instaccess_` first,
// base units (seconds, bytes) in the name, counters end in `_total`, label values from a fixed
// small set (never a raw path or a token).
//
// Thread-safety: counting and rendering are relaxed atomics, from any thread; a scrape may see
// counters a few increments apart, which Prometheus tolerates. AddEndpoint() only before serving
// (the histograms' map is read without a lock); AddCollector() at any time.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "api/exposition.h"

namespace instaccess::api {

enum class DecryptOutcome { kOk, kCached, kInvalid, kExpired, kNotYetValid, kCount };

// A count that only goes up.
class Counter {
 public:
  void Add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Metrics {
 public:
  // Upper bounds of the latency buckets, in microseconds: around the ~1 ms an RSA-2048 private
  // operation takes, and the ~10 µs of a cache hit.
  static constexpr std::array<std::int64_t, 12> kBucketsUs = {
      10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 50000, 250000};
  // The endpoint of requests no route took (404, 405, a malformed path).
  static constexpr std::string_view kUnmatched = "unmatched";

  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Gives requests of `endpoint` (a route's pattern) a latency histogram of their own. Before
  // serving only.
  void AddEndpoint(std::string_view endpoint);
  // A request of `endpoint` took `micros`; an endpoint never added counts as kUnmatched.
  void ObserveLatency(std::string_view endpoint, std::int64_t micros);

  void CountIssued() { issued_.Add(); }
  void CountIssueFailed() { issue_failed_.Add(); }
  void CountDecrypt(DecryptOutcome o) { decrypted_[static_cast<std::size_t>(o)].Add(); }
  void CountRotation() { rotations_.Add(); }

  std::uint64_t issued() const { return issued_.value(); }
  std::uint64_t rotations() const { return rotations_.value(); }

  // Writes families of its own into each scrape, after the request layer's. Called on the
  // scraping thread; must be quick and must not throw.
  using Collector = std::function<void(Exposition&)>;
  void AddCollector(Collector collector);

  // The counters, the latency histograms, then every collector's families.
  void Render(Exposition& e) const;

 private:
  struct Latency {
    std::array<std::atomic<std::uint64_t>, kBucketsUs.size() + 1> buckets{};  // last: +Inf
    std::atomic<std::uint64_t> sum_us{0};
  };

  Counter issued_;
  Counter issue_failed_;
  std::array<Counter, static_cast<std::size_t>(DecryptOutcome::kCount)> decrypted_;
  Counter rotations_;
  std::map<std::string, Latency, std::less<>> latency_;  // by endpoint; fixed once serving
  mutable std::mutex collectors_mu_;
  std::vector<Collector> collectors_;  // Guarded by collectors_mu_.
};

}  // namespace instaccess::api
