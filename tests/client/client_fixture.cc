#include "tests/client/client_fixture.h"

#include <fcntl.h>
#include <sys/wait.h>

namespace instaccess::testing {

CommandResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         const std::string& input, const std::string& cwd) {
  TempDir io;
  WriteFile(io / "in", input);
  std::vector<std::string> env_strings = {"PATH=/usr/bin:/bin", "LANG=C"};
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS"}) {
    if (const char* v = getenv(name)) env_strings.push_back(std::string(name) + "=" + v);
  }
  for (const auto& e : env) env_strings.push_back(e);
  pid_t pid = fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(120);
    int in = open((io / "in").c_str(), O_RDONLY);
    int out = open((io / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open((io / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0) _exit(121);
    dup2(in, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  int status = 0;
  BOOST_REQUIRE(waitpid(pid, &status, 0) == pid);
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadFile(io / "out");
  r.err = ReadFile(io / "err");
  return r;
}

}  // namespace instaccess::testing
