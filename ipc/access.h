// Who may do what: roles mapped from users and groups ([access] in the config), checked against
// the peer credentials the kernel reports for the connection (SO_PEERCRED, SO_PEERGROUPS).
//
// A request body never names its caller; the socket does. Root and the daemon's own user hold
// every role. Names are resolved to ids when the policy is built (start-up and SIGHUP); a name
// that does not resolve is reported and grants nothing.
//
// Thread-safety: immutable once built; share it as std::shared_ptr<const AccessPolicy>.
#pragma once

#include <sys/types.h>

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/peer.h"

namespace instaccess::ipc {

enum class Role { kIssue, kDecrypt, kAdmin, kRead };
std::string_view RoleName(Role role);

// What the roles a peer holds mean for the server's connection bounds (ipc/server.h).
enum class PeerClass {
  kTrusted,  // root or the daemon's own user: every role, not bounded per uid
  kWorker,   // holds issue or decrypt
  kLimited,  // holds read or admin, neither issue nor decrypt
  kNone,     // holds no role: only the role-less endpoints (/healthz) answer it
};

struct AccessLists {
  std::vector<std::string> issue, decrypt, admin, read;  // "user", "group:NAME", "*"
};

class AccessPolicy {
 public:
  // `problems` receives one line per entry that names no user or group.
  static AccessPolicy Build(const AccessLists& lists, uid_t daemon_uid,
                            std::vector<std::string>* problems);

  bool Allows(const Peer& peer, Role role) const;
  // The class of `peer` from exactly the grants Allows() checks.
  PeerClass Classify(const Peer& peer) const;

 private:
  struct Grant {
    bool everyone = false;
    std::set<uid_t> uids;
    std::set<gid_t> gids;
  };
  const Grant& For(Role role) const;

  uid_t daemon_uid_ = 0;
  Grant issue_, decrypt_, admin_, read_;
};

}  // namespace instaccess::ipc
