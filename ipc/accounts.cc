#include "ipc/accounts.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <vector>

namespace instaccess::ipc {

namespace {
std::vector<char> NssBuffer(int which) {
  long size = sysconf(which);
  return std::vector<char>(size > 0 ? static_cast<std::size_t>(size) : 16384u);
}
}  // namespace

std::optional<uid_t> LookUpUserId(const std::string& name) {
  auto buf = NssBuffer(_SC_GETPW_R_SIZE_MAX);
  passwd pw{};
  passwd* found = nullptr;
  if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  return pw.pw_uid;
}

std::optional<gid_t> LookUpGroupId(const std::string& name) {
  auto buf = NssBuffer(_SC_GETGR_R_SIZE_MAX);
  group gr{};
  group* found = nullptr;
  if (getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  return gr.gr_gid;
}

std::string LookUpUserName(uid_t uid) {
  auto buf = NssBuffer(_SC_GETPW_R_SIZE_MAX);
  passwd pw{};
  passwd* found = nullptr;
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) return {};
  return pw.pw_name;
}

}  // namespace instaccess::ipc
