// Internal: OpenSSL algorithm objects fetched once per process.
//
// OpenSSL 3 looks an algorithm up in its provider store (a locked hash table) every time a legacy
// getter like EVP_sha256() is used to initialise a context. The objects fetched here are immutable
// once fetched and shared read-only by every thread, so they are not mutable state in the sense
// that matters; fetching them once keeps that lookup off the per-token path.
// Each returns nullptr only if the default provider lacks the algorithm (then every call fails).
#pragma once

#include <openssl/evp.h>

namespace instaccess::jose::internal {

const EVP_MD* Sha1();
const EVP_MD* Sha256();
const EVP_CIPHER* Aes128Cbc();
const EVP_CIPHER* Aes256Gcm();
// HMAC with SHA-256 chosen and no key: EVP_MAC_CTX_dup it and EVP_MAC_init the copy with a key.
// Naming the digest in EVP_MAC_init instead makes the HMAC provider fetch SHA-256 by name again
// (a locked store lookup) for every token. The template is only ever read.
const EVP_MAC_CTX* HmacSha256Template();

}  // namespace instaccess::jose::internal
