// Internal to jose/ (no other library includes it): the EVP_PKEY_CTX each RSA operation uses,
// with the key's padding and digests, and the per-thread key copies behind RsaKey::ContextFor.
//
// Setting up a context fetches the algorithm from OpenSSL's provider store (a locked name
// lookup), so RsaKey prepares a context per operation once and keeps it. Each thread that holds a
// slot (below) gets its own copy of the key (while the secure heap has room, below) and its own
// contexts, made the first time it does that operation with that key and reused after: its
// operations touch no state another thread writes (a shared key's reference counts, and the
// blinding lock of every thread but the key's first user). A thread without a slot duplicates a
// context prepared for all for each operation.
//
// What it buys, measured (docs/performance.md): a context made once instead of per operation
// saves about 5.7 µs per issue and 4.6 µs per decrypt (making one costs 2.7 µs, duplicating a
// prepared one 0.1 µs). The per-thread copy, against a shared key, saves about 1 µs of a private
// operation with two threads (medians 286.9 against 287.8 µs, and 287.4 against 289.2 µs), below
// what the daemon bench resolves. It stays because threads then share nothing, and a context
// that failed to prepare is tried again instead of cached as null.
//
// Thread-safety: the functions below may be called from any thread. A slot's entries in a key
// are written and read only by the thread holding the slot.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/ssl_ptr.h"
#include "jose/rsa_key.h"
#include "jose/secure_heap.h"

namespace instaccess::jose::internal {

// A context initialised for `op` with `alg`'s padding (RFC 7518 §3.3, §3.5, §4.2, §4.3), or null
// when OpenSSL refuses. RSA1_5 decryption uses no padding: jwe.cc removes it in constant time.
// RSA-OAEP has no padding in either direction: oaep.h encodes and decodes the block.
EvpPkeyCtxPtr PrepareContext(EVP_PKEY* pkey, Alg alg, KeyOp op);

// Threads that can hold a slot at once: a daemon has a worker per core, the main thread and the
// scheduler. A slot is given back when its thread ends, and the next thread to ask takes it
// (with the contexts the last holder left in each key: nobody else uses them).
inline constexpr std::size_t kContextSlots = 16;

// The calling thread's slot in [0, kContextSlots), taken at its first call; -1 for its whole life
// when every slot was held at that call.
int ThisThreadContextSlot();

// The secure-heap probe. A thread's copy of a key is a speed-up; the secure heap also holds what
// cannot do without it: each thread's two random generators (512 bytes; every private-key
// operation draws its blinding from them, so a thread that cannot make them cannot sign or
// decrypt at all) and the private parts of keys made or loaded later (rotation, import). A copy
// is made only while one free block this large is left, so copies never take the last of the
// heap. It buys safety, not speed: its cost, one secure allocation and free under the heap's
// lock, falls at a key's first use on a thread (and every kCopyRetryAfter operations after a
// refusal), and the figures above include it.
inline constexpr std::size_t kCopyHeadroom = kKeyCopyHeadroom;
// Threads that probe at once may all find the block before any copies: every slot's copy of the
// largest key may land in it, and the rest must still hold the random generators of 48 threads.
// A copy of a generated RSA-4096 key takes 2,304 bytes of the heap (its six private numbers, in
// power-of-two chunks; tests/jose/secure_heap_test.cc measures it).
inline constexpr std::size_t kLargestKeyCopy = 2304;
inline constexpr std::size_t kGeneratorsPerThread = 512;
static_assert(kContextSlots * kLargestKeyCopy + 48 * kGeneratorsPerThread <= kCopyHeadroom);
// After a copy was not made, a thread does this many operations with the key on the shared
// context before it tries again (a probe takes the secure heap's lock).
inline constexpr std::uint32_t kCopyRetryAfter = 1024;

// Whether the secure heap (when there is one) still has one free block of kCopyHeadroom bytes.
bool RoomForKeyCopy();

// The hash of OAEP and its MGF1: SHA-1 for RSA-OAEP, SHA-256 for RSA-OAEP-256; null otherwise.
const EVP_MD* OaepDigest(Alg alg);

}  // namespace instaccess::jose::internal
