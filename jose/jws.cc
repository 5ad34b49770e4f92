#include "jose/jws.h"

#include <openssl/rsa.h>

#include <array>

#include "common/ssl_error.h"
#include "common/ssl_ptr.h"
#include "jose/base64url.h"
#include "jose/json_strict.h"
#include "jose/openssl_algs.h"
#include "jose/rsa_cpu.h"

namespace instaccess::jose {

namespace {

const unsigned char* U8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

using Digest = std::array<unsigned char, 32>;

bool Sha256Of(std::string_view data, Digest* out) {
  unsigned int len = 0;
  return EVP_Digest(data.data(), data.size(), out->data(), &len, internal::Sha256(), nullptr) ==
             1 &&
         len == out->size();
}

}  // namespace

Result<std::string> SignRaw(const RsaKey& key, std::string_view signing_input) {
  if (key.use() != Use::kSig) return FailedPrecondition("not a signing key");
  if (!key.has_private()) return FailedPrecondition("signing needs a private key");
  Digest digest{};
  if (!Sha256Of(signing_input, &digest)) return SslError("SHA-256");
  const KeyOpContext ctx = key.ContextFor(KeyOp::kSign);
  std::size_t sig_len = 0;
  if (!ctx || EVP_PKEY_sign(ctx.get(), nullptr, &sig_len, digest.data(), digest.size()) != 1) {
    return SslError("RSA sign setup");
  }
  std::string sig(sig_len, '\0');
  int rc = 0;
  {
    const internal::RsaCpuTimer timer(RsaOpKind::kSign);
    rc = EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &sig_len,
                       digest.data(), digest.size());
  }
  if (rc != 1) return SslError("RSA sign");
  sig.resize(sig_len);
  return sig;
}

bool VerifyRaw(const RsaKey& key, std::string_view signing_input, std::string_view signature) {
  if (key.use() != Use::kSig) return false;
  // RFC 8017 §8.2.2: the signature is exactly k octets; shorter encodings are not accepted.
  if (signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(key.pkey()))) return false;
  Digest digest{};
  const KeyOpContext ctx = key.ContextFor(KeyOp::kVerify);
  bool ok = Sha256Of(signing_input, &digest) && ctx;
  if (ok) {
    const internal::RsaCpuTimer timer(RsaOpKind::kVerify);
    ok = EVP_PKEY_verify(ctx.get(), U8(signature), signature.size(), digest.data(),
                         digest.size()) == 1;
  }
  ClearSslErrors();
  return ok;
}

Result<std::string> SignJws(const RsaKey& key, nlohmann::json header, std::string_view payload) {
  // null (a default-constructed json) means no extra members.
  if (!header.is_object() && !header.is_null()) {
    return InvalidArgument("JWS header must be an object");
  }
  nlohmann::json h = header.is_null() ? nlohmann::json::object() : std::move(header);
  h["alg"] = std::string(AlgName(key.alg()));
  auto text = DumpJson(h);
  if (!text) return text.error();
  std::string out;
  out.reserve((text->size() + payload.size() + 512) * 4 / 3 + 2);  // up to RSA-4096's signature
  AppendBase64Url(*text, &out);
  out += '.';
  AppendBase64Url(payload, &out);
  auto sig = SignRaw(key, out);
  if (!sig) return sig.error();
  out += '.';
  AppendBase64Url(*sig, &out);
  return out;
}

Result<VerifiedJws> VerifyJws(std::string_view jws, std::span<const RsaKey> keys) {
  auto parts = SplitCompact(jws, kJwsParts);
  if (!parts) return parts.error();
  auto header = ParseProtectedHeader((*parts)[0], HeaderKind::kJws);
  if (!header) return header.error();
  auto payload = Base64UrlDecode((*parts)[1]);
  if (!payload) return InvalidArgument("JWS payload is not base64url");
  auto signature = Base64UrlDecode((*parts)[2]);
  if (!signature || signature->empty()) return InvalidArgument("JWS signature is not base64url");
  std::string_view signing_input = jws.substr(0, (*parts)[0].size() + 1 + (*parts)[1].size());

  bool kid_found = false;
  for (const RsaKey& key : keys) {
    if (header->kid) {
      if (key.kid() != *header->kid) continue;
      kid_found = true;
    }
    // One algorithm per key: a header naming another alg never reaches this key.
    if (key.alg() != header->alg) continue;
    if (VerifyRaw(key, signing_input, *signature)) {
      return VerifiedJws{std::move(*header), std::move(*payload), key.kid()};
    }
  }
  if (header->kid && !kid_found) return InvalidArgument("JWS kid names no known key");
  return InvalidArgument("JWS signature does not verify");
}

}  // namespace instaccess::jose
