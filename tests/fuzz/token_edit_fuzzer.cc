// Structure-aware libFuzzer target over OpenToken: an input is an edit of one part of a valid
// token, so that mutations reach decryption, the inner signature and the claim checks instead of
// stopping at the base64url or JSON layer.
//
// Input: [base][part][offset lo][offset hi][delete][insert...]. `base` picks one of the valid
// encrypted seed tokens of corpus/token_fuzzer/; `part` picks what is edited (Part below); the
// part's bytes (base64url-decoded where the part is encoded) lose `delete` bytes at `offset` and
// gain the rest of the input there. Parts inside the encryption are edited in the decrypted token
// and encrypted again to the same key (anyone can encrypt to a published key); the claims are
// also signed again with the test key, as a trusted issuer making odd claims would.
//
// Invariants beyond "no crash, no sanitizer report":
//   - OpenToken fails only with the documented token errors;
//   - a token altered outside the claims is never accepted: any change of the outer header,
//     encrypted key, IV, ciphertext or tag (or their text), or of the inner header, payload or
//     signature without signing again, must fail;
//   - claims signed again are accepted only if they pass every documented check, and come back
//     exactly as signed.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "jose/base64url.h"
#include "jose/compact.h"
#include "jose/json_strict.h"
#include "jose/jwe.h"
#include "jose/jws.h"
#include "jose/token.h"
#include "tests/fuzz/fuzz_files.h"

namespace {

namespace jose = instaccess::jose;
namespace fuzz = instaccess::fuzz;

enum class Part : std::uint8_t {
  // The JWE as sent; any change must fail.
  kOuterHeader,
  kEncryptedKey,
  kIv,
  kCiphertext,
  kTag,
  kOuterText,  // the compact text itself, not decoded
  // The inner JWS, encrypted again; any change must fail.
  kInnerHeader,
  kInnerPayload,
  kInnerSignature,
  kInnerText,
  // The claims, signed and encrypted again; may pass.
  kClaims,
  kCount,
};

// A valid seed token taken apart once, with what it takes to make it again.
struct Base {
  std::string token;
  std::vector<std::string> outer;  // the five parts as text
  std::string inner;               // the compact JWS inside
  std::vector<std::string> jws;    // its three parts as text
  jose::ProtectedHeader outer_header;
  const jose::RsaKey* enc_key = nullptr;
  const jose::RsaKey* sig_key = nullptr;
};

const jose::RsaKey* FindKey(std::span<const jose::RsaKey> keys, const std::string& kid) {
  for (const jose::RsaKey& k : keys) {
    if (k.kid() == kid) return &k;
  }
  std::abort();
}

std::vector<std::string> SplitText(std::string_view token, std::size_t parts) {
  auto split = jose::SplitCompact(token, parts);
  if (!split) std::abort();
  return {split->begin(), split->end()};
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out = parts[0];
  for (std::size_t i = 1; i < parts.size(); ++i) out += "." + parts[i];
  return out;
}

Base Load(const std::string& seed) {
  Base b;
  b.token = fuzz::ReadFuzzFile("corpus/token_fuzzer/" + seed);
  b.outer = SplitText(b.token, jose::kJweParts);
  auto header = jose::ParseProtectedHeader(b.outer[0], jose::HeaderKind::kJwe);
  auto jwe = jose::DecryptJwe(b.token, fuzz::TestKeys().enc);
  if (!header || !jwe) std::abort();
  b.outer_header = *header;
  b.enc_key = FindKey(fuzz::TestKeys().enc, jwe->kid);
  b.inner = jwe->plaintext;
  b.jws = SplitText(b.inner, jose::kJwsParts);
  auto jws = jose::VerifyJws(b.inner, fuzz::TestKeys().sig);
  if (!jws) std::abort();
  b.sig_key = FindKey(fuzz::TestKeys().sig, jws->kid);
  return b;
}

const std::vector<Base>& Bases() {
  static const std::vector<Base> bases{Load("default_oaep_cbc"), Load("canvas_oaep_cbc"),
                                       Load("canvas_rsa1_5_cbc"), Load("ps256_oaep256_gcm"),
                                       Load("rsa1_5_gcm")};
  return bases;
}

// `text` with `erase` bytes at `offset` replaced by `insert` (both clamped to the text).
std::string Splice(std::string text, std::size_t offset, std::size_t erase,
                   std::string_view insert) {
  offset = std::min(offset, text.size());
  text.replace(offset, std::min(erase, text.size() - offset), insert);
  return text;
}

// The same splice in the decoded bytes of a base64url part.
std::string SpliceDecoded(const std::string& part, std::size_t offset, std::size_t erase,
                          std::string_view insert) {
  auto raw = jose::Base64UrlDecode(part);
  if (!raw) std::abort();
  return jose::Base64UrlEncode(Splice(*raw, offset, erase, insert));
}

// The JWE of `base` around another plaintext, encrypted to the same key.
std::string Reencrypt(const Base& base, std::string_view inner) {
  nlohmann::json header = nlohmann::json::object();
  if (base.outer_header.kid) header["kid"] = *base.outer_header.kid;
  if (base.outer_header.cty) header["cty"] = *base.outer_header.cty;
  auto jwe = jose::EncryptJwe(*base.enc_key, base.outer_header.enc, header, inner);
  if (!jwe) std::abort();
  return *jwe;
}

bool IsNumber(const nlohmann::json& claims, const char* name) {
  return claims.contains(name) && claims[name].is_number();
}

// What OpenToken promises of the claims of a token it accepted (token.h, fuzz_files.h's keys).
void CheckAccepted(const jose::OpenedToken& opened, std::string_view signed_payload,
                   const jose::ClaimPolicy& policy) {
  const nlohmann::json& c = opened.claims;
  const double now = static_cast<double>(fuzz::kFuzzNow);
  const double skew = static_cast<double>(policy.clock_skew_seconds);
  if (opened.claims_json != signed_payload) std::abort();
  if (!c.is_object() || !c.contains("iss") || c["iss"] != jose::kDefaultIssuer) std::abort();
  for (const std::string& name : policy.required_claims) {
    if (!c.contains(name) || c[name].is_null()) std::abort();
  }
  if (!IsNumber(c, "iat") || !IsNumber(c, "exp")) std::abort();
  const double iat = c["iat"].get<double>();
  const double exp = c["exp"].get<double>();
  if (exp - iat > 3600 + skew || !(now - skew < exp) || iat > now + skew) std::abort();
  if (c.contains("nbf") && (!IsNumber(c, "nbf") || c["nbf"].get<double>() > now + skew)) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Bases();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 5) return -1;  // not an edit: keep it out of the corpus
  const Base& base = Bases()[data[0] % Bases().size()];
  const auto part = static_cast<Part>(data[1] % static_cast<std::uint8_t>(Part::kCount));
  const std::size_t offset = data[2] | static_cast<std::size_t>(data[3]) << 8;
  const std::size_t erase = data[4];
  const std::string_view insert(reinterpret_cast<const char*>(data) + 5, size - 5);

  std::string token;
  std::string payload;   // kClaims: the claims as signed
  bool changed = false;  // outside the claims
  const auto p = static_cast<std::size_t>(part);
  if (part <= Part::kTag) {
    std::vector<std::string> outer = base.outer;
    outer[p] = SpliceDecoded(outer[p], offset, erase, insert);
    token = Join(outer);
    changed = token != base.token;
  } else if (part == Part::kOuterText) {
    token = Splice(base.token, offset, erase, insert);
    changed = token != base.token;
  } else if (part == Part::kInnerText) {
    const std::string inner = Splice(base.inner, offset, erase, insert);
    token = Reencrypt(base, inner);
    changed = inner != base.inner;
  } else if (part != Part::kClaims) {
    std::vector<std::string> jws = base.jws;
    const std::size_t i = p - static_cast<std::size_t>(Part::kInnerHeader);
    jws[i] = SpliceDecoded(jws[i], offset, erase, insert);
    const std::string inner = Join(jws);
    token = Reencrypt(base, inner);
    changed = inner != base.inner;
  } else {
    auto claims = jose::Base64UrlDecode(base.jws[1]);
    if (!claims) std::abort();
    payload = Splice(*claims, offset, erase, insert);
    nlohmann::json header = {{"typ", "JWT"}, {"kid", base.sig_key->kid()}};
    auto jws = jose::SignJws(*base.sig_key, header, payload);
    if (!jws) std::abort();
    token = Reencrypt(base, *jws);
  }

  const jose::ClaimPolicy policy;
  auto opened = jose::OpenToken(token, fuzz::TestKeys(), policy, fuzz::kFuzzNow);
  if (!opened) {
    if (!jose::TokenErrorOf(opened.error()).has_value()) std::abort();
    return 0;
  }
  if (changed) std::abort();  // an altered token was accepted
  if (part == Part::kClaims) CheckAccepted(*opened, payload, policy);
  return 0;
}
