#include "ipc/access.h"

#include <algorithm>

#include "ipc/accounts.h"

namespace instaccess::ipc {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kIssue:
      return "issue";
    case Role::kDecrypt:
      return "decrypt";
    case Role::kAdmin:
      return "admin";
    case Role::kRead:
      return "read";
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
        if (auto gid = LookUpGroupId(e.substr(6))) {
          grant->gids.insert(*gid);
        } else if (problems != nullptr) {
          problems->push_back("access." + std::string(RoleName(role)) + ": no such group '" +
                              e.substr(6) + "'");
        }
      } else if (auto uid = LookUpUserId(e)) {
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
    case Role::kIssue:
      return issue_;
    case Role::kDecrypt:
      return decrypt_;
    case Role::kAdmin:
      return admin_;
    case Role::kRead:
      break;
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

PeerClass AccessPolicy::Classify(const Peer& peer) const {
  if (peer.uid == 0 || peer.uid == daemon_uid_) return PeerClass::kTrusted;
  if (Allows(peer, Role::kIssue) || Allows(peer, Role::kDecrypt)) return PeerClass::kWorker;
  if (Allows(peer, Role::kRead) || Allows(peer, Role::kAdmin)) return PeerClass::kLimited;
  return PeerClass::kNone;
}

}  // namespace instaccess::ipc
