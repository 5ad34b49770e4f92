#include "tests/support/daemon_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "tests/support/temp_dir.h"

namespace instaccess::testing {

namespace {
bool PollIn(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  int rc;
  do {
    rc = poll(&p, 1, static_cast<int>(timeout.count()));
  } while (rc < 0 && errno == EINTR);
  return rc > 0;
}
}  // namespace

void ShortPause() { usleep(5000); }

std::string BuiltBinary(const std::string& relative) {
  return std::string(INSTACCESS_BINARY_DIR) + "/" + relative;
}

NotifySocket::NotifySocket(const std::string& path) : path_(path) {
  fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("notify path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("cannot bind notify socket " + path);
  }
}

NotifySocket::~NotifySocket() {
  close(fd_);
  unlink(path_.c_str());
}

std::optional<std::string> NotifySocket::Receive(std::chrono::milliseconds timeout) {
  if (!PollIn(fd_, timeout)) return std::nullopt;
  char buf[4096];
  ssize_t n = recv(fd_, buf, sizeof buf, 0);
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<std::size_t>(n));
}

bool NotifySocket::WaitFor(const std::string& needle, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    auto msg = Receive(left);
    if (!msg) return false;
    if (("\n" + *msg + "\n").find("\n" + needle + "\n") != std::string::npos) return true;
  }
}

DaemonProcess::DaemonProcess(DaemonOptions options) {
  stderr_path_ = options.workdir + "/instaccessd.stderr";
  std::string binary = BuiltBinary("daemon/instaccessd");
  std::vector<std::string> env_strings = {"PATH=/usr/bin:/bin", "LANG=C"};
  // The test's own ASAN_OPTIONS win over the inherited ones (getenv takes the first).
  if (const char* asan = getenv("ASAN_OPTIONS"); asan && !options.env.count("ASAN_OPTIONS"))
    env_strings.push_back(std::string("ASAN_OPTIONS=") + asan);
  if (const char* ub = getenv("UBSAN_OPTIONS"))
    env_strings.push_back(std::string("UBSAN_OPTIONS=") + ub);
  if (!options.notify_socket.empty())
    env_strings.push_back("NOTIFY_SOCKET=" + options.notify_socket);
  for (auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    if (chdir(options.workdir.c_str()) != 0) _exit(120);
    int err = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (err < 0) _exit(121);
    dup2(err, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, STDIN_FILENO);
    dup2(devnull, STDOUT_FILENO);
    if (!options.pass_fds.empty()) {
      // Socket activation: fds start at 3, LISTEN_PID is ours.
      for (std::size_t i = 0; i < options.pass_fds.size(); ++i) {
        int target = 3 + static_cast<int>(i);
        if (options.pass_fds[i] != target) dup2(options.pass_fds[i], target);
        fcntl(target, F_SETFD, 0);
      }
      env_strings.push_back("LISTEN_FDS=" + std::to_string(options.pass_fds.size()));
      env_strings.push_back("LISTEN_PID=" + std::to_string(getpid()));
    }
    std::vector<char*> argv;
    for (auto& w : options.wrapper) argv.push_back(const_cast<char*>(w.c_str()));
    argv.push_back(const_cast<char*>(binary.c_str()));
    for (auto& a : options.args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
}

DaemonProcess::~DaemonProcess() {
  if (!exit_code_) {
    kill(pid_, SIGKILL);
    Wait(std::chrono::seconds(10));
  }
  if (pidfd_ >= 0) close(pidfd_);
}

void DaemonProcess::Signal(int signo) { kill(pid_, signo); }

std::optional<int> DaemonProcess::Wait(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  // The pidfd becomes readable when the process exits: no polling loop, no sleep.
  if (!PollIn(pidfd_, timeout)) return std::nullopt;
  int status = 0;
  if (waitpid(pid_, &status, 0) != pid_) return std::nullopt;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_code_;
}

std::string DaemonProcess::Stderr() const { return ReadFile(stderr_path_); }

}  // namespace instaccess::testing
