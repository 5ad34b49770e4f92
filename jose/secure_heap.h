// OpenSSL's secure heap, where every private key and each worker thread's copy of it live.
//
// The process makes the heap once at start (InitSecureHeap, before any key is loaded); status
// and metrics read its use. The heap holds every loaded private key, the copy of it that each
// worker thread keeps (jose/key_context.h: made only while one free kKeyCopyHeadroom block is
// left) and each thread's random generators. A key made or loaded when it finds no room is
// refused, so an operator is warned at 90 % (SecureHeapWarning).
//
// Thread-safety: InitSecureHeap once, before other threads use OpenSSL; the rest from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace instaccess::jose {

// Room for the private key numbers of a few hundred RSA-4096 keys, or of a few dozen with the
// copy each worker thread keeps of every key it uses (at most 16 copies, and none while no free
// kKeyCopyHeadroom block is left, which each thread's random generators and newly made keys
// need; a thread without a copy uses the shared key). A power of two, as OpenSSL requires.
inline constexpr std::size_t kSecureHeapBytes = 1 << 20;

// A worker thread copies a key only while one free block this large is left (key_context.h).
inline constexpr std::size_t kKeyCopyHeadroom = 64 * 1024;

enum class SecureHeapInit {
  kLocked,       // made and locked in memory
  kNotLocked,    // made, but mlock failed (raise LimitMEMLOCK): secrets still apart and wiped
  kUnavailable,  // not made: private keys use the normal heap
};
SecureHeapInit InitSecureHeap();

// The heap's size and the bytes in use now; both 0 when there is none.
struct SecureHeapUse {
  std::size_t used = 0;
  std::size_t size = 0;
};
SecureHeapUse SecureHeapInUse();

// A status warning once the heap is 90 % full, with the figures; nothing below that or when
// there is no heap.
std::optional<std::string> SecureHeapWarning(SecureHeapUse use);

}  // namespace instaccess::jose
