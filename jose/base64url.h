// Base64url without padding (RFC 7515 §2, RFC 4648 §5), strict in both directions.
//
// Decoding accepts only the canonical encoding: no '=' padding, no whitespace, no bytes outside the
// url-safe alphabet, no length that is 1 mod 4, and no non-zero bits in the unused tail of the last
// character. A token therefore has exactly one spelling, so a bit-flipped character can never
// decode to the same bytes (malleability would let two different strings carry one signature).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/secret_bytes.h"
#include "common/status.h"

namespace instaccess::jose {

std::string Base64UrlEncode(std::span<const std::uint8_t> bytes);
std::string Base64UrlEncode(std::string_view bytes);
// Appends the encoding to `out`: a compact token is built in one string, without temporaries.
// Encoding is for public bytes: its table lookups depend on them (private key members are never
// encoded; they are kept as PKCS#8).
void AppendBase64Url(std::string_view bytes, std::string* out);

// InvalidArgument("bad base64url") on any deviation from the canonical form.
Result<std::string> Base64UrlDecode(std::string_view text);
// The same, with the decoded bytes only ever in secure memory (private JWK members). Unlike
// Base64UrlDecode, which reads a table at an address the character picks, it maps characters with
// arithmetic: nothing the CPU reads or jumps to depends on the text, only whether it was canonical
// (checked under valgrind by tests/jose/constant_time_check.cc). The JSON parser that produced the
// text is not constant-time (docs/tokens.md): this keeps the decoder from adding a leak of its own.
Result<SecretBytes> Base64UrlDecodeSecret(std::string_view text);

namespace internal {
// Base64UrlDecodeSecret's core, which never branches on the text: decodes it into `out`, which
// must be exactly its decoded size, and returns 0 when the text is canonical.
std::uint32_t DecodeSecretInto(std::string_view text, std::span<std::uint8_t> out);
}  // namespace internal

}  // namespace instaccess::jose
