// LD_PRELOAD shim for the fault tests: fsync and fdatasync fail with EIO while the file named by
// $INSTACCESS_FAIL_FSYNC_FLAG exists, and pass through to libc otherwise. The test creates and
// removes the flag file to switch the fault on and off in a running daemon.
#include <dlfcn.h>
#include <errno.h>
#include <unistd.h>

#include <cstdlib>

namespace {

bool Failing() {
  const char* flag = std::getenv("INSTACCESS_FAIL_FSYNC_FLAG");
  return flag != nullptr && ::access(flag, F_OK) == 0;
}

template <typename Fn>
Fn Next(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" int fsync(int fd) {
  if (Failing()) {
    errno = EIO;
    return -1;
  }
  static const auto next = Next<int (*)(int)>("fsync");
  return next(fd);
}

extern "C" int fdatasync(int fd) {
  if (Failing()) {
    errno = EIO;
    return -1;
  }
  static const auto next = Next<int (*)(int)>("fdatasync");
  return next(fd);
}
