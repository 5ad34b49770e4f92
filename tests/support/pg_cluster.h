// A throwaway PostgreSQL cluster for tests: initdb and pg_ctl from /usr/lib/postgresql/15/bin,
// data and socket in a fresh directory, Unix socket only (listen_addresses = ''), trust
// authentication for its one role. The server refuses to run as root, so when the tests run as
// root the cluster's commands run as `nobody` (setpriv) and the directory is given to it.
//
// One cluster per test binary (Shared()): starting one costs a second or two. Each test takes a
// database of its own (NewDatabase), so tests never see each other's rows. The cluster is
// stopped (pg_ctl stop -m immediate) and its directory removed at exit; a cluster left behind by
// a test binary that was killed is swept by the next one that starts (its owner pid is gone).
//
// Missing binaries or a failed start throw: a test that needs PostgreSQL fails, never skips.
// Thread-safety: none; use from the test's main thread.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace instaccess::testing {

class PgCluster {
 public:
  // The binary's cluster, started on first use.
  static PgCluster& Shared();

  PgCluster();
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // A new, empty database; returns its name.
  std::string NewDatabase();
  // The libpq URI of database `name` (no password: trust authentication).
  std::string Url(const std::string& name) const;
  // Runs SQL as the superuser in database `name` (psql -v ON_ERROR_STOP=1); throws on failure.
  // Returns psql's unaligned output.
  std::string Psql(const std::string& name, const std::string& sql) const;

  // Stops (immediate: connections are cut as in a crash) and starts the server again, for tests
  // of a lost database. Data stays.
  void Stop();
  void Start();
  bool running() const { return running_; }

  const std::filesystem::path& dir() const { return dir_; }

 private:
  // Runs argv[0] from the PostgreSQL bin directory, as the cluster's user; throws with the
  // command's output on failure.
  std::string Run(const std::vector<std::string>& argv) const;

  std::filesystem::path dir_;  // holds data/, the socket and the server log
  bool running_ = false;
  int next_db_ = 0;
};

}  // namespace instaccess::testing
