// Who is on the other end of a connection, as the kernel says (SO_PEERCRED), never as the
// request says. Captured once at accept: the credentials of the process that connected.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace instaccess::ipc {

struct Peer {
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  pid_t pid = 0;
  std::vector<gid_t> groups;  // supplementary groups (SO_PEERGROUPS)
  std::string process;        // /proc/<pid>/comm at accept time, for logs only; may be empty

  // Where the user's name comes from: NSS at the call (audit rows of admin actions, which must
  // name today's user of the uid), or CachedUserName (refusals, which any local user can cause as
  // often as it likes; the name may be a minute old).
  enum class Name { kLookedUp, kCached };
  // "uid 1001 (alice)": what a refused client is told about itself.
  std::string User(Name name = Name::kLookedUp) const;
  // "uid 1001 (alice) pid 4242 (curl)" for log lines and audit rows.
  std::string Describe(Name name = Name::kLookedUp) const;
};

// Reads SO_PEERCRED and SO_PEERGROUPS of a connected Unix stream socket.
Result<Peer> PeerOf(int fd);

}  // namespace instaccess::ipc
