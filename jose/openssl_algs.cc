#include "jose/openssl_algs.h"

namespace instaccess::jose::internal {

// Function-local statics: initialised once, thread-safe (C++11 magic statics), never freed
// (they must outlive every thread that might still be using them at exit).
const EVP_MD* Sha1() {
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  return md;
}

const EVP_MD* Sha256() {
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

const EVP_CIPHER* Aes128Cbc() {
  static const EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr);
  return c;
}

const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return c;
}

EVP_MAC* Hmac() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

}  // namespace instaccess::jose::internal
