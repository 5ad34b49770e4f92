#include "jose/secure_heap.h"

#include <openssl/crypto.h>

namespace instaccess::jose {

namespace {
// OpenSSL's smallest useful chunk.
constexpr std::size_t kSecureHeapMinChunk = 16;
}  // namespace

SecureHeapInit InitSecureHeap() {
  switch (CRYPTO_secure_malloc_init(kSecureHeapBytes, kSecureHeapMinChunk)) {
    case 1:
      return SecureHeapInit::kLocked;
    case 2:
      return SecureHeapInit::kNotLocked;
    default:
      return SecureHeapInit::kUnavailable;
  }
}

SecureHeapUse SecureHeapInUse() {
  // CRYPTO_secure_used() takes a lock that exists only once the heap was made.
  if (CRYPTO_secure_malloc_initialized() == 0) return {};
  return {CRYPTO_secure_used(), kSecureHeapBytes};
}

std::optional<std::string> SecureHeapWarning(SecureHeapUse use) {
  if (use.size == 0 || use.used * 10 < use.size * 9) return std::nullopt;
  return "OpenSSL secure heap " + std::to_string(use.used / 1024) + " of " +
         std::to_string(use.size / 1024) +
         " KiB used: worker threads copy keys only while a free " +
         std::to_string(kKeyCopyHeadroom / 1024) +
         " KiB block is left (slower without), and a new key that finds no room is refused; "
         "fewer retired or imported keys, or fewer workers, free it";
}

}  // namespace instaccess::jose
