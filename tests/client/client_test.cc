// instaccess::client against the real daemon: every call, every typed error, 16 threads at once,
// a daemon restart between calls, no daemon at all; and against a fake daemon for the answers a
// healthy daemon does not give on demand (internal, unavailable, garbage, silence).
#include "instaccess/client.h"

#include <sys/wait.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "jose/rsa_key.h"
#include "jose/token.h"
#include "tests/client/client_fixture.h"
#include "tests/keystore/test_util.h"

namespace instaccess::testing {
namespace {

using client::Claims;
using client::Client;
using client::ErrorKind;
using client::Purpose;

std::string ReadKeyFile(const std::string& name) {
  return ReadFile(std::string(INSTACCESS_SOURCE_DIR) + "/tests/fuzz/keys/" + name);
}

// The error's text for a failed check's message; evaluated even when the check passes.
template <typename T>
std::string Why(const client::Result<T>& r) {
  return r.has_value() ? std::string() : r.error().ToString();
}

template <typename T>
void ExpectError(const client::Result<T>& r, ErrorKind kind, const std::string& code = "") {
  BOOST_REQUIRE_MESSAGE(!r.has_value(), "expected " << client::ErrorKindName(kind));
  BOOST_TEST(client::ErrorKindName(r.error().kind()) == client::ErrorKindName(kind),
             r.error().ToString());
  if (!code.empty()) BOOST_TEST(r.error().code() == code);
  BOOST_TEST(!r.error().message().empty());
}

// Runs `f` in a child process as nobody and returns its exit code: the daemon grants roles by
// the caller's uid, and the test runs as root, which holds every role.
template <typename F>
int AsNobody(F f) {
  pid_t pid = fork();
  if (pid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(99);
    _exit(f());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

Claims Canvas() {
  Claims c{{"sub", "user-1"}, {"acct", "acct-1"}};
  c.SetInt("masq_shard", 3)
      .SetBool("instructure_service", true)
      .SetString("canvas_domain", "x.test");
  return c;
}

BOOST_AUTO_TEST_SUITE(client_library)

BOOST_AUTO_TEST_CASE(issues_and_decrypts_a_token_with_its_claims) {
  OpenDaemon d;
  Client c(d.socket);
  client::IssueOptions o;
  o.ttl = std::chrono::seconds(900);
  auto token = c.Issue(Canvas(), o);
  BOOST_REQUIRE_MESSAGE(token.has_value(), Why(token));
  BOOST_TEST(std::count(token->begin(), token->end(), '.') == 4);  // a compact JWE

  auto opened = c.Decrypt(*token);
  BOOST_REQUIRE_MESSAGE(opened.has_value(), Why(opened));
  const Claims& claims = opened->claims;
  BOOST_TEST(*claims.GetString("sub") == "user-1");
  BOOST_TEST(*claims.GetString("acct") == "acct-1");
  BOOST_TEST(*claims.GetInt("masq_shard") == 3);
  BOOST_TEST(*claims.GetBool("instructure_service"));
  BOOST_TEST(*claims.GetString("iss") == "instructure:inst_access");
  BOOST_TEST(*claims.GetInt("exp") - *claims.GetInt("iat") == 900);
  BOOST_TEST(claims.GetString("jti").has_value());
  auto status = c.Status();
  BOOST_REQUIRE(status.has_value());
  BOOST_TEST(opened->sig_kid == status->active_sig);
  BOOST_TEST(opened->enc_kid == status->active_enc);
  BOOST_TEST(nlohmann::json::parse(opened->json)["claims"]["sub"] == "user-1");
  // Each call gives another token.
  BOOST_TEST(*c.Issue(Canvas()) != *token);
}

BOOST_AUTO_TEST_CASE(reads_jwks_keys_and_status) {
  OpenDaemon d;
  Client c(d.socket);
  auto status = c.Status();
  BOOST_REQUIRE_MESSAGE(status.has_value(), Why(status));
  BOOST_TEST(status->version == "0.1.0");
  BOOST_TEST(status->store_healthy);
  BOOST_TEST(!status->active_sig.empty());
  BOOST_TEST(!status->active_enc.empty());
  BOOST_TEST(status->sig_alg == "RS256");
  BOOST_TEST(status->enc_alg == "RSA-OAEP");
  BOOST_TEST(status->content_alg == "A128CBC-HS256");
  BOOST_REQUIRE(status->next_rotation_sig.has_value());
  BOOST_TEST((*status->next_rotation_sig > std::chrono::system_clock::now()));
  BOOST_TEST(!status->warnings.empty());  // the development master key

  auto jwks = c.Jwks();
  BOOST_REQUIRE(jwks.has_value());
  std::vector<std::string> kids;
  for (const auto& k : jwks->keys) kids.push_back(k.kid);
  BOOST_TEST((std::find(kids.begin(), kids.end(), status->active_sig) != kids.end()));
  BOOST_TEST((std::find(kids.begin(), kids.end(), status->active_enc) != kids.end()));
  for (const auto& k : jwks->keys) BOOST_TEST(k.kty == "RSA");
  BOOST_TEST(nlohmann::json::parse(jwks->json)["keys"].is_array());

  auto keys = c.Keys();
  BOOST_REQUIRE_MESSAGE(keys.has_value(), Why(keys));
  int active = 0;
  for (const auto& k : keys->keys) {
    if (k.state != "active") continue;
    ++active;
    BOOST_TEST(k.bits == 2048);
    BOOST_TEST(k.origin == "generated");
    BOOST_TEST(k.activate_at.has_value());
    BOOST_TEST(k.has_private);
  }
  BOOST_TEST(active == 2);
  BOOST_TEST(!keys->next_transitions.empty());

  auto health = c.Health();
  BOOST_REQUIRE(health.has_value());
  BOOST_TEST(*health == "ok");
  auto metrics = c.Metrics();
  BOOST_REQUIRE(metrics.has_value());
  BOOST_TEST(metrics->find("instaccess_") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(rotates_imports_revokes_and_backs_up) {
  OpenDaemon d;
  Client c(d.socket);
  auto before = c.Status();
  BOOST_REQUIRE(before.has_value());
  auto rotated = c.Rotate(Purpose::kSig);
  BOOST_REQUIRE_MESSAGE(rotated.has_value(), Why(rotated));
  BOOST_TEST(rotated->rotated.size() == 1u);
  BOOST_TEST(rotated->active_sig != before->active_sig);
  BOOST_TEST(rotated->active_enc == before->active_enc);
  auto both = c.Rotate(Purpose::kBoth);
  BOOST_REQUIRE(both.has_value());
  BOOST_TEST(both->rotated.size() == 2u);

  client::ImportRequest import;
  import.purpose = Purpose::kSig;
  import.pem = ReadKeyFile("rs256.pem");
  import.alg = "RS256";
  auto imported = c.ImportKey(import);
  BOOST_REQUIRE_MESSAGE(imported.has_value(), Why(imported));
  BOOST_TEST(imported->origin == "imported");
  BOOST_TEST(imported->purpose == "sig");
  BOOST_TEST(imported->alg == "RS256");

  auto revoked = c.Revoke(imported->kid);
  BOOST_REQUIRE_MESSAGE(revoked.has_value(), Why(revoked));
  BOOST_TEST(revoked->state == "revoked");
  BOOST_TEST(revoked->revoked_at.has_value());

  auto audit = c.AuditVerify();
  BOOST_REQUIRE_MESSAGE(audit.has_value(), Why(audit));
  BOOST_TEST(audit->ok);
  BOOST_TEST(audit->entries >= 5);  // keys generated at start, two rotations, import, revoke
  BOOST_TEST(!audit->first_broken_seq.has_value());

  std::string file = d.dir / "backup.db";
  auto bytes = c.Backup(file);
  BOOST_REQUIRE_MESSAGE(bytes.has_value(), Why(bytes));
  std::string content = ReadFile(file);
  BOOST_TEST(content.size() == *bytes);
  BOOST_TEST(content.rfind("SQLite format 3", 0) == 0u);
  struct stat st {};
  BOOST_REQUIRE(stat(file.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
}

// The public part of a test key as SPKI PEM: what a peer (a stock Canvas) hands over.
std::string PublicPemOf(const std::string& file) {
  auto key = jose::RsaKey::FromPem(ReadKeyFile(file), jose::Alg::kRS256);
  BOOST_REQUIRE(key.has_value());
  return key->PublicPem();
}

BOOST_AUTO_TEST_CASE(exports_public_keys_and_imports_with_every_option) {
  OpenDaemon d;
  Client c(d.socket);
  auto ours = jose::RsaKey::FromPem(ReadKeyFile("rs256.pem"), jose::Alg::kRS256);
  BOOST_REQUIRE(ours.has_value());

  // A private signing key under a name of our choosing: its public part comes back as PEM and
  // as JWK, the same key.
  client::ImportRequest mine;
  mine.purpose = Purpose::kSig;
  mine.pem = ReadKeyFile("rs256.pem");
  mine.kid = "our-canvas-key";
  mine.pin = true;
  auto imported = c.ImportKey(mine);
  BOOST_REQUIRE_MESSAGE(imported.has_value(), Why(imported));
  BOOST_TEST(imported->kid == "our-canvas-key");
  BOOST_TEST(imported->pin);
  BOOST_TEST(!imported->issuers.has_value());  // our own tokens.issuer
  auto pem = c.ExportPublicKey("our-canvas-key");
  BOOST_REQUIRE_MESSAGE(pem.has_value(), Why(pem));
  BOOST_TEST(pem->rfind("-----BEGIN PUBLIC KEY-----\n", 0) == 0u, *pem);
  auto from_pem = jose::RsaKey::FromPem(*pem, jose::Alg::kRS256);
  BOOST_REQUIRE(from_pem.has_value());
  BOOST_TEST(from_pem->SamePublicKey(*ours));
  BOOST_TEST(!from_pem->has_private());
  auto jwk_text = c.ExportPublicKey("our-canvas-key", client::KeyFormat::kJwk);
  BOOST_REQUIRE_MESSAGE(jwk_text.has_value(), Why(jwk_text));
  auto jwk = nlohmann::json::parse(*jwk_text);
  BOOST_TEST(jwk["kid"] == "our-canvas-key");
  BOOST_TEST(jwk["kty"] == "RSA");
  BOOST_TEST(jwk["alg"] == "RS256");
  for (const char* secret : {"d", "p", "q", "dp", "dq", "qi"}) BOOST_TEST(!jwk.contains(secret));
  auto from_jwk = jose::RsaKey::FromJwk(jwk, std::nullopt);
  BOOST_REQUIRE(from_jwk.has_value());
  BOOST_TEST(from_jwk->SamePublicKey(*ours));

  // The active generated keys export too, and match what the JWKS publishes.
  auto status = c.Status();
  BOOST_REQUIRE(status.has_value());
  auto enc_jwk = c.ExportPublicKey(status->active_enc, client::KeyFormat::kJwk);
  BOOST_REQUIRE_MESSAGE(enc_jwk.has_value(), Why(enc_jwk));
  BOOST_TEST(nlohmann::json::parse(c.Jwks()->json)
                 .dump()
                 .find(nlohmann::json::parse(*enc_jwk)["n"].get<std::string>()) !=
             std::string::npos);
  BOOST_TEST(c.ExportPublicKey(status->active_sig).has_value());

  // A peer's public signing key: its issuers, lifetime and pin are stored and listed.
  client::ImportRequest peer;
  peer.purpose = Purpose::kSig;
  peer.pem = PublicPemOf("ps256.pem");
  peer.kid = "canvas-2026";
  peer.issuers = {"canvas.example.edu", "canvas-beta.example.edu"};
  peer.max_lifetime = std::chrono::minutes(30);
  peer.pin = true;
  auto peer_info = c.ImportKey(peer);
  BOOST_REQUIRE_MESSAGE(peer_info.has_value(), Why(peer_info));
  BOOST_TEST(peer_info->origin == "peer");
  BOOST_TEST(!peer_info->has_private);
  const std::vector<std::string> issuers = {"canvas.example.edu", "canvas-beta.example.edu"};
  BOOST_TEST((peer_info->issuers == issuers));
  BOOST_TEST((peer_info->max_lifetime == std::chrono::seconds(1800)));
  BOOST_TEST(peer_info->pin);
  auto one = c.Key("canvas-2026");
  BOOST_REQUIRE_MESSAGE(one.has_value(), Why(one));
  BOOST_TEST((one->issuers == issuers));
  BOOST_TEST((one->max_lifetime == std::chrono::seconds(1800)));
  BOOST_TEST(one->pin);
  BOOST_TEST(nlohmann::json::parse(one->json) == nlohmann::json::parse(peer_info->json));
  auto list = c.Keys();
  BOOST_REQUIRE(list.has_value());
  int seen = 0;
  for (const auto& k : list->keys) {
    if (k.kid == "canvas-2026") {
      ++seen;
      BOOST_TEST((k.issuers == issuers));
      BOOST_TEST(k.pin);
    } else if (k.kid == "our-canvas-key") {
      ++seen;
      BOOST_TEST(k.pin);
    } else {
      BOOST_TEST(!k.pin);
      BOOST_TEST(!k.issuers.has_value());
      BOOST_TEST(!k.max_lifetime.has_value());
    }
  }
  BOOST_TEST(seen == 2);
  auto peer_pem = c.ExportPublicKey("canvas-2026");
  BOOST_REQUIRE_MESSAGE(peer_pem.has_value(), Why(peer_pem));
  BOOST_TEST(*peer_pem == PublicPemOf("ps256.pem"));

  // The same key again under another name, private or public: one modulus is one key.
  peer.kid = "canvas-2026-again";
  auto again = c.ImportKey(peer);
  ExpectError(again, ErrorKind::kConflict, "conflict");
  BOOST_TEST(again.error().http_status() == 409);
  mine.kid = "our-canvas-key-again";
  ExpectError(c.ImportKey(mine), ErrorKind::kConflict, "conflict");
  // ... and another key under a name already taken.
  client::ImportRequest taken;
  taken.purpose = Purpose::kEnc;
  taken.alg = "RSA-OAEP";
  taken.pem = ReadKeyFile("rsa_oaep.pem");
  taken.kid = "canvas-2026";
  ExpectError(c.ImportKey(taken), ErrorKind::kConflict, "conflict");

  // A peer's signing key needs its issuers; ours only with allow_own_issuer.
  client::ImportRequest bare;
  bare.purpose = Purpose::kSig;
  bare.pem = PublicPemOf("rsa1_5.pem");
  ExpectError(c.ImportKey(bare), ErrorKind::kBadRequest, "bad_request");
  bare.issuers = {std::string(jose::kDefaultIssuer)};
  ExpectError(c.ImportKey(bare), ErrorKind::kBadRequest, "bad_request");
  bare.allow_own_issuer = true;
  auto own = c.ImportKey(bare);
  BOOST_REQUIRE_MESSAGE(own.has_value(), Why(own));
  BOOST_TEST((own->issuers == std::vector<std::string>{std::string(jose::kDefaultIssuer)}));

  // Unknown kids, and a key whose public part is no longer loaded.
  ExpectError(c.Key("no-such-kid"), ErrorKind::kNotFound, "not_found");
  ExpectError(c.ExportPublicKey("no-such-kid"), ErrorKind::kNotFound, "not_found");
  ExpectError(c.ExportPublicKey("no-such-kid", client::KeyFormat::kJwk), ErrorKind::kNotFound);
  ExpectError(c.Key(""), ErrorKind::kInvalidArgument);
  ExpectError(c.ExportPublicKey(""), ErrorKind::kInvalidArgument);
  BOOST_REQUIRE(c.Revoke("our-canvas-key").has_value());
  auto revoked = c.ExportPublicKey("our-canvas-key");
  ExpectError(revoked, ErrorKind::kNotFound, "not_found");
  BOOST_TEST(revoked.error().message().find("revoked") != std::string::npos,
             revoked.error().message());
  auto row = c.Key("our-canvas-key");
  BOOST_REQUIRE_MESSAGE(row.has_value(), Why(row));
  BOOST_TEST(row->state == "revoked");
}

// Kids from a store made before the kid rule may need escaping in a path: the library encodes
// them, and curl reaches them percent-encoded.
BOOST_AUTO_TEST_CASE(kids_that_need_escaping_are_revoked_with_the_library_and_curl) {
  OpenDaemon d;
  d.Stop();
  const std::string key_file = d.dir / "var/master.key";
  const std::string master_bytes = ReadFile(key_file);
  BOOST_REQUIRE(master_bytes.size() == 32u);
  const SecretBytes master = SecretBytes::CopyFrom(
      {reinterpret_cast<const std::uint8_t*>(master_bytes.data()), master_bytes.size()});
  auto& pool = keystore::testing::KeyPool::Get();
  keystore::testing::InsertLegacyPeerKey(
      d.dir / "var/keys.db", master, "abc+/=", pool.Key(0, jose::Alg::kRS256), R"(["partner"])", 0);
  keystore::testing::InsertLegacyPeerKey(d.dir / "var/keys.db", master, "key with spaces?#",
                                         pool.Key(1, jose::Alg::kRS256), R"(["partner"])", 0);
  d.Start();

  Client c(d.socket);
  auto revoked = c.Revoke("abc+/=");
  BOOST_REQUIRE_MESSAGE(revoked.has_value(), Why(revoked));
  BOOST_TEST(revoked->kid == "abc+/=");
  BOOST_TEST(revoked->state == "revoked");

  CommandResult curl =
      RunCommand({"/usr/bin/curl", "-sS", "--unix-socket", d.socket, "-X", "POST",
                  "http://localhost/api/v1/keys/key%20with%20spaces%3F%23/revoke"});
  BOOST_REQUIRE_MESSAGE(curl.exit_code == 0, curl.err);
  const nlohmann::json answer = nlohmann::json::parse(curl.out);
  BOOST_TEST(answer.at("kid") == "key with spaces?#");
  BOOST_TEST(answer.at("state") == "revoked");
}

BOOST_AUTO_TEST_CASE(refusals_carry_the_daemons_code_and_message) {
  OpenDaemon d;
  Client c(d.socket);
  auto missing = c.Issue(Claims{{"sub", "u"}});
  ExpectError(missing, ErrorKind::kBadRequest, "bad_request");
  BOOST_TEST(missing.error().message() == "claims.acct is required");
  BOOST_TEST(missing.error().http_status() == 400);
  ExpectError(c.Issue(Claims{{"sub", "u"}, {"acct", "a"}, {"exp", "1"}}), ErrorKind::kBadRequest);
  client::IssueOptions too_long;
  too_long.ttl = std::chrono::hours(2);
  ExpectError(c.Issue(Canvas(), too_long), ErrorKind::kBadRequest);
  client::IssueOptions bare;
  bare.encrypt = false;
  ExpectError(c.Issue(Canvas(), bare), ErrorKind::kBadRequest);

  // Far over the body limit: the daemon answers 413 and closes before reading it all, so the
  // write fails; the answer is still read and reported.
  Claims huge = Canvas();
  huge.SetString("padding", std::string(4 * 1024 * 1024, 'p'));
  auto too_big = c.Issue(huge);
  ExpectError(too_big, ErrorKind::kBadRequest, "payload_too_large");
  BOOST_TEST(too_big.error().http_status() == 413);
  BOOST_TEST(c.Issue(Canvas()).has_value());  // and the client carries on

  auto garbage = c.Decrypt("not.a.token.at.all");
  ExpectError(garbage, ErrorKind::kInvalidToken, "invalid_token");
  BOOST_TEST(garbage.error().http_status() == 401);
  BOOST_TEST(garbage.error().IsTokenError());
  ExpectError(c.Decrypt(""), ErrorKind::kInvalidArgument);

  auto unknown = c.Revoke("no-such-kid");
  ExpectError(unknown, ErrorKind::kNotFound, "not_found");
  // A kid with characters a path cannot carry is escaped, not taken as another path.
  ExpectError(c.Revoke("../../healthz"), ErrorKind::kNotFound);
  ExpectError(c.Revoke(""), ErrorKind::kInvalidArgument);

  client::ImportRequest bad;
  bad.purpose = Purpose::kEnc;
  bad.pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  ExpectError(c.ImportKey(bad), ErrorKind::kBadRequest);
  bad.purpose = Purpose::kBoth;
  ExpectError(c.ImportKey(bad), ErrorKind::kInvalidArgument);
  ExpectError(c.Backup(d.dir / "no/such/dir/b.db"), ErrorKind::kLocal);
}

// Tokens made here with fixed test keys the daemon was given: one that expired an hour ago,
// one issued an hour from now. Only a verified token may be called expired or not yet valid.
BOOST_AUTO_TEST_CASE(tells_expired_and_not_yet_valid_tokens_from_invalid_ones) {
  OpenDaemon d;
  Client c(d.socket);
  client::ImportRequest sig;
  sig.purpose = Purpose::kSig;
  sig.pem = ReadKeyFile("rs256.pem");
  auto sig_info = c.ImportKey(sig);
  BOOST_REQUIRE_MESSAGE(sig_info.has_value(), Why(sig_info));
  client::ImportRequest enc;
  enc.purpose = Purpose::kEnc;
  enc.pem = ReadKeyFile("rsa_oaep.pem");
  enc.alg = "RSA-OAEP";
  BOOST_REQUIRE(c.ImportKey(enc).has_value());

  auto sig_key = jose::RsaKey::FromPem(ReadKeyFile("rs256.pem"), jose::Alg::kRS256);
  auto enc_key = jose::RsaKey::FromPem(ReadKeyFile("rsa_oaep.pem"), jose::Alg::kRsaOaep);
  BOOST_REQUIRE(sig_key.has_value() && enc_key.has_value());
  auto make = [&](std::int64_t iat, std::int64_t ttl) {
    auto claims =
        jose::BuildStandardClaims({{"sub", "u"}, {"acct", "a"}}, jose::kDefaultIssuer, iat, ttl);
    BOOST_REQUIRE(claims.has_value());
    auto t = jose::IssueToken(*claims, *sig_key, *enc_key, {});
    BOOST_REQUIRE(t.has_value());
    return *t;
  };
  std::int64_t now = std::time(nullptr);
  BOOST_TEST(c.Decrypt(make(now, 600)).has_value());
  auto expired = c.Decrypt(make(now - 7200, 600));
  ExpectError(expired, ErrorKind::kTokenExpired, "token_expired");
  BOOST_TEST(expired.error().IsTokenError());
  ExpectError(c.Decrypt(make(now + 3600, 600)), ErrorKind::kTokenNotYetValid,
              "token_not_yet_valid");

  // Once the signing key is revoked, the same kind of token is merely invalid.
  BOOST_REQUIRE(c.Revoke(sig_info->kid).has_value());
  ExpectError(c.Decrypt(make(now - 7200, 600)), ErrorKind::kInvalidToken);
}

BOOST_AUTO_TEST_CASE(a_caller_without_the_role_is_forbidden) {
  OpenDaemon d("[access]\nread = [\"*\"]\n");
  int rc = AsNobody([&] {
    Client c(d.socket);
    if (!c.Status().has_value()) return 10;  // read is granted to everyone
    auto a = c.AuditVerify();
    if (a.has_value() || a.error().kind() != ErrorKind::kForbidden) return 15;
    auto r = c.Rotate(Purpose::kBoth);
    if (r.has_value()) return 11;
    if (r.error().kind() != ErrorKind::kForbidden) return 12;
    if (r.error().message() != "permission denied: uid 65534 (nobody) has no 'admin' role")
      return 13;
    auto t = c.Issue(Canvas());
    if (t.has_value() || t.error().kind() != ErrorKind::kForbidden) return 14;
    return 0;
  });
  BOOST_TEST(rc == 0);
}

BOOST_AUTO_TEST_CASE(an_absent_daemon_is_unreachable_with_a_hint) {
  TempDir dir;
  Client c(dir / "none.sock");
  auto r = c.Status();
  ExpectError(r, ErrorKind::kUnreachable, "unreachable");
  BOOST_TEST(r.error().message() ==
             "cannot connect to " + (dir / "none.sock") +
                 ": no such file (is instaccessd running? try systemctl status instaccessd)");
  BOOST_TEST(r.error().http_status() == 0);
  // A socket file nobody listens on.
  {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, (dir / "stale.sock").c_str());
    BOOST_REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    close(fd);
  }
  auto stale = Client(dir / "stale.sock").Issue(Canvas());
  ExpectError(stale, ErrorKind::kUnreachable);
  BOOST_TEST(stale.error().message().find("connection refused") != std::string::npos);
  ExpectError(Client(std::string(200, 'x')).Jwks(), ErrorKind::kUnreachable);
}

BOOST_AUTO_TEST_CASE(a_socket_the_caller_may_not_open_is_unreachable_naming_the_user) {
  OpenDaemon d;
  chmod(d.socket.c_str(), 0600);
  int rc = AsNobody([&] {
    auto r = Client(d.socket).Status();
    if (r.has_value() || r.error().kind() != ErrorKind::kUnreachable) return 10;
    return r.error().message().find("permission denied for uid 65534 (nobody)") != std::string::npos
               ? 0
               : 11;
  });
  BOOST_TEST(rc == 0);
}

BOOST_AUTO_TEST_CASE(reconnects_after_a_daemon_restart) {
  OpenDaemon d;
  Client c(d.socket);
  auto first = c.Status();
  BOOST_REQUIRE(first.has_value());  // a kept-alive connection is now in the pool
  d.Stop();
  ExpectError(c.Status(), ErrorKind::kUnreachable);
  d.Start();
  auto again = c.Status();
  BOOST_REQUIRE_MESSAGE(again.has_value(), Why(again));
  BOOST_TEST(again->active_sig == first->active_sig);  // same store

  // And a pooled connection the daemon dropped while idle: restart without a call between.
  BOOST_REQUIRE(c.Jwks().has_value());
  d.Stop();
  d.Start();
  auto token = c.Issue(Canvas());
  BOOST_REQUIRE_MESSAGE(token.has_value(), Why(token));
  BOOST_TEST(c.Decrypt(*token).has_value());
}

BOOST_AUTO_TEST_CASE(is_used_from_16_threads_at_once) {
  OpenDaemon d;
  client::ClientOptions o;
  o.max_idle_connections = 4;
  Client c(d.socket, o);
  constexpr int kThreads = 16;
  constexpr int kRounds = 8;
  std::atomic<int> ok{0};
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        std::string sub = "user-" + std::to_string(t) + "-" + std::to_string(i);
        auto token = c.Issue(Claims{{"sub", sub}, {"acct", "a"}});
        if (!token) {
          failures[static_cast<std::size_t>(t)] = token.error().ToString();
          return;
        }
        auto opened = c.Decrypt(*token);
        if (!opened || opened->claims.GetString("sub") != sub) {
          failures[static_cast<std::size_t>(t)] =
              opened ? std::string("wrong sub") : opened.error().ToString();
          return;
        }
        if (!c.Status()) return;
        ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& f : failures) BOOST_TEST(f.empty(), f);
  BOOST_TEST(ok.load() == kThreads * kRounds);
}

BOOST_AUTO_TEST_CASE(too_many_connections_is_overloaded) {
  OpenDaemon d("[limits]\nmax_connections = 1\n");
  Client holder(d.socket);
  BOOST_REQUIRE(holder.Status().has_value());  // its kept-alive connection takes the one slot
  auto r = Client(d.socket).Status();
  ExpectError(r, ErrorKind::kOverloaded, "overloaded");
  BOOST_TEST(r.error().http_status() == 503);
}

std::string Canned(int status, const std::string& reason, const std::string& body,
                   const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: application/json\r\nConnection: close\r\n" + extra +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

BOOST_AUTO_TEST_CASE(maps_every_server_error_code) {
  struct Case {
    int status;
    std::string code;
    ErrorKind kind;
  };
  const Case cases[] = {
      {400, "bad_request", ErrorKind::kBadRequest},
      {401, "invalid_token", ErrorKind::kInvalidToken},
      {401, "token_expired", ErrorKind::kTokenExpired},
      {401, "token_not_yet_valid", ErrorKind::kTokenNotYetValid},
      {403, "forbidden", ErrorKind::kForbidden},
      {404, "not_found", ErrorKind::kNotFound},
      {409, "conflict", ErrorKind::kConflict},
      {405, "method_not_allowed", ErrorKind::kBadRequest},
      {413, "payload_too_large", ErrorKind::kBadRequest},
      {415, "unsupported_media_type", ErrorKind::kBadRequest},
      {503, "overloaded", ErrorKind::kOverloaded},
      {503, "unavailable", ErrorKind::kUnavailable},
      {500, "internal", ErrorKind::kInternal},
      {418, "some_new_code", ErrorKind::kBadRequest},  // unknown: by the status
      {502, "", ErrorKind::kInternal},
  };
  TempDir dir;
  int n = 0;
  for (const Case& k : cases) {
    std::string path = dir / ("s" + std::to_string(n++) + ".sock");
    std::string body = k.code.empty()
                           ? "oops"
                           : R"({"error":{"code":")" + k.code + R"(","message":"the message"}})";
    FakeDaemon fake(path, Canned(k.status, "X", body, "Retry-After: 2\r\n"));
    auto r = Client(path).Status();
    ExpectError(r, k.kind);
    BOOST_TEST(r.error().http_status() == k.status);
    if (!k.code.empty()) {
      BOOST_TEST(r.error().code() == k.code);
      BOOST_TEST(r.error().message() == "the message");
    }
    BOOST_TEST(r.error().retry_after_seconds().value_or(0) == 2);
  }
}

BOOST_AUTO_TEST_CASE(garbage_and_silence_are_protocol_and_timeout_errors) {
  TempDir dir;
  {
    FakeDaemon fake(dir / "g.sock", "SSH-2.0-OpenSSH_9.2\r\n\r\n");
    ExpectError(Client(dir / "g.sock").Status(), ErrorKind::kProtocol);
  }
  {
    FakeDaemon fake(dir / "j.sock", Canned(200, "OK", "[1,2]"));
    ExpectError(Client(dir / "j.sock").Keys(), ErrorKind::kProtocol);
  }
  {
    FakeDaemon fake(dir / "s.sock", Canned(200, "OK", R"({"keys": "not a list"})"));
    ExpectError(Client(dir / "s.sock").Keys(), ErrorKind::kProtocol);
  }
  {
    FakeDaemon fake(dir / "q.sock", "");  // accepts, never answers
    client::ClientOptions o;
    o.request_timeout = std::chrono::milliseconds(300);
    auto start = std::chrono::steady_clock::now();
    auto r = Client(dir / "q.sock", o).Status();
    ExpectError(r, ErrorKind::kTimeout);
    BOOST_TEST((std::chrono::steady_clock::now() - start < 5s));
  }
  {
    FakeDaemon fake(
        dir / "a.sock",
        Canned(200, "OK",
               R"({"entries":9,"ok":false,"first_broken_seq":4,"reason":"hash mismatch"})"));
    auto r = Client(dir / "a.sock").AuditVerify();
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(!r->ok);
    BOOST_TEST(r->entries == 9);
    BOOST_TEST(r->first_broken_seq.value_or(0) == 4);
    BOOST_TEST(r->reason == "hash mismatch");
  }
  {
    FakeDaemon fake(dir / "b.sock", Canned(200, "OK", std::string(4096, 'x')));
    client::ClientOptions o;
    o.max_response_bytes = 1024;
    ExpectError(Client(dir / "b.sock", o).Status(), ErrorKind::kProtocol);
  }
}

// The daemon closed a kept-alive connection just as the next request went out on it: the
// request is sent once more on a fresh connection, and only once.
BOOST_AUTO_TEST_CASE(resends_once_when_a_kept_alive_connection_was_closed) {
  TempDir dir;
  std::string body = R"({"keys":[]})";
  std::string ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body;
  FakeDaemon fake(dir / "k.sock", ok, /*drop_second=*/true);
  Client c(dir / "k.sock");
  BOOST_REQUIRE(c.Jwks().has_value());  // connection 1, kept
  auto again = c.Jwks();                // sent on connection 1 (dropped), then on connection 2
  BOOST_REQUIRE_MESSAGE(again.has_value(), Why(again));
  BOOST_TEST(fake.dropped.load() == 1);
  // Connection 2 is kept too and drops the next request; connection 3 answers.
  BOOST_TEST(c.Jwks().has_value());
  BOOST_TEST(fake.dropped.load() == 2);
}

BOOST_AUTO_TEST_CASE(claims_keep_json_types) {
  auto c = Claims::FromJson(R"({"sub":"u","n":3,"b":false,"l":[1,"x"],"z":null})");
  BOOST_REQUIRE(c.has_value());
  BOOST_TEST(*c->GetString("sub") == "u");
  BOOST_TEST(*c->GetInt("n") == 3);
  BOOST_TEST(*c->GetBool("b") == false);
  BOOST_TEST(!c->GetString("n").has_value());
  BOOST_TEST(*c->GetJson("l") == R"([1,"x"])");
  BOOST_TEST(*c->GetJson("z") == "null");
  BOOST_TEST(c->size() == 5u);
  BOOST_TEST(!Claims::FromJson("[1]").has_value());
  BOOST_TEST(!Claims::FromJson("{").has_value());
  Claims d;
  BOOST_TEST(!d.SetJson("x", "{nope"));
  BOOST_TEST(d.empty());
  BOOST_TEST((Claims::FromJson(c->ToJson()).value() == *c));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing
