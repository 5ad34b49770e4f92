#include "jose/jwe.h"

#include <openssl/crypto.h>
#include <openssl/rsa.h>

#include <algorithm>

#include "common/ssl_error.h"
#include "common/ssl_ptr.h"
#include "jose/base64url.h"
#include "jose/cek_block.h"
#include "jose/constant_time.h"
#include "jose/json_strict.h"
#include "jose/key_context.h"
#include "jose/oaep.h"
#include "jose/openssl_algs.h"
#include "jose/random_pool.h"
#include "jose/rsa_cpu.h"

namespace instaccess::jose {

namespace {

// Largest modulus we accept is 8192 bits (rsa_key.cc).
constexpr std::size_t kMaxModulusBytes = 1024;

const unsigned char* U8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

using internal::CtEq;
using internal::CtEqSize;

template <std::size_t N>
struct Wiped {
  std::array<std::uint8_t, N> bytes{};
  ~Wiped() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};
using WipedBuffer = Wiped<kMaxModulusBytes>;

}  // namespace

Cek::~Cek() { OPENSSL_cleanse(bytes.data(), bytes.size()); }

Result<std::string> WrapCek(const RsaKey& key, std::span<const std::uint8_t> cek) {
  if (key.use() != Use::kEnc) return FailedPrecondition("not an encryption key");
  const KeyOpContext ctx = key.ContextFor(KeyOp::kEncrypt);
  if (!ctx) return SslError("RSA encrypt setup");
  // RSA-OAEP's block is encoded here and encrypted without padding (oaep.h says why); RSA1_5's
  // padding is OpenSSL's.
  std::span<const std::uint8_t> input = cek;
  WipedBuffer em;
  if (const EVP_MD* md = internal::OaepDigest(key.alg()); md != nullptr) {
    const auto k = static_cast<std::size_t>(EVP_PKEY_get_size(key.pkey()));
    if (k > em.bytes.size()) return FailedPrecondition("modulus larger than 8192 bits");
    Wiped<EVP_MAX_MD_SIZE> seed;
    const std::span<std::uint8_t> seed_span(seed.bytes.data(),
                                            static_cast<std::size_t>(EVP_MD_get_size(md)));
    if (!RandomBytes(seed_span)) return SslError("RSA-OAEP seed");
    const std::span<std::uint8_t> block(em.bytes.data(), k);
    if (!internal::OaepEncode(cek, seed_span, md, block)) {
      return InvalidArgument("the key is too small for RSA-OAEP with this CEK");
    }
    input = block;
  }
  std::size_t len = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &len, input.data(), input.size()) != 1) {
    return SslError("RSA encrypt setup");
  }
  std::string out(len, '\0');
  int rc = 0;
  {
    const internal::RsaCpuTimer timer(RsaOpKind::kEncrypt);
    rc = EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                          input.data(), input.size());
  }
  if (rc != 1) return SslError("RSA encrypt");
  out.resize(len);
  return out;
}

void UnwrapCek(const RsaKey& key, std::string_view encrypted_key, std::size_t cek_size, Cek* out,
               JweTrace* trace) {
  // Never more than the buffer holds; a larger request just cannot succeed (usable is false).
  out->size = std::min(cek_size, out->bytes.size());
  // The stand-in is drawn first, every time, so success and failure do the same work.
  Cek fallback;
  if (!RandomBytes(fallback.bytes)) {
    // No randomness: a fixed stand-in still fails the tag check (and this never happens with a
    // working DRBG); the error queue must not leak into later calls.
    ClearSslErrors();
  }
  const std::size_t k = static_cast<std::size_t>(EVP_PKEY_get_size(key.pkey()));
  // The stand-in goes out unless the block below proves the real CEK.
  std::copy_n(fallback.bytes.begin(), out->size, out->bytes.begin());
  std::uint32_t good = 0;
  const bool usable = key.use() == Use::kEnc && key.has_private() && k <= kMaxModulusBytes &&
                      cek_size <= out->bytes.size() && encrypted_key.size() == k;
  // `usable` depends only on public facts (the key and the token's length), so branching on it
  // reveals nothing the attacker does not know.
  if (usable) {
    // Neither context has padding (key_context.h): the block is checked in constant time, by
    // SelectCekFromBlock, with the decoder of the key's algorithm (a public fact).
    WipedBuffer em;
    std::size_t em_len = k;
    const KeyOpContext ctx = key.ContextFor(KeyOp::kDecrypt);
    int rc = 0;
    if (ctx) {
      // Not timed (rsa_cpu.h): the input is the client's.
      rc = EVP_PKEY_decrypt(ctx.get(), em.bytes.data(), &em_len, U8(encrypted_key),
                            encrypted_key.size());
    }
    const std::uint32_t rsa_ok = CtEq(static_cast<std::uint32_t>(rc), 1) & CtEqSize(em_len, k);
    good = internal::SelectCekFromBlock(std::span(em.bytes.data(), k),
                                        internal::OaepDigest(key.alg()), rsa_ok,
                                        std::span(fallback.bytes.data(), out->size), out->span());
    // A failed decryption leaves entries in this thread's error queue; they must not outlive
    // the call (nor differ observably between the failure kinds).
    ClearSslErrors();
  }
  if (trace != nullptr) {
    ++trace->unwraps;
    trace->implicit_rejections += static_cast<int>(~good & 1u);
  }
}

Result<std::string> EncryptJwe(const RsaKey& key, ContentEnc enc, nlohmann::json header,
                               std::string_view plaintext) {
  // null (a default-constructed json) means no extra members.
  if (!header.is_object() && !header.is_null()) {
    return InvalidArgument("JWE header must be an object");
  }
  nlohmann::json h = header.is_null() ? nlohmann::json::object() : std::move(header);
  h["alg"] = std::string(AlgName(key.alg()));
  h["enc"] = std::string(ContentEncName(enc));
  auto text = DumpJson(h);
  if (!text) return text.error();
  // Both fresh for every token (random_pool.h says why they come from a pool).
  Cek cek;
  cek.size = CekSize(enc);
  std::string iv(IvSize(enc), '\0');
  if (!RandomBytes(cek.span()) ||
      !RandomBytes({reinterpret_cast<std::uint8_t*>(iv.data()), iv.size()})) {
    return SslError("RAND_bytes");
  }
  auto wrapped = WrapCek(key, cek.span());
  if (!wrapped) return wrapped.error();
  std::string out;
  // Header, key, IV, ciphertext (plaintext + a block of padding), tag: 4/3 each, and the dots.
  out.reserve((text->size() + wrapped->size() + plaintext.size() + 64) * 4 / 3 + 8);
  AppendBase64Url(*text, &out);
  // The AAD is the ASCII of the encoded header (RFC 7516 §5.1 step 14).
  auto sealed = SealContentWithIv(enc, cek.span(), iv, out, plaintext);
  if (!sealed) return sealed.error();
  for (const std::string* part : {&*wrapped, &sealed->iv, &sealed->ciphertext, &sealed->tag}) {
    out += '.';
    AppendBase64Url(*part, &out);
  }
  return out;
}

Result<DecryptedJwe> DecryptJwe(std::string_view jwe, std::span<const RsaKey> keys, JweTrace* trace,
                                std::size_t without_kid) {
  auto parts = SplitCompact(jwe, kJweParts);
  if (!parts) return parts.error();
  const std::string_view header_b64u = (*parts)[0];
  auto header = ParseProtectedHeader(header_b64u, HeaderKind::kJwe);
  if (!header) return header.error();
  auto encrypted_key = Base64UrlDecode((*parts)[1]);
  auto iv = Base64UrlDecode((*parts)[2]);
  auto ciphertext = Base64UrlDecode((*parts)[3]);
  auto tag = Base64UrlDecode((*parts)[4]);
  if (!encrypted_key || !iv || !ciphertext || !tag) {
    return InvalidArgument("JWE part is not base64url");
  }
  if (encrypted_key->empty()) return InvalidArgument("JWE without encrypted key");

  bool kid_found = false;
  if (!header->kid) keys = keys.first(std::min(without_kid, keys.size()));
  for (const RsaKey& key : keys) {
    if (header->kid) {
      if (key.kid() != *header->kid) continue;
      kid_found = true;
    }
    if (key.alg() != header->alg || !key.has_private()) continue;
    Cek cek;
    UnwrapCek(key, *encrypted_key, CekSize(header->enc), &cek, trace);
    auto plaintext = OpenContent(header->enc, cek.span(), header_b64u, *iv, *ciphertext, *tag,
                                 trace != nullptr ? &trace->content : nullptr);
    if (plaintext) return DecryptedJwe{std::move(*header), std::move(*plaintext), key.kid()};
  }
  if (header->kid && !kid_found) return InvalidArgument("JWE kid names no known key");
  return Unauthenticated("JWE does not decrypt");
}

}  // namespace instaccess::jose
