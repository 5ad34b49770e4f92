// The listening Unix socket: created with the configured mode and group, replacing a stale
// socket file only when nothing listens on it.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>

#include "common/status.h"

namespace instaccess::ipc {

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

struct SocketOptions {
  std::string path;
  // 0660: the owner (the daemon) and the clients' group; nobody else may even connect.
  mode_t mode = 0660;
  // Group that owns the socket file; empty keeps the process's group.
  std::string group;
  // Enough for bursts of connects from many local processes.
  int backlog = 1024;
};

// Binds and listens. Fails with FailedPrecondition when another process listens on the path or
// the path is something other than a socket; never removes a live socket or a regular file.
Result<UniqueFd> ListenUnix(const SocketOptions& options);

}  // namespace instaccess::ipc
