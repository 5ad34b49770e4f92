// A client for the daemon tests that must be another process: forked, with a process name of
// the test's choosing (prctl(PR_SET_NAME), what /proc/PID/comm and so the daemon's log show)
// and, when run as root, another uid. It sends one raw request and hands back the status code.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

namespace instaccess::testing {

struct PeerClientOptions {
  std::string process_name;  // at most 15 bytes; empty: keep the test's
  std::optional<uid_t> uid;  // with gid 65534 and no supplementary groups
};

// Sends `request` (raw HTTP) on a fresh connection to `socket_path` from a forked child and
// returns the status code of the answer, or 0 when none came within `timeout`.
inline int RequestFromChild(const std::string& socket_path, const std::string& request,
                            const PeerClientOptions& options,
                            std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long");
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // Only async-signal-safe calls from here on; everything was prepared before the fork.
    close(out[0]);
    if (!options.process_name.empty() &&
        prctl(PR_SET_NAME, options.process_name.c_str(), 0, 0, 0) != 0) {
      _exit(2);
    }
    if (options.uid) {
      if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(*options.uid) != 0) _exit(3);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) _exit(4);
    if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
      _exit(5);
    }
    char answer[64];
    ssize_t n = read(fd, answer, sizeof answer);
    if (n > 0 && write(out[1], answer, static_cast<std::size_t>(n)) != n) _exit(6);
    _exit(0);
  }
  close(out[1]);
  std::string answer;
  pollfd p{out[0], POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) > 0) {
    char buffer[64];
    ssize_t n = read(out[0], buffer, sizeof buffer);
    if (n > 0) answer.assign(buffer, static_cast<std::size_t>(n));
  }
  close(out[0]);
  if (answer.empty()) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  // "HTTP/1.1 403 Forbidden..."
  if (answer.size() < 12 || answer.compare(0, 9, "HTTP/1.1 ") != 0) return 0;
  return std::stoi(answer.substr(9, 3));
}

inline std::string RawGet(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
}

}  // namespace instaccess::testing
