#include "ipc/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/posix_error.h"
#include "ipc/accounts.h"

namespace instaccess::ipc {

namespace {

Result<sockaddr_un> Address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return InvalidArgument("socket path must be 1 to " + std::to_string(sizeof addr.sun_path - 1) +
                           " bytes: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// A socket file nobody listens on is left over from a crash and may go; anything else stays.
Status RemoveIfStale(const std::string& path, const sockaddr_un& addr) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return PosixError(Code::kFailedPrecondition, "cannot inspect " + path, errno);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return FailedPrecondition(path + " exists and is not a socket; refusing to replace it");
  }
  UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe.valid()) return PosixError(Code::kInternal, "socket", errno);
  if (connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    return FailedPrecondition("another process is listening on " + path +
                              " (is instaccessd already running?)");
  }
  if (errno != ECONNREFUSED) {
    return PosixError(Code::kFailedPrecondition, "cannot probe " + path, errno);
  }
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return PosixError(Code::kFailedPrecondition, "cannot remove stale socket " + path, errno);
  }
  return Status::Ok();
}

}  // namespace

Result<UniqueFd> ListenUnix(const SocketOptions& options) {
  auto addr = Address(options.path);
  if (!addr) return addr.error();
  INSTACCESS_RETURN_IF_ERROR(RemoveIfStale(options.path, *addr));

  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return PosixError(Code::kInternal, "socket", errno);
  // Bind under a tight umask so the file is never reachable by others, even for an instant,
  // before chmod sets the configured mode (as ssh-agent does).
  mode_t old_umask = umask(0177);
  int rc = bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr);
  int bind_errno = errno;
  umask(old_umask);
  if (rc != 0) {
    return PosixError(Code::kFailedPrecondition, "cannot bind " + options.path, bind_errno);
  }
  if (!options.group.empty()) {
    auto gid = LookUpGroupId(options.group);
    if (!gid) return InvalidArgument("no such group: " + options.group);
    if (chown(options.path.c_str(), static_cast<uid_t>(-1), *gid) != 0) {
      return PosixError(Code::kFailedPrecondition,
                        "cannot give " + options.path + " to group " + options.group, errno);
    }
  }
  if (chmod(options.path.c_str(), options.mode) != 0) {
    return PosixError(Code::kFailedPrecondition, "cannot chmod " + options.path, errno);
  }
  if (listen(fd.get(), options.backlog) != 0) return PosixError(Code::kInternal, "listen", errno);
  return fd;
}

}  // namespace instaccess::ipc
