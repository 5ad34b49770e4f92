// JWS compact serialization with RS256 and PS256 (RFC 7515, RFC 7518 §3.3 and §3.5).
//
// The key decides the algorithm: SignJws writes the key's alg into the header, and VerifyJws uses a
// key only if its alg equals the header's (so an RS256 key never checks a PS256 signature, and no
// header can pick HS256 with a public key as the secret: HS* is not in the whitelist at all).
// Errors carry a reason for logs and tests; token.h flattens every one of them to invalid_token.
//
// Thread-safety: pure functions; keys may be shared between threads.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "jose/compact.h"
#include "jose/rsa_key.h"

namespace instaccess::jose {

// Signature over `signing_input` with key.alg(). FailedPrecondition for a public-only or enc key.
// RS256 is deterministic (the RFC 7515 A.2 test reproduces it); PS256 is randomised.
Result<std::string> SignRaw(const RsaKey& key, std::string_view signing_input);
bool VerifyRaw(const RsaKey& key, std::string_view signing_input, std::string_view signature);

// `header` holds the members besides alg (typ, kid); alg is always the key's. (By value, so a
// caller done with it moves it in, like EncryptJwe's.)
Result<std::string> SignJws(const RsaKey& key, nlohmann::json header, std::string_view payload);

struct VerifiedJws {
  ProtectedHeader header;
  std::string payload;
  std::string kid;  // of the key that verified
};

// With `kid` in the header only the candidate of that kid is used (unknown kid: error); without,
// every candidate of the header's alg is tried in order and the first that verifies wins.
Result<VerifiedJws> VerifyJws(std::string_view jws, std::span<const RsaKey> keys);

}  // namespace instaccess::jose
