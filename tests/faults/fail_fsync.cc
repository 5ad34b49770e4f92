// LD_PRELOAD shim for the fault tests: fsync and fdatasync fail with EIO while the file named by
// $INSTACCESS_FAIL_FSYNC_FLAG exists, and pass through to libc otherwise. The test creates and
// removes the flag file to switch the fault on and off in a running daemon.
#include <dlfcn.h>
#include <errno.h>
#include <unistd.h>

#include <cstdlib>

namespace {

// EIO while the flag file exists, else what libc's `name` does. Looked up on each call: a sync is
// rare, and there is then no cached pointer for threads to race on.
int FailOrPassOn(const char* name, int fd) {
  const char* flag = std::getenv("INSTACCESS_FAIL_FSYNC_FLAG");
  if (flag != nullptr && ::access(flag, F_OK) == 0) {
    errno = EIO;
    return -1;
  }
  return reinterpret_cast<int (*)(int)>(::dlsym(RTLD_NEXT, name))(fd);
}

}  // namespace

extern "C" int fsync(int fd) { return FailOrPassOn("fsync", fd); }
extern "C" int fdatasync(int fd) { return FailOrPassOn("fdatasync", fd); }
