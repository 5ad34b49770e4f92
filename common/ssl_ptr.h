// Owning handles for OpenSSL objects: one unique_ptr alias per type, one deleter each.
// OpenSSL 3 EVP APIs only; the deprecated RSA* API is not used anywhere.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include <memory>

namespace instaccess {

namespace internal {
template <auto Fn>
struct SslDeleter {
  template <typename T>
  void operator()(T* p) const {
    Fn(p);
  }
};
}  // namespace internal

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, internal::SslDeleter<EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, internal::SslDeleter<EVP_PKEY_CTX_free>>;
using EvpMdPtr = std::unique_ptr<EVP_MD, internal::SslDeleter<EVP_MD_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, internal::SslDeleter<EVP_MD_CTX_free>>;
using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, internal::SslDeleter<EVP_CIPHER_CTX_free>>;
using EvpMacPtr = std::unique_ptr<EVP_MAC, internal::SslDeleter<EVP_MAC_free>>;
using EvpMacCtxPtr = std::unique_ptr<EVP_MAC_CTX, internal::SslDeleter<EVP_MAC_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, internal::SslDeleter<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, internal::SslDeleter<BN_free>>;
// For BIGNUMs that held secret values: wiped before they are freed.
using SecretBignumPtr = std::unique_ptr<BIGNUM, internal::SslDeleter<BN_clear_free>>;
using BnCtxPtr = std::unique_ptr<BN_CTX, internal::SslDeleter<BN_CTX_free>>;
using OsslParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, internal::SslDeleter<OSSL_PARAM_BLD_free>>;
using OsslParamPtr = std::unique_ptr<OSSL_PARAM, internal::SslDeleter<OSSL_PARAM_free>>;

}  // namespace instaccess
