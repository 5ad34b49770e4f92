// InstAccess tokens: a JWT signed (JWS) and then encrypted (JWE), RFC 7519 §5.2 / §7.1,
// as Canvas LMS makes them (docs/tokens.md). This is the header the API (api/) uses.
//
//   IssueToken: claims -> JWS {"alg":sig_key.alg,"typ":"JWT"[,"kid"]} -> JWE {"alg":enc_key.alg,
//               "enc":...[,"kid"][,"cty":"JWT"]} whose plaintext is the compact JWS.
//   OpenToken:  the reverse, then the claim checks, given the caller's notion of "now".
//
// Error model (what the daemon maps to HTTP 401 codes):
//   - every cryptographic or format failure of any kind: Code::kUnauthenticated, message exactly
//     kInvalidTokenCode ("invalid_token"); nothing about which check failed leaves this function;
//   - kTokenExpiredCode / kTokenNotYetValidCode: only for a token whose signature verified and
//     whose issuer and required claims were acceptable.
// TokenErrorOf() turns such a Status into the TokenError enum.
//
// No clock and no I/O: "now" and the keys are parameters.
//
// Thread-safety: every function here may be called from many threads at once with the same keys.
// The state behind them is per thread or synchronised, and none of it changes a result: each
// thread's block of DRBG output (random_pool.h), its last two protected headers (compact.cc), its
// own copy of each key it uses with prepared contexts (key_context.h), and the process-wide,
// atomic RSA CPU counters (rsa_cpu.h). Random bytes come from OpenSSL's DRBG, so every issued
// token differs.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "jose/content_cipher.h"
#include "jose/rsa_key.h"

namespace instaccess::jose {

inline constexpr std::string_view kInvalidTokenCode = "invalid_token";
inline constexpr std::string_view kTokenExpiredCode = "token_expired";
inline constexpr std::string_view kTokenNotYetValidCode = "token_not_yet_valid";

enum class TokenError { kInvalidToken, kTokenExpired, kTokenNotYetValid };

// The TokenError of a Status returned by OpenToken; nullopt for OK or any other status.
std::optional<TokenError> TokenErrorOf(const Status& status);
std::string_view TokenErrorName(TokenError error);  // "invalid_token", ...

// The claims the daemon sets itself; a caller setting any of them is refused.
inline constexpr std::string_view kReservedClaims[] = {"iss", "iat", "exp", "nbf", "jti"};
inline constexpr std::string_view kDefaultIssuer = "instructure:inst_access";

// caller_claims (an object without reserved claims) + iss, jti (random UUID v4), iat = now_unix,
// exp = now_unix + ttl_seconds. InvalidArgument on a reserved claim, a non-object or ttl <= 0.
// The caller enforces its own upper bound on ttl (tokens.max_lifetime). Taken by value: a caller
// done with its claims moves them in instead of copying the tree.
Result<nlohmann::json> BuildStandardClaims(nlohmann::json caller_claims, std::string_view issuer,
                                           std::int64_t now_unix, std::int64_t ttl_seconds);

// A random (version 4, RFC 9562 §5.4) UUID in its 36-character text form, from OpenSSL's DRBG
// (per thread, no system call; an error only if it could never be seeded).
Result<std::string> RandomUuidV4();

struct IssueOptions {
  ContentEnc content_enc = ContentEnc::kA128CbcHs256;  // Canvas's choice
  // kid in both headers lets the receiver pick the key at once instead of trying each.
  bool include_kid = true;
  // cty "JWT" on the JWE, as RFC 7519 §5.2 recommends for nested tokens.
  bool include_cty = true;
  // false: a bare signed JWS (Canvas issues those to service users); enc_key is not used.
  bool encrypt = true;

  // Exactly Canvas's shape: JWS {"alg":"RS256","typ":"JWT"}, JWE {"alg":...,"enc":...}.
  static IssueOptions CanvasShape() {
    IssueOptions o;
    o.include_kid = false;
    o.include_cty = false;
    return o;
  }
};

// Signs `claims` (a JSON object, taken as given: see BuildStandardClaims) with sig_key and, unless
// options.encrypt is false, encrypts the JWS to enc_key. Every call gives a different token.
// Errors here are the caller's (InvalidArgument/FailedPrecondition) or Internal, never
// invalid_token.
Result<std::string> IssueToken(const nlohmann::json& claims, const RsaKey& sig_key,
                               const RsaKey& enc_key, const IssueOptions& options);

// What a signing key may vouch for (docs/tokens.md, "Which keys vouch for what"): a token it
// signed is accepted only when its iss is one of `issuers` and its exp - iat is at most
// max_lifetime_seconds plus the clock skew.
struct SignerBounds {
  std::vector<std::string> issuers;
  std::int64_t max_lifetime_seconds = 3600;
};

// Keys a token may have been made with, newest first (the order they are tried in without kid).
// A view of keys the caller owns (the daemon's key set): copying RsaKeys for every token touched
// their shared reference counts, which both event loops contend for.
struct KeyCandidates {
  std::span<const RsaKey> sig;  // verification keys (public part suffices)
  std::span<const RsaKey> enc;  // decryption keys (private part needed)
  // sig_bounds[i] bounds what sig[i] may sign; must be as long as sig (a token is refused
  // otherwise: no key vouches for more than it was given).
  std::span<const SignerBounds> sig_bounds;
  // A JWE without kid is tried against the first enc_without_kid keys of enc only (the rest
  // decrypt only tokens that name them).
  std::size_t enc_without_kid = static_cast<std::size_t>(-1);
};

struct ClaimPolicy {
  // iss must be one of these; an empty list accepts no token at all.
  std::vector<std::string> accepted_issuers{std::string(kDefaultIssuer)};
  // Present and not null. Canvas's gateways rely on both.
  std::vector<std::string> required_claims{"sub", "acct"};
  // Tolerated clock difference between issuer and us, for exp, iat and nbf.
  std::int64_t clock_skew_seconds = 60;
  // A bare 3-part JWS is accepted only when this is on (tokens.accept_unencrypted).
  bool accept_unencrypted = false;
};

struct OpenedToken {
  nlohmann::json claims;
  // The same claims as the issuer wrote them: the JWS payload, which passed the strict parse
  // (one object, no duplicate members, valid UTF-8), so it can be sent on as JSON unchanged.
  std::string claims_json;
  // The inner signed JWT (compact JWS) as the issuer signed it, for gateways that forward it to
  // services that verify it themselves.
  std::string jws;
  std::string sig_kid;  // kid of the key that verified the signature
  std::string enc_kid;  // kid of the key that decrypted; empty for a bare JWS
  bool encrypted = true;
  std::int64_t expires_at = 0;  // exp, for caches
  // Until when an answer about this token may be kept: exp + skew, but never past iat plus the
  // signing key's max_lifetime (a cache must not outlive what the key vouches for).
  std::int64_t keep_until = 0;
};

// Decrypt (if a JWE) -> verify -> check claims:
//   - the token is at most 16 KiB, 5 parts (or 3 with accept_unencrypted), strict headers;
//   - JWE cty, if present, is "JWT"; its plaintext is a compact JWS;
//   - iss is a string in accepted_issuers and in the issuers of the key that verified the
//     signature (SignerBounds); every required claim is present;
//   - iat is required, and exp - iat at most the key's max_lifetime_seconds + skew;
//   - exp is required: now - skew < exp, else token_expired;
//   - iat and nbf (when present) must not be after now + skew, else token_not_yet_valid.
// `kid` in a header restricts that step to the candidate with that kid; without it each candidate
// of the header's alg is tried, and a key that fails is simply passed over.
// `detail`, if given, receives the internal reason of a failure: for debug logs and tests only,
// never for the client (it would turn the uniform error back into an oracle).
Result<OpenedToken> OpenToken(std::string_view token, const KeyCandidates& keys,
                              const ClaimPolicy& policy, std::int64_t now_unix,
                              std::string* detail = nullptr);

}  // namespace instaccess::jose
