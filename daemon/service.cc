#include "daemon/service.h"

#include <ctime>

#include "daemon/hardening.h"
#include "daemon/request_body.h"
#include "jose/content_cipher.h"

namespace instaccess::daemon {

using ipc::PathParams;
using ipc::Peer;
using ipc::Request;
using ipc::Response;
using ipc::Role;

std::string Rfc3339(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Service::Service(const Config& config, keystore::Keyring& keyring, const Clock& clock,
                 std::string master_key_warning, Hooks hooks)
    : config_(config),
      keyring_(keyring),
      clock_(clock),
      master_key_warning_(std::move(master_key_warning)),
      hooks_(std::move(hooks)),
      started_at_(clock.NowUnix()),
      cache_(config.cache.entries) {
  // Config validation already restricted the content alg to the whitelist.
  if (auto enc = jose::ParseContentEnc(config.rotation_enc.content))
    issue_options_.content_enc = *enc;
  issue_options_.include_kid = config.tokens.include_kid;
  // include_kid = false asks for exactly Canvas's header shape, which has no cty either.
  issue_options_.include_cty = config.tokens.include_kid;
  claim_policy_.accepted_issuers = config.tokens.accepted_issuers;
  claim_policy_.required_claims = config.tokens.required_claims;
  claim_policy_.clock_skew_seconds = config.tokens.clock_skew.count();
  claim_policy_.accept_unencrypted = config.tokens.accept_unencrypted;
}

void Service::AddRoutes(ipc::Router& r) {
  using ipc::Cheap;
  using ipc::Expensive;
  r.Add("GET", "/healthz", std::nullopt,
        Cheap([this](const Request&, const Peer&, const PathParams&) { return Healthz(); }));
  r.Add("POST", "/api/v1/inst_access_tokens", Role::kIssue,
        Expensive(
            [this](const Request& q, const Peer& p, const PathParams&) { return Issue(q, p); }));
  r.Add("POST", "/api/v1/inst_access_tokens/decrypt", Role::kDecrypt,
        [this](const Request& q, const Peer&, const PathParams&) { return Decrypt(q); });
  r.Add("GET", "/.well-known/jwks.json", Role::kRead,
        Cheap([this](const Request&, const Peer&, const PathParams&) { return Jwks(); }));
  r.Add("GET", "/api/v1/keys", Role::kRead,
        Cheap([this](const Request&, const Peer&, const PathParams&) { return Keys(); }));
  r.Add("POST", "/api/v1/keys/rotate", Role::kAdmin,
        Expensive(
            [this](const Request& q, const Peer& p, const PathParams&) { return Rotate(q, p); }));
  r.Add("POST", "/api/v1/keys/import", Role::kAdmin,
        Expensive(
            [this](const Request& q, const Peer& p, const PathParams&) { return Import(q, p); }));
  r.Add("POST", "/api/v1/keys/{kid}/revoke", Role::kAdmin,
        Expensive([this](const Request& q, const Peer& p, const PathParams& pp) {
          return Revoke(pp.at("kid"), q, p);
        }));
  r.Add("GET", "/api/v1/backup", Role::kAdmin,
        Expensive([this](const Request&, const Peer& p, const PathParams&) { return Backup(p); }));
  r.Add(
      "GET", "/api/v1/audit/verify", Role::kAdmin,
      Expensive([this](const Request&, const Peer&, const PathParams&) { return AuditVerify(); }));
  r.Add("GET", "/api/v1/status", Role::kRead,
        Cheap([this](const Request&, const Peer&, const PathParams&) { return Status(); }));
  r.Add("GET", "/metrics", Role::kRead,
        Cheap([this](const Request&, const Peer&, const PathParams&) { return MetricsText(); }));
}

std::vector<std::string> Service::Warnings() const {
  std::vector<std::string> w;
  if (config_.rotation_enc.alg == "RSA1_5") {
    w.push_back("rotation.enc.alg is RSA1_5: deprecated (RFC 8725); move gateways to RSA-OAEP");
  }
  if (!master_key_warning_.empty()) w.push_back(master_key_warning_);
  for (const auto& p : keyring_.Snapshot()->problems) w.push_back(p);
  if (auto heap = SecureHeapWarning(SecureHeapInUse())) w.push_back(std::move(*heap));
  return w;
}

}  // namespace instaccess::daemon
