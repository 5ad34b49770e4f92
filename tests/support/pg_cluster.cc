#include "tests/support/pg_cluster.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace instaccess::testing {

namespace {

namespace fs = std::filesystem;

constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";
constexpr const char* kRole = "instaccess";

// As root the server runs as nobody, who must be able to reach the directory: /tmp, whatever
// $TMPDIR says (root's may be private).
fs::path BaseDir() {
  return (::geteuid() == 0 ? fs::path("/tmp") : fs::temp_directory_path()) / "instaccess-pg";
}

std::string Slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// The unprivileged account the server runs as when we are root.
struct RunAs {
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

RunAs ClusterUser() {
  RunAs r;
  if (::geteuid() != 0) return r;
  const passwd* pw = ::getpwnam("nobody");
  if (pw == nullptr) throw std::runtime_error("running as root and there is no user nobody");
  r.drop = true;
  r.uid = pw->pw_uid;
  r.gid = pw->pw_gid;
  return r;
}

// Runs argv with stdout and stderr into `log`, as `as`, in `cwd`; returns the exit status.
int Spawn(const std::vector<std::string>& argv, const RunAs& as, const fs::path& cwd,
          const fs::path& log) {
  std::vector<std::string> full;
  if (as.drop) {
    full = {"/usr/bin/setpriv", "--reuid=" + std::to_string(as.uid),
            "--regid=" + std::to_string(as.gid), "--clear-groups", "--"};
  }
  full.insert(full.end(), argv.begin(), argv.end());
  std::vector<char*> args;
  for (std::string& a : full) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0 || ::chdir(cwd.c_str()) != 0) _exit(126);
    ::execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("waitpid failed");
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Clusters of test binaries that died without stopping them: their owner pid is gone.
void SweepLeftovers(const RunAs& as) {
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(BaseDir(), ec)) {
    std::ifstream owner(e.path() / "owner");
    long pid = 0;
    if (!(owner >> pid) || pid <= 0) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    (void)Spawn({std::string(kBinDir) + "/pg_ctl", "-D", (e.path() / "data").string(), "-m",
                 "immediate", "stop"},
                as, e.path(), e.path() / "sweep.log");
    fs::remove_all(e.path(), ec);
  }
}

}  // namespace

PgCluster& PgCluster::Shared() {
  static PgCluster* cluster = [] {
    auto* c = new PgCluster();
    std::atexit([] { delete cluster; });
    return c;
  }();
  return *cluster;
}

PgCluster::PgCluster() {
  for (const char* tool : {"initdb", "pg_ctl", "psql"}) {
    const std::string path = std::string(kBinDir) + "/" + tool;
    if (::access(path.c_str(), X_OK) != 0) {
      throw std::runtime_error(path +
                               " is missing: install PostgreSQL 15 (apt-get install "
                               "postgresql; scripts/bootstrap does)");
    }
  }
  const RunAs as = ClusterUser();
  fs::create_directories(BaseDir());
  ::chmod(BaseDir().c_str(), 01777);  // shared by every user's test runs, like /tmp
  SweepLeftovers(as);
  std::string tmpl = (BaseDir() / "pg-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  {
    std::ofstream owner(dir_ / "owner");
    owner << ::getpid() << "\n";
  }
  if (as.drop && ::chown(dir_.c_str(), as.uid, as.gid) != 0) {
    throw std::runtime_error("cannot give " + dir_.string() + " to nobody");
  }
  // Fast and throwaway: no fsync; C locale, so nothing depends on the host's.
  Run({"initdb", "-D", (dir_ / "data").string(), "-U", kRole, "--auth=trust", "--locale=C", "-E",
       "UTF8", "--no-sync"});
  Start();
}

PgCluster::~PgCluster() {
  if (running_) {
    try {
      Stop();
    } catch (const std::exception&) {
      // at exit: nothing more to do; the next run sweeps it
    }
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string PgCluster::Run(const std::vector<std::string>& argv) const {
  std::vector<std::string> full = argv;
  full[0] = std::string(kBinDir) + "/" + argv[0];
  const fs::path log = dir_ / (argv[0] + ".out");
  const int rc = Spawn(full, ClusterUser(), dir_, log);
  std::string out = Slurp(log);
  if (rc != 0) {
    std::string cmd;
    for (const std::string& a : full) cmd += a + " ";
    throw std::runtime_error(cmd + "failed (exit " + std::to_string(rc) + "): " + out);
  }
  return out;
}

void PgCluster::Start() {
  const std::string options = "-c listen_addresses='' -k " + dir_.string() +
                              " -c fsync=off -c full_page_writes=off -c max_connections=100";
  try {
    Run({"pg_ctl", "-D", (dir_ / "data").string(), "-l", (dir_ / "server.log").string(), "-w", "-t",
         "60", "-o", options, "start"});
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(e.what()) + "\nserver log: " + Slurp(dir_ / "server.log"));
  }
  running_ = true;
}

void PgCluster::Stop() {
  Run({"pg_ctl", "-D", (dir_ / "data").string(), "-m", "immediate", "-w", "stop"});
  running_ = false;
}

std::string PgCluster::Url(const std::string& name) const {
  return "postgresql:///" + name + "?host=" + dir_.string() + "&user=" + kRole;
}

std::string PgCluster::Psql(const std::string& name, const std::string& sql) const {
  return Run({"psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", dir_.string(), "-U",
              kRole, "-d", name, "-c", sql});
}

std::string PgCluster::NewDatabase() {
  const std::string name = "t" + std::to_string(++next_db_);
  Psql("postgres", "CREATE DATABASE " + name);
  return name;
}

}  // namespace instaccess::testing
