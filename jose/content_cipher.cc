#include "jose/content_cipher.h"

#include <openssl/crypto.h>

#include <array>
#include <climits>

#include "common/ssl_error.h"
#include "common/ssl_ptr.h"
#include "jose/openssl_algs.h"
#include "jose/random_pool.h"

namespace instaccess::jose {

namespace {

constexpr std::size_t kCbcKeyHalf = 16;
// Far above any token (16 KiB) but small enough that every length fits OpenSSL's int.
constexpr std::size_t kMaxContent = std::size_t{1} << 24;

const unsigned char* U8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* U8(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }
int Len(std::size_t n) { return static_cast<int>(n); }

Status ContentFailure() { return Unauthenticated("content authentication failed"); }

// Full HMAC-SHA-256 over AAD || IV || E || AL (RFC 7518 §5.2.2.1 step 5).
Result<std::array<unsigned char, 32>> CbcHmac(std::span<const std::uint8_t> mac_key,
                                              std::string_view aad, std::string_view iv,
                                              std::string_view ciphertext) {
  const EVP_MAC_CTX* tmpl = internal::HmacSha256Template();
  EvpMacCtxPtr ctx(tmpl == nullptr ? nullptr : EVP_MAC_CTX_dup(tmpl));
  if (!ctx) return SslError("HMAC-SHA-256 context");
  std::uint64_t al_bits = static_cast<std::uint64_t>(aad.size()) * 8;
  std::array<unsigned char, 8> al{};
  for (int i = 7; i >= 0; --i, al_bits >>= 8) al[static_cast<std::size_t>(i)] = al_bits & 0xff;
  std::array<unsigned char, 32> mac{};
  std::size_t mac_len = 0;
  if (EVP_MAC_init(ctx.get(), mac_key.data(), mac_key.size(), nullptr) != 1 ||
      EVP_MAC_update(ctx.get(), U8(aad), aad.size()) != 1 ||
      EVP_MAC_update(ctx.get(), U8(iv), iv.size()) != 1 ||
      EVP_MAC_update(ctx.get(), U8(ciphertext), ciphertext.size()) != 1 ||
      EVP_MAC_update(ctx.get(), al.data(), al.size()) != 1 ||
      EVP_MAC_final(ctx.get(), mac.data(), &mac_len, mac.size()) != 1 || mac_len != mac.size()) {
    return SslError("HMAC-SHA-256");
  }
  return mac;
}

Result<SealedContent> SealCbcHs(std::span<const std::uint8_t> cek, std::string_view iv,
                                std::string_view aad, std::string_view plaintext) {
  auto mac_key = cek.first(kCbcKeyHalf);
  auto enc_key = cek.last(kCbcKeyHalf);
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  SealedContent out;
  out.iv = std::string(iv);
  out.ciphertext.resize(plaintext.size() + 16);
  int n1 = 0, n2 = 0;
  if (!ctx ||
      EVP_EncryptInit_ex2(ctx.get(), internal::Aes128Cbc(), enc_key.data(), U8(iv), nullptr) != 1 ||
      EVP_EncryptUpdate(ctx.get(), U8(out.ciphertext), &n1, U8(plaintext), Len(plaintext.size())) !=
          1 ||
      EVP_EncryptFinal_ex(ctx.get(), U8(out.ciphertext) + n1, &n2) != 1) {
    return SslError("AES-128-CBC encrypt");
  }
  out.ciphertext.resize(static_cast<std::size_t>(n1 + n2));
  auto mac = CbcHmac(mac_key, aad, iv, out.ciphertext);
  if (!mac) return mac.error();
  out.tag.assign(reinterpret_cast<const char*>(mac->data()), kContentTagSize);
  return out;
}

Result<SealedContent> SealGcm(std::span<const std::uint8_t> cek, std::string_view iv,
                              std::string_view aad, std::string_view plaintext) {
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  SealedContent out;
  out.iv = std::string(iv);
  out.ciphertext.resize(plaintext.size());
  out.tag.resize(kContentTagSize);
  int n = 0, aad_n = 0, fin = 0;
  if (!ctx ||
      EVP_EncryptInit_ex2(ctx.get(), internal::Aes256Gcm(), cek.data(), U8(iv), nullptr) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &aad_n, U8(aad), Len(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), U8(out.ciphertext), &n, U8(plaintext), Len(plaintext.size())) !=
          1 ||
      EVP_EncryptFinal_ex(ctx.get(), U8(out.ciphertext) + n, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, Len(kContentTagSize), U8(out.tag)) !=
          1) {
    return SslError("AES-256-GCM encrypt");
  }
  return out;
}

Result<std::string> OpenCbcHs(std::span<const std::uint8_t> cek, std::string_view aad,
                              std::string_view iv, std::string_view ciphertext,
                              std::string_view tag, ContentTrace* trace) {
  if (ciphertext.empty() || ciphertext.size() % 16 != 0) return ContentFailure();
  auto mac = CbcHmac(cek.first(kCbcKeyHalf), aad, iv, ciphertext);
  if (!mac) return ContentFailure();
  if (trace != nullptr) ++trace->tag_checks;
  // Constant time, and before any decryption: a forged ciphertext must not reach the padding check.
  if (CRYPTO_memcmp(mac->data(), tag.data(), kContentTagSize) != 0) return ContentFailure();
  if (trace != nullptr) ++trace->cbc_decryptions;
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  std::string plaintext(ciphertext.size(), '\0');
  int n1 = 0, n2 = 0;
  if (!ctx ||
      EVP_DecryptInit_ex2(ctx.get(), internal::Aes128Cbc(), cek.last(kCbcKeyHalf).data(), U8(iv),
                          nullptr) != 1 ||
      EVP_DecryptUpdate(ctx.get(), U8(plaintext), &n1, U8(ciphertext), Len(ciphertext.size())) !=
          1 ||
      EVP_DecryptFinal_ex(ctx.get(), U8(plaintext) + n1, &n2) != 1) {
    // Only reachable with a valid tag, i.e. by whoever holds the CEK: not an oracle.
    ClearSslErrors();
    return ContentFailure();
  }
  plaintext.resize(static_cast<std::size_t>(n1 + n2));
  return plaintext;
}

Result<std::string> OpenGcm(std::span<const std::uint8_t> cek, std::string_view aad,
                            std::string_view iv, std::string_view ciphertext, std::string_view tag,
                            ContentTrace* trace) {
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  std::string plaintext(ciphertext.size(), '\0');
  std::string tag_copy(tag);  // EVP_CTRL_AEAD_SET_TAG takes a non-const pointer
  int n = 0, aad_n = 0, fin = 0;
  if (!ctx ||
      EVP_DecryptInit_ex2(ctx.get(), internal::Aes256Gcm(), cek.data(), U8(iv), nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, Len(kContentTagSize), U8(tag_copy)) !=
          1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &aad_n, U8(aad), Len(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), U8(plaintext), &n, U8(ciphertext), Len(ciphertext.size())) !=
          1) {
    ClearSslErrors();
    return ContentFailure();
  }
  if (trace != nullptr) ++trace->tag_checks;
  // GCM decrypts while it authenticates; the plaintext is released only if the tag verifies.
  if (EVP_DecryptFinal_ex(ctx.get(), U8(plaintext) + n, &fin) != 1) {
    ClearSslErrors();
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return ContentFailure();
  }
  return plaintext;
}

Status CheckSizes(ContentEnc enc, std::span<const std::uint8_t> cek, std::string_view iv,
                  std::size_t text_size, std::size_t aad_size) {
  if (cek.size() != CekSize(enc) || iv.size() != IvSize(enc) || text_size > kMaxContent ||
      aad_size > kMaxContent) {
    return InvalidArgument("content encryption: bad key, IV or data size");
  }
  return Status::Ok();
}

}  // namespace

std::string_view ContentEncName(ContentEnc enc) {
  return enc == ContentEnc::kA128CbcHs256 ? "A128CBC-HS256" : "A256GCM";
}

Result<ContentEnc> ParseContentEnc(std::string_view name) {
  if (name == "A128CBC-HS256") return ContentEnc::kA128CbcHs256;
  if (name == "A256GCM") return ContentEnc::kA256Gcm;
  return InvalidArgument("content encryption not accepted");
}

std::size_t CekSize(ContentEnc) { return 32; }

std::size_t IvSize(ContentEnc enc) { return enc == ContentEnc::kA128CbcHs256 ? 16 : 12; }

Result<SealedContent> SealContent(ContentEnc enc, std::span<const std::uint8_t> cek,
                                  std::string_view aad, std::string_view plaintext) {
  std::string iv(IvSize(enc), '\0');
  // A fresh IV per token; with GCM a repeat under one CEK would be fatal, and the CEK is fresh too.
  if (!RandomBytes({reinterpret_cast<std::uint8_t*>(iv.data()), iv.size()})) {
    return SslError("RAND_bytes");
  }
  return SealContentWithIv(enc, cek, iv, aad, plaintext);
}

Result<SealedContent> SealContentWithIv(ContentEnc enc, std::span<const std::uint8_t> cek,
                                        std::string_view iv, std::string_view aad,
                                        std::string_view plaintext) {
  INSTACCESS_RETURN_IF_ERROR(CheckSizes(enc, cek, iv, plaintext.size(), aad.size()));
  return enc == ContentEnc::kA128CbcHs256 ? SealCbcHs(cek, iv, aad, plaintext)
                                          : SealGcm(cek, iv, aad, plaintext);
}

Result<std::string> OpenContent(ContentEnc enc, std::span<const std::uint8_t> cek,
                                std::string_view aad, std::string_view iv,
                                std::string_view ciphertext, std::string_view tag,
                                ContentTrace* trace) {
  if (!CheckSizes(enc, cek, iv, ciphertext.size(), aad.size()).ok() ||
      tag.size() != kContentTagSize) {
    return ContentFailure();
  }
  return enc == ContentEnc::kA128CbcHs256 ? OpenCbcHs(cek, aad, iv, ciphertext, tag, trace)
                                          : OpenGcm(cek, aad, iv, ciphertext, tag, trace);
}

}  // namespace instaccess::jose
