// JWE compact serialization with RSA key transport (RFC 7516, RFC 7518 §4.2 and §4.3).
//
// Key management: RSA-OAEP (SHA-1, MGF1-SHA-1; what Canvas uses), RSA-OAEP-256, RSA1_5.
// Content: A128CBC-HS256, A256GCM (content_cipher.h). A fresh random CEK and IV per call.
//
// Decryption never reveals why it failed. UnwrapCek always yields a CEK of the size `enc` needs:
// the real one, or, when the RSA step fails for any reason (bad PKCS#1 v1.5 padding, wrong CEK
// length, OAEP check failure, wrong ciphertext size), a random one chosen without a data-dependent
// branch (RFC 7516 §11.5, the "implicit rejection" of Bleichenbacher-style attacks). The content
// tag check then fails the same way it fails for a forged tag: same work, same error. For RSA1_5
// the padding is not checked by OpenSSL (3.0 has no implicit rejection): the raw RSA result is
// unpadded here in constant time.
//
// Thread-safety: pure functions; keys may be shared between threads.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "jose/compact.h"
#include "jose/content_cipher.h"
#include "jose/rsa_key.h"

namespace instaccess::jose {

// A CEK on the stack, wiped when it goes. Not SecretBytes on purpose: it lives for microseconds,
// and sodium_malloc's guard pages cost two mmap/mprotect rounds per token (measurable beside RSA).
struct Cek {
  Cek() = default;
  Cek(const Cek&) = delete;
  Cek& operator=(const Cek&) = delete;
  ~Cek();
  std::span<std::uint8_t> span() { return {bytes.data(), size}; }
  std::span<const std::uint8_t> span() const { return {bytes.data(), size}; }

  std::array<std::uint8_t, 32> bytes{};
  std::size_t size = 0;
};

// RSA encryption of `cek` to key.alg(). FailedPrecondition if `key` is not an enc key.
Result<std::string> WrapCek(const RsaKey& key, std::span<const std::uint8_t> cek);

// Test seam: what the decryption did, in counters owned by the caller.
struct JweTrace {
  int unwraps = 0;
  // Implicit rejections: the RSA step failed and a random CEK stood in. Recorded by adding the
  // 0/1 outcome of the mask (no branch on it).
  int implicit_rejections = 0;
  ContentTrace content;
};

// Constant-time unwrap as described above. `cek_size` ≤ 32. Never fails.
void UnwrapCek(const RsaKey& key, std::string_view encrypted_key, std::size_t cek_size, Cek* out,
               JweTrace* trace = nullptr);

// `header` holds members besides alg and enc (kid, cty, typ); alg is the key's.
Result<std::string> EncryptJwe(const RsaKey& key, ContentEnc enc, nlohmann::json header,
                               std::string_view plaintext);

struct DecryptedJwe {
  ProtectedHeader header;
  std::string plaintext;
  std::string kid;  // of the key that decrypted
};

// Candidate choice as in VerifyJws: with `kid` only that key, otherwise each key of the header's
// alg with a private part among the first `without_kid` keys, in order. One failing key is not an
// error while another succeeds.
Result<DecryptedJwe> DecryptJwe(std::string_view jwe, std::span<const RsaKey> keys,
                                JweTrace* trace = nullptr,
                                std::size_t without_kid = static_cast<std::size_t>(-1));

}  // namespace instaccess::jose
