// Internal: the EVP_PKEY_CTX each RSA operation starts from, with the key's padding and digests.
//
// Setting up a context fetches the algorithm from OpenSSL's provider store, which costs about
// 2.7 µs (a locked name lookup); duplicating a prepared one costs 0.1 µs (bench on 2 cores,
// against ~250 µs for the private operation itself). RsaKey therefore prepares one context per
// operation, the first time it does it, and each operation works on a duplicate of it.
#pragma once

#include "common/ssl_ptr.h"
#include "jose/rsa_key.h"

namespace instaccess::jose::internal {

// A context initialised for `op` with `alg`'s padding (RFC 7518 §3.3, §3.5, §4.2, §4.3), or null
// when OpenSSL refuses. RSA1_5 decryption uses no padding: jwe.cc removes it in constant time.
// RSA-OAEP has no padding in either direction: oaep.h encodes and decodes the block.
EvpPkeyCtxPtr PrepareContext(EVP_PKEY* pkey, Alg alg, KeyOp op);

// The hash of OAEP and its MGF1: SHA-1 for RSA-OAEP, SHA-256 for RSA-OAEP-256; null otherwise.
const EVP_MD* OaepDigest(Alg alg);

}  // namespace instaccess::jose::internal
