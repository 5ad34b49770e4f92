#include "jose/random_pool.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace instaccess::jose {

namespace {

struct Pool {
  std::array<std::uint8_t, kRandomPoolSize> bytes{};
  std::size_t next = kRandomPoolSize;  // the first byte not handed out; kRandomPoolSize: empty
  ~Pool() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

thread_local Pool t_pool;

// In a fork() child only the forking thread exists; its pool is the parent's and must go.
void EmptyPoolInChild() {
  OPENSSL_cleanse(t_pool.bytes.data(), t_pool.bytes.size());
  t_pool.next = kRandomPoolSize;
}

}  // namespace

bool RandomBytes(std::span<std::uint8_t> out) {
  static const int fork_handler = pthread_atfork(nullptr, nullptr, EmptyPoolInChild);
  if (fork_handler != 0) return false;  // no handler, no pool: never hand out a byte twice
  if (out.size() > kRandomPoolSize / 4) {
    return RAND_bytes(out.data(), static_cast<int>(out.size())) == 1;
  }
  Pool& pool = t_pool;
  std::size_t filled = 0;
  while (filled < out.size()) {
    if (pool.next == pool.bytes.size()) {
      if (RAND_bytes(pool.bytes.data(), static_cast<int>(pool.bytes.size())) != 1) return false;
      pool.next = 0;
    }
    const std::size_t n = std::min(out.size() - filled, pool.bytes.size() - pool.next);
    std::memcpy(out.data() + filled, pool.bytes.data() + pool.next, n);
    OPENSSL_cleanse(pool.bytes.data() + pool.next, n);
    pool.next += n;
    filled += n;
  }
  return true;
}

namespace internal {
std::size_t RandomPoolLeft() { return t_pool.bytes.size() - t_pool.next; }
}  // namespace internal

}  // namespace instaccess::jose
