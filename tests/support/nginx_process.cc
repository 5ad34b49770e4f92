#include "tests/support/nginx_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "tests/support/temp_dir.h"

namespace instaccess::testing {
namespace {

// Thrown, so that the test fails with it (the support library does not depend on Boost.Test).
void Require(bool condition, const char* what) {
  if (!condition) throw std::runtime_error(std::string("nginx test support: ") + what);
}

}  // namespace

std::vector<int> FreePorts(int n) {
  std::vector<int> fds, ports;
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    Require(fd >= 0, "socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    Require(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "bind");
    socklen_t len = sizeof addr;
    Require(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0, "getsockname");
    fds.push_back(fd);
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int fd : fds) close(fd);
  return ports;
}

std::string NginxConf(const std::string& prefix, const std::string& http_body) {
  const std::string& p = prefix;
  return std::string(geteuid() == 0 ? "user nobody nogroup;\n" : "") +
         "worker_processes 1;\ndaemon off;\nmaster_process on;\n"
         "pid " +
         p +
         "/nginx.pid;\n"
         "error_log " +
         p +
         "/error.log info;\n"
         "events { worker_connections 64; }\n"
         "http {\n"
         "  access_log " +
         p +
         "/access.log;\n"
         "  client_body_temp_path " +
         p +
         "/client_body;\n"
         "  proxy_temp_path " +
         p +
         "/proxy;\n"
         "  fastcgi_temp_path " +
         p +
         "/fastcgi;\n"
         "  uwsgi_temp_path " +
         p +
         "/uwsgi;\n"
         "  scgi_temp_path " +
         p + "/scgi;\n" + http_body + "}\n";
}

bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

NginxProcess::NginxProcess(const std::string& prefix, const std::string& conf) : prefix_(prefix) {
  pid_ = fork();
  Require(pid_ >= 0, "fork");
  if (pid_ == 0) {
    setpgid(0, 0);
    int err = open((prefix + "/nginx.stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (err < 0) _exit(121);
    dup2(err, STDERR_FILENO);
    dup2(err, STDOUT_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, STDIN_FILENO);
    const std::string error_log = prefix + "/error.log";
    const char* argv[] = {kNginx,       "-p", prefix.c_str(),    "-c",
                          conf.c_str(), "-e", error_log.c_str(), nullptr};
    const char* envp[] = {"PATH=/usr/sbin:/usr/bin:/bin", "LANG=C", nullptr};
    execve(kNginx, const_cast<char* const*>(argv), const_cast<char* const*>(envp));
    _exit(127);
  }
  setpgid(pid_, pid_);  // also from here: no window in which the group does not exist
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
}
NginxProcess::~NginxProcess() {
  if (!reaped_) {
    kill(pid_, SIGTERM);  // fast shutdown: the master ends its workers and exits
    if (!WaitExit(std::chrono::seconds(10))) {
      kill(-pid_, SIGKILL);
      WaitExit(std::chrono::seconds(10));
    }
  }
  kill(-pid_, SIGKILL);  // a worker the master left behind, if any (ESRCH otherwise)
  if (pidfd_ >= 0) close(pidfd_);
}

bool NginxProcess::Running() {
  if (reaped_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

std::string NginxProcess::Logs() const {
  std::string out;
  for (const char* name : {"/nginx.stderr", "/error.log"}) {
    std::error_code ec;
    if (std::filesystem::exists(prefix_ + name, ec)) {
      out += std::string(name + 1) + ":\n" + ReadFile(prefix_ + name);
    }
  }
  return out;
}

bool NginxProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (reaped_) return true;
  pollfd p{pidfd_, POLLIN, 0};
  if (pidfd_ >= 0 && poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, pidfd_ >= 0 ? 0 : WNOHANG) == pid_) reaped_ = true;
  return reaped_;
}

}  // namespace instaccess::testing
