// JWE content encryption (RFC 7518 §5): A128CBC-HS256 and A256GCM, on raw bytes.
//
// A building block of jwe.h, public so the known-answer tests can drive the deterministic step
// directly. Callers of tokens never need it.
//
// A128CBC-HS256 (§5.2.2): CEK = MAC_KEY(16) || ENC_KEY(16); E = AES-128-CBC-PKCS7(ENC_KEY, IV, P);
// T = first 16 bytes of HMAC-SHA-256(MAC_KEY, AAD || IV || E || AL), AL = bit length of AAD as
// 64-bit big-endian. OpenContent compares T in constant time and only then decrypts, so a forged
// ciphertext never reaches the CBC padding check (no padding oracle).
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

enum class ContentEnc {
  kA128CbcHs256,  // what Canvas uses; the default
  kA256Gcm,
};

std::string_view ContentEncName(ContentEnc enc);
Result<ContentEnc> ParseContentEnc(std::string_view name);  // exact; otherwise an error
// Both are 32 bytes: A128CBC-HS256 needs 16 MAC + 16 AES key bytes, A256GCM a 256-bit key.
std::size_t CekSize(ContentEnc enc);
std::size_t IvSize(ContentEnc enc);  // 16 (CBC block) / 12 (GCM's native nonce size)
inline constexpr std::size_t kContentTagSize = 16;

struct SealedContent {
  std::string iv;
  std::string ciphertext;
  std::string tag;
};

// Encrypts with a fresh random IV.
Result<SealedContent> SealContent(ContentEnc enc, std::span<const std::uint8_t> cek,
                                  std::string_view aad, std::string_view plaintext);
// Encrypts with the given IV, which must be fresh and random for every CEK (reusing an IV under
// one CEK breaks GCM). For EncryptJwe, which draws CEK and IV together, and known-answer tests.
Result<SealedContent> SealContentWithIv(ContentEnc enc, std::span<const std::uint8_t> cek,
                                        std::string_view iv, std::string_view aad,
                                        std::string_view plaintext);

// Test seam: what OpenContent did. Plain counters owned by the caller (no global state).
struct ContentTrace {
  int tag_checks = 0;       // HMAC computed and compared (CBC) / GCM finalised
  int cbc_decryptions = 0;  // AES-CBC decryption started
};

// Unauthenticated("content authentication failed") for every failure (sizes, tag, padding).
Result<std::string> OpenContent(ContentEnc enc, std::span<const std::uint8_t> cek,
                                std::string_view aad, std::string_view iv,
                                std::string_view ciphertext, std::string_view tag,
                                ContentTrace* trace = nullptr);

}  // namespace instaccess::jose
