// Debian's nginx (nginx-light) as a child of a test: run in the foreground with a config the
// test wrote, in a process group of its own so that the destructor ends the master and its
// workers even if the master dies first. And the loopback ports to put it on.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace instaccess::testing {

inline constexpr const char* kNginx = "/usr/sbin/nginx";

// `n` distinct loopback ports free right now (all held open until each is chosen).
std::vector<int> FreePorts(int n);
// Whether something accepts on 127.0.0.1:`port`.
bool Accepts(int port);

// A whole nginx.conf that keeps everything under `prefix` (pid, logs, temp paths), runs in the
// foreground, with workers as nobody when the test runs as root (a root master needs a user to
// drop to) and `http_body` inside its http block.
std::string NginxConf(const std::string& prefix, const std::string& http_body);

class NginxProcess {
 public:
  // `prefix`: nginx's -p (logs go there); `conf`: the config file, which must say `daemon off`.
  NginxProcess(const std::string& prefix, const std::string& conf);
  NginxProcess(const NginxProcess&) = delete;
  NginxProcess& operator=(const NginxProcess&) = delete;
  ~NginxProcess();

  bool Running();
  // nginx's stderr and error.log, for a failing test's message.
  std::string Logs() const;

 private:
  bool WaitExit(std::chrono::milliseconds timeout);

  std::string prefix_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  bool reaped_ = false;
};

}  // namespace instaccess::testing
