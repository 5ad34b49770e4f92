#include "api/service.h"

#include <ctime>

#include "api/request_body.h"
#include "jose/content_cipher.h"
#include "jose/secure_heap.h"

namespace instaccess::api {

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

Service::Service(ServiceOptions options, keystore::Keyring& keyring, const Clock& clock,
                 std::string master_key_warning, Hooks hooks)
    : options_(std::move(options)),
      keyring_(keyring),
      clock_(clock),
      master_key_warning_(std::move(master_key_warning)),
      hooks_(std::move(hooks)),
      started_at_(clock.NowUnix()),
      cache_(options_.cache_entries) {
  // Config validation already restricted the content alg to the whitelist.
  if (auto enc = jose::ParseContentEnc(options_.content_enc)) issue_options_.content_enc = *enc;
  issue_options_.include_kid = options_.tokens.include_kid;
  // include_kid = false asks for exactly Canvas's header shape, which has no cty either.
  issue_options_.include_cty = options_.tokens.include_kid;
  claim_policy_.accepted_issuers = options_.tokens.accepted_issuers;
  claim_policy_.required_claims = options_.tokens.required_claims;
  claim_policy_.clock_skew_seconds = options_.tokens.clock_skew.count();
  claim_policy_.accept_unencrypted = options_.tokens.accept_unencrypted;
}

void Service::AddRoutes(ipc::Router& r) {
  using ipc::Cheap;
  using ipc::Expensive;
  // Every route's pattern is also its endpoint in the latency histogram.
  auto add = [&](std::string method, std::string pattern, std::optional<Role> role,
                 ipc::Handler handler) {
    metrics_.AddEndpoint(pattern);
    r.Add(std::move(method), std::move(pattern), role, std::move(handler));
  };
  add("GET", "/healthz", std::nullopt,
      Cheap([this](const Request&, const Peer&, const PathParams&) { return Healthz(); }));
  add("POST", "/api/v1/inst_access_tokens", Role::kIssue,
      Expensive(
          [this](const Request& q, const Peer& p, const PathParams&) { return Issue(q, p); }));
  add("POST", "/api/v1/inst_access_tokens/decrypt", Role::kDecrypt,
      [this](const Request& q, const Peer&, const PathParams&) { return Decrypt(q); });
  add("GET", "/api/v1/auth", Role::kDecrypt,
      [this](const Request& q, const Peer&, const PathParams&) { return Auth(q); });
  add("GET", "/.well-known/jwks.json", Role::kRead,
      Cheap([this](const Request& q, const Peer&, const PathParams&) { return Jwks(q); }));
  add("GET", "/api/v1/keys", Role::kRead,
      Cheap([this](const Request&, const Peer&, const PathParams&) { return Keys(); }));
  add("POST", "/api/v1/keys/rotate", Role::kAdmin,
      Expensive(
          [this](const Request& q, const Peer& p, const PathParams&) { return Rotate(q, p); }));
  add("POST", "/api/v1/keys/import", Role::kAdmin,
      Expensive(
          [this](const Request& q, const Peer& p, const PathParams&) { return Import(q, p); }));
  add("POST", "/api/v1/keys/{kid}/revoke", Role::kAdmin,
      Expensive([this](const Request& q, const Peer& p, const PathParams& pp) {
        return Revoke(pp.at("kid"), q, p);
      }));
  add("GET", "/api/v1/keys/{kid}", Role::kRead,
      Cheap([this](const Request& q, const Peer&, const PathParams& pp) {
        return KeyByKid(pp.at("kid"), q);
      }));
  add("POST", "/api/v1/schedule/accept-clock", Role::kAdmin,
      Expensive([this](const Request& q, const Peer& p, const PathParams&) {
        return AcceptClock(q, p);
      }));
  add("GET", "/api/v1/backup", Role::kAdmin,
      Expensive([this](const Request&, const Peer& p, const PathParams&) { return Backup(p); }));
  add("GET", "/api/v1/audit/verify", Role::kAdmin,
      Expensive([this](const Request&, const Peer&, const PathParams&) { return AuditVerify(); }));
  add("GET", "/api/v1/status", Role::kRead,
      Cheap([this](const Request&, const Peer&, const PathParams&) { return StatusReport(); }));
  add("GET", "/metrics", Role::kRead,
      Cheap([this](const Request&, const Peer&, const PathParams&) { return MetricsText(); }));
}

std::string Rsa1_5Warning(std::string_view kid) {
  return "key " + std::string(kid) +
         " uses RSA1_5: deprecated (RFC 8725); move its issuers to RSA-OAEP";
}

std::vector<std::string> Service::Warnings() const {
  std::vector<std::string> w;
  if (options_.schedule.enc.alg == "RSA1_5") {
    w.push_back("rotation.enc.alg is RSA1_5: deprecated (RFC 8725); move gateways to RSA-OAEP");
  }
  if (!master_key_warning_.empty()) w.push_back(master_key_warning_);
  auto set = keyring_.Snapshot();
  for (const keystore::KeyInfo& k : set->keys) {
    if (k.alg == "RSA1_5" && keystore::IsLive(k)) w.push_back(Rsa1_5Warning(k.kid));
  }
  for (const auto& p : set->problems) w.push_back(p);
  if (const RotationHealth r = Rotation(); r.failing_since) {
    w.push_back("key rotation failing since " + Rfc3339(*r.failing_since) +
                " (the keys in use keep working; retrying): " + r.last_error);
  }
  if (auto heap = jose::SecureHeapWarning(jose::SecureHeapInUse())) w.push_back(std::move(*heap));
  return w;
}

}  // namespace instaccess::api
