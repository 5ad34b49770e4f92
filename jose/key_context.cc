#include "jose/key_context.h"

#include <openssl/rsa.h>

#include "jose/openssl_algs.h"

namespace instaccess::jose::internal {

namespace {

// PS256 per RFC 7518 §3.5: MGF1 with SHA-256 and a salt as long as the hash (jwcrypto, json-jwt
// and OpenSSL's "digest" length all agree on 32).
bool ConfigureSignature(EVP_PKEY_CTX* ctx, Alg alg) {
  if (EVP_PKEY_CTX_set_signature_md(ctx, Sha256()) != 1) return false;
  if (alg == Alg::kRS256) return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1;
  return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, Sha256()) == 1;
}

bool ConfigureKeyTransport(EVP_PKEY_CTX* ctx, Alg alg, KeyOp op) {
  switch (alg) {
    case Alg::kRsaOaep:
    case Alg::kRsaOaep256:
      return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1;  // oaep.h encodes, decodes
    case Alg::kRsa1_5:
      return EVP_PKEY_CTX_set_rsa_padding(
                 ctx, op == KeyOp::kDecrypt ? RSA_NO_PADDING : RSA_PKCS1_PADDING) == 1;
    default:
      return false;
  }
}

}  // namespace

const EVP_MD* OaepDigest(Alg alg) {
  if (alg == Alg::kRsaOaep) return Sha1();
  if (alg == Alg::kRsaOaep256) return Sha256();
  return nullptr;
}

EvpPkeyCtxPtr PrepareContext(EVP_PKEY* pkey, Alg alg, KeyOp op) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx) return nullptr;
  bool ok = false;
  switch (op) {
    case KeyOp::kSign:
      ok = EVP_PKEY_sign_init(ctx.get()) == 1 && ConfigureSignature(ctx.get(), alg);
      break;
    case KeyOp::kVerify:
      ok = EVP_PKEY_verify_init(ctx.get()) == 1 && ConfigureSignature(ctx.get(), alg);
      break;
    case KeyOp::kEncrypt:
      ok = EVP_PKEY_encrypt_init(ctx.get()) == 1 && ConfigureKeyTransport(ctx.get(), alg, op);
      break;
    case KeyOp::kDecrypt:
      ok = EVP_PKEY_decrypt_init(ctx.get()) == 1 && ConfigureKeyTransport(ctx.get(), alg, op);
      break;
  }
  return ok ? std::move(ctx) : nullptr;
}

}  // namespace instaccess::jose::internal
