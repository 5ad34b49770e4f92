#include "daemon/systemd.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/log_text.h"

namespace instaccess::daemon {

namespace {
// The notification protocol of sd_notify(3), but never blocking: sd_notify waits while the
// receiver's queue is full (systemd busy, or net.unix.max_dgram_qlen datagrams unread), and the
// main thread, which accepts connections and handles signals, must never wait for systemd. A
// datagram that finds the queue full is dropped with a warning: the next STATUS= replaces it,
// and systemd, not reading, would not have acted on it. NOTIFY_SOCKET is left in the
// environment: children never get started, and tests may reuse the env.
void Notify(const std::string& state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || (path[0] != '/' && path[0] != '@')) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::size_t length = std::strlen(path);
  if (length >= sizeof addr.sun_path) return;
  std::memcpy(addr.sun_path, path, length);
  if (path[0] == '@') addr.sun_path[0] = '\0';  // an abstract socket
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return;
  const auto addr_length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
  if (::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
               reinterpret_cast<const sockaddr*>(&addr), addr_length) < 0 &&
      errno == EAGAIN) {
    spdlog::warn("systemd is not reading its notify socket; dropped: {}",
                 LogText(state.substr(0, state.find('\n'))));
  }
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
