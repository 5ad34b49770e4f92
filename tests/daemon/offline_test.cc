// The offline commands against real stores: instaccessd rekey and instaccessd restore, and the
// start-up refusal of a wrong master key.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "tests/support/as_nobody.h"
#include "tests/support/daemon_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/unix_http.h"

namespace instaccess::testing {
namespace {

using namespace std::chrono_literals;

int RunCommand(const TempDir& dir, std::vector<std::string> args, std::string* err = nullptr) {
  DaemonProcess p({dir.path().string(), std::move(args), {}, "", {}, {}});
  int rc = p.Wait(60s).value_or(-1);
  if (err != nullptr) *err = p.Stderr();
  return rc;
}

// Starts the daemon in `dir`, runs `body` while it serves, stops it with SIGTERM.
template <typename F>
void WithDaemon(const TempDir& dir, F body) {
  NotifySocket notify(dir / "notify.sock");
  DaemonProcess d({dir.path().string(), {}, {}, notify.path(), {}, {}});
  BOOST_REQUIRE_MESSAGE(notify.WaitFor("READY=1", 30s), d.Stderr());
  body();
  d.Signal(SIGTERM);
  BOOST_REQUIRE(d.Wait(30s).value_or(-1) == 0);
}

// GET /api/v1/backup from the running daemon into `file`.
void TakeBackup(const std::string& socket, const std::string& file) {
  HttpReply backup = HttpGet(socket, "/api/v1/backup");
  BOOST_REQUIRE_MESSAGE(backup.status == 200, backup.body);
  WriteFile(file, backup.body);
}

std::string ActiveKids(const std::string& socket) {
  auto status = nlohmann::json::parse(HttpGet(socket, "/api/v1/status").body);
  return status["active_kids"].dump();
}

struct Ownership {
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t mode = 0;
};

Ownership OwnershipOf(const std::string& path) {
  struct stat st {};
  BOOST_REQUIRE_MESSAGE(::lstat(path.c_str(), &st) == 0, path);
  return {st.st_uid, st.st_gid, static_cast<mode_t>(st.st_mode & 07777)};
}

BOOST_AUTO_TEST_SUITE(offline)

BOOST_AUTO_TEST_CASE(backup_then_restore_brings_the_keys_back) {
  TempDir dir;
  std::string socket = dir / "var/instaccessd.sock";
  std::string kids_at_backup;
  WithDaemon(dir, [&] {
    kids_at_backup = ActiveKids(socket);
    TakeBackup(socket, dir / "backup.db");
    HttpReply rotated = HttpPost(socket, "/api/v1/keys/rotate", R"({"purpose":"both"})");
    BOOST_REQUIRE(rotated.status == 200);
    BOOST_TEST(ActiveKids(socket) != kids_at_backup);
  });
  std::string err;
  BOOST_TEST(RunCommand(dir, {"restore", dir / "backup.db"}, &err) == 0, err);
  bool kept_old = false;
  for (auto& e : std::filesystem::directory_iterator(dir / "var")) {
    kept_old |= e.path().filename().string().starts_with("keys.db.replaced-");
  }
  BOOST_TEST(kept_old);
  WithDaemon(dir, [&] { BOOST_TEST(ActiveKids(socket) == kids_at_backup); });
}

BOOST_AUTO_TEST_CASE(restore_that_brings_back_a_revoked_key_needs_allow_unrevoke) {
  TempDir dir;
  std::string socket = dir / "var/instaccessd.sock";
  std::string revoked;
  WithDaemon(dir, [&] {
    TakeBackup(socket, dir / "backup.db");
    revoked = nlohmann::json::parse(ActiveKids(socket)).at("sig").get<std::string>();
    HttpReply r = HttpPost(socket, "/api/v1/keys/" + revoked + "/revoke", "");
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  });
  std::string err;
  BOOST_TEST(RunCommand(dir, {"restore", dir / "backup.db"}, &err) == 2);
  BOOST_TEST(err.find("key " + revoked + ": revoked -> active") != std::string::npos, err);
  BOOST_TEST(err.find("--allow-unrevoke") != std::string::npos, err);
  BOOST_TEST(RunCommand(dir, {"restore", "--allow-unrevoke", dir / "backup.db"}, &err) == 0, err);
  WithDaemon(dir,
             [&] { BOOST_TEST(nlohmann::json::parse(ActiveKids(socket)).at("sig") == revoked); });
}

// rekey and restore read the master key and unseal every private key: they must harden
// themselves as the daemon does, before reading any key. The master key file is a FIFO, so the
// command waits in open() until this test opens the other end: by then it must already run
// with no core files, although prlimit started it with them allowed.
BOOST_AUTO_TEST_CASE(rekey_and_restore_harden_themselves_before_reading_a_key) {
  const std::vector<std::vector<std::string>> commands = {{"rekey", "--new-key"}, {"restore"}};
  for (std::vector<std::string> args : commands) {
    const std::string command = args[0];
    TempDir dir;
    const std::string fifo = dir / "master.fifo";
    BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    WriteFile(dir / "instaccessd.toml", "[store]\nmaster_key_file = \"" + fifo + "\"\n");
    WriteFile(dir / "argument", "");  // the new key file or the backup: never reached
    args.push_back(dir / "argument");
    DaemonProcess p({dir.path().string(),
                     args,
                     {},
                     "",
                     {},
                     {"/usr/bin/prlimit", "--core=unlimited:unlimited"}});
    // Opening the write end without blocking succeeds once the command has the read end open.
    int writer = -1;
    BOOST_REQUIRE_MESSAGE(Eventually(
                              [&] {
                                writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
                                return writer >= 0;
                              },
                              30s),
                          command << " never opened the master key file: " << p.Stderr());
    const std::string limits = ReadFile("/proc/" + std::to_string(p.pid()) + "/limits");
    ::close(writer);  // an empty key: the command refuses it and exits
    BOOST_TEST(std::regex_search(limits, std::regex("Max core file size +0 +0 ")),
               command << ": " << limits);
    BOOST_TEST(p.Wait(30s).value_or(-1) != 0);
  }
}

// Started from a shell whose umask is 022, the daemon still makes every file its user's alone:
// the store, its -wal and -shm, the development master key, a backup, the kept copy a restore
// leaves.
BOOST_AUTO_TEST_CASE(files_the_daemon_makes_are_its_users_alone_whatever_the_umask) {
  const mode_t old_umask = ::umask(022);  // the children inherit it
  TempDir dir;
  auto check_files = [&](const std::string& when) {
    int files = 0;
    for (auto& e : std::filesystem::recursive_directory_iterator(dir / "var")) {
      if (!e.is_regular_file()) continue;
      ++files;
      struct stat st {};
      BOOST_REQUIRE(::stat(e.path().c_str(), &st) == 0);
      BOOST_TEST((st.st_mode & 077) == 0u, when << ": " << e.path() << " is open to others");
    }
    BOOST_TEST(files >= 2, when);
  };
  const std::string socket = dir / "var/instaccessd.sock";
  WithDaemon(dir, [&] {
    BOOST_REQUIRE(HttpPost(socket, "/api/v1/keys/rotate", R"({"purpose":"both"})").status == 200);
    check_files("while serving");
    TakeBackup(socket, dir / "backup.db");
  });
  std::string err;
  BOOST_TEST(RunCommand(dir, {"restore", dir / "backup.db"}, &err) == 0, err);
  check_files("after a restore");
  ::umask(old_umask);
}

// The files rekey and restore make take the owner, group and mode of the store. Run as root (as
// CI runs the suite) on a store that belongs to the service's user (nobody here): the restored
// store, its lock file, the kept copies and the rekeyed store stay nobody's with the store's
// mode, and the daemon run as nobody starts on them. Run as another user, the files stay that
// user's. Two restores back to back (most often in the same second) each keep the store they
// replace under a name of its own, and say which.
BOOST_AUTO_TEST_CASE(offline_commands_keep_the_stores_owner_group_and_mode) {
  namespace fs = std::filesystem;
  TempDir dir;
  const std::string store = dir / "var/keys.db";
  const std::string socket = dir / "var/instaccessd.sock";
  std::string kids;
  WithDaemon(dir, [&] {
    kids = ActiveKids(socket);
    TakeBackup(socket, dir / "backup.db");
  });
  const bool root = ::geteuid() == 0;
  Ownership want = OwnershipOf(store);
  want.mode = 0640;  // not what the umask gives new files (0600): it must come from the store
  if (root) {
    const passwd* nobody = ::getpwnam("nobody");
    BOOST_REQUIRE(nobody != nullptr);
    const group* nogroup = ::getgrnam("nogroup");
    want.uid = nobody->pw_uid;
    want.gid = nogroup != nullptr ? nogroup->gr_gid : nobody->pw_gid;
    // As under systemd: the state directory, the store and the key are the service user's.
    fs::permissions(dir.path(), fs::perms::all);
    for (const std::string& f : {dir / "var", store, dir / "var/master.key"}) {
      BOOST_REQUIRE(::chown(f.c_str(), want.uid, want.gid) == 0);
    }
    BOOST_TEST_MESSAGE("running as root: the files must stay owned by nobody (uid "
                       << want.uid << ", gid " << want.gid << "), mode 0640");
  } else {
    BOOST_TEST_MESSAGE("not running as root: the files must stay the caller's (uid "
                       << want.uid << ", gid " << want.gid
                       << "), mode 0640; giving them another owner is checked only as root");
  }
  BOOST_REQUIRE(::chmod(store.c_str(), want.mode) == 0);
  fs::remove(dir / "var/keys.db.lock");  // the command makes it anew
  // Every file of the store (keys.db*): the store, -wal, -shm, lock file, kept copies.
  auto check = [&](const std::string& when) {
    int files = 0;
    for (const auto& e : fs::directory_iterator(dir / "var")) {
      const std::string name = e.path().filename().string();
      if (!name.starts_with("keys.db")) continue;
      ++files;
      BOOST_TEST(!name.ends_with(".restoring"), when << ": " << name << " left behind");
      const Ownership got = OwnershipOf(e.path().string());
      BOOST_TEST(got.uid == want.uid, when << ": " << name << " has uid " << got.uid);
      BOOST_TEST(got.gid == want.gid, when << ": " << name << " has gid " << got.gid);
      BOOST_TEST(got.mode == want.mode,
                 when << ": " << name << " has mode " << std::oct << got.mode);
    }
    BOOST_TEST_MESSAGE(when << ": " << files << " files of the store checked");
    return files;
  };

  std::set<std::string> kept;
  for (int i = 0; i < 2; ++i) {
    std::string err;
    BOOST_TEST_REQUIRE(RunCommand(dir, {"restore", dir / "backup.db"}, &err) == 0, err);
    std::smatch m;
    BOOST_REQUIRE_MESSAGE(std::regex_search(err, m, std::regex("kept beside it as (\\S+)\\.\n")),
                          err);
    const fs::path name = m[1].str();  // as the store is named: relative to the command's cwd
    BOOST_TEST(fs::exists(name.is_relative() ? dir.path() / name : name), err);
    kept.insert(name.string());
  }
  BOOST_TEST(kept.size() == 2u);
  BOOST_TEST(check("after two restores") >= 4);  // the store, its lock file, two kept copies

  WriteFile(dir / "new.key", std::string(32, '\x5a'));
  BOOST_REQUIRE(::chmod((dir / "new.key").c_str(), 0600) == 0);
  std::string err;
  BOOST_TEST_REQUIRE(RunCommand(dir, {"rekey", "--new-key", dir / "new.key"}, &err) == 0, err);
  BOOST_TEST(check("after rekey") >= 4);

  // The store's owner runs the daemon on what the commands left.
  fs::copy_file(dir / "new.key", dir / "var/master.key", fs::copy_options::overwrite_existing);
  if (root) {
    const std::string key = dir / "var/master.key";
    BOOST_REQUIRE(::chown(key.c_str(), want.uid, want.gid) == 0);
    NotifySocket notify(dir / "notify.sock");
    fs::permissions(notify.path(), fs::perms::all);
    DaemonProcess d({dir.path().string(), {}, {}, notify.path(), {}, kAsNobody});
    BOOST_REQUIRE_MESSAGE(notify.WaitFor("READY=1", 30s), d.Stderr());
    BOOST_TEST(ActiveKids(socket) == kids);
    d.Signal(SIGTERM);
    BOOST_TEST(d.Wait(30s).value_or(-1) == 0, d.Stderr());
  } else {
    WithDaemon(dir, [&] { BOOST_TEST(ActiveKids(socket) == kids); });
  }
  check("after the daemon ran");
}

// Run by a user who may write the store's directory but cannot give a file the store's owner,
// restore fails before it changes anything, and says why.
BOOST_AUTO_TEST_CASE(restore_that_cannot_give_the_stores_owner_changes_nothing,
                     *boost::unit_test::precondition(
                         RunningAsRoot("running a command as nobody with setpriv needs root"))) {
  namespace fs = std::filesystem;
  TempDir dir;
  const std::string store = dir / "var/keys.db";
  const std::string socket = dir / "var/instaccessd.sock";
  WithDaemon(dir, [&] { TakeBackup(socket, dir / "var/backup.db"); });
  // root's store in a directory anyone may write; nobody may read it, the key and the backup,
  // and take the lock.
  fs::permissions(dir.path(), fs::perms::all);
  fs::permissions(dir / "var", fs::perms::all);
  for (const char* f : {"var/keys.db", "var/backup.db", "var/master.key"}) {
    fs::permissions(dir / f, fs::perms::owner_read | fs::perms::owner_write |
                                 fs::perms::group_read | fs::perms::others_read);
  }
  fs::permissions(dir / "var/keys.db.lock", fs::perms::owner_read | fs::perms::owner_write |
                                                fs::perms::group_read | fs::perms::group_write |
                                                fs::perms::others_read | fs::perms::others_write);
  const std::string content = ReadFile(store);
  struct stat before {};
  BOOST_REQUIRE(::stat(store.c_str(), &before) == 0);

  DaemonProcess p({dir.path().string(), {"restore", dir / "var/backup.db"}, {}, "", {}, kAsNobody});
  BOOST_TEST(p.Wait(60s).value_or(-1) == 2, p.Stderr());
  const std::string err = p.Stderr();
  BOOST_TEST(err.find("cannot give") != std::string::npos, err);
  BOOST_TEST(err.find("owner") != std::string::npos, err);
  BOOST_TEST(err.find("Operation not permitted") != std::string::npos, err);
  BOOST_TEST(err.find("nothing was restored") != std::string::npos, err);
  struct stat after {};
  BOOST_REQUIRE(::stat(store.c_str(), &after) == 0);
  BOOST_TEST(after.st_ino == before.st_ino);
  BOOST_TEST(after.st_uid == 0u);
  BOOST_TEST(ReadFile(store) == content);
  for (const auto& e : fs::directory_iterator(dir / "var")) {
    const std::string name = e.path().filename().string();
    BOOST_TEST(!name.ends_with(".restoring"), name);
    BOOST_TEST(name.find(".replaced-") == std::string::npos, name);
  }
}

BOOST_AUTO_TEST_CASE(rekey_reseals_and_the_old_key_no_longer_opens_the_store) {
  TempDir dir;
  std::string socket = dir / "var/instaccessd.sock";
  std::string kids;
  WithDaemon(dir, [&] { kids = ActiveKids(socket); });
  WriteFile(dir / "new.key", std::string(32, '\x5a'));
  chmod((dir / "new.key").c_str(), 0600);
  std::string err;
  BOOST_TEST(RunCommand(dir, {"rekey", "--new-key", dir / "new.key"}, &err) == 0, err);

  // The development key is the old key now: start-up refuses with exit 2, naming the master key.
  int rc = RunCommand(dir, {}, &err);
  BOOST_TEST(rc == 2);
  BOOST_TEST(err.find("master key") != std::string::npos, err);

  std::filesystem::copy_file(dir / "new.key", dir / "var/master.key",
                             std::filesystem::copy_options::overwrite_existing);
  WithDaemon(dir, [&] { BOOST_TEST(ActiveKids(socket) == kids); });
}

BOOST_AUTO_TEST_CASE(offline_commands_refuse_while_the_daemon_runs) {
  TempDir dir;
  WriteFile(dir / "new.key", std::string(32, '\x33'));
  WithDaemon(dir, [&] {
    std::string err;
    BOOST_TEST(RunCommand(dir, {"rekey", "--new-key", dir / "new.key"}, &err) == 2);
    BOOST_TEST(!err.empty());
  });
}

BOOST_AUTO_TEST_CASE(audit_verify_endpoint_reports_the_first_broken_link) {
  TempDir dir;
  std::string socket = dir / "var/instaccessd.sock";
  WithDaemon(dir, [&] {
    BOOST_REQUIRE(HttpPost(socket, "/api/v1/keys/rotate", R"({"purpose":"sig"})").status == 200);
    auto v = nlohmann::json::parse(HttpGet(socket, "/api/v1/audit/verify").body);
    BOOST_TEST(v["ok"] == true);
    BOOST_TEST(v["entries"].get<int>() >= 3);
    BOOST_TEST(v["first_broken_seq"].is_null());
  });
  // Edit history behind the daemon's back, with the real sqlite3 tool.
  std::string cmd = "sqlite3 " + (dir / "var/keys.db") +
                    " \"UPDATE audit SET detail = 'nothing happened' WHERE seq = 2\"";
  BOOST_REQUIRE(std::system(cmd.c_str()) == 0);
  WithDaemon(dir, [&] {
    auto v = nlohmann::json::parse(HttpGet(socket, "/api/v1/audit/verify").body);
    BOOST_TEST(v["ok"] == false);
    BOOST_TEST(v["first_broken_seq"] == 2);
  });
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing
