#include "jose/token.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "common/ssl_error.h"
#include "jose/compact.h"
#include "jose/json_strict.h"
#include "jose/jwe.h"
#include "jose/jws.h"
#include "jose/random_pool.h"

namespace instaccess::jose {

namespace {

// NumericDates beyond ±2^53 s are not meaningful times and would make `now ± skew` arithmetic
// overflow-prone; refusing them keeps every comparison below exact.
constexpr std::int64_t kMaxNumericDate = std::int64_t{1} << 53;

// RFC 7519 §2 NumericDate: a JSON number, possibly fractional (fractions are dropped).
std::optional<std::int64_t> NumericDate(const nlohmann::json& v) {
  std::int64_t out = 0;
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(kMaxNumericDate)) return std::nullopt;
    out = static_cast<std::int64_t>(u);
  } else if (v.is_number_integer()) {
    out = v.get<std::int64_t>();
  } else if (v.is_number_float()) {
    double d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > static_cast<double>(kMaxNumericDate)) {
      return std::nullopt;
    }
    out = static_cast<std::int64_t>(std::floor(d));
  } else {
    return std::nullopt;
  }
  if (out > kMaxNumericDate || out < -kMaxNumericDate) return std::nullopt;
  return out;
}

Status Invalid(std::string detail) { return Unauthenticated(std::move(detail)); }

Status CheckClaims(const nlohmann::json& claims, const ClaimPolicy& policy,
                   const SignerBounds& signer, std::int64_t now, OpenedToken* opened) {
  auto iss = claims.find("iss");
  if (iss == claims.end() || !iss->is_string()) return Invalid("claims: iss missing");
  const auto& issuer = iss->get_ref<const std::string&>();
  if (std::find(policy.accepted_issuers.begin(), policy.accepted_issuers.end(), issuer) ==
      policy.accepted_issuers.end()) {
    return Invalid("claims: issuer not accepted");
  }
  if (std::find(signer.issuers.begin(), signer.issuers.end(), issuer) == signer.issuers.end()) {
    return Invalid("claims: the signing key may not sign for this issuer");
  }
  for (const std::string& name : policy.required_claims) {
    auto it = claims.find(name);
    if (it == claims.end() || it->is_null()) return Invalid("claims: missing " + name);
  }
  auto exp_it = claims.find("exp");
  if (exp_it == claims.end()) return Invalid("claims: exp missing");
  auto exp = NumericDate(*exp_it);
  if (!exp) return Invalid("claims: exp is not a NumericDate");
  auto iat_it = claims.find("iat");
  if (iat_it == claims.end()) return Invalid("claims: iat missing");
  auto iat = NumericDate(*iat_it);
  if (!iat) return Invalid("claims: iat is not a NumericDate");
  std::optional<std::int64_t> nbf;
  if (auto it = claims.find("nbf"); it != claims.end()) {
    nbf = NumericDate(*it);
    if (!nbf) return Invalid("claims: nbf is not a NumericDate");
  }
  const std::int64_t skew = policy.clock_skew_seconds < 0 ? 0 : policy.clock_skew_seconds;
  // All values are within ±2^53 (NumericDate), lifetimes and skews far below: no overflow.
  if (*exp - *iat > signer.max_lifetime_seconds + skew) {
    return Invalid("claims: exp - iat exceeds the signing key's max_lifetime");
  }
  if (now - skew >= *exp) return Unauthenticated(std::string(kTokenExpiredCode));
  if (*iat > now + skew || (nbf && *nbf > now + skew)) {
    return Unauthenticated(std::string(kTokenNotYetValidCode));
  }
  opened->expires_at = *exp;
  opened->keep_until = std::min(*exp + skew, *iat + signer.max_lifetime_seconds);
  return Status::Ok();
}

// The bounds of the key that verified (kid `kid`), or nullptr when the caller gave none for it.
const SignerBounds* BoundsOf(const KeyCandidates& keys, std::string_view kid) {
  if (keys.sig_bounds.size() != keys.sig.size()) return nullptr;
  for (std::size_t i = 0; i < keys.sig.size(); ++i) {
    if (keys.sig[i].kid() == kid) return &keys.sig_bounds[i];
  }
  return nullptr;
}

// OpenToken with the reason of a failure kept (the public function flattens it).
Result<OpenedToken> OpenDetailed(std::string_view token, const KeyCandidates& keys,
                                 const ClaimPolicy& policy, std::int64_t now_unix) {
  OpenedToken opened;
  std::string jws_storage;
  std::string_view jws;
  switch (CountCompactParts(token)) {
    case kJweParts: {
      auto jwe = DecryptJwe(token, keys.enc, nullptr, keys.enc_without_kid);
      if (!jwe) return jwe.error();
      // ParseProtectedHeader already refused a cty other than "JWT"; without cty (Canvas's shape)
      // the plaintext must still be a nested JWS, as checked next.
      jws_storage = std::move(jwe->plaintext);
      jws = jws_storage;
      opened.enc_kid = std::move(jwe->kid);
      break;
    }
    case kJwsParts:
      if (!policy.accept_unencrypted) return Invalid("unencrypted token not accepted");
      opened.encrypted = false;
      jws = token;
      break;
    default:
      return Invalid("not a compact JWE or JWS within the size limit");
  }
  auto verified = VerifyJws(jws, keys.sig);
  if (!verified) return verified.error();
  opened.sig_kid = std::move(verified->kid);
  const SignerBounds* signer = BoundsOf(keys, opened.sig_kid);
  if (signer == nullptr) return Invalid("no bounds given for the signing key");
  auto claims = ParseStrictJsonObject(verified->payload);
  if (!claims) return Invalid("claims: " + claims.error().message());
  INSTACCESS_RETURN_IF_ERROR(CheckClaims(*claims, policy, *signer, now_unix, &opened));
  opened.claims = std::move(*claims);
  opened.claims_json = std::move(verified->payload);
  // Last: `jws` points into jws_storage (a move keeps its buffer; a JWS is never short enough
  // for the small-string buffer, but nothing reads `jws` after this anyway).
  opened.jws = opened.encrypted ? std::move(jws_storage) : std::string(token);
  return opened;
}

}  // namespace

std::optional<TokenError> TokenErrorOf(const Status& status) {
  if (status.code() != Code::kUnauthenticated) return std::nullopt;
  if (status.message() == kInvalidTokenCode) return TokenError::kInvalidToken;
  if (status.message() == kTokenExpiredCode) return TokenError::kTokenExpired;
  if (status.message() == kTokenNotYetValidCode) return TokenError::kTokenNotYetValid;
  return std::nullopt;
}

std::string_view TokenErrorName(TokenError error) {
  switch (error) {
    case TokenError::kInvalidToken:
      return kInvalidTokenCode;
    case TokenError::kTokenExpired:
      return kTokenExpiredCode;
    case TokenError::kTokenNotYetValid:
      return kTokenNotYetValidCode;
  }
  return kInvalidTokenCode;
}

Result<std::string> RandomUuidV4() {
  std::array<std::uint8_t, 16> b{};
  if (!RandomBytes(b)) return SslError("RAND_bytes");
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // variant 10xx
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 15];
  }
  return out;
}

Result<nlohmann::json> BuildStandardClaims(nlohmann::json caller_claims, std::string_view issuer,
                                           std::int64_t now_unix, std::int64_t ttl_seconds) {
  if (!caller_claims.is_object()) return InvalidArgument("claims must be a JSON object");
  for (std::string_view r : kReservedClaims) {
    if (caller_claims.contains(r)) {
      return InvalidArgument("claim " + std::string(r) + " is set by the issuer, not the caller");
    }
  }
  if (ttl_seconds <= 0 || ttl_seconds > kMaxNumericDate / 2) {
    return InvalidArgument("ttl must be positive");
  }
  if (issuer.empty()) return InvalidArgument("issuer must not be empty");
  nlohmann::json claims = std::move(caller_claims);
  claims["iss"] = std::string(issuer);
  auto jti = RandomUuidV4();
  if (!jti) return jti.error();
  claims["jti"] = std::move(*jti);
  claims["iat"] = now_unix;
  claims["exp"] = now_unix + ttl_seconds;
  return claims;
}

Result<std::string> IssueToken(const nlohmann::json& claims, const RsaKey& sig_key,
                               const RsaKey& enc_key, const IssueOptions& options) {
  if (!claims.is_object()) return InvalidArgument("claims must be a JSON object");
  auto payload = DumpJson(claims);
  if (!payload) return payload.error();
  nlohmann::json jws_header = {{"typ", "JWT"}};
  if (options.include_kid) jws_header["kid"] = sig_key.kid();
  auto token = SignJws(sig_key, std::move(jws_header), *payload);
  if (token && options.encrypt) {
    nlohmann::json jwe_header = nlohmann::json::object();
    if (options.include_kid) jwe_header["kid"] = enc_key.kid();
    if (options.include_cty) jwe_header["cty"] = "JWT";
    token = EncryptJwe(enc_key, options.content_enc, std::move(jwe_header), *token);
  }
  // Refuse to make what every receiver (us included) must refuse to open.
  if (token && token->size() > kMaxTokenSize) {
    return InvalidArgument("claims too large: the token would exceed 16 KiB");
  }
  return token;
}

Result<OpenedToken> OpenToken(std::string_view token, const KeyCandidates& keys,
                              const ClaimPolicy& policy, std::int64_t now_unix,
                              std::string* detail) {
  auto opened = OpenDetailed(token, keys, policy, now_unix);
  if (opened) return opened;
  if (detail != nullptr) *detail = opened.error().message();
  if (TokenErrorOf(opened.error()).has_value()) return opened;  // expired / not yet valid
  return Unauthenticated(std::string(kInvalidTokenCode));
}

}  // namespace instaccess::jose
