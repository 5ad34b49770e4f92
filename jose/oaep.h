// Internal: EME-OAEP encoding and decoding (RFC 8017 §7.1.1 step 2, §7.1.2 step 3) for RSA-OAEP
// and RSA-OAEP-256 key wrapping: an empty label, MGF1 over the same hash as the label's. The RSA
// operations stay OpenSSL's, on contexts without padding (key_context.h).
//
// Why not OpenSSL's OAEP padding:
// - Encoding: it draws the seed with a RAND_bytes call of its own (a DRBG lock and a getpid fork
//   check: 2.3 us of a 19.4 us wrap in one thread, 1.3-1.7 % of the daemon's CPU per issued
//   token in perf); the seed here comes from the per-thread pool (random_pool.h) like the CEK.
// - Decoding: OpenSSL's accepts any message length, so it searches for the separator, and it
//   raises and then hides an error on every call to stay constant-time (about 14 allocations;
//   3.3 us over the bare private operation, measured in one thread). A JWE's CEK length is fixed
//   by `enc`, a public fact, so here every field of the block is at a known place and the check
//   is a fixed sequence of comparisons with no branch on any byte of the block.
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

// Decodes the k-byte block `em` (the output of RSADP, k = em.size()) in place and returns an
// all-ones mask when it is an EME-OAEP encoding of a message of exactly `message_size` bytes,
// all-zeros otherwise:
//   em = 0x00 || maskedSeed || maskedDB,  DB = Hash("") || 0..0 || 0x01 || M.
// On success M is the last `message_size` bytes of `em`; on failure `em` holds garbage. Time and
// memory accesses depend only on k, `message_size` and `md`, never on the bytes of `em`. Sizes
// that cannot fit (as in OaepEncode) and digest failures give all-zeros.
std::uint32_t OaepDecodeMask(std::span<std::uint8_t> em, std::size_t message_size,
                             const EVP_MD* md);

}  // namespace instaccess::jose::internal
