// Shared by the client suites: the daemon they talk to, a fake daemon that answers what the
// test says, running a command (instaccessctl) and capturing its output and exit code.
#pragma once

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/running_daemon.h"

namespace instaccess::testing {

using namespace std::chrono_literals;

// The client suites' daemon: the shared fixture, open to every local user so that a test may
// also call as nobody.
struct OpenDaemon : RunningDaemon {
  explicit OpenDaemon(const std::string& extra_toml = "")
      : RunningDaemon(OpenToAll{}, extra_toml) {}
};

// A listening Unix socket (bound in the constructor, so a client may connect at once) served by
// `serve` on a thread of its own from Start(). Stop() sets stopping(), wakes an accept that is
// blocked with one last connection, and joins; call it before the state `serve` touches goes.
class SocketServerThread {
 public:
  explicit SocketServerThread(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const sockaddr_un addr = Address();
    BOOST_REQUIRE(bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    BOOST_REQUIRE(listen(fd_, 16) == 0);
  }
  ~SocketServerThread() {
    Stop();
    close(fd_);
  }
  SocketServerThread(const SocketServerThread&) = delete;
  SocketServerThread& operator=(const SocketServerThread&) = delete;

  void Start(std::function<void()> serve) { thread_ = std::thread(std::move(serve)); }
  void Stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    int wake = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const sockaddr_un addr = Address();
    (void)!connect(wake, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    thread_.join();
    close(wake);
  }
  // The next connection, or -1 once stopping (the wake-up connection is closed here).
  int Accept() {
    int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0 || stop_) {
      if (c >= 0) close(c);
      return -1;
    }
    return c;
  }
  bool stopping() const { return stop_; }

 private:
  sockaddr_un Address() const {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path_.c_str());
    return addr;
  }

  std::string path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A Unix socket that answers each connection's first request with `reply` (raw bytes, sent once
// the request's headers have arrived), or never answers when `reply` is empty. Bound in the
// constructor, so a client may connect at once. With `drop_second`, a connection stays open
// after its answer, and its second request is read and the connection closed without an answer
// (a daemon that went away between two requests on a kept-alive connection).
class FakeDaemon {
 public:
  FakeDaemon(const std::string& path, std::string reply, bool drop_second = false)
      : reply_(std::move(reply)), drop_second_(drop_second), listener_(path) {
    listener_.Start([this] { Serve(); });
  }
  ~FakeDaemon() {
    listener_.Stop();
    for (int c : clients_) close(c);
  }
  FakeDaemon(const FakeDaemon&) = delete;
  FakeDaemon& operator=(const FakeDaemon&) = delete;

 private:
  void Serve() {
    while (!listener_.stopping()) {
      int c = listener_.Accept();
      if (c < 0) return;
      clients_.push_back(c);  // kept open until the end: a silent daemon must stay silent
      if (reply_.empty()) continue;
      ReadHeaders(c);
      (void)!write(c, reply_.data(), reply_.size());
      if (drop_second_) {
        ReadHeaders(c);
        ++dropped;
      }
      shutdown(c, SHUT_WR);
    }
  }

  static void ReadHeaders(int c) {
    std::string got;
    char buf[4096];
    while (got.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
  }

 public:
  std::atomic<int> dropped{0};  // requests read and left unanswered

 private:
  std::string reply_;
  bool drop_second_ = false;
  std::vector<int> clients_;     // only touched by the serving thread, then after Stop()
  SocketServerThread listener_;  // last: its thread stops before the members above go
};

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};

// Runs `argv` (argv[0] a path) with `env` added to a minimal environment, `input` on stdin.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {}, const std::string& input = "",
                         const std::string& cwd = "");

}  // namespace instaccess::testing
