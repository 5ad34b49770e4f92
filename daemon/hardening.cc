#include "daemon/hardening.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cerrno>

#include "common/posix_error.h"
#include "jose/secure_heap.h"

namespace instaccess::daemon {

Status HardenProcess(std::vector<std::string>* warnings) {
  rlimit no_core{0, 0};
  if (setrlimit(RLIMIT_CORE, &no_core) != 0) {
    return PosixError(Code::kFailedPrecondition, "cannot disable core files", errno);
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return PosixError(Code::kFailedPrecondition, "cannot make the process non-dumpable", errno);
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
      warnings->push_back(PosixError("cannot raise the open-file limit", errno).message());
    }
  }
  switch (jose::InitSecureHeap()) {
    case jose::SecureHeapInit::kLocked:
      break;
    case jose::SecureHeapInit::kNotLocked:
      warnings->push_back(
          "OpenSSL secure heap is on but could not be locked in memory (raise LimitMEMLOCK)");
      break;
    case jose::SecureHeapInit::kUnavailable:
      warnings->push_back("OpenSSL secure heap is unavailable; private keys use the normal heap");
      break;
  }
  return Status::Ok();
}

}  // namespace instaccess::daemon
