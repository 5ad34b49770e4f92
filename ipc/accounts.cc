#include "ipc/accounts.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace instaccess::ipc {

namespace internal {

bool CallWithGrowingBuffer(std::size_t initial,
                           const std::function<int(char* buffer, std::size_t size)>& lookup) {
  std::vector<char> buffer(initial > 0 ? initial : 1024);
  for (;;) {
    const int rc = lookup(buffer.data(), buffer.size());
    if (rc != ERANGE) return rc == 0;
    if (buffer.size() >= kMaxNssBuffer) return false;
    buffer.resize(buffer.size() * 2);
  }
}

}  // namespace internal

namespace {

// sysconf's size is only where to start: glibc says 1024 for groups, and a group with a long
// member list (or one from LDAP) needs more.
std::size_t StartSize(int which) {
  const long size = sysconf(which);
  return size > 0 ? static_cast<std::size_t>(size) : 16384u;
}

}  // namespace

// The strings in a passwd or group entry point into the buffer, which is gone once
// CallWithGrowingBuffer returns: each lookup copies out what it needs inside the call.

std::optional<uid_t> LookUpUserId(const std::string& name) {
  std::optional<uid_t> uid;
  internal::CallWithGrowingBuffer(StartSize(_SC_GETPW_R_SIZE_MAX), [&](char* b, std::size_t n) {
    passwd pw{};
    passwd* found = nullptr;
    const int rc = getpwnam_r(name.c_str(), &pw, b, n, &found);
    if (rc == 0 && found != nullptr) uid = pw.pw_uid;
    return rc;
  });
  return uid;
}

std::optional<gid_t> LookUpGroupId(const std::string& name) {
  std::optional<gid_t> gid;
  internal::CallWithGrowingBuffer(StartSize(_SC_GETGR_R_SIZE_MAX), [&](char* b, std::size_t n) {
    group gr{};
    group* found = nullptr;
    const int rc = getgrnam_r(name.c_str(), &gr, b, n, &found);
    if (rc == 0 && found != nullptr) gid = gr.gr_gid;
    return rc;
  });
  return gid;
}

std::string LookUpUserName(uid_t uid) {
  std::string user;
  internal::CallWithGrowingBuffer(StartSize(_SC_GETPW_R_SIZE_MAX), [&](char* b, std::size_t n) {
    passwd pw{};
    passwd* found = nullptr;
    const int rc = getpwuid_r(uid, &pw, b, n, &found);
    if (rc == 0 && found != nullptr) user = pw.pw_name;
    return rc;
  });
  return user;
}

}  // namespace instaccess::ipc
