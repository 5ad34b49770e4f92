#include "daemon/systemd.h"

#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include <string>

namespace instaccess::daemon {

namespace {
void Notify(const std::string& state) {
  // unset_environment=0: children never get started, and tests may reuse the env.
  sd_notify(0, state.c_str());
}
}  // namespace

void NotifyReady(std::string_view status) { Notify("READY=1\nSTATUS=" + std::string(status)); }
void NotifyStatus(std::string_view status) { Notify("STATUS=" + std::string(status)); }
void NotifyReloading() { Notify("RELOADING=1\nSTATUS=reloading configuration"); }
void NotifyReloaded() { Notify("READY=1\nSTATUS=configuration reloaded"); }
void NotifyStopping() { Notify("STOPPING=1\nSTATUS=draining connections"); }
void NotifyWatchdog() { Notify("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> WatchdogInterval() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec / 2);
}

Result<std::optional<UniqueFd>> SocketFromSystemd() {
  int n = sd_listen_fds(1);  // unsets LISTEN_* so nothing we start inherits them
  if (n < 0) return FailedPrecondition("sd_listen_fds failed");
  if (n == 0) return std::optional<UniqueFd>();
  if (n > 1) {
    for (int i = 0; i < n; ++i) UniqueFd close_it(SD_LISTEN_FDS_START + i);
    return FailedPrecondition("systemd passed " + std::to_string(n) +
                              " sockets; instaccessd takes exactly one");
  }
  UniqueFd fd(SD_LISTEN_FDS_START);
  if (sd_is_socket_unix(fd.get(), SOCK_STREAM, 1, nullptr, 0) <= 0) {
    return FailedPrecondition("the socket systemd passed is not a listening Unix stream socket");
  }
  return std::optional<UniqueFd>(std::move(fd));
}

}  // namespace instaccess::daemon
