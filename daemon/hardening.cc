#include "daemon/hardening.h"

#include <openssl/crypto.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "jose/key_context.h"

namespace instaccess::daemon {

namespace {
// Room for the private key BIGNUMs of a few hundred RSA-4096 keys, or of a few dozen with the
// copy each worker thread keeps of every key it uses (jose/key_context.h: at most 16 copies, and
// none while no free 64 KiB block is left, which each thread's random generators and newly made
// keys need; a thread without a copy uses the shared key). A power of two, as OpenSSL requires.
// 16 bytes is OpenSSL's smallest useful chunk.
constexpr std::size_t kSecureHeapBytes = 1 << 20;
constexpr std::size_t kSecureHeapMinChunk = 16;
}  // namespace

Status HardenProcess(std::vector<std::string>* warnings) {
  rlimit no_core{0, 0};
  if (setrlimit(RLIMIT_CORE, &no_core) != 0) {
    return FailedPrecondition(std::string("cannot disable core files: ") + std::strerror(errno));
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return FailedPrecondition(std::string("cannot make the process non-dumpable: ") +
                              std::strerror(errno));
  }
  // SQLite creates the store, its -wal and -shm, and backups as 0644 less the umask, and a shell's
  // umask is often 022: the sealed keys are safe, but their metadata and audit trail are not for
  // other users. (The unit sets UMask=0077 too; this covers a start by hand.)
  ::umask(0077);
  // Every client connection is a descriptor; the soft limit (often 1024) would cap
  // limits.max_connections long before the hard limit does.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &files) != 0) {
      warnings->push_back(std::string("cannot raise the open-file limit: ") + std::strerror(errno));
    }
  }
  switch (CRYPTO_secure_malloc_init(kSecureHeapBytes, kSecureHeapMinChunk)) {
    case 1:
      break;
    case 2:
      warnings->push_back(
          "OpenSSL secure heap is on but could not be locked in memory "
          "(raise LimitMEMLOCK)");
      break;
    default:
      warnings->push_back("OpenSSL secure heap is unavailable; private keys use the normal heap");
  }
  return Status::Ok();
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
         std::to_string(jose::internal::kCopyHeadroom / 1024) +
         " KiB block is left (slower without), and a new key that finds no room is refused; "
         "fewer retired or imported keys, or fewer workers, free it";
}

}  // namespace instaccess::daemon
