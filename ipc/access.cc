#include "ipc/access.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>

namespace instaccess::ipc {

namespace {

std::vector<char> NssBuffer(int which) {
  long size = sysconf(which);
  return std::vector<char>(size > 0 ? static_cast<std::size_t>(size) : 16384u);
}

std::optional<uid_t> UserId(const std::string& name) {
  auto buf = NssBuffer(_SC_GETPW_R_SIZE_MAX);
  passwd pw{};
  passwd* found = nullptr;
  if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  return pw.pw_uid;
}

std::optional<gid_t> GroupId(const std::string& name) {
  auto buf = NssBuffer(_SC_GETGR_R_SIZE_MAX);
  group gr{};
  group* found = nullptr;
  if (getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  return gr.gr_gid;
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kIssue: return "issue";
    case Role::kDecrypt: return "decrypt";
    case Role::kAdmin: return "admin";
    case Role::kRead: return "read";
  }
  return "unknown";
}

AccessPolicy AccessPolicy::Build(const AccessLists& lists, uid_t daemon_uid,
                                 std::vector<std::string>* problems) {
  AccessPolicy p;
  p.daemon_uid_ = daemon_uid;
  auto fill = [&](const std::vector<std::string>& entries, Role role, Grant* grant) {
    for (const std::string& e : entries) {
      if (e == "*") {
        grant->everyone = true;
      } else if (e.starts_with("group:")) {
        if (auto gid = GroupId(e.substr(6))) {
          grant->gids.insert(*gid);
        } else if (problems != nullptr) {
          problems->push_back("access." + std::string(RoleName(role)) + ": no such group '" +
                              e.substr(6) + "'");
        }
      } else if (auto uid = UserId(e)) {
        grant->uids.insert(*uid);
      } else if (problems != nullptr) {
        problems->push_back("access." + std::string(RoleName(role)) + ": no such user '" + e + "'");
      }
    }
  };
  fill(lists.issue, Role::kIssue, &p.issue_);
  fill(lists.decrypt, Role::kDecrypt, &p.decrypt_);
  fill(lists.admin, Role::kAdmin, &p.admin_);
  fill(lists.read, Role::kRead, &p.read_);
  return p;
}

const AccessPolicy::Grant& AccessPolicy::For(Role role) const {
  switch (role) {
    case Role::kIssue: return issue_;
    case Role::kDecrypt: return decrypt_;
    case Role::kAdmin: return admin_;
    case Role::kRead: break;
  }
  return read_;
}

bool AccessPolicy::Allows(const Peer& peer, Role role) const {
  if (peer.uid == 0 || peer.uid == daemon_uid_) return true;
  const Grant& g = For(role);
  if (g.everyone || g.uids.contains(peer.uid) || g.gids.contains(peer.gid)) return true;
  return std::any_of(peer.groups.begin(), peer.groups.end(),
                     [&](gid_t gid) { return g.gids.contains(gid); });
}

}  // namespace instaccess::ipc
