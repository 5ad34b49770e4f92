// Compact serialization (RFC 7515 §7.1, RFC 7516 §7.1) and the protected-header policy.
//
// Every limit and rule here is checked before any key is touched:
//  - a token is at most kMaxTokenSize bytes (16 KiB, docs/tokens.md) and has exactly 3 (JWS)
//    or 5 (JWE) parts;
//  - the protected header is canonical base64url of a strict JSON object (json_strict.h);
//  - `alg` is in the whitelist (rsa_key.h) and of the right use for the structure; `enc` is
//    A128CBC-HS256 or A256GCM and present only on a JWE;
//  - `zip`, `crit`, `jku`, `jwk`, `x5u`, `x5c` are refused outright: compression before encryption
//    leaks plaintext (CRIME-style), unknown critical extensions must be refused anyway, and every
//    header that names its own key would let the token choose who verifies it;
//  - `kid`, `typ`, `cty` must be strings; `cty` on a JWE must be "JWT" (a nested JWT) and a JWS
//    may not carry one (there is nothing further nested).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "jose/content_cipher.h"
#include "jose/rsa_key.h"

namespace instaccess::jose {

inline constexpr std::size_t kMaxTokenSize = 16 * 1024;
inline constexpr std::size_t kJwsParts = 3;
inline constexpr std::size_t kJweParts = 5;

// Number of '.'-separated parts, or 0 when the token is empty or over kMaxTokenSize.
std::size_t CountCompactParts(std::string_view token);

// Exactly `parts` parts (each may be empty; the caller decides), total size within the limit.
Result<std::vector<std::string_view>> SplitCompact(std::string_view token, std::size_t parts);

enum class HeaderKind { kJws, kJwe };

struct ProtectedHeader {
  Alg alg = Alg::kRS256;
  ContentEnc enc = ContentEnc::kA128CbcHs256;  // meaningful for a JWE only
  std::optional<std::string> kid;
  std::optional<std::string> cty;
};

// InvalidArgument with the reason on any rule above. Each thread remembers the last header it
// accepted of each kind: the tokens of one issuer all carry the same one, and a repeat is then
// answered without decoding and parsing it again (2.4 us of every decrypt, two headers).
Result<ProtectedHeader> ParseProtectedHeader(std::string_view header_b64u, HeaderKind kind);

}  // namespace instaccess::jose
