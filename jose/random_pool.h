// Random bytes for tokens (CEKs, IVs, jti, decryption's stand-in CEK), from OpenSSL's DRBG in
// blocks.
//
// A RAND_bytes call costs more than its bytes: OpenSSL 3.0's DRBG makes a getpid() system call
// (its fork check) and re-keys its AES state after every request, together about 2.5 µs in this
// VM, and an issued token needs its 64 random bytes in three draws. Each thread therefore draws
// kRandomPoolSize bytes at a time and hands them out in order. A byte handed out is erased from
// the pool at once, so the pool never holds a value already in use; what it holds is no more
// than the DRBG state in the same memory would let anyone compute.
//
// What it buys, measured (docs/performance.md): about 2.5 µs per RAND_bytes call avoided. Before
// it an issued token made two calls (jti; CEK and IV) and a decrypt one (its stand-in CEK); now
// one 1 KiB draw serves about 16 tokens. OAEP's seed from the pool (oaep.h) took a CEK wrap from
// 19.4 to 17.1 µs.
//
// Thread-safety: RandomBytes may be called from any thread. The pool belongs to its thread, so
// it needs no lock. A fork() child would inherit the forking thread's pool and hand out the
// parent's next bytes again, so a pthread_atfork handler empties it in the child (instaccessd
// does not fork; a program using the library might).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace instaccess::jose {

inline constexpr std::size_t kRandomPoolSize = 1024;

// Fills `out` with bytes from the DRBG. False only when the DRBG fails; `out` then holds nothing
// to use. Requests larger than a quarter of the pool go to the DRBG directly.
bool RandomBytes(std::span<std::uint8_t> out);

namespace internal {
// Bytes the calling thread's pool still holds (for tests).
std::size_t RandomPoolLeft();
}  // namespace internal

}  // namespace instaccess::jose
