#include "ipc/peer.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "common/log_text.h"
#include "common/posix_error.h"
#include "common/unique_fd.h"
#include "ipc/accounts.h"

namespace instaccess::ipc {

namespace {

// The whole of /proc/<pid>/comm (at most 16 bytes) but the newline the kernel ends it with, or
// "" when it cannot be read (the process already exited). The process chose its name
// (prctl(PR_SET_NAME), or the name of what it ran), so it may hold any byte but NUL, a newline
// included: it is kept raw here and escaped wherever it is shown. Plain read(2): never throws.
std::string ProcessName(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/comm";
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return "";
  char buf[64];
  ssize_t n = 0;
  do {
    n = read(fd.get(), buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return "";
  std::string name(buf, static_cast<std::size_t>(n));
  if (name.back() == '\n') name.pop_back();
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
