// The request layer in-process: the real handlers, router, keyring (a SQLite file in a temp dir)
// and token core, driven by a fake clock, so that rotation, expiry and the decrypt cache are
// tested at any point of the schedule without waiting on the real clock.
#include "api/service.h"

#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <variant>

#include "ipc/access.h"
#include "ipc/router.h"
#include "jose/base64url.h"
#include "jose/jws.h"
#include "keystore/sqlite.h"
#include "tests/keystore/test_util.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/temp_dir.h"

namespace instaccess::api {
namespace {

using Json = nlohmann::json;
using keystore::testing::PoolFactory;

constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kStart = 1'800'000'000;  // 2027-01-15

class FakeClock final : public Clock {
 public:
  std::int64_t NowUnix() const override { return now_.load(); }
  void Set(std::int64_t t) { now_ = t; }
  void Advance(std::int64_t seconds) { now_ += seconds; }

 private:
  std::atomic<std::int64_t> now_{kStart};
};

// Signing keys rotate every 2 h, published 1 h ahead; tokens live at most 1 h, skew 60 s.
ServiceOptions TestOptions(const std::string& store_path) {
  ServiceOptions o;
  o.schedule.sig = {"RS256", 2048, 2 * kHour, kHour};
  o.schedule.enc = {"RSA-OAEP", 2048, 4 * kHour, kHour};
  o.schedule.max_lifetime = kHour;
  o.schedule.clock_skew = 60;
  o.store_path = store_path;
  return o;
}

struct Api {
  keystore::testing::TempDir dir;
  FakeClock clock;
  PoolFactory pool;
  std::unique_ptr<keystore::SqliteKeyring> keyring;
  std::unique_ptr<Service> service;
  ipc::Router router;
  ipc::AccessPolicy policy = ipc::AccessPolicy::Build({}, geteuid(), nullptr);
  int keys_changed = 0;
  RotationHealth rotation;  // what the scheduler hook reports

  Api() { Open(); }

  // Opens the store (again: after a restart, or after a test changed the file) and serves it.
  void Open() {
    service.reset();
    keyring.reset();
    keystore::SqliteKeyringOptions o = keystore::testing::Options(dir / "keys.db", pool);
    o.schedule = TestOptions("").schedule;
    auto opened = keystore::SqliteKeyring::Open(o, keystore::testing::FixedMasterKey(7));
    BOOST_REQUIRE_MESSAGE(opened, opened.status().ToString());
    keyring = std::move(*opened);
    RunSchedule();
    router = ipc::Router();
    service = std::make_unique<Service>(
        TestOptions(dir / "keys.db"), *keyring, clock, "",
        Service::Hooks{[this] { ++keys_changed; }, {}, {}, {}, {}, [this] { return rotation; }});
    service->AddRoutes(router);
  }

  // What the scheduler thread does when a transition falls due.
  void RunSchedule() {
    Result<int> applied = keyring->ApplyDue(clock.NowUnix(), "scheduler");
    BOOST_REQUIRE_MESSAGE(applied.has_value(), applied.status().ToString());
  }

  // One request as the daemon's own user (every role), the deferred work run at once.
  // `authorization`: the Authorization header, when not empty.
  ipc::Response Call(const std::string& method, const std::string& path, const Json& body = {},
                     const std::string& authorization = "") {
    ipc::Request req;
    req.method = method;
    req.target = path;
    req.path = path;
    req.authorization = authorization;
    if (!body.is_null()) {
      req.content_type = "application/json";
      req.body = body.dump();
    }
    ipc::Peer peer;
    peer.uid = geteuid();
    peer.gid = getegid();
    peer.pid = getpid();
    ipc::Reply reply = router.Dispatch(req, peer, policy);
    if (auto* deferred = std::get_if<ipc::Deferred>(&reply)) return (*deferred)();
    return std::get<ipc::Response>(reply);
  }

  std::string Issue() {
    ipc::Response r =
        Call("POST", "/api/v1/inst_access_tokens", {{"claims", {{"sub", "u"}, {"acct", "a"}}}});
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    return Json::parse(r.body).at("token").get<std::string>();
  }
  ipc::Response Decrypt(const std::string& token) {
    return Call("POST", "/api/v1/inst_access_tokens/decrypt", {{"token", token}});
  }
  std::string ActiveSigKid() {
    auto set = keyring->Snapshot();
    BOOST_REQUIRE(set->active_sig);
    return set->active_sig->kid();
  }
};

std::string ErrorCode(const ipc::Response& r) {
  return Json::parse(r.body).at("error").at("code").get<std::string>();
}

// A decrypt refused with 401 and `code`.
void ExpectRefused(const ipc::Response& r, const std::string& code) {
  BOOST_TEST(r.status == 401, r.body);
  BOOST_TEST(ErrorCode(r) == code);
}

BOOST_AUTO_TEST_SUITE(service_in_process)

BOOST_AUTO_TEST_CASE(failing_rotation_shows_in_status_warnings_and_metrics) {
  Api api;
  Json status = Json::parse(api.Call("GET", "/api/v1/status").body);
  BOOST_TEST(status.at("rotation").at("failing_since").is_null());
  BOOST_TEST(status.at("rotation").at("last_error").is_null());
  BOOST_TEST(api.Call("GET", "/metrics").body.find("\ninstaccess_rotation_failing 0\n") !=
             std::string::npos);

  api.rotation = {3, 1796690000, "unavailable: var/keys.db: disk I/O error"};
  status = Json::parse(api.Call("GET", "/api/v1/status").body);
  BOOST_TEST(status.at("rotation").at("failing_since") == Rfc3339(1796690000));
  BOOST_TEST(status.at("rotation").at("last_error") == "unavailable: var/keys.db: disk I/O error");
  BOOST_TEST(status.at("rotation").at("failures_total") == 3);
  BOOST_TEST(
      status.at("warnings").dump().find("key rotation failing since " + Rfc3339(1796690000)) !=
      std::string::npos);
  const std::string metrics = api.Call("GET", "/metrics").body;
  BOOST_TEST(metrics.find("\ninstaccess_rotation_failures_total 3\n") != std::string::npos);
  BOOST_TEST(metrics.find("\ninstaccess_rotation_failing 1\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(token_issued_before_a_rotation_decrypts_until_it_expires) {
  Api api;
  const std::string first_kid = api.ActiveSigKid();
  api.clock.Advance(kHour);  // period - prepublish: the next key is made
  api.RunSchedule();
  api.clock.Advance(50 * 60);  // ten minutes before the rotation
  const std::string token = api.Issue();

  api.clock.Advance(10 * 60);  // the rotation is due
  api.RunSchedule();
  BOOST_TEST(api.ActiveSigKid() != first_kid);
  ipc::Response after = api.Decrypt(token);
  BOOST_TEST(after.status == 200, after.body);
  BOOST_TEST(Json::parse(after.body).at("sig_kid") == first_kid);

  // exp = issue + 1 h; past exp + skew the token is expired, whatever the cache holds.
  api.clock.Advance(50 * 60 + 61);
  api.RunSchedule();
  ExpectRefused(api.Decrypt(token), "token_expired");
}

BOOST_AUTO_TEST_CASE(cached_answer_is_not_given_past_expiry) {
  Api api;
  const std::string token = api.Issue();
  BOOST_TEST(api.Decrypt(token).status == 200);
  BOOST_TEST(api.Decrypt(token).status == 200);  // the cache's answer
  BOOST_TEST(api.service->cache().hits() == 1u);

  api.clock.Advance(kHour + 61);
  ExpectRefused(api.Decrypt(token), "token_expired");
}

// A token with `claims` (iss, iat and exp included) signed by `sig`, encrypted to our active key.
std::string MakeToken(const Api& api, const Json& claims, const jose::RsaKey& sig) {
  auto set = api.keyring->Snapshot();
  auto token = jose::IssueToken(claims, sig, *set->active_enc, jose::IssueOptions{});
  BOOST_REQUIRE_MESSAGE(token.has_value(), token.status().ToString());
  return *token;
}

BOOST_AUTO_TEST_CASE(cached_answer_is_not_given_past_what_the_key_vouches_for) {
  Api api;
  // exp - iat is max_lifetime plus the skew: accepted, but the cache keeps the answer only
  // until iat + max_lifetime.
  const std::int64_t iat = api.clock.NowUnix();
  const Json claims = {{"iss", jose::kDefaultIssuer},
                       {"sub", "u"},
                       {"acct", "a"},
                       {"iat", iat},
                       {"exp", iat + kHour + 60}};
  const std::string token = MakeToken(api, claims, *api.keyring->Snapshot()->active_sig);
  BOOST_TEST(api.Decrypt(token).status == 200);
  BOOST_TEST(api.Decrypt(token).status == 200);
  BOOST_TEST(api.service->cache().hits() == 1u);
  api.clock.Set(iat + kHour);
  BOOST_TEST(api.Decrypt(token).status == 200);  // still valid, verified again
  BOOST_TEST(api.service->cache().hits() == 1u);
  // One second more lifetime than the key allows: refused outright.
  Json longer = claims;
  longer["exp"] = iat + kHour + 61;
  api.clock.Set(iat);
  ExpectRefused(api.Decrypt(MakeToken(api, longer, *api.keyring->Snapshot()->active_sig)),
                "invalid_token");
}

BOOST_AUTO_TEST_CASE(a_partners_key_cannot_sign_in_our_name) {
  Api api;
  const jose::RsaKey partner = keystore::testing::KeyPool::Get().Key(40, jose::Alg::kRS256);
  ipc::Response imported = api.Call(
      "POST", "/api/v1/keys/import",
      {{"purpose", "sig"}, {"jwk", partner.PublicJwk()}, {"issuers", Json::array({"partner"})}});
  BOOST_REQUIRE_MESSAGE(imported.status == 201, imported.body);
  BOOST_TEST(Json::parse(imported.body).at("issuers") == Json::array({"partner"}));
  const std::int64_t now = api.clock.NowUnix();
  const Json ours = {{"iss", jose::kDefaultIssuer},
                     {"sub", "admin"},
                     {"acct", "1"},
                     {"iat", now},
                     {"exp", now + 600}};
  // Signed by the partner's key in our name: refused. The same claims signed by our key: fine.
  ExpectRefused(api.Decrypt(MakeToken(api, ours, partner)), "invalid_token");
  BOOST_TEST(api.Decrypt(MakeToken(api, ours, *api.keyring->Snapshot()->active_sig)).status == 200);
  // The JWKS does not publish the partner's key.
  BOOST_TEST(api.Call("GET", "/.well-known/jwks.json").body.find(partner.kid()) ==
             std::string::npos);
  // Naming our issuer takes an explicit flag; the same modulus again is a conflict.
  ipc::Response ours_too = api.Call("POST", "/api/v1/keys/import",
                                    {{"purpose", "sig"},
                                     {"jwk", partner.PublicJwk()},
                                     {"kid", "partner-2"},
                                     {"issuers", Json::array({jose::kDefaultIssuer})}});
  BOOST_TEST(ours_too.status == 400, ours_too.body);
  ipc::Response again = api.Call("POST", "/api/v1/keys/import",
                                 {{"purpose", "sig"},
                                  {"jwk", partner.PublicJwk()},
                                  {"kid", "partner-2"},
                                  {"issuers", Json::array({jose::kDefaultIssuer})},
                                  {"allow_own_issuer", true}});
  BOOST_TEST(again.status == 409, again.body);
  BOOST_TEST(ErrorCode(again) == "conflict");
}

BOOST_AUTO_TEST_CASE(revoking_the_signing_key_refuses_its_cached_tokens_at_once) {
  Api api;
  const std::string token = api.Issue();
  BOOST_TEST(api.Decrypt(token).status == 200);
  const std::string kid = api.ActiveSigKid();

  ipc::Response revoked = api.Call("POST", "/api/v1/keys/" + kid + "/revoke");
  BOOST_TEST(revoked.status == 200, revoked.body);
  BOOST_TEST(api.keys_changed == 1);
  BOOST_TEST(api.ActiveSigKid() != kid);
  ExpectRefused(api.Decrypt(token), "invalid_token");
  BOOST_TEST(api.Decrypt(api.Issue()).status == 200);
}

BOOST_AUTO_TEST_CASE(next_key_is_published_before_it_signs) {
  Api api;
  auto jwks_kids = [&] {
    std::set<std::string> kids;
    const Json jwks = Json::parse(api.Call("GET", "/.well-known/jwks.json").body);
    for (const Json& k : jwks.at("keys")) {
      if (k.at("use") == "sig") kids.insert(k.at("kid").get<std::string>());
    }
    return kids;
  };
  BOOST_TEST(jwks_kids().size() == 1u);

  api.clock.Advance(kHour);  // period - prepublish: the next key is made, pending
  api.RunSchedule();
  const std::set<std::string> published = jwks_kids();
  BOOST_TEST(published.size() == 2u);

  api.clock.Advance(kHour);  // the period: the pending key becomes the active one
  api.RunSchedule();
  BOOST_TEST(published.count(api.ActiveSigKid()) == 1u);
}

BOOST_AUTO_TEST_CASE(status_names_the_next_rotation_by_the_fake_clock) {
  Api api;
  Json status = Json::parse(api.Call("GET", "/api/v1/status").body);
  BOOST_TEST(status.at("next_rotation").at("sig") == Rfc3339(kStart + 2 * kHour));
  BOOST_TEST(status.at("next_rotation").at("enc") == Rfc3339(kStart + 4 * kHour));
  BOOST_TEST(status.at("uptime_seconds") == 0);
  BOOST_TEST(status.at("integrity").at("ok") == true);
  BOOST_TEST(status.at("integrity").at("refused_rows") == 0);
  BOOST_TEST(status.at("integrity").at("audit_head").get<std::string>().size() == 64u);
  BOOST_TEST(api.Call("GET", "/metrics").body.find("instaccess_integrity_refused_rows 0\n") !=
             std::string::npos);
  api.clock.Advance(90);
  BOOST_TEST(Json::parse(api.Call("GET", "/api/v1/status").body).at("uptime_seconds") == 90);
}

// Every family /metrics writes, read back strictly, with the store's health, its keys and its
// schedule by the fake clock; each family is documented in docs/api.md.
BOOST_AUTO_TEST_CASE(metrics_report_store_health_keys_and_schedule_by_the_fake_clock) {
  Api api;
  api.service->metrics().AddCollector(
      [](Exposition& e) { e.Gauge("instaccess_test_collected", "From a collector.", 5); });
  auto scrape = [&] {
    const ipc::Response r = api.Call("GET", "/metrics");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.content_type.rfind("text/plain; version=0.0.4", 0) == 0u, r.content_type);
    testing::PromExposition p = testing::ParsePrometheusText(r.body, "instaccess_");
    BOOST_TEST(p.problems.empty(), testing::Describe(p.problems));
    return p;
  };
  const testing::PromExposition m = scrape();
  BOOST_TEST(m.Value("instaccess_build_info", {{"version", INSTACCESS_VERSION}}) == 1.0);
  BOOST_TEST(m.Value("instaccess_healthy") == 1.0);
  BOOST_TEST(m.Value("instaccess_store_open") == 1.0);
  BOOST_TEST(m.Value("instaccess_store_integrity_ok") == 1.0);
  BOOST_TEST(m.Value("instaccess_integrity_refused_rows") == 0.0);
  BOOST_TEST(m.Value("instaccess_key_transitions_held") == 0.0);
  for (const char* purpose : {"sig", "enc"}) {
    BOOST_TEST(m.Value("instaccess_active_key_present", {{"purpose", purpose}}) == 1.0);
    BOOST_TEST(m.Value("instaccess_keys", {{"purpose", purpose}, {"state", "active"}}) == 1.0);
    BOOST_TEST(m.Value("instaccess_keys", {{"purpose", purpose}, {"state", "revoked"}}) == 0.0);
    BOOST_TEST(m.Value("instaccess_active_key_age_seconds", {{"purpose", purpose}}) == 0.0);
  }
  BOOST_TEST(m.Value("instaccess_next_rotation_timestamp_seconds", {{"purpose", "sig"}}) ==
             static_cast<double>(kStart + 2 * kHour));
  BOOST_TEST(m.Value("instaccess_next_rotation_timestamp_seconds", {{"purpose", "enc"}}) ==
             static_cast<double>(kStart + 4 * kHour));
  // The next transition is the keyring's first planned one of the purpose: the pending key,
  // made one prepublish (1 h) before it becomes active.
  BOOST_TEST(m.Value("instaccess_next_transition_timestamp_seconds", {{"purpose", "sig"}}) ==
             static_cast<double>(kStart + kHour));
  BOOST_TEST(m.Value("instaccess_next_transition_timestamp_seconds", {{"purpose", "enc"}}) ==
             static_cast<double>(kStart + 3 * kHour));
  BOOST_TEST(m.Value("instaccess_test_collected") == 5.0);

  // Past the pending signing key's generation, in steps within max_lifetime (a longer jump
  // would be held as a clock fault).
  api.clock.Advance(kHour / 2);
  api.RunSchedule();
  api.clock.Advance(kHour / 2 + 600);
  api.RunSchedule();
  const testing::PromExposition later = scrape();
  BOOST_TEST(later.Value("instaccess_active_key_age_seconds", {{"purpose", "sig"}}) ==
             static_cast<double>(kHour + 600));
  BOOST_TEST(later.Value("instaccess_keys", {{"purpose", "sig"}, {"state", "pending"}}) == 1.0);
  // Its promotion comes next, one prepublish after it was made (600 s late).
  BOOST_TEST(later.Value("instaccess_next_transition_timestamp_seconds", {{"purpose", "sig"}}) ==
             static_cast<double>(kStart + 2 * kHour + 600));
  BOOST_TEST(later.Value("instaccess_next_rotation_timestamp_seconds", {{"purpose", "sig"}}) ==
             static_cast<double>(kStart + 2 * kHour + 600));

  const std::string doc = testing::ReadFile(std::string(INSTACCESS_SOURCE_DIR) + "/docs/api.md");
  for (const testing::PromFamily& f : m.families) {
    if (f.name == "instaccess_test_collected") continue;
    BOOST_TEST(doc.find("`" + f.name) != std::string::npos, f.name << " is not in docs/api.md");
  }
}

// GET /api/v1/auth with `authorization` as the header (none when empty).
ipc::Response AuthCall(Api& api, const std::string& authorization) {
  return api.Call("GET", "/api/v1/auth", {}, authorization);
}

std::string HeaderOf(const ipc::Response& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

BOOST_AUTO_TEST_CASE(decrypt_can_return_the_inner_jws) {
  Api api;
  const std::string token = api.Issue();
  ipc::Response plain = api.Decrypt(token);
  BOOST_REQUIRE(plain.status == 200);
  BOOST_TEST(!Json::parse(plain.body).contains("jws"));
  for (int round = 0; round < 2; ++round) {  // uncached, then from the cache
    ipc::Response with = api.Call("POST", "/api/v1/inst_access_tokens/decrypt",
                                  {{"token", token}, {"include_jws", true}});
    BOOST_REQUIRE_MESSAGE(with.status == 200, with.body);
    const Json answer = Json::parse(with.body);
    // The inner JWT verifies with our key and carries the same claims.
    const std::string jws = answer.at("jws");
    auto verified = jose::VerifyJws(jws, api.keyring->Snapshot()->verify);
    BOOST_REQUIRE_MESSAGE(verified.has_value(), verified.status().ToString());
    BOOST_TEST(Json::parse(verified->payload) == answer.at("claims"));
  }
  BOOST_TEST(api.service->cache().hits() == 1u);
  BOOST_TEST(api.Call("POST", "/api/v1/inst_access_tokens/decrypt",
                      {{"token", token}, {"include_jws", "yes"}})
                 .status == 400);
}

BOOST_AUTO_TEST_CASE(auth_answers_reverse_proxies_with_headers) {
  Api api;
  ipc::Response issued =
      api.Call("POST", "/api/v1/inst_access_tokens",
               {{"claims", {{"sub", "user-1"}, {"acct", "42"}, {"aud", Json::array({"a", "b"})}}}});
  BOOST_REQUIRE(issued.status == 201);
  const std::string token = Json::parse(issued.body).at("token");
  for (int round = 0; round < 2; ++round) {  // uncached, then from the cache
    ipc::Response ok = AuthCall(api, (round == 0 ? "Bearer " : "bearer  ") + token);
    BOOST_REQUIRE_MESSAGE(ok.status == 204, ok.body);
    BOOST_TEST(ok.body.empty());
    BOOST_TEST(HeaderOf(ok, "X-InstAccess-Sub") == "user-1");
    BOOST_TEST(HeaderOf(ok, "X-InstAccess-Acct") == "42");
    auto claims = jose::Base64UrlDecode(HeaderOf(ok, "X-InstAccess-Claims"));
    BOOST_REQUIRE(claims.has_value());
    const Json c = Json::parse(std::string(claims->begin(), claims->end()));
    BOOST_TEST(c.at("sub") == "user-1");
    BOOST_TEST(c.at("aud") == Json::array({"a", "b"}));
  }
  BOOST_TEST(api.service->cache().hits() == 1u);
  // Refusals carry the challenge; a missing header carries no error code (RFC 6750 §3.1).
  ipc::Response missing = AuthCall(api, "");
  BOOST_TEST(missing.status == 401);
  BOOST_TEST(HeaderOf(missing, "WWW-Authenticate") == "Bearer");
  BOOST_TEST(AuthCall(api, "Basic dXNlcjpwdw==").status == 401);
  std::string tampered = token;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  ipc::Response bad = AuthCall(api, "Bearer " + tampered);
  BOOST_TEST(bad.status == 401);
  BOOST_TEST(ErrorCode(bad) == "invalid_token");
  BOOST_TEST(HeaderOf(bad, "WWW-Authenticate") == "Bearer error=\"invalid_token\"");
  api.clock.Advance(kHour + 61);
  ipc::Response expired = AuthCall(api, "Bearer " + token);
  BOOST_TEST(expired.status == 401);
  BOOST_TEST(ErrorCode(expired) == "token_expired");
  BOOST_TEST(HeaderOf(expired, "WWW-Authenticate") == "Bearer error=\"invalid_token\"");
}

BOOST_AUTO_TEST_CASE(a_kid_from_before_the_kid_rule_can_be_revoked_by_its_encoded_name) {
  Api api;
  // A store made before the kid rule holds a peer key named "abc+/=": written here as such a
  // daemon would have, with the master key (row MAC and seal included).
  const jose::RsaKey legacy = keystore::testing::KeyPool::Get().Key(42, jose::Alg::kRS256);
  const std::string kid = "abc+/=";
  api.service.reset();
  api.keyring.reset();
  keystore::testing::InsertLegacyPeerKey(api.dir / "keys.db", keystore::testing::FixedMasterKey(7),
                                         kid, legacy, R"(["partner"])", kStart);
  api.Open();
  BOOST_REQUIRE(api.keyring->Snapshot()->FindVerify(kid) != nullptr);
  BOOST_TEST(api.keyring->Snapshot()->tampered_rows == 0u);
  // Named raw, the '/' splits the path: no such endpoint. Percent-encoded, it is one segment.
  BOOST_TEST(api.Call("POST", "/api/v1/keys/abc+/=/revoke").status == 404);
  ipc::Response revoked = api.Call("POST", "/api/v1/keys/abc%2B%2F%3D/revoke");
  BOOST_REQUIRE_MESSAGE(revoked.status == 200, revoked.body);
  BOOST_TEST(Json::parse(revoked.body).at("kid") == kid);
  BOOST_TEST(Json::parse(revoked.body).at("state") == "revoked");
  BOOST_TEST(api.keyring->Snapshot()->FindVerify(kid) == nullptr);
}

BOOST_AUTO_TEST_CASE(healthz_gives_no_detail_to_anyone) {
  Api api;
  // The active signing key's row changed behind the daemon's back: refused, and health fails.
  api.service.reset();
  api.keyring.reset();
  {
    Result<keystore::Db> db = keystore::Db::Open(api.dir / "keys.db", SQLITE_OPEN_READWRITE);
    BOOST_REQUIRE(db.has_value());
    BOOST_REQUIRE(db->Exec("UPDATE keys SET created_at = created_at - 1 "
                           "WHERE purpose = 'sig' AND state = 'active'")
                      .ok());
  }
  api.Open();
  ipc::Response health = api.Call("GET", "/healthz");
  BOOST_TEST(health.status == 503);
  BOOST_TEST(Json::parse(health.body)["error"]["message"] == "unhealthy; see GET /api/v1/status");
  // The detail is for callers with the read role.
  Json status = Json::parse(api.Call("GET", "/api/v1/status").body);
  BOOST_TEST(status.at("integrity").at("refused_rows") == 1);
  BOOST_TEST(!status.at("store").at("message").get<std::string>().empty());
}

BOOST_AUTO_TEST_CASE(rsa1_5_in_use_by_any_key_is_a_warning) {
  Api api;
  auto warnings = [&api] {
    return Json::parse(api.Call("GET", "/api/v1/status").body).at("warnings").dump();
  };
  BOOST_TEST(warnings().find("RSA1_5") == std::string::npos);
  const jose::RsaKey gateway = keystore::testing::KeyPool::Get().Key(41, jose::Alg::kRsa1_5);
  ipc::Response imported =
      api.Call("POST", "/api/v1/keys/import", {{"purpose", "enc"}, {"jwk", gateway.PublicJwk()}});
  BOOST_REQUIRE_MESSAGE(imported.status == 201, imported.body);
  BOOST_TEST(warnings().find("key " + gateway.kid() + " uses RSA1_5") != std::string::npos);
  BOOST_TEST(api.Call("POST", "/api/v1/keys/" + gateway.kid() + "/revoke").status == 200);
  BOOST_TEST(warnings().find("RSA1_5") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(clock_jump_is_held_until_accepted) {
  Api api;
  const std::string kid = api.ActiveSigKid();
  ipc::Response none = api.Call("POST", "/api/v1/schedule/accept-clock");
  BOOST_TEST(none.status == 400, none.body);
  BOOST_TEST(ErrorCode(none) == "bad_request");
  BOOST_TEST(Json::parse(none.body)["error"]["message"] == "no clock jump is held");
  BOOST_TEST(Json::parse(api.Call("GET", "/api/v1/status").body).at("clock_held_since").is_null());

  // A day forward at once (max_lifetime is 1 h): the schedule is held, the keys stay.
  api.clock.Advance(24 * kHour);
  const std::size_t rows = api.keyring->Snapshot()->keys.size();
  api.RunSchedule();
  BOOST_TEST(api.ActiveSigKid() == kid);
  BOOST_TEST(api.keyring->Snapshot()->keys.size() == rows);
  Json status = Json::parse(api.Call("GET", "/api/v1/status").body);
  BOOST_TEST(status.at("clock_held_since") == Rfc3339(kStart));
  bool warned = false;
  for (const Json& w : status.at("warnings")) {
    warned = warned || w.get<std::string>().find("the clock jumped forward") != std::string::npos;
  }
  BOOST_TEST(warned, status.dump());
  BOOST_TEST(api.Call("GET", "/healthz").status == 200);

  ipc::Response accepted = api.Call("POST", "/api/v1/schedule/accept-clock");
  BOOST_TEST(accepted.status == 200, accepted.body);
  BOOST_TEST(Json::parse(accepted.body).at("accepted_at") == Rfc3339(kStart + 24 * kHour));
  BOOST_TEST(api.keys_changed == 1);
  BOOST_TEST(Json::parse(api.Call("GET", "/api/v1/status").body).at("clock_held_since").is_null());
  // The schedule resumes from the accepted time: the next sig key is made (pending).
  api.RunSchedule();
  BOOST_TEST(api.keyring->Snapshot()->keys.size() > rows);
}

BOOST_AUTO_TEST_CASE(error_answers_come_from_the_status_code) {
  Api api;
  ipc::Response missing =
      api.Call("POST", "/api/v1/inst_access_tokens", {{"claims", Json::object()}});
  BOOST_TEST(missing.status == 400);
  BOOST_TEST(ErrorCode(missing) == "bad_request");
  BOOST_TEST(Json::parse(missing.body)["error"]["message"] == "claims.sub is required");

  ipc::Response not_found = api.Call("POST", "/api/v1/keys/no-such-kid/revoke");
  BOOST_TEST(not_found.status == 404);
  BOOST_TEST(ErrorCode(not_found) == "not_found");

  ipc::Request text;
  text.method = "POST";
  text.target = text.path = "/api/v1/inst_access_tokens";
  text.content_type = "text/plain";
  text.body = "{}";
  ipc::Peer peer;
  peer.uid = geteuid();
  ipc::Reply reply = api.router.Dispatch(text, peer, api.policy);
  auto* deferred = std::get_if<ipc::Deferred>(&reply);
  BOOST_REQUIRE(deferred);
  ipc::Response media = (*deferred)();
  BOOST_TEST(media.status == 415);
  BOOST_TEST(ErrorCode(media) == "unsupported_media_type");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::api
