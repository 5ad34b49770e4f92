// The daemon's side of systemd's protocols: sd_notify (READY=1, STATUS=, RELOADING=1,
// STOPPING=1, WATCHDOG=1) and socket activation (sd_listen_fds). All of these are no-ops when
// the daemon was not started by systemd (no NOTIFY_SOCKET / LISTEN_FDS in the environment).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "common/status.h"
#include "ipc/unix_socket.h"

namespace instaccess::daemon {

void NotifyReady(std::string_view status);
void NotifyStatus(std::string_view status);
void NotifyReloading();
void NotifyReloaded();
void NotifyStopping();
void NotifyWatchdog();

// The interval at which WATCHDOG=1 must be sent (half of WatchdogSec), if the watchdog is on.
std::optional<std::chrono::microseconds> WatchdogInterval();

// The listening socket systemd passed (socket activation), or nullopt when none was passed.
// More than one socket, or one that is not a listening Unix stream socket, is an error.
Result<std::optional<UniqueFd>> SocketFromSystemd();

}  // namespace instaccess::daemon
