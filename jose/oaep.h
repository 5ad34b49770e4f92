// Internal: EME-OAEP encoding (RFC 8017 §7.1.1 step 2) for RSA-OAEP and RSA-OAEP-256 key
// wrapping: an empty label, MGF1 over the same hash as the label's.
//
// Why not OpenSSL's OAEP padding: it draws the seed with a RAND_bytes call of its own (a DRBG
// lock and a getpid fork check: 2.3 us of a 19.4 us wrap in one thread, 1.3-1.7 % of the
// daemon's CPU per issued token in perf), while the seed here comes from the per-thread pool
// (random_pool.h) like the CEK. The RSA operation
// itself stays OpenSSL's, on a context without padding (key_context.h). Decoding stays
// OpenSSL's too: it is the side that must be constant-time, and OpenSSL's is.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <span>

namespace instaccess::jose::internal {

// Writes the encoded block EM into `em`, whose size is the modulus length k:
//   EM = 0x00 || (seed ^ MGF1(maskedDB)) || (DB ^ MGF1(seed)),  DB = Hash("") || 0..0 || 0x01 || M.
// `seed` is as long as the hash. False (em unspecified) when the sizes do not fit: a message
// longer than k - 2 hLen - 2 octets, a seed of another length, or a hash OpenSSL refuses.
bool OaepEncode(std::span<const std::uint8_t> message, std::span<const std::uint8_t> seed,
                const EVP_MD* md, std::span<std::uint8_t> em);

}  // namespace instaccess::jose::internal
