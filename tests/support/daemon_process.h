// The real instaccessd binary, started in a directory of the test's, with its own
// NOTIFY_SOCKET: the test waits for READY=1 (and RELOADING/STOPPING) as systemd would, never
// by sleeping. stderr goes to a file the test can read.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace instaccess::testing {

// Path of a binary built by this tree, e.g. BuiltBinary("daemon/instaccessd").
std::string BuiltBinary(const std::string& relative);

// A datagram socket to stand in for systemd's notify socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path);
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  const std::string& path() const { return path_; }
  // Next datagram, or nullopt when none arrives in `timeout`.
  std::optional<std::string> Receive(std::chrono::milliseconds timeout);
  // Reads datagrams until one contains `needle` (a line such as "READY=1"); false on timeout.
  bool WaitFor(const std::string& needle, std::chrono::milliseconds timeout);

 private:
  std::string path_;
  int fd_ = -1;
};

struct DaemonOptions {
  std::string workdir;                     // cwd of the daemon
  std::vector<std::string> args;           // after argv[0]
  std::map<std::string, std::string> env;  // added to a minimal environment
  std::string notify_socket;               // NOTIFY_SOCKET, if not empty
  std::vector<int> pass_fds;               // inherited as fd 3, 4, ... (socket activation)
  std::vector<std::string> wrapper;        // e.g. {"systemd-socket-activate", "-l", PATH}
};

// A DaemonOptions::wrapper that does what systemd does for a unit whose stderr is the journal:
// sets JOURNAL_STREAM to the device and inode of the daemon's stderr (its file), in
// decimal. Goes after any other wrapper.
inline const std::vector<std::string> kStderrIsJournal = {
    "/bin/sh", "-c", "JOURNAL_STREAM=$(stat -L -c %d:%i /dev/stderr) exec \"$0\" \"$@\""};

// Polls `condition` every few milliseconds until it holds or `timeout` passes: for conditions
// no event announces (a socket file appearing). Returns whether it held.
template <typename Pred>
bool Eventually(Pred condition, std::chrono::milliseconds timeout);

class DaemonProcess {
 public:
  explicit DaemonProcess(DaemonOptions options);
  ~DaemonProcess();  // SIGKILLs a daemon still running
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int signo);
  // Waits for exit; returns the exit code (128+signal if killed), nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  std::string Stderr() const;

 private:
  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::string stderr_path_;
  std::optional<int> exit_code_;
};

void ShortPause();

template <typename Pred>
bool Eventually(Pred condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    ShortPause();
  }
  return true;
}

}  // namespace instaccess::testing
