// The nested token API: issue/open, claim checks, the uniform error, and the attacks of issue 4.
#include "jose/token.h"

#include <openssl/evp.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <regex>
#include <set>
#include <thread>

#include "jose/base64url.h"
#include "jose/jwe.h"
#include "jose/jws.h"
#include "test_util.h"

namespace instaccess::jose {
namespace {

using testing::Keys;

constexpr std::int64_t kNow = 1'700'000'000;

nlohmann::json Claims(std::int64_t now = kNow, std::int64_t ttl = 3600,
                      std::string_view issuer = kDefaultIssuer) {
  return BuildStandardClaims({{"sub", "user-1"}, {"acct", "acct-1"}, {"canvas_shard_id", 7}},
                             issuer, now, ttl)
      .value();
}

KeyCandidates Candidates() {
  // Newest first, as the keystore gives them; the keys tokens are made with are not first.
  static const std::vector<RsaKey> sig = {Keys().rs256_other, Keys().rs256, Keys().ps256};
  static const std::vector<RsaKey> enc = {Keys().oaep_other, Keys().oaep, Keys().oaep256,
                                          Keys().rsa1_5};
  // Each signing key signs for the default issuer, tokens of up to an hour.
  static const std::vector<SignerBounds> bounds(sig.size(),
                                                SignerBounds{{std::string(kDefaultIssuer)}, 3600});
  return {sig, enc, bounds};
}

std::string Issue(const IssueOptions& o = {}, const nlohmann::json& claims = Claims(),
                  const RsaKey& sig = Keys().rs256, const RsaKey& enc = Keys().oaep) {
  auto t = IssueToken(claims, sig, enc, o);
  BOOST_REQUIRE_MESSAGE(t.has_value(), t.status().ToString());
  return *t;
}

// Checks the public error is exactly invalid_token, and (for the test's honesty) that the internal
// reason is the one the test means to provoke.
void ExpectInvalid(std::string_view token, std::string_view reason = "",
                   const ClaimPolicy& policy = {}, std::int64_t now = kNow,
                   const KeyCandidates& keys = Candidates()) {
  std::string detail;
  auto r = OpenToken(token, keys, policy, now, &detail);
  BOOST_REQUIRE_MESSAGE(!r.has_value(), "token was accepted");
  BOOST_CHECK(r.error().code() == Code::kUnauthenticated);
  BOOST_CHECK_EQUAL(r.error().message(), "invalid_token");
  BOOST_CHECK(TokenErrorOf(r.error()) == TokenError::kInvalidToken);
  BOOST_CHECK_MESSAGE(detail.find(reason) != std::string::npos,
                      "detail \"" << detail << "\" lacks \"" << reason << "\"");
}

OpenedToken ExpectOpens(std::string_view token, const ClaimPolicy& policy = {},
                        std::int64_t now = kNow, const KeyCandidates& keys = Candidates()) {
  std::string detail;
  auto r = OpenToken(token, keys, policy, now, &detail);
  BOOST_REQUIRE_MESSAGE(r.has_value(), "rejected: " << detail);
  return *r;
}

std::string Jws(std::string_view header_json, std::string_view payload, std::string_view sig) {
  return Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload) + "." + Base64UrlEncode(sig);
}

std::string Wrap(std::string_view jws, const nlohmann::json& header = nlohmann::json::object(),
                 const RsaKey& key = Keys().oaep) {
  auto t = EncryptJwe(key, ContentEnc::kA128CbcHs256, header, jws);
  BOOST_REQUIRE(t.has_value());
  return *t;
}

std::string SignedClaims(const nlohmann::json& claims, const RsaKey& key = Keys().rs256) {
  auto jws = SignJws(key, {{"typ", "JWT"}}, claims.dump());
  BOOST_REQUIRE(jws.has_value());
  return *jws;
}

BOOST_AUTO_TEST_SUITE(token)

BOOST_AUTO_TEST_CASE(standard_claims_are_set_by_the_helper) {
  auto c = BuildStandardClaims({{"sub", "s"}, {"acct", "a"}}, "iss-x", 1000, 3600);
  BOOST_REQUIRE(c.has_value());
  BOOST_CHECK_EQUAL((*c)["iss"], "iss-x");
  BOOST_CHECK_EQUAL((*c)["iat"], 1000);
  BOOST_CHECK_EQUAL((*c)["exp"], 4600);
  BOOST_CHECK_EQUAL((*c)["sub"], "s");
  BOOST_CHECK(!c->contains("nbf"));
  static const std::regex kUuid4(
      "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string jti = RandomUuidV4().value();
    BOOST_CHECK_MESSAGE(std::regex_match(jti, kUuid4), jti);
    seen.insert(jti);
  }
  BOOST_CHECK_EQUAL(seen.size(), 200u);
  BOOST_CHECK((*c)["jti"] !=
              (*BuildStandardClaims(nlohmann::json::object(), "iss-x", 1000, 3600))["jti"]);
}

BOOST_AUTO_TEST_CASE(caller_may_not_set_reserved_claims) {
  for (const char* r : {"iss", "iat", "exp", "nbf", "jti"}) {
    auto c = BuildStandardClaims({{"sub", "s"}, {r, 1}}, kDefaultIssuer, kNow, 60);
    BOOST_REQUIRE_MESSAGE(!c.has_value(), r);
    BOOST_CHECK(c.error().code() == Code::kInvalidArgument);
  }
  BOOST_CHECK(!BuildStandardClaims(nlohmann::json::array(), kDefaultIssuer, kNow, 60).has_value());
  BOOST_CHECK(!BuildStandardClaims(nlohmann::json(), kDefaultIssuer, kNow, 60).has_value());
  BOOST_CHECK(!BuildStandardClaims(nlohmann::json::object(), kDefaultIssuer, kNow, 0).has_value());
  BOOST_CHECK(!BuildStandardClaims(nlohmann::json::object(), kDefaultIssuer, kNow, -5).has_value());
}

BOOST_AUTO_TEST_CASE(issued_token_opens_with_its_kids_and_claims) {
  std::string t = Issue();
  BOOST_CHECK_EQUAL(CountCompactParts(t), 5u);
  OpenedToken o = ExpectOpens(t);
  BOOST_CHECK_EQUAL(o.claims["sub"], "user-1");
  BOOST_CHECK_EQUAL(o.claims["canvas_shard_id"], 7);
  BOOST_CHECK_EQUAL(o.sig_kid, Keys().rs256.kid());
  BOOST_CHECK_EQUAL(o.enc_kid, Keys().oaep.kid());
  BOOST_CHECK(o.encrypted);
  BOOST_CHECK_EQUAL(o.expires_at, kNow + 3600);
  // The claims as written are the same JSON as the parsed ones.
  BOOST_CHECK(nlohmann::json::parse(o.claims_json) == o.claims);
  // Our default shape: kid in both headers and cty on the JWE.
  auto jwe_header = nlohmann::json::parse(*Base64UrlDecode(t.substr(0, t.find('.'))));
  BOOST_CHECK_EQUAL(jwe_header["kid"], Keys().oaep.kid());
  BOOST_CHECK_EQUAL(jwe_header["cty"], "JWT");
  BOOST_CHECK_EQUAL(jwe_header["alg"], "RSA-OAEP");
  BOOST_CHECK_EQUAL(jwe_header["enc"], "A128CBC-HS256");
  // Every call gives a different token.
  BOOST_CHECK(Issue() != t);
}

BOOST_AUTO_TEST_CASE(canvas_shape_has_no_kid_and_no_cty_and_opens_by_trying_keys) {
  for (const RsaKey* enc : {&Keys().oaep, &Keys().rsa1_5}) {
    std::string t = Issue(IssueOptions::CanvasShape(), Claims(), Keys().rs256, *enc);
    auto jwe_header = nlohmann::json::parse(*Base64UrlDecode(t.substr(0, t.find('.'))));
    BOOST_CHECK_EQUAL(jwe_header,
                      (nlohmann::json{{"alg", AlgName(enc->alg())}, {"enc", "A128CBC-HS256"}}));
    std::vector<RsaKey> enc_keys{*enc};
    auto jws = DecryptJwe(t, enc_keys);
    BOOST_REQUIRE(jws.has_value());
    auto jws_header =
        nlohmann::json::parse(*Base64UrlDecode(jws->plaintext.substr(0, jws->plaintext.find('.'))));
    BOOST_CHECK_EQUAL(jws_header, (nlohmann::json{{"alg", "RS256"}, {"typ", "JWT"}}));
    OpenedToken o = ExpectOpens(t);
    BOOST_CHECK_EQUAL(o.sig_kid, Keys().rs256.kid());
    BOOST_CHECK_EQUAL(o.enc_kid, enc->kid());
  }
}

BOOST_AUTO_TEST_CASE(every_alg_combination_opens) {
  for (const RsaKey* sig : {&Keys().rs256, &Keys().ps256}) {
    for (const RsaKey* enc : {&Keys().oaep, &Keys().oaep256, &Keys().rsa1_5}) {
      for (ContentEnc ce : {ContentEnc::kA128CbcHs256, ContentEnc::kA256Gcm}) {
        for (bool kid : {true, false}) {
          IssueOptions o;
          o.content_enc = ce;
          o.include_kid = kid;
          OpenedToken opened = ExpectOpens(Issue(o, Claims(), *sig, *enc));
          BOOST_CHECK_EQUAL(opened.enc_kid, enc->kid());
          BOOST_CHECK_EQUAL(opened.sig_kid, sig->kid());
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(error_names_are_the_http_codes) {
  BOOST_CHECK_EQUAL(TokenErrorName(TokenError::kInvalidToken), "invalid_token");
  BOOST_CHECK_EQUAL(TokenErrorName(TokenError::kTokenExpired), "token_expired");
  BOOST_CHECK_EQUAL(TokenErrorName(TokenError::kTokenNotYetValid), "token_not_yet_valid");
  BOOST_CHECK(!TokenErrorOf(Status::Ok()).has_value());
  BOOST_CHECK(!TokenErrorOf(InvalidArgument("invalid_token")).has_value());
}

// --- attacks -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(rejects_alg_none) {
  std::string none = Jws(R"({"alg":"none","typ":"JWT"})", Claims().dump(), "");
  ExpectInvalid(Wrap(none), "algorithm not accepted");
  ClaimPolicy open_policy;
  open_policy.accept_unencrypted = true;
  ExpectInvalid(none, "algorithm not accepted", open_policy);
  // Also with a signature part present, and spelled differently.
  ExpectInvalid(Wrap(Jws(R"({"alg":"None"})", Claims().dump(), "x")), "algorithm not accepted");
}

BOOST_AUTO_TEST_CASE(rejects_hs256_keyed_with_the_public_key) {
  const RsaKey& key = Keys().rs256;
  std::string pem = key.PublicPem();
  auto der = key.PublicSpkiDer();
  std::string header_b64 = Base64UrlEncode(std::string_view(R"({"alg":"HS256","typ":"JWT"})"));
  std::string input = header_b64 + "." + Base64UrlEncode(Claims().dump());
  for (std::string secret : {pem, std::string(der.begin(), der.end())}) {
    unsigned char mac[32];
    std::size_t mac_len = 0;
    BOOST_REQUIRE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(),
                            secret.size(), reinterpret_cast<const unsigned char*>(input.data()),
                            input.size(), mac, sizeof mac, &mac_len) != nullptr);
    std::string forged = input + "." + Base64UrlEncode(std::span<const std::uint8_t>(mac, mac_len));
    ExpectInvalid(Wrap(forged), "algorithm not accepted");
    ClaimPolicy open_policy;
    open_policy.accept_unencrypted = true;
    ExpectInvalid(forged, "algorithm not accepted", open_policy);
  }
}

BOOST_AUTO_TEST_CASE(rejects_kid_naming_an_unknown_key) {
  ExpectInvalid(Issue({}, Claims(), Keys().rs256.WithKid("unknown-sig")), "JWS kid");
  ExpectInvalid(Issue({}, Claims(), Keys().rs256, Keys().oaep.WithKid("unknown-enc")), "JWE kid");
  // A kid that exists, but for a key other than the one that made the token: only that key is
  // tried, so the right key (also a candidate) is never reached.
  ExpectInvalid(Issue({}, Claims(), Keys().rs256.WithKid(Keys().rs256_other.kid())),
                "does not verify");
}

BOOST_AUTO_TEST_CASE(rejects_every_single_bit_flip) {
  for (const IssueOptions& o : {IssueOptions{}, IssueOptions::CanvasShape()}) {
    const std::string t = Issue(o);
    ExpectOpens(t);
    for (std::size_t i = 0; i < t.size(); ++i) {
      std::string bad = t;
      bad[i] = static_cast<char>(bad[i] ^ (1 << (i % 7)));
      BOOST_TEST_CONTEXT("byte " << i) { ExpectInvalid(bad); }
    }
  }
  // Inside the encryption layer too: a flipped JWS, properly re-encrypted.
  const std::string jws = SignedClaims(Claims());
  ExpectOpens(Wrap(jws));
  for (std::size_t i = 0; i < jws.size(); ++i) {
    std::string bad = jws;
    bad[i] = static_cast<char>(bad[i] ^ (1 << (i % 7)));
    BOOST_TEST_CONTEXT("JWS byte " << i) { ExpectInvalid(Wrap(bad)); }
  }
}

BOOST_AUTO_TEST_CASE(rejects_every_truncation) {
  const std::string t = Issue(IssueOptions::CanvasShape());
  for (std::size_t n = 0; n < t.size(); ++n) {
    BOOST_TEST_CONTEXT("length " << n) { ExpectInvalid(std::string_view(t).substr(0, n)); }
  }
  // Dropping a whole part, or one character at the front of each part.
  std::string no_tag = t.substr(0, t.rfind('.'));
  ExpectInvalid(no_tag, "not a compact");
  for (std::size_t dot = t.find('.'); dot != std::string::npos; dot = t.find('.', dot + 1)) {
    ExpectInvalid(t.substr(0, dot + 1) + t.substr(dot + 2));
  }
}

BOOST_AUTO_TEST_CASE(rejects_oversized_tokens) {
  nlohmann::json big = Claims();
  big["pad"] = std::string(8000, 'x');
  // Just under the limit: fine.
  std::string ok = Issue({}, big);
  BOOST_CHECK_LE(ok.size(), kMaxTokenSize);
  ExpectOpens(ok);
  big["pad"] = std::string(9500, 'x');
  auto refused = IssueToken(big, Keys().rs256, Keys().oaep, {});
  BOOST_REQUIRE(!refused.has_value());
  BOOST_CHECK(refused.error().code() == Code::kInvalidArgument);
  // Made by hand past the limit: refused before any RSA work.
  std::string huge = Wrap(SignedClaims(big), {{"kid", Keys().oaep.kid()}});
  BOOST_REQUIRE_GT(huge.size(), kMaxTokenSize);
  ExpectInvalid(huge, "size limit");
  ExpectInvalid(ok + std::string(kMaxTokenSize, 'A'), "size limit");
}

BOOST_AUTO_TEST_CASE(rejects_bad_base64_in_every_part) {
  const std::string t = Issue();
  std::vector<std::size_t> starts{0};
  for (std::size_t d = t.find('.'); d != std::string::npos; d = t.find('.', d + 1)) {
    starts.push_back(d + 1);
  }
  for (std::size_t p = 0; p < starts.size(); ++p) {
    std::size_t end = p + 1 < starts.size() ? starts[p + 1] - 1 : t.size();
    BOOST_TEST_CONTEXT("part " << p) {
      ExpectInvalid(t.substr(0, end) + "=" + t.substr(end));   // padding
      ExpectInvalid(t.substr(0, end) + "==" + t.substr(end));  // padding
      std::string plus = t;
      plus[starts[p] + 1] = '+';  // standard alphabet
      ExpectInvalid(plus);
      std::string slash = t;
      slash[starts[p] + 1] = '/';
      ExpectInvalid(slash);
      ExpectInvalid(t.substr(0, starts[p] + 2) + " " + t.substr(starts[p] + 2));  // whitespace
      ExpectInvalid(t.substr(0, starts[p] + 2) + "\n" + t.substr(starts[p] + 2));
    }
  }
  ExpectInvalid(t.substr(0, starts[0] + 4) + "\xc3\xa9" + t.substr(starts[0] + 4));
}

BOOST_AUTO_TEST_CASE(rejects_wrong_cty) {
  std::string jws = SignedClaims(Claims());
  ExpectOpens(Wrap(jws, {{"cty", "JWT"}}));
  for (const char* cty : {"JSON", "jwt", "application/json", ""}) {
    BOOST_TEST_CONTEXT(cty) { ExpectInvalid(Wrap(jws, {{"cty", cty}}), "cty"); }
  }
  // A JWE whose plaintext is the bare claims (no nested JWS) is not a token either.
  ExpectInvalid(Wrap(Claims().dump(), {{"cty", "JWT"}}), "parts");
  ExpectInvalid(Wrap(Claims().dump()), "parts");
}

BOOST_AUTO_TEST_CASE(rejects_forbidden_header_members_in_both_layers) {
  std::string jws = SignedClaims(Claims());
  for (const char* m : {"zip", "crit", "jku", "jwk", "x5u", "x5c"}) {
    BOOST_TEST_CONTEXT(m) {
      ExpectInvalid(Wrap(jws, {{m, "DEF"}}), "forbidden");
      auto inner = SignJws(Keys().rs256, {{"typ", "JWT"}, {m, "x"}}, Claims().dump());
      ExpectInvalid(Wrap(*inner), "forbidden");
    }
  }
}

BOOST_AUTO_TEST_CASE(expired_only_after_the_signature_verified) {
  std::string t = Issue({}, Claims(kNow, 3600));
  ExpectOpens(t, {}, kNow + 3600 + 59);  // within the 60 s skew
  auto r = OpenToken(t, Candidates(), {}, kNow + 3600 + 60);
  BOOST_REQUIRE(!r.has_value());
  BOOST_CHECK(r.error().code() == Code::kUnauthenticated);
  BOOST_CHECK_EQUAL(r.error().message(), "token_expired");
  BOOST_CHECK(TokenErrorOf(r.error()) == TokenError::kTokenExpired);
  ClaimPolicy no_skew;
  no_skew.clock_skew_seconds = 0;
  BOOST_CHECK_EQUAL(OpenToken(t, Candidates(), no_skew, kNow + 3600).error().message(),
                    "token_expired");
  // Signed by a key that is not a candidate: expired or not, it is just invalid.
  KeyCandidates keys = Candidates();
  keys.sig = {&Keys().rs256_other, 1};
  ExpectInvalid(t, "JWS kid names no known key", {}, kNow + 7200, keys);
  // Without exp there is no expiry at all: refused.
  nlohmann::json no_exp = Claims();
  no_exp.erase("exp");
  ExpectInvalid(Wrap(SignedClaims(no_exp)), "exp");
  nlohmann::json str_exp = Claims();
  str_exp["exp"] = std::to_string(kNow + 100);
  ExpectInvalid(Wrap(SignedClaims(str_exp)), "exp");
}

BOOST_AUTO_TEST_CASE(issued_in_the_future_is_not_yet_valid) {
  std::string t = Issue({}, Claims(kNow + 61));
  auto r = OpenToken(t, Candidates(), {}, kNow);
  BOOST_REQUIRE(!r.has_value());
  BOOST_CHECK_EQUAL(r.error().message(), "token_not_yet_valid");
  BOOST_CHECK(TokenErrorOf(r.error()) == TokenError::kTokenNotYetValid);
  ExpectOpens(Issue({}, Claims(kNow + 60)));  // exactly at the skew
  nlohmann::json nbf = Claims();
  nbf["nbf"] = kNow + 120;
  BOOST_CHECK_EQUAL(OpenToken(Wrap(SignedClaims(nbf)), Candidates(), {}, kNow).error().message(),
                    "token_not_yet_valid");
  // Forged (unverifiable) and in the future: invalid, not "not yet valid".
  KeyCandidates keys = Candidates();
  keys.sig = {&Keys().rs256_other, 1};
  ExpectInvalid(t, "JWS kid names no known key", {}, kNow, keys);
}

// Candidates() whose signing keys each vouch for `issuers` and tokens of up to `max_lifetime`.
KeyCandidates BoundCandidates(std::vector<std::string> issuers, std::int64_t max_lifetime = 3600) {
  static std::vector<SignerBounds> bounds;
  KeyCandidates keys = Candidates();
  bounds.assign(keys.sig.size(), SignerBounds{std::move(issuers), max_lifetime});
  keys.sig_bounds = bounds;
  return keys;
}

BOOST_AUTO_TEST_CASE(rejects_wrong_issuer) {
  std::string t = Issue({}, Claims(kNow, 3600, "someone-else"));
  ExpectInvalid(t, "issuer");
  ClaimPolicy p;
  p.accepted_issuers = {"x", "someone-else"};
  ExpectOpens(t, p, kNow, BoundCandidates({"someone-else"}));
  p.accepted_issuers = {};
  ExpectInvalid(t, "issuer", p);
  nlohmann::json num_iss = Claims();
  num_iss["iss"] = 5;
  ExpectInvalid(Wrap(SignedClaims(num_iss)), "iss");
}

BOOST_AUTO_TEST_CASE(a_key_signs_only_for_its_issuers) {
  // Accepted by policy, but the key that signed it is bound to a partner's issuer only: a
  // partner's key cannot mint tokens in our name.
  std::string ours = Issue({}, Claims(kNow, 600, kDefaultIssuer));
  ExpectInvalid(ours, "may not sign for this issuer", {}, kNow, BoundCandidates({"partner"}));
  ExpectOpens(ours, {}, kNow, BoundCandidates({"partner", std::string(kDefaultIssuer)}));
  // The binding is checked before expiry: an expired token of the wrong signer is invalid.
  ExpectInvalid(ours, "may not sign for this issuer", {}, kNow + 7200,
                BoundCandidates({"partner"}));
  // No bounds given for the keys at all: nothing is vouched for.
  KeyCandidates unbound = Candidates();
  unbound.sig_bounds = {};
  ExpectInvalid(ours, "no bounds", {}, kNow, unbound);
}

BOOST_AUTO_TEST_CASE(lifetime_is_bounded_by_the_signing_key) {
  // exp - iat may be the key's max_lifetime plus the skew, no more.
  ExpectOpens(Issue({}, Claims(kNow, 3600 + 60)), {}, kNow,
              BoundCandidates({std::string(kDefaultIssuer)}));
  ExpectInvalid(Issue({}, Claims(kNow, 3600 + 61)), "max_lifetime", {}, kNow,
                BoundCandidates({std::string(kDefaultIssuer)}));
  ExpectOpens(Issue({}, Claims(kNow, 86400)), {}, kNow,
              BoundCandidates({std::string(kDefaultIssuer)}, 86400));
  // iat is required.
  nlohmann::json no_iat = Claims();
  no_iat.erase("iat");
  ExpectInvalid(Wrap(SignedClaims(no_iat)), "iat missing");
  nlohmann::json str_iat = Claims();
  str_iat["iat"] = "yesterday";
  ExpectInvalid(Wrap(SignedClaims(str_iat)), "iat");
}

BOOST_AUTO_TEST_CASE(an_answer_is_kept_no_longer_than_the_key_vouches) {
  // exp + skew for a token well within its key's lifetime...
  OpenedToken short_lived = ExpectOpens(Issue({}, Claims(kNow, 600)));
  BOOST_TEST(short_lived.expires_at == kNow + 600);
  BOOST_TEST(short_lived.keep_until == kNow + 600 + 60);
  // ...but never past iat + max_lifetime, even when exp (within the skew) is later.
  OpenedToken at_limit = ExpectOpens(Issue({}, Claims(kNow, 3600 + 30)));
  BOOST_TEST(at_limit.keep_until == kNow + 3600);
}

BOOST_AUTO_TEST_CASE(a_token_without_kid_tries_only_the_first_keys) {
  // Canvas's shape (no kid), encrypted to the second decryption candidate.
  std::string t = Issue(IssueOptions::CanvasShape(), Claims(), Keys().rs256, Keys().oaep);
  KeyCandidates keys = Candidates();
  keys.enc_without_kid = 2;
  ExpectOpens(t, {}, kNow, keys);
  keys.enc_without_kid = 1;
  ExpectInvalid(t, "does not decrypt", {}, kNow, keys);
  // Naming the key by kid reaches it wherever it is.
  ExpectOpens(Issue({}, Claims(), Keys().rs256, Keys().oaep), {}, kNow, keys);
}

BOOST_AUTO_TEST_CASE(rejects_missing_required_claims) {
  nlohmann::json c = Claims();
  c.erase("acct");
  ExpectInvalid(Issue({}, c), "missing acct");
  c["acct"] = nullptr;
  ExpectInvalid(Issue({}, c), "missing acct");
  ClaimPolicy p;
  p.required_claims = {"sub"};
  ExpectOpens(Issue({}, c), p);
}

BOOST_AUTO_TEST_CASE(rejects_duplicate_claims_and_non_object_payloads) {
  std::string dup = R"({"iss":"instructure:inst_access","sub":"a","sub":"b","acct":"x","exp":)" +
                    std::to_string(kNow + 100) + "}";
  auto jws = SignJws(Keys().rs256, {{"typ", "JWT"}}, dup);
  ExpectInvalid(Wrap(*jws), "duplicate");
  auto arr = SignJws(Keys().rs256, {{"typ", "JWT"}}, "[1,2]");
  ExpectInvalid(Wrap(*arr), "claims");
}

BOOST_AUTO_TEST_CASE(bare_jws_only_when_the_policy_accepts_it) {
  IssueOptions o;
  o.encrypt = false;
  std::string t = Issue(o);
  BOOST_CHECK_EQUAL(CountCompactParts(t), 3u);
  ExpectInvalid(t, "unencrypted");
  ClaimPolicy p;
  p.accept_unencrypted = true;
  OpenedToken opened = ExpectOpens(t, p);
  BOOST_CHECK(!opened.encrypted);
  BOOST_CHECK(opened.enc_kid.empty());
  BOOST_CHECK_EQUAL(opened.sig_kid, Keys().rs256.kid());
}

BOOST_AUTO_TEST_CASE(rsa1_5_token_failures_are_all_invalid_token) {
  // The token-level view of jwe_jws/rsa1_5_failures_are_indistinguishable: a forged encrypted key
  // and a forged tag give the same answer.
  std::string t = Issue(IssueOptions::CanvasShape(), Claims(), Keys().rs256, Keys().rsa1_5);
  ExpectOpens(t);
  std::size_t ek_start = t.find('.') + 1;
  std::string bad_key = t;
  bad_key[ek_start + 10] = bad_key[ek_start + 10] == 'A' ? 'B' : 'A';
  std::string bad_tag = t;
  bad_tag[bad_tag.size() - 3] = bad_tag[bad_tag.size() - 3] == 'A' ? 'B' : 'A';
  std::string d1, d2;
  auto r1 = OpenToken(bad_key, Candidates(), {}, kNow, &d1);
  auto r2 = OpenToken(bad_tag, Candidates(), {}, kNow, &d2);
  BOOST_REQUIRE(!r1.has_value());
  BOOST_REQUIRE(!r2.has_value());
  BOOST_CHECK_EQUAL(r1.error().message(), r2.error().message());
  BOOST_CHECK_EQUAL(d1, d2);  // even the internal reason is the same
}

BOOST_AUTO_TEST_CASE(many_threads_issue_and_open_at_once) {
  constexpr int kThreads = 4;
  constexpr int kEach = 15;
  std::atomic<int> opened{0}, failed{0};
  const KeyCandidates keys = Candidates();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        IssueOptions o = (i % 2 == 0) ? IssueOptions{} : IssueOptions::CanvasShape();
        o.content_enc = (i % 3 == 0) ? ContentEnc::kA256Gcm : ContentEnc::kA128CbcHs256;
        const RsaKey& enc = (i % 4 == 0) ? Keys().rsa1_5 : Keys().oaep;
        std::string sub = "t" + std::to_string(t) + "-" + std::to_string(i);
        auto claims = BuildStandardClaims({{"sub", sub}, {"acct", "a"}}, kDefaultIssuer, kNow, 60);
        auto tok = claims ? IssueToken(*claims, Keys().ps256, enc, o) : claims.error();
        auto r = tok ? OpenToken(*tok, keys, {}, kNow) : tok.error();
        if (r && r->claims["sub"] == sub && r->enc_kid == enc.kid()) {
          ++opened;
        } else {
          ++failed;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  BOOST_CHECK_EQUAL(failed.load(), 0);
  BOOST_CHECK_EQUAL(opened.load(), kThreads * kEach);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::jose
