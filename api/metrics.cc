#include "api/metrics.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "jose/rsa_cpu.h"

namespace instaccess::api {

namespace {
constexpr const char* kOutcomeNames[] = {"ok", "cached", "invalid_token", "token_expired",
                                         "token_not_yet_valid"};
}  // namespace

void Metrics::ObserveLatency(std::int64_t micros) {
  auto it = std::lower_bound(kBucketsUs.begin(), kBucketsUs.end(), micros);
  buckets_[static_cast<std::size_t>(it - kBucketsUs.begin())].fetch_add(1,
                                                                        std::memory_order_relaxed);
  latency_sum_us_.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(micros, 0)),
                            std::memory_order_relaxed);
}

std::string Metrics::Render() const {
  std::string out;
  auto line = [&out](const std::string& s) { out += s + "\n"; };
  line("# HELP instaccess_tokens_issued_total Tokens issued.");
  line("# TYPE instaccess_tokens_issued_total counter");
  line("instaccess_tokens_issued_total " + std::to_string(issued()));
  line("# HELP instaccess_token_issue_failures_total Issue requests that failed after validation.");
  line("# TYPE instaccess_token_issue_failures_total counter");
  line("instaccess_token_issue_failures_total " + std::to_string(issue_failed_.load()));
  line("# HELP instaccess_tokens_decrypted_total Decrypt requests by result.");
  line("# TYPE instaccess_tokens_decrypted_total counter");
  for (std::size_t i = 0; i < decrypted_.size(); ++i) {
    line(std::string("instaccess_tokens_decrypted_total{result=\"") + kOutcomeNames[i] + "\"} " +
         std::to_string(decrypted_[i].load()));
  }
  line(
      "# HELP instaccess_key_rotations_total Key transitions applied (generate, promote, "
      "destroy).");
  line("# TYPE instaccess_key_rotations_total counter");
  line("instaccess_key_rotations_total " + std::to_string(rotations()));
  line(
      "# HELP instaccess_overloaded_total Requests refused with 503 because the work queue was "
      "full.");
  line("# TYPE instaccess_overloaded_total counter");
  line("instaccess_overloaded_total " + std::to_string(overloaded_.load()));
  line("# HELP instaccess_request_duration_seconds Time to handle an API request.");
  line("# TYPE instaccess_request_duration_seconds histogram");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBucketsUs.size(); ++i) {
    cumulative += buckets_[i].load();
    char le[32];
    std::snprintf(le, sizeof le, "%g", static_cast<double>(kBucketsUs[i]) / 1e6);
    line(std::string("instaccess_request_duration_seconds_bucket{le=\"") + le + "\"} " +
         std::to_string(cumulative));
  }
  cumulative += buckets_.back().load();
  line("instaccess_request_duration_seconds_bucket{le=\"+Inf\"} " + std::to_string(cumulative));
  char sum[48];
  std::snprintf(sum, sizeof sum, "%.6f", static_cast<double>(latency_sum_us_.load()) / 1e6);
  line(std::string("instaccess_request_duration_seconds_sum ") + sum);
  line("instaccess_request_duration_seconds_count " + std::to_string(cumulative));
  line("# HELP instaccess_rsa_operation_cpu_seconds CPU time of RSA operations; one in " +
       std::to_string(jose::kRsaCpuSampleEvery) + " per thread is timed, decryption never.");
  line("# TYPE instaccess_rsa_operation_cpu_seconds summary");
  for (auto [kind, name] :
       {std::pair{jose::RsaOpKind::kSign, "sign"}, std::pair{jose::RsaOpKind::kVerify, "verify"},
        std::pair{jose::RsaOpKind::kEncrypt, "encrypt"}}) {
    const jose::RsaCpuTotals t = jose::RsaCpuSoFar(kind);
    std::snprintf(sum, sizeof sum, "%.9f", static_cast<double>(t.cpu_ns) / 1e9);
    line(std::string("instaccess_rsa_operation_cpu_seconds_sum{op=\"") + name + "\"} " + sum);
    line(std::string("instaccess_rsa_operation_cpu_seconds_count{op=\"") + name + "\"} " +
         std::to_string(t.timed_ops));
  }
  return out;
}

}  // namespace instaccess::api
