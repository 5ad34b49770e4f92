// Every endpoint of docs/api.md against the real instaccessd: the answer on success and each
// error with its JSON body (code and status) checked.
#include <algorithm>
#include <filesystem>
#include <regex>
#include <set>

#include "jose/rsa_cpu.h"
#include "tests/api/api_test_util.h"
#include "tests/support/prometheus_text.h"

namespace instaccess::testing::api {
namespace {

const Json kClaims = {{"sub", "user-1"}, {"acct", "acct-1"}};

Json IssueBody(Json extra_claims = Json::object()) {
  Json claims = kClaims;
  claims.update(extra_claims);
  return {{"claims", claims}};
}

// "2026-11-23T14:05:00Z"
bool IsRfc3339(const Json& v) {
  static const std::regex kTime(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)");
  return v.is_string() && std::regex_match(v.get<std::string>(), kTime);
}

std::uint64_t MetricValue(const std::string& text, const std::string& series) {
  std::size_t at = text.find("\n" + series + " ");
  BOOST_REQUIRE_MESSAGE(at != std::string::npos, "no metric " << series);
  return std::stoull(text.substr(at + series.size() + 2));
}

double MetricSeconds(const std::string& text, const std::string& series) {
  std::size_t at = text.find("\n" + series + " ");
  BOOST_REQUIRE_MESSAGE(at != std::string::npos, "no metric " << series);
  return std::stod(text.substr(at + series.size() + 2));
}

std::size_t CountChar(const std::string& s, char c) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), c));
}

// A compact serialization part (unpadded base64url) decoded.
std::string Base64UrlDecode(const std::string& text) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned bits = 0, value = 0;
  for (char c : text) {
    std::size_t v = kAlphabet.find(c);
    BOOST_REQUIRE(v != std::string::npos);
    value = (value << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((value >> bits) & 0xff));
    }
  }
  return out;
}

// An RSA private key made now with openssl, as PKCS#8 PEM.
std::string GeneratePem(const TempDir& dir, int bits) {
  const std::string path = dir / ("key-" + std::to_string(bits) + ".pem");
  CaptureOutput("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:" + std::to_string(bits) +
                " -out " + path + " 2>/dev/null");
  std::string pem = ReadFile(path);
  BOOST_REQUIRE_MESSAGE(pem.find("-----BEGIN PRIVATE KEY-----") == 0, "openssl made no key");
  return pem;
}

// One daemon on the embedded default for the cases that change no key and need no other
// config: each start generates two RSA keys, which is most of what a case costs.
const Daemon& SharedDaemon() {
  static Daemon shared;
  return shared;
}

BOOST_AUTO_TEST_SUITE(api_endpoints)

// --- POST /api/v1/inst_access_tokens and /decrypt ------------------------------------------

BOOST_AUTO_TEST_CASE(issued_token_decrypts_to_its_claims_and_the_active_kids) {
  const Daemon& d = SharedDaemon();
  Json keys = d.GetJson("/api/v1/keys");
  HttpReply issued = d.Post(kIssuePath, IssueBody({{"canvas_domain", "canvas.example"},
                                                   {"masq_shard", 7},
                                                   {"instructure_service", true},
                                                   {"debug_user_global_id", "10000000000001"},
                                                   {"custom", {{"nested", 1}}}}));
  BOOST_TEST(issued.status == 201, issued.body);
  BOOST_TEST(issued.headers.at("content-type") == "application/json");
  Json body = Json::parse(issued.body);
  BOOST_TEST(body.size() == 1u);
  const std::string token = body.at("token");
  BOOST_TEST(CountChar(token, '.') == 4u);  // compact JWE: five parts

  HttpReply opened = d.Decrypt(token);
  BOOST_REQUIRE(opened.status == 200);
  Json answer = Json::parse(opened.body);
  const Json& claims = answer.at("claims");
  BOOST_TEST(claims.at("sub") == "user-1");
  BOOST_TEST(claims.at("acct") == "acct-1");
  BOOST_TEST(claims.at("canvas_domain") == "canvas.example");
  BOOST_TEST(claims.at("masq_shard") == 7);
  BOOST_TEST(claims.at("instructure_service") == true);
  BOOST_TEST(claims.at("debug_user_global_id") == "10000000000001");
  BOOST_TEST(claims.at("custom") == Json({{"nested", 1}}));
  BOOST_TEST(claims.at("iss") == "instructure:inst_access");
  BOOST_TEST(claims.at("exp").get<std::int64_t>() - claims.at("iat").get<std::int64_t>() == 3600);
  static const std::regex kUuidV4(
      "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  BOOST_TEST(std::regex_match(claims.at("jti").get<std::string>(), kUuidV4));
  BOOST_TEST(claims.count("nbf") == 0u);
  BOOST_TEST(answer.at("sig_kid") == ActiveKid(keys, "sig"));
  BOOST_TEST(answer.at("enc_kid") == ActiveKid(keys, "enc"));

  // Each call makes a different token (fresh jti, CEK and IV).
  const std::string again = d.Issue();
  BOOST_TEST(again != token);
  BOOST_TEST(Json::parse(d.Decrypt(again).body).at("claims").at("jti") != claims.at("jti"));
}

BOOST_AUTO_TEST_CASE(issue_without_claims_sub_is_400_naming_it) {
  const Daemon& d = SharedDaemon();
  ExpectError(d.Post(kIssuePath, {{"claims", {{"acct", "a"}}}}), 400, "bad_request", "claims.sub");
  ExpectError(d.Post(kIssuePath, {{"claims", {{"sub", nullptr}, {"acct", "a"}}}}), 400,
              "bad_request", "claims.sub");
  ExpectError(d.Post(kIssuePath, {{"claims", {{"sub", "u"}}}}), 400, "bad_request", "claims.acct");
  ExpectError(d.Post(kIssuePath, {{"ttl", 60}}), 400, "bad_request", "claims");
  ExpectError(d.Post(kIssuePath, {{"claims", "sub=u"}}), 400, "bad_request", "claims");
}

BOOST_AUTO_TEST_CASE(issue_with_a_reserved_claim_is_400_naming_it) {
  const Daemon& d = SharedDaemon();
  const std::pair<const char*, Json> kReserved[] = {
      {"iss", "evil"}, {"exp", 4102444800}, {"jti", "mine"}, {"iat", 1}, {"nbf", 1}};
  for (const auto& [name, value] : kReserved) {
    BOOST_TEST_CONTEXT("claim " << name) {
      ExpectError(d.Post(kIssuePath, IssueBody({{name, value}})), 400, "bad_request",
                  std::string("claims.") + name);
    }
  }
}

BOOST_AUTO_TEST_CASE(issue_with_a_wrongly_typed_claim_is_400_naming_it) {
  const Daemon& d = SharedDaemon();
  const std::pair<const char*, Json> kWrong[] = {{"masq_shard", "x"},
                                                 {"canvas_shard_id", 1.5},
                                                 {"instructure_service", "yes"},
                                                 {"debug_user_global_id", "12a"},
                                                 {"debug_masq_global_id", 12},
                                                 {"sub", 5},
                                                 {"region", Json::array()}};
  for (const auto& [name, value] : kWrong) {
    BOOST_TEST_CONTEXT("claim " << name) {
      ExpectError(d.Post(kIssuePath, IssueBody({{name, value}})), 400, "bad_request",
                  std::string("claims.") + name);
    }
  }
}

BOOST_AUTO_TEST_CASE(issue_with_an_unknown_member_is_400_naming_it) {
  const Daemon& d = SharedDaemon();
  Json body = IssueBody();
  body["expires"] = 60;
  ExpectError(d.Post(kIssuePath, body), 400, "bad_request", "expires");
}

BOOST_AUTO_TEST_CASE(issue_ttl_out_of_range_is_400) {
  Daemon d("[tokens]\nmax_lifetime = \"2h\"\ndefault_ttl = \"1h\"\n");
  for (const Json& ttl : {Json(0), Json(-5), Json(7201), Json("60"), Json(1.5), Json(nullptr)}) {
    BOOST_TEST_CONTEXT("ttl " << ttl.dump()) {
      Json body = IssueBody();
      body["ttl"] = ttl;
      ExpectError(d.Post(kIssuePath, body), 400, "bad_request", "ttl");
    }
  }
  // The edges are accepted: 1 s and exactly max_lifetime.
  for (int ttl : {1, 7200}) {
    std::string token = d.Issue(kClaims, ttl);
    Json claims = Json::parse(d.Decrypt(token).body).at("claims");
    BOOST_TEST(claims.at("exp").get<std::int64_t>() - claims.at("iat").get<std::int64_t>() == ttl);
  }
}

BOOST_AUTO_TEST_CASE(unencrypted_issue_is_refused_unless_allowed) {
  {
    const Daemon& d = SharedDaemon();
    Json body = IssueBody();
    body["encrypt"] = false;
    ExpectError(d.Post(kIssuePath, body), 400, "bad_request", "allow_unencrypted");
    body["encrypt"] = "no";
    ExpectError(d.Post(kIssuePath, body), 400, "bad_request", "encrypt");
    body["encrypt"] = true;
    BOOST_TEST(d.Post(kIssuePath, body).status == 201);
  }
  Daemon d("[tokens]\nallow_unencrypted = true\n");
  Json body = IssueBody();
  body["encrypt"] = false;
  HttpReply r = d.Post(kIssuePath, body);
  BOOST_REQUIRE(r.status == 201);
  const std::string jws = Json::parse(r.body).at("token");
  BOOST_TEST(CountChar(jws, '.') == 2u);  // a bare compact JWS
  // accept_unencrypted is still off: a bare JWS does not decrypt.
  ExpectError(d.Decrypt(jws), 401, "invalid_token");

  // With it on, the bare JWS opens; no key encrypted it, so enc_kid is empty.
  Daemon open("[tokens]\nallow_unencrypted = true\naccept_unencrypted = true\n");
  HttpReply bare = open.Post(kIssuePath, body);
  BOOST_REQUIRE(bare.status == 201);
  HttpReply opened = open.Decrypt(Json::parse(bare.body).at("token"));
  BOOST_REQUIRE(opened.status == 200);
  const Json answer = Json::parse(opened.body);
  BOOST_TEST(answer.at("claims").at("sub") == body.at("claims").at("sub"));
  BOOST_TEST(answer.at("sig_kid") == ActiveKid(open.GetJson("/api/v1/keys"), "sig"));
  BOOST_TEST(answer.at("enc_kid") == "");
}

BOOST_AUTO_TEST_CASE(issue_with_another_content_type_is_415) {
  const Daemon& d = SharedDaemon();
  const std::string body = IssueBody().dump();
  ExpectError(HttpPost(d.socket, kIssuePath, body, "text/plain"), 415, "unsupported_media_type");
  ExpectError(HttpPost(d.socket, kIssuePath, body, "application/x-www-form-urlencoded"), 415,
              "unsupported_media_type");
  ExpectError(HttpPost(d.socket, kIssuePath, body, ""), 415, "unsupported_media_type");
  ExpectError(HttpPost(d.socket, kDecryptPath, "{\"token\":\"x\"}", "text/json"), 415,
              "unsupported_media_type");
  // Parameters on the right media type are fine, and media types are case-insensitive.
  BOOST_TEST(HttpPost(d.socket, kIssuePath, body, "application/json; charset=utf-8").status == 201);
  BOOST_TEST(HttpPost(d.socket, kIssuePath, body, "Application/JSON").status == 201);
}

BOOST_AUTO_TEST_CASE(issue_body_over_64_kib_is_413) {
  const Daemon& d = SharedDaemon();
  Json body = IssueBody({{"padding", std::string(65 * 1024, 'p')}});
  ExpectError(d.Post(kIssuePath, body), 413, "payload_too_large");
  // Just under the limit the body is read and parsed: what is refused then is the token size.
  Json fits = IssueBody({{"padding", std::string(60 * 1024, 'p')}});
  ExpectError(d.Post(kIssuePath, fits), 400, "bad_request", "16 KiB");
  Json small = IssueBody({{"padding", std::string(8 * 1024, 'p')}});
  BOOST_TEST(d.Post(kIssuePath, small).status == 201);
}

BOOST_AUTO_TEST_CASE(malformed_json_and_duplicate_members_are_400) {
  const Daemon& d = SharedDaemon();
  const std::string kBad[] = {
      "{\"claims\": {\"sub\": \"u\", \"acct\": \"a\"}",            // truncated
      "[{\"claims\": {}}]",                                        // not an object
      "\"claims\"",                                                // a string
      "{\"claims\": {\"sub\": \"u\", \"acct\": \"a\"}} trailing",  // trailing bytes
      "{\"claims\": {\"sub\": \"u\", \"acct\": \"a\"}, \"claims\": {\"sub\": \"v\", \"acct\": "
      "\"a\"}}",
      "{\"claims\": {\"sub\": \"u\", \"sub\": \"v\", \"acct\": \"a\"}}",  // nested duplicate
      "{\"claims\": {\"sub\": \"u\xff\", \"acct\": \"a\"}}",              // not UTF-8
      "{'claims': {}}",
  };
  for (const std::string& text : kBad) {
    BOOST_TEST_CONTEXT("body " << text) {
      ExpectError(HttpPost(d.socket, kIssuePath, text), 400, "bad_request");
    }
  }
  ExpectError(HttpPost(d.socket, kIssuePath, ""), 400, "bad_request");
  ExpectError(HttpPost(d.socket, kDecryptPath, "{\"token\": \"a\", \"token\": \"b\"}"), 400,
              "bad_request");
}

BOOST_AUTO_TEST_CASE(decrypt_of_garbage_or_a_tampered_token_is_401_invalid_token) {
  const Daemon& d = SharedDaemon();
  const std::string token = d.Issue();
  std::string tampered = token;
  std::size_t mid = token.rfind('.') - 10;  // inside the ciphertext
  tampered[mid] = tampered[mid] == 'A' ? 'B' : 'A';
  for (const std::string& bad : {std::string("garbage"), std::string("a.b.c.d.e"), tampered,
                                 token.substr(0, token.size() - 2), std::string(20000, 'A')}) {
    BOOST_TEST_CONTEXT("token " << bad.substr(0, 40)) {
      ExpectError(d.Decrypt(bad), 401, "invalid_token");
    }
  }
  ExpectError(d.Post(kDecryptPath, Json::object()), 400, "bad_request", "token");
  ExpectError(d.Post(kDecryptPath, {{"token", 5}}), 400, "bad_request", "token");
  ExpectError(d.Post(kDecryptPath, {{"token", token}, {"extra", 1}}), 400, "bad_request", "extra");
  // The real one still opens.
  BOOST_TEST(d.Decrypt(token).status == 200);
}

BOOST_AUTO_TEST_CASE(token_checked_after_expiry_is_401_token_expired_cached_or_not) {
  Daemon d("[tokens]\nclock_skew = \"1s\"\n");
  const std::string decrypted_before = d.Issue(kClaims, 2);  // this one goes into the cache
  const std::string never_seen = d.Issue(kClaims, 2);        // this one takes the RSA path
  HttpReply fresh = d.Decrypt(decrypted_before);
  BOOST_REQUIRE(fresh.status == 200);
  const std::int64_t exp = Json::parse(fresh.body).at("claims").at("exp");
  // Expired once now - skew >= exp (docs/tokens.md): wait on the clock for that moment.
  BOOST_REQUIRE(WaitUntilUnixTime(exp + 1, 10s));
  ExpectError(d.Decrypt(decrypted_before), 401, "token_expired");
  ExpectError(d.Decrypt(never_seen), 401, "token_expired");
}

// --- keys, JWKS, admin -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(jwks_publishes_public_keys_only) {
  Daemon d;
  // A retired signing key is published (tokens it signed still verify); a retired encryption key
  // is not (an issuer must not encrypt to it).
  d.Post("/api/v1/keys/rotate", {{"purpose", "both"}});
  HttpReply r = d.Get("/.well-known/jwks.json");
  BOOST_REQUIRE(r.status == 200);
  BOOST_TEST(r.headers.at("content-type") == "application/json");
  Json jwks = Json::parse(r.body);
  Json keys = d.GetJson("/api/v1/keys");
  BOOST_TEST(jwks.size() == 1u);
  BOOST_TEST(jwks.at("keys").size() == 3u);  // two active, the retired signing key
  for (const Json& k : jwks.at("keys")) {
    BOOST_TEST_CONTEXT("jwk " << k.value("kid", "?")) {
      for (const char* secret : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
        BOOST_TEST(k.count(secret) == 0u, "private member " << secret);
      }
      BOOST_TEST(k.at("kty") == "RSA");
      BOOST_TEST(k.at("n").is_string());
      BOOST_TEST(k.at("e") == "AQAB");
      const Json* info = FindKey(keys, k.at("kid"));
      BOOST_REQUIRE(info != nullptr);
      BOOST_TEST(k.at("alg") == info->at("alg"));
      BOOST_TEST(k.at("use") == (info->at("purpose") == "sig" ? "sig" : "enc"));
    }
  }
  BOOST_TEST(r.body.find("\"d\"") == std::string::npos);
}

// A GET of the JWKS on `c` with If-None-Match: `tags`.
HttpReply JwksIfNoneMatch(UnixHttpConnection& c, const std::string& tags) {
  c.SendRaw("GET /.well-known/jwks.json HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: " + tags +
            "\r\n\r\n");
  std::optional<HttpReply> r = c.Read();
  BOOST_REQUIRE(r.has_value());
  return *r;
}

BOOST_AUTO_TEST_CASE(jwks_can_be_cached_and_revalidated) {
  Daemon d;
  HttpReply r = d.Get("/.well-known/jwks.json");
  BOOST_REQUIRE(r.status == 200);
  // A tenth of the default prepublish (1h): a pending key is fetched long before it is used.
  BOOST_TEST(r.headers.at("cache-control") == "public, max-age=360");
  const std::string etag = r.headers.at("etag");
  BOOST_TEST(etag.size() == 34u);
  UnixHttpConnection c(d.socket);
  HttpReply same = JwksIfNoneMatch(c, etag);
  BOOST_TEST(same.status == 304);
  BOOST_TEST(same.body.empty());
  BOOST_TEST(same.headers.at("etag") == etag);
  BOOST_TEST(JwksIfNoneMatch(c, "\"other\", W/" + etag).status == 304);
  BOOST_TEST(JwksIfNoneMatch(c, "*").status == 304);
  BOOST_TEST(JwksIfNoneMatch(c, "\"stale\"").status == 200);
  // A rotation changes what is published, so the old tag no longer matches.
  d.Post("/api/v1/keys/rotate", {{"purpose", "sig"}});
  HttpReply changed = JwksIfNoneMatch(c, etag);
  BOOST_TEST(changed.status == 200);
  BOOST_TEST(changed.headers.at("etag") != etag);
  BOOST_TEST(Json::parse(changed.body).at("keys").size() == 3u);
}

BOOST_AUTO_TEST_CASE(keys_list_states_times_and_next_transitions) {
  Daemon d;
  Json keys = d.GetJson("/api/v1/keys");
  BOOST_TEST(keys.at("keys").size() == 2u);
  for (const Json& k : keys.at("keys")) {
    BOOST_TEST_CONTEXT("key " << k.dump()) {
      BOOST_TEST(!k.at("kid").get<std::string>().empty());
      BOOST_TEST(k.at("state") == "active");
      BOOST_TEST(k.at("origin") == "generated");
      BOOST_TEST(k.at("bits") == 2048);
      BOOST_TEST(k.at("has_private") == true);
      BOOST_TEST(k.at("alg") == (k.at("purpose") == "sig" ? "RS256" : "RSA-OAEP"));
      BOOST_TEST(IsRfc3339(k.at("created_at")));
      BOOST_TEST(IsRfc3339(k.at("activate_at")));
      for (const char* t : {"retire_at", "expire_at", "revoked_at"}) BOOST_TEST(k.at(t).is_null());
    }
  }
  ActiveKid(keys, "sig");
  ActiveKid(keys, "enc");
  // The next key of each purpose is generated `prepublish` before the active one's period ends.
  const Json& next = keys.at("next_transitions");
  BOOST_REQUIRE(next.size() == 2u);
  std::set<std::string> purposes;
  for (const Json& t : next) {
    BOOST_TEST(t.at("action") == "generate");
    BOOST_TEST(IsRfc3339(t.at("at")));
    purposes.insert(t.at("purpose"));
  }
  BOOST_TEST((purposes == std::set<std::string>{"sig", "enc"}));
}

BOOST_AUTO_TEST_CASE(rotate_makes_new_active_keys_per_purpose) {
  Daemon d;
  Json before = d.GetJson("/api/v1/keys");
  const std::string sig0 = ActiveKid(before, "sig"), enc0 = ActiveKid(before, "enc");
  const std::string old_token = d.Issue();

  HttpReply r = d.Post("/api/v1/keys/rotate", {{"purpose", "sig"}});
  BOOST_REQUIRE(r.status == 200);
  Json answer = Json::parse(r.body);
  Json keys = d.GetJson("/api/v1/keys");
  const std::string sig1 = ActiveKid(keys, "sig");
  BOOST_TEST(sig1 != sig0);
  BOOST_TEST(ActiveKid(keys, "enc") == enc0);
  BOOST_TEST(answer.at("active").at("sig") == sig1);
  BOOST_TEST(answer.at("active").at("enc") == enc0);
  BOOST_TEST(answer.at("rotated") == Json::array({sig1}));
  const Json* retired = FindKey(keys, sig0);
  BOOST_REQUIRE(retired != nullptr);
  BOOST_TEST(retired->at("state") == "retired");
  BOOST_TEST(IsRfc3339(retired->at("retire_at")));
  BOOST_TEST(IsRfc3339(retired->at("expire_at")));

  answer = Json::parse(d.Post("/api/v1/keys/rotate", {{"purpose", "enc"}}).body);
  keys = d.GetJson("/api/v1/keys");
  const std::string enc1 = ActiveKid(keys, "enc");
  BOOST_TEST(enc1 != enc0);
  BOOST_TEST(ActiveKid(keys, "sig") == sig1);
  BOOST_TEST(answer.at("rotated") == Json::array({enc1}));

  r = d.Post("/api/v1/keys/rotate", {{"purpose", "both"}});
  BOOST_REQUIRE(r.status == 200);
  keys = d.GetJson("/api/v1/keys");
  BOOST_TEST(ActiveKid(keys, "sig") != sig1);
  BOOST_TEST(ActiveKid(keys, "enc") != enc1);
  BOOST_TEST(Json::parse(r.body).at("rotated").size() == 2u);

  // A token of the first keys still opens, and new tokens use the new keys.
  Json old_answer = Json::parse(d.Decrypt(old_token).body);
  BOOST_TEST(old_answer.at("sig_kid") == sig0);
  BOOST_TEST(old_answer.at("enc_kid") == enc0);
  Json new_answer = Json::parse(d.Decrypt(d.Issue()).body);
  BOOST_TEST(new_answer.at("sig_kid") == ActiveKid(keys, "sig"));
  BOOST_TEST(new_answer.at("enc_kid") == ActiveKid(keys, "enc"));

  for (const Json& bad : {Json{{"purpose", "all"}}, Json{{"purpose", 1}}, Json::object(),
                          Json{{"purpose", "sig"}, {"force", true}}}) {
    BOOST_TEST_CONTEXT("body " << bad.dump()) {
      ExpectError(d.Post("/api/v1/keys/rotate", bad), 400, "bad_request");
    }
  }
  // Nothing moved on the refused requests.
  BOOST_TEST(d.GetJson("/api/v1/keys") == keys);
}

BOOST_AUTO_TEST_CASE(tokens_without_kid_have_canvas_headers_and_decrypt_across_a_rotation) {
  Daemon d("[tokens]\ninclude_kid = false\n");
  const Json keys = d.GetJson("/api/v1/keys");
  const std::string token = d.Issue();
  const std::string header_b64 = token.substr(0, token.find('.'));
  const std::string header = Base64UrlDecode(header_b64);
  BOOST_TEST(Json::parse(header) == Json({{"alg", "RSA-OAEP"}, {"enc", "A128CBC-HS256"}}), header);

  BOOST_REQUIRE(d.Post("/api/v1/keys/rotate", {{"purpose", "both"}}).status == 200);
  BOOST_REQUIRE(d.Post("/api/v1/keys/rotate", {{"purpose", "both"}}).status == 200);
  // No kid to go by: the daemon tries the keys that may still decrypt, newest first.
  HttpReply r = d.Decrypt(token);
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  Json opened = Json::parse(r.body);
  BOOST_TEST(opened.at("sig_kid") == ActiveKid(keys, "sig"));
  BOOST_TEST(opened.at("enc_kid") == ActiveKid(keys, "enc"));
}

BOOST_AUTO_TEST_CASE(imported_pem_becomes_the_active_encryption_key) {
  Daemon d;
  const std::string pem = GeneratePem(d.dir, 2048);
  HttpReply r =
      d.Post("/api/v1/keys/import", {{"purpose", "enc"}, {"pem", pem}, {"activate", true}});
  BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
  Json key = Json::parse(r.body);
  const std::string kid = key.at("kid");
  BOOST_TEST(key.at("purpose") == "enc");
  BOOST_TEST(key.at("origin") == "imported");
  BOOST_TEST(key.at("state") == "active");
  BOOST_TEST(key.at("alg") == "RSA-OAEP");
  BOOST_TEST(key.at("bits") == 2048);
  BOOST_TEST(r.body.find("PRIVATE") == std::string::npos);

  BOOST_TEST(d.GetJson("/api/v1/status").at("active_kids").at("enc") == kid);
  BOOST_TEST(ActiveKid(d.GetJson("/api/v1/keys"), "enc") == kid);
  BOOST_TEST(JwksHas(d.GetJson("/.well-known/jwks.json"), kid));
  Json opened = Json::parse(d.Decrypt(d.Issue()).body);
  BOOST_TEST(opened.at("enc_kid") == kid);
  // The same key again (for either purpose: one key, one use) is a conflict.
  ExpectError(d.Post("/api/v1/keys/import", {{"purpose", "enc"}, {"pem", pem}}), 409, "conflict",
              "already");
  ExpectError(d.Post("/api/v1/keys/import", {{"purpose", "sig"}, {"pem", pem}, {"alg", "RS256"}}),
              409, "conflict", "already");

  // Without activate: accepted for verifying, never used for new tokens.
  const std::string sig_pem = GeneratePem(d.dir, 3072);
  r = d.Post("/api/v1/keys/import", {{"purpose", "sig"}, {"pem", sig_pem}, {"alg", "PS256"}});
  BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
  Json sig = Json::parse(r.body);
  BOOST_TEST(sig.at("state") != "active");
  BOOST_TEST(sig.at("alg") == "PS256");
  BOOST_TEST(sig.at("bits") == 3072);
  BOOST_TEST(Json::parse(d.Decrypt(d.Issue()).body).at("sig_kid") != sig.at("kid"));
}

BOOST_AUTO_TEST_CASE(import_refuses_weak_or_malformed_keys) {
  const Daemon& d = SharedDaemon();
  Json keys = d.GetJson("/api/v1/keys");
  const std::string weak = GeneratePem(d.dir, 1024);
  ExpectError(
      d.Post("/api/v1/keys/import", {{"purpose", "enc"}, {"pem", weak}, {"activate", true}}), 400,
      "bad_request");
  ExpectError(d.Post("/api/v1/keys/import",
                     {{"purpose", "enc"}, {"pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n"}}),
              400, "bad_request");
  ExpectError(d.Post("/api/v1/keys/import", {{"purpose", "both"}, {"pem", weak}}), 400,
              "bad_request", "purpose");
  ExpectError(d.Post("/api/v1/keys/import", {{"purpose", "enc"}}), 400, "bad_request", "pem");
  ExpectError(d.Post("/api/v1/keys/import", {{"purpose", "sig"}, {"pem", weak}, {"alg", "HS256"}}),
              400, "bad_request", "alg");
  // Nothing was stored.
  BOOST_TEST(d.GetJson("/api/v1/keys") == keys);
}

BOOST_AUTO_TEST_CASE(revoking_the_active_key_puts_a_new_one_in_place_and_kills_its_tokens) {
  Daemon d;
  Json keys = d.GetJson("/api/v1/keys");
  const std::string sig0 = ActiveKid(keys, "sig"), enc0 = ActiveKid(keys, "enc");
  const std::string cached = d.Issue();
  const std::string uncached = d.Issue();
  BOOST_REQUIRE(d.Decrypt(cached).status == 200);
  BOOST_REQUIRE(d.Decrypt(cached).status == 200);  // now answered from the cache

  HttpReply r = d.Post("/api/v1/keys/" + sig0 + "/revoke", Json::object());
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  Json revoked = Json::parse(r.body);
  BOOST_TEST(revoked.at("kid") == sig0);
  BOOST_TEST(revoked.at("state") == "revoked");
  BOOST_TEST(IsRfc3339(revoked.at("revoked_at")));

  keys = d.GetJson("/api/v1/keys");
  const std::string sig1 = ActiveKid(keys, "sig");
  BOOST_TEST(sig1 != sig0);
  BOOST_TEST(ActiveKid(keys, "enc") == enc0);
  BOOST_TEST(!JwksHas(d.GetJson("/.well-known/jwks.json"), sig0));
  ExpectError(d.Decrypt(cached), 401, "invalid_token");
  ExpectError(d.Decrypt(uncached), 401, "invalid_token");
  BOOST_TEST(Json::parse(d.Decrypt(d.Issue()).body).at("sig_kid") == sig1);

  // The encryption key too, with an empty body this time.
  const std::string enc_cached = d.Issue();
  BOOST_REQUIRE(d.Decrypt(enc_cached).status == 200);
  r = HttpPost(d.socket, "/api/v1/keys/" + enc0 + "/revoke", "", "");
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  keys = d.GetJson("/api/v1/keys");
  BOOST_TEST(ActiveKid(keys, "enc") != enc0);
  ExpectError(d.Decrypt(enc_cached), 401, "invalid_token");

  ExpectError(d.Post("/api/v1/keys/no-such-kid/revoke", Json::object()), 404, "not_found");
  HttpReply healthz = d.Get("/healthz");
  BOOST_TEST(healthz.status == 200);
}

BOOST_AUTO_TEST_CASE(backup_is_an_sqlite_file) {
  const Daemon& d = SharedDaemon();
  HttpReply r = d.Get("/api/v1/backup");
  BOOST_REQUIRE(r.status == 200);
  BOOST_TEST(r.headers.at("content-type") == "application/vnd.sqlite3");
  BOOST_TEST(r.body.size() > 4096u);
  BOOST_TEST(r.body.compare(0, 16, std::string("SQLite format 3\0", 16)) == 0);
  // No temporary snapshot is left beside the store.
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(d.dir / "var")) {
    BOOST_TEST(e.path().filename().string().find("backup") == std::string::npos, e.path());
    ++files;
  }
  BOOST_TEST(files > 0u);
}

// --- status, healthz, metrics, routing -------------------------------------------------------

BOOST_AUTO_TEST_CASE(status_reports_keys_store_cache_and_load) {
  const Daemon& d = SharedDaemon();
  Json keys = d.GetJson("/api/v1/keys");
  Json s = d.GetJson("/api/v1/status");
  for (const char* field : {"version", "uptime_seconds", "store", "active_kids", "next_rotation",
                            "algorithms", "cache", "secure_heap", "load", "warnings"}) {
    BOOST_TEST(s.contains(field), "no " << field);
  }
  BOOST_TEST(s.at("version").is_string());
  BOOST_TEST(s.at("uptime_seconds").get<std::int64_t>() >= 0);
  BOOST_TEST(s.at("store").at("healthy") == true);
  BOOST_TEST(s.at("active_kids").at("sig") == ActiveKid(keys, "sig"));
  BOOST_TEST(s.at("active_kids").at("enc") == ActiveKid(keys, "enc"));
  BOOST_TEST(IsRfc3339(s.at("next_rotation").at("sig")));
  BOOST_TEST(IsRfc3339(s.at("next_rotation").at("enc")));
  BOOST_TEST(s.at("cache").at("capacity") == 100000);
  BOOST_TEST(s.at("load").at("connections").get<int>() >= 1);
  // The daemon's private keys live on OpenSSL's 1 MiB secure heap (daemon/hardening.cc).
  BOOST_TEST(s.at("secure_heap").at("size_bytes") == 1 << 20);
  BOOST_TEST(s.at("secure_heap").at("used_bytes").get<std::size_t>() > 0u);
  bool rsa1_5 = false;
  for (const Json& w : s.at("warnings"))
    rsa1_5 |= w.get<std::string>().find("RSA1_5") != std::string::npos;
  BOOST_TEST(!rsa1_5);

  HttpReply h = d.Get("/healthz");
  BOOST_TEST(h.status == 200);
  BOOST_TEST(h.body == "ok\n");
}

BOOST_AUTO_TEST_CASE(status_warns_while_rsa1_5_is_in_use) {
  Daemon d("[rotation.enc]\nalg = \"RSA1_5\"\n");
  Json s = d.GetJson("/api/v1/status");
  BOOST_TEST(s.at("algorithms").at("enc") == "RSA1_5");
  bool warned = false;
  for (const Json& w : s.at("warnings"))
    warned |= w.get<std::string>().find("RSA1_5") != std::string::npos;
  BOOST_TEST(warned, s.at("warnings").dump());
  // And it still works, both ways.
  Json opened = Json::parse(d.Decrypt(d.Issue()).body);
  BOOST_TEST(opened.at("claims").at("sub") == "user-1");
}

BOOST_AUTO_TEST_CASE(metrics_count_issues_and_cached_decrypts) {
  const Daemon& d = SharedDaemon();
  HttpReply m0 = d.Get("/metrics");
  BOOST_REQUIRE(m0.status == 200);
  BOOST_TEST(m0.headers.at("content-type").find("text/plain") == 0u);
  const std::string t0 = m0.body;
  const std::string token = d.Issue();
  d.Issue();
  BOOST_REQUIRE(d.Decrypt(token).status == 200);
  BOOST_REQUIRE(d.Decrypt(token).status == 200);
  BOOST_REQUIRE(d.Decrypt(token).status == 200);
  ExpectError(d.Decrypt("garbage"), 401, "invalid_token");
  // A 400, a 404 and a kid's path: none is an overload, the last two are timed under the route
  // that took them (or none), never under their own path.
  ExpectError(HttpPost(d.socket, kIssuePath, "{"), 400, "bad_request");
  ExpectError(d.Get("/api/v1/nothing"), 404, "not_found");
  ExpectError(d.Get("/api/v1/keys/no-such-kid"), 404, "not_found");
  const std::string t1 = d.Get("/metrics").body;
  auto delta = [&](const std::string& series) {
    return MetricValue(t1, series) - MetricValue(t0, series);
  };
  BOOST_TEST(delta("instaccess_tokens_issued_total") == 2u);
  BOOST_TEST(delta("instaccess_tokens_decrypted_total{result=\"ok\"}") == 1u);
  BOOST_TEST(delta("instaccess_tokens_decrypted_total{result=\"cached\"}") == 2u);
  BOOST_TEST(delta("instaccess_tokens_decrypted_total{result=\"invalid_token\"}") == 1u);
  BOOST_TEST(delta("instaccess_cache_lookups_total{result=\"hit\"}") == 2u);
  BOOST_TEST(delta("instaccess_cache_entries") == 1u);
  const PromExposition p0 = ParsePrometheusText(t0, "instaccess_");
  const PromExposition p1 = ParsePrometheusText(t1, "instaccess_");
  BOOST_TEST(p1.problems.empty(), Describe(p1.problems));
  auto requests = [&](const std::string& endpoint) {
    const std::string count = "instaccess_request_duration_seconds_count";
    return p1.Value(count, {{"endpoint", endpoint}}) - p0.Value(count, {{"endpoint", endpoint}});
  };
  BOOST_TEST(requests(kIssuePath) == 3);  // two issued, one 400
  BOOST_TEST(requests(kDecryptPath) == 4);
  BOOST_TEST(requests("/api/v1/keys/{kid}") == 1);
  BOOST_TEST(requests("unmatched") == 1);
  BOOST_TEST(t1.find("no-such-kid") == std::string::npos);
  BOOST_TEST(t1.find("/api/v1/nothing") == std::string::npos);
  for (const char* reason : {"connections", "queue"}) {
    BOOST_TEST(p1.Value("instaccess_overloaded_total", {{"reason", reason}}) == 0.0, reason);
  }
  BOOST_TEST(t1.find("instaccess_active_key_age_seconds{purpose=\"sig\"}") != std::string::npos);
  BOOST_TEST(MetricValue(t1, "instaccess_secure_heap_size_bytes") == 1u << 20);
  BOOST_TEST(MetricValue(t1, "instaccess_secure_heap_used_bytes") > 0u);
  BOOST_TEST(d.GetJson("/api/v1/status").at("load").at("tokens_issued") ==
             MetricValue(t1, "instaccess_tokens_issued_total"));
}

// One worker thread, so 2 * kRsaCpuSampleEvery operations of a kind are that many in a row on
// one thread: exactly two of them are timed (jose/rsa_cpu.h). Decryption's private operation
// never is.
BOOST_AUTO_TEST_CASE(metrics_report_the_cpu_of_sampled_rsa_operations) {
  Daemon d("[daemon]\nworkers = 1\n");
  const std::string t0 = d.Get("/metrics").body;
  std::vector<std::string> tokens;
  for (std::uint32_t i = 0; i < 2 * jose::kRsaCpuSampleEvery; ++i) tokens.push_back(d.Issue());
  for (const std::string& token : tokens) BOOST_REQUIRE(d.Decrypt(token).status == 200);
  const std::string t1 = d.Get("/metrics").body;
  BOOST_TEST(t1.find("# TYPE instaccess_rsa_operation_cpu_seconds summary") != std::string::npos);
  for (const char* op : {"sign", "verify", "encrypt"}) {
    const std::string count =
        std::string("instaccess_rsa_operation_cpu_seconds_count{op=\"") + op + "\"}";
    const std::string sum =
        std::string("instaccess_rsa_operation_cpu_seconds_sum{op=\"") + op + "\"}";
    BOOST_TEST(MetricValue(t1, count) - MetricValue(t0, count) == 2u, op);
    BOOST_TEST(MetricSeconds(t1, sum) > MetricSeconds(t0, sum), op);
  }
  BOOST_TEST(t1.find("op=\"decrypt\"") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_path_is_404_and_wrong_method_is_405) {
  const Daemon& d = SharedDaemon();
  ExpectError(d.Get("/api/v1/nothing"), 404, "not_found");
  ExpectError(d.Get("/"), 404, "not_found");
  ExpectError(d.Post("/api/v2/inst_access_tokens", IssueBody()), 404, "not_found");
  ExpectError(d.Get(kIssuePath), 405, "method_not_allowed");
  ExpectError(d.Get(kDecryptPath), 405, "method_not_allowed");
  ExpectError(d.Post("/api/v1/keys", Json::object()), 405, "method_not_allowed");
  ExpectError(d.Post("/.well-known/jwks.json", Json::object()), 405, "method_not_allowed");
  ExpectError(UnixHttpConnection(d.socket).Request("DELETE", "/api/v1/keys"), 405,
              "method_not_allowed");
  ExpectError(d.Get("/api/v1/keys/some-kid/revoke"), 405, "method_not_allowed");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing::api
