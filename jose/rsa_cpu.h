// The CPU time this process spends in RSA operations, sampled.
//
// The performance model (docs/performance.md) sets the daemon's CPU per request beside the CPU
// of its RSA work. `openssl speed` gives that figure from another process at another moment, and
// on a shared host the two drift apart by 10% within a minute; measured here, both come from the
// same requests. Operators get the CPU one token costs (`instaccess_rsa_operation_cpu_seconds`
// in /metrics).
//
// Reading a thread's CPU clock is a system call (about 1 µs in a VM, against ~260 µs for an
// RSA-2048 private operation), so one operation in kRsaCpuSampleEvery of each kind, per thread,
// is timed; the totals count only the timed ones, and their mean is the cost of one operation.
//
// What it buys, measured (docs/performance.md): a CPU ratio from the same requests as the
// daemon's CPU, so a host that drifts moves both sides alike. A slowdown inside one bench phase
// moves the ratio over `openssl speed` and not this one; in calm stretches the two agree. It
// costs two clock reads per 17 operations of a kind, about 0.15 µs per operation on average.
//
// Thread-safety: each thread counts its own operations; a timed one ends with two relaxed atomic
// adds to process-wide totals, which any thread may read (the two figures may be one operation
// apart). Like jose's per-thread caches (token.h lists them), the totals record and change no
// result.
//
// Decryption is never timed. Its input is a ciphertext the client chose, and a per-operation
// CPU clock a client can read back (through /metrics) would be a finer timing oracle than any
// the socket offers (Bleichenbacher, Marvin; docs/tokens.md). Signing pads a digest and checks
// nothing secret that could fail; verification and encryption use only the public key.
#pragma once

#include <cstdint>

namespace instaccess::jose {

enum class RsaOpKind { kSign, kVerify, kEncrypt };
inline constexpr int kRsaOpKinds = 3;

struct RsaCpuTotals {
  std::uint64_t timed_ops = 0;
  std::uint64_t cpu_ns = 0;  // summed over the timed operations
};

// Odd on purpose. OpenSSL renews a blinding every 32 private operations, and that operation
// costs twice as much as the others (503 against 262 us in a bare loop). Each worker thread
// signs with a copy of the key of its own (key_context.h), so with its own blinding: with a
// stride that divides 32, every timed operation of a thread falls on the same place of that
// cycle, and the sample always, or never, holds the renewal. A stride of 16 timed signatures 3 %
// below their true mean. An odd one visits all 32 places.
inline constexpr std::uint32_t kRsaCpuSampleEvery = 17;

// Totals since the process started; any thread may read them at any time.
RsaCpuTotals RsaCpuSoFar(RsaOpKind kind);

namespace internal {

// Wraps one RSA operation (only the OpenSSL call: padding checks and buffers are not RSA work).
class RsaCpuTimer {
 public:
  explicit RsaCpuTimer(RsaOpKind kind);
  ~RsaCpuTimer();
  RsaCpuTimer(const RsaCpuTimer&) = delete;
  RsaCpuTimer& operator=(const RsaCpuTimer&) = delete;

 private:
  RsaOpKind kind_;
  std::int64_t start_ns_ = -1;  // -1: this operation is not one of the sampled ones
};

}  // namespace internal
}  // namespace instaccess::jose
