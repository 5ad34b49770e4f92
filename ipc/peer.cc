#include "ipc/peer.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <vector>

#include "common/log_text.h"
#include "common/posix_error.h"
#include "ipc/accounts.h"

namespace instaccess::ipc {

namespace {

// The whole of /proc/<pid>/comm but the newline the kernel ends it with. The process chose its
// name (prctl(PR_SET_NAME), or the name of what it ran), so it may hold any byte but NUL, a
// newline included: it is kept raw here and escaped wherever it is shown.
std::string ProcessName(pid_t pid) {
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm", std::ios::binary);
  std::string name{std::istreambuf_iterator<char>(comm), std::istreambuf_iterator<char>()};
  if (!name.empty() && name.back() == '\n') name.pop_back();
  return name;
}

}  // namespace

std::string Peer::User(Name name) const {
  std::string s = "uid " + std::to_string(uid);
  const std::string user = name == Name::kCached ? CachedUserName(uid) : LookUpUserName(uid);
  if (!user.empty()) s += " (" + LogText(user) + ")";
  return s;
}

std::string Peer::Describe(Name name) const {
  std::string s = User(name) + " pid " + std::to_string(pid);
  if (!process.empty()) s += " (" + LogText(process) + ")";
  return s;
}

Result<Peer> PeerOf(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return PosixError(Code::kInternal, "SO_PEERCRED", errno);
  }
  Peer peer;
  peer.uid = cred.uid;
  peer.gid = cred.gid;
  peer.pid = cred.pid;
  peer.process = ProcessName(cred.pid);
  // Supplementary groups, also from the kernel. The first call learns the size.
  socklen_t glen = 0;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, nullptr, &glen) != 0 && errno == ERANGE &&
      glen > 0) {
    peer.groups.resize(glen / sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, peer.groups.data(), &glen) != 0) {
      peer.groups.clear();
    } else {
      peer.groups.resize(glen / sizeof(gid_t));
    }
  }
  return peer;
}

}  // namespace instaccess::ipc
