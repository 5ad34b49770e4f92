// The socket API (docs/api.md): every endpoint's handler, over the keyring, the token core,
// the decrypt cache and the metrics. Handlers parse strictly and answer with the shapes and
// status codes given there; RSA work is marked Expensive so it runs as counted, queued work.
//
// Thread-safety: handlers run on many threads at once. The service's own state is the metrics
// and the cache (both thread-safe) and the keyring (thread-safe, snapshot-based reads).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/decrypt_cache.h"
#include "api/metrics.h"
#include "api/service_options.h"
#include "common/clock.h"
#include "ipc/router.h"
#include "jose/token.h"
#include "keystore/keyring.h"

namespace instaccess::api {

// How the scheduler's passes went, for status, metrics and warnings (daemon/scheduler.h).
struct RotationHealth {
  std::uint64_t failures_total = 0;           // failed passes since the daemon started
  std::optional<std::int64_t> failing_since;  // unix time of the first of the failures in a row
  std::string last_error;                     // the latest of them; empty once a pass succeeds
};

class Service {
 public:
  struct Hooks {
    // Called after an operator action changed the key rows, so the scheduler re-plans.
    std::function<void()> keys_changed;
    // Open connections and queued expensive requests, for status and metrics.
    std::function<std::size_t()> connections;
    std::function<std::size_t()> queued;
    // The server's refusals for overload so far (503 overloaded), for metrics: connections past
    // a connection bound, and expensive requests past the work queue's bounds.
    std::function<std::uint64_t()> refused_connections;
    std::function<std::uint64_t()> refused_requests;
    // The scheduler's state; empty: always healthy (tests without a scheduler).
    std::function<RotationHealth()> rotation;
  };

  Service(ServiceOptions options, keystore::Keyring& keyring, const Clock& clock,
          std::string master_key_warning, Hooks hooks);

  void AddRoutes(ipc::Router& router);
  Metrics& metrics() { return metrics_; }
  DecryptCache& cache() { return cache_; }

  // Warnings an operator should act on (RSA1_5 in use, development master key, refused keys).
  std::vector<std::string> Warnings() const;

 private:
  ipc::Response Issue(const ipc::Request& req, const ipc::Peer& peer);
  // What a decrypt answers with: the JSON body of POST .../decrypt (with the inner JWS when the
  // request asks), or the headers of GET /api/v1/auth. Each is cached apart.
  enum class Answer : std::uint8_t { kClaims = 0, kClaimsWithJws = 1, kAuthHeaders = 2 };
  // A cache hit or a refusal at once; otherwise the RSA work as a deferred job.
  ipc::Reply Decrypt(const ipc::Request& req);
  ipc::Reply Auth(const ipc::Request& req);
  // The shared path of both: `token` is a view into `owned` or into the request, which outlives
  // the deferred job.
  ipc::Reply Open(std::string_view token, std::string owned, Answer answer);
  ipc::Response OpenUncached(std::string_view token, const DecryptCache::Key& key, Answer answer);
  ipc::Response Jwks(const ipc::Request& req);
  ipc::Response Keys();
  ipc::Response Rotate(const ipc::Request& req, const ipc::Peer& peer);
  ipc::Response Import(const ipc::Request& req, const ipc::Peer& peer);
  ipc::Response Revoke(const std::string& kid, const ipc::Request& req, const ipc::Peer& peer);
  ipc::Response Backup(const ipc::Peer& peer);
  ipc::Response AcceptClock(const ipc::Request& req, const ipc::Peer& peer);
  ipc::Response AuditVerify();
  ipc::Response StatusReport();
  ipc::Response Healthz();
  ipc::Response MetricsText();
  // GET /api/v1/keys/{kid}: the key's row (JSON), or its public key as PEM or JWK when the
  // Accept header asks for application/x-pem-file or application/jwk+json.
  ipc::Response KeyByKid(const std::string& kid, const ipc::Request& req);
  RotationHealth Rotation() const { return hooks_.rotation ? hooks_.rotation() : RotationHealth{}; }

  const ServiceOptions options_;
  keystore::Keyring& keyring_;
  const Clock& clock_;
  const std::string master_key_warning_;
  const Hooks hooks_;
  const std::int64_t started_at_;
  jose::IssueOptions issue_options_;
  jose::ClaimPolicy claim_policy_;
  Metrics metrics_;
  DecryptCache cache_;
};

// "2026-11-23T14:05:00Z".
std::string Rfc3339(std::int64_t unix_seconds);
// The status and log line for a live key that uses RSA1_5.
std::string Rsa1_5Warning(std::string_view kid);

}  // namespace instaccess::api
