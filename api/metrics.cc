#include "api/metrics.h"

#include <algorithm>
#include <utility>

#include "jose/rsa_cpu.h"

namespace instaccess::api {

namespace {

constexpr const char* kOutcomeNames[] = {"ok", "cached", "invalid_token", "token_expired",
                                         "token_not_yet_valid"};
static_assert(std::size(kOutcomeNames) == static_cast<std::size_t>(DecryptOutcome::kCount));

// The buckets' bounds in seconds, the base unit the exposition uses.
constexpr std::array<double, Metrics::kBucketsUs.size()> kBucketsSeconds = [] {
  std::array<double, Metrics::kBucketsUs.size()> out{};
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<double>(Metrics::kBucketsUs[i]) / 1e6;
  }
  return out;
}();

}  // namespace

Metrics::Metrics() { AddEndpoint(kUnmatched); }

void Metrics::AddEndpoint(std::string_view endpoint) {
  latency_.try_emplace(std::string(endpoint));
}

void Metrics::ObserveLatency(std::string_view endpoint, std::int64_t micros) {
  auto found = latency_.find(endpoint);
  if (found == latency_.end()) found = latency_.find(kUnmatched);
  Latency& l = found->second;
  auto it = std::lower_bound(kBucketsUs.begin(), kBucketsUs.end(), micros);
  l.buckets[static_cast<std::size_t>(it - kBucketsUs.begin())].fetch_add(1,
                                                                         std::memory_order_relaxed);
  l.sum_us.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(micros, 0)),
                     std::memory_order_relaxed);
}

void Metrics::AddCollector(Collector collector) {
  std::scoped_lock lock(collectors_mu_);
  collectors_.push_back(std::move(collector));
}

void Metrics::Render(Exposition& e) const {
  e.Counter("instaccess_tokens_issued_total", "Tokens issued.", issued());
  e.Counter("instaccess_token_issue_failures_total",
            "Issue requests that failed after their body was accepted.", issue_failed_.value());
  e.Family("instaccess_tokens_decrypted_total", MetricType::kCounter,
           "Decrypt and auth requests by result; cached: answered from the decrypt cache.");
  for (std::size_t i = 0; i < decrypted_.size(); ++i) {
    e.Sample("instaccess_tokens_decrypted_total", {{"result", kOutcomeNames[i]}},
             decrypted_[i].value());
  }
  e.Counter("instaccess_key_rotations_total",
            "Key transitions applied by the schedule (generate, promote, destroy) and "
            "rotations asked for by an operator.",
            rotations());

  e.Family("instaccess_request_duration_seconds", MetricType::kHistogram,
           "Time from a request read to its answer ready, by endpoint (the route's pattern).");
  for (const auto& [endpoint, l] : latency_) {
    std::array<std::uint64_t, kBucketsUs.size() + 1> counts{};
    for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = l.buckets[i].load();
    e.HistogramSeries("instaccess_request_duration_seconds", {{"endpoint", endpoint}},
                      {kBucketsSeconds, counts, static_cast<double>(l.sum_us.load()) / 1e6});
  }

  e.Family("instaccess_rsa_operation_cpu_seconds", MetricType::kSummary,
           "CPU time of RSA operations by kind; one in " +
               std::to_string(jose::kRsaCpuSampleEvery) +
               " per thread is timed, decryption never.");
  for (auto [kind, name] :
       {std::pair{jose::RsaOpKind::kSign, "sign"}, std::pair{jose::RsaOpKind::kVerify, "verify"},
        std::pair{jose::RsaOpKind::kEncrypt, "encrypt"}}) {
    const jose::RsaCpuTotals t = jose::RsaCpuSoFar(kind);
    e.Sample("instaccess_rsa_operation_cpu_seconds_sum", {{"op", name}},
             static_cast<double>(t.cpu_ns) / 1e9);
    e.Sample("instaccess_rsa_operation_cpu_seconds_count", {{"op", name}}, t.timed_ops);
  }

  std::scoped_lock lock(collectors_mu_);
  for (const Collector& c : collectors_) c(e);
}

}  // namespace instaccess::api
