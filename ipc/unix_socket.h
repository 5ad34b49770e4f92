// The listening Unix socket: created with the configured mode and group, replacing a stale
// socket file only when nothing listens on it.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/status.h"
#include "common/unique_fd.h"

namespace instaccess::ipc {

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
