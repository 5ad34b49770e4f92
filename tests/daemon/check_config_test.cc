// instaccessd --check-config and the trust in the configuration file, on the real binary: a
// file others may write or another user owns is refused (exit 78), and --check-config checks
// what the file names on this host: [access] users and groups, the master key, the store's
// directory. Each problem is one line naming the key and what to do.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>

#include "tests/support/as_nobody.h"
#include "tests/support/daemon_process.h"
#include "tests/support/running_daemon.h"
#include "tests/support/temp_dir.h"

namespace instaccess::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kExitConfig = 78;
constexpr const char* kNeedsRoot = "files of other users and runs as nobody need root";

struct Outcome {
  int exit_code = -1;
  std::string err;
};

Outcome Run(const TempDir& dir, std::vector<std::string> args,
            std::map<std::string, std::string> env = {}, std::vector<std::string> wrapper = {}) {
  DaemonProcess p(
      {dir.path().string(), std::move(args), std::move(env), "", {}, std::move(wrapper)});
  Outcome o;
  o.exit_code = p.Wait(kStartTimeout).value_or(-1);
  o.err = p.Stderr();
  return o;
}

// A directory nobody may enter and read (the test's own are 0700).
void OpenUp(const TempDir& dir) { BOOST_REQUIRE(chmod(dir.path().c_str(), 0755) == 0); }

void WriteKey(const std::string& path, std::size_t bytes) {
  WriteFile(path, std::string(bytes, 'k'));
  BOOST_REQUIRE(chmod(path.c_str(), 0600) == 0);
}

// A --config file whose store and master key are all in `dir`.
std::string SystemConfig(const TempDir& dir, const std::string& extra = "") {
  return "[store]\npath = \"" + (dir / "state/keys.db") + "\"\nmaster_key_file = \"" +
         (dir / "master.key") + "\"\n" + extra;
}

bool Says(const Outcome& o, const std::string& line) {
  return ("\n" + o.err).find("\ninstaccessd: " + line) != std::string::npos;
}

BOOST_AUTO_TEST_SUITE(daemon_check_config)

BOOST_AUTO_TEST_CASE(a_config_file_group_or_others_may_write_is_refused) {
  TempDir dir;
  WriteFile(dir / "instaccessd.toml", "[daemon]\nworkers = 1\n");
  BOOST_REQUIRE(chmod((dir / "instaccessd.toml").c_str(), 0664) == 0);
  // ./instaccessd.toml, found without --config: the daemon does not start.
  Outcome start = Run(dir, {});
  BOOST_TEST(start.exit_code == kExitConfig, start.err);
  BOOST_TEST(Says(start,
                  "config file instaccessd.toml has mode 0664: group or others may write "
                  "it, and whoever writes it decides who may issue and decrypt tokens; "
                  "run chmod go-w instaccessd.toml"),
             start.err);
  BOOST_TEST(access((dir / "var").c_str(), F_OK) != 0);  // nothing was made

  // Any --config file, also for --check-config.
  WriteFile(dir / "other.toml", SystemConfig(dir));
  BOOST_REQUIRE(chmod((dir / "other.toml").c_str(), 0602) == 0);
  Outcome check = Run(dir, {"--check-config", "--config", dir / "other.toml"});
  BOOST_TEST(check.exit_code == kExitConfig, check.err);
  BOOST_TEST(Says(check, "config file " + (dir / "other.toml") + " has mode 0602"), check.err);

  BOOST_REQUIRE(chmod((dir / "instaccessd.toml").c_str(), 0644) == 0);
  Outcome fixed = Run(dir, {"--check-config"});
  BOOST_TEST(fixed.exit_code == 0, fixed.err);
}

BOOST_AUTO_TEST_CASE(a_config_file_of_another_user_is_refused,
                     *boost::unit_test::precondition(RunningAsRoot(kNeedsRoot))) {
  TempDir dir;
  OpenUp(dir);
  std::filesystem::create_directory(dir / "state");
  BOOST_REQUIRE(chown((dir / "state").c_str(), kNobodyUid, kNogroupGid) == 0);
  WriteKey(dir / "master.key", 32);
  BOOST_REQUIRE(chown((dir / "master.key").c_str(), kNobodyUid, kNogroupGid) == 0);
  const std::string config = dir / "instaccessd.toml";
  WriteFile(config, SystemConfig(dir));
  BOOST_REQUIRE(chown(config.c_str(), kNobodyUid, kNogroupGid) == 0);

  // Root runs the daemon: a file nobody owns could be rewritten by nobody.
  Outcome as_root = Run(dir, {"--check-config", "--config", config});
  BOOST_TEST(as_root.exit_code == kExitConfig, as_root.err);
  BOOST_TEST(Says(as_root, "config file " + config +
                               " is owned by uid 65534 (nobody), neither root nor the user "
                               "instaccessd runs as (uid 0 (root)): run chown root " +
                               config),
             as_root.err);
  // nobody runs it: its own file is fine, and so is root's.
  Outcome as_nobody = Run(dir, {"--check-config", "--config", config}, {}, kAsNobody);
  BOOST_TEST(as_nobody.exit_code == 0, as_nobody.err);
  BOOST_REQUIRE(chown(config.c_str(), 0, 0) == 0);
  Outcome roots = Run(dir, {"--check-config", "--config", config}, {}, kAsNobody);
  BOOST_TEST(roots.exit_code == 0, roots.err);
}

BOOST_AUTO_TEST_CASE(check_config_names_users_and_groups_that_do_not_exist) {
  TempDir dir;
  WriteFile(dir / "instaccessd.toml",
            "[access]\nissue = [\"root\", \"no-such-user-ia\"]\ndecrypt = [\"group:root\"]\n"
            "admin = []\nread = [\"*\", \"group:no-such-group-ia\"]\n");
  Outcome o = Run(dir, {"--check-config"});
  BOOST_TEST(o.exit_code == kExitConfig, o.err);
  BOOST_TEST(o.err ==
                 "instaccessd: access.issue: no such user 'no-such-user-ia': create it, or remove "
                 "the entry (it would grant nothing)\n"
                 "instaccessd: access.read: no such group 'no-such-group-ia': create it, or remove "
                 "the entry (it would grant nothing)\n",
             o.err);
}

BOOST_AUTO_TEST_CASE(check_config_checks_the_master_key) {
  TempDir dir;
  std::filesystem::create_directory(dir / "state");
  const std::string config = dir / "instaccessd.toml";
  WriteFile(config, SystemConfig(dir));

  Outcome missing = Run(dir, {"--check-config", "--config", config});
  BOOST_TEST(missing.exit_code == kExitConfig);
  BOOST_TEST(Says(missing, "store.master_key_file: " + (dir / "master.key") +
                               " does not exist: write 32 random bytes to it"),
             missing.err);

  WriteKey(dir / "master.key", 31);
  Outcome short_key = Run(dir, {"--check-config", "--config", config});
  BOOST_TEST(short_key.exit_code == kExitConfig);
  BOOST_TEST(Says(short_key, "store.master_key_file: " + (dir / "master.key") +
                                 " is 31 bytes; it must hold exactly 32 raw random bytes"),
             short_key.err);

  WriteKey(dir / "master.key", 32);
  BOOST_TEST(Run(dir, {"--check-config", "--config", config}).exit_code == 0);

  // The systemd credential comes first, as in the daemon.
  std::filesystem::create_directory(dir / "credentials");
  WriteKey(dir / "credentials/master-key", 33);
  Outcome credential = Run(dir, {"--check-config", "--config", config},
                           {{"CREDENTIALS_DIRECTORY", dir / "credentials"}});
  BOOST_TEST(credential.exit_code == kExitConfig);
  BOOST_TEST(Says(credential, "master key (systemd credential): " +
                                  (dir / "credentials/master-key") + " is 33 bytes"),
             credential.err);

  // With --config and neither a file nor a credential there is no key at all.
  WriteFile(config, "[store]\npath = \"" + (dir / "state/keys.db") + "\"\n");
  Outcome none = Run(dir, {"--check-config", "--config", config});
  BOOST_TEST(none.exit_code == kExitConfig);
  BOOST_TEST(Says(none, "store.master_key_file: no master key: "), none.err);
  Outcome via_credential = Run(dir, {"--check-config", "--config", config},
                               {{"CREDENTIALS_DIRECTORY", dir / "credentials"}});  // still 33 bytes
  BOOST_TEST(via_credential.exit_code == kExitConfig);
  WriteKey(dir / "credentials/master-key", 32);
  BOOST_TEST(Run(dir, {"--check-config", "--config", config},
                 {{"CREDENTIALS_DIRECTORY", dir / "credentials"}})
                 .exit_code == 0);
}

BOOST_AUTO_TEST_CASE(check_config_checks_the_master_key_is_readable_by_its_user,
                     *boost::unit_test::precondition(RunningAsRoot(kNeedsRoot))) {
  TempDir dir;
  OpenUp(dir);
  std::filesystem::create_directory(dir / "state");
  BOOST_REQUIRE(chown((dir / "state").c_str(), kNobodyUid, kNogroupGid) == 0);
  WriteKey(dir / "master.key", 32);  // root's, 0600
  const std::string config = dir / "instaccessd.toml";
  WriteFile(config, SystemConfig(dir));
  Outcome o = Run(dir, {"--check-config", "--config", config}, {}, kAsNobody);
  BOOST_TEST(o.exit_code == kExitConfig);
  BOOST_TEST(Says(o, "store.master_key_file: cannot read " + (dir / "master.key") +
                         " as uid 65534 (nobody): Permission denied: make it readable by the "
                         "daemon's user only"),
             o.err);
}

BOOST_AUTO_TEST_CASE(a_development_key_missing_beside_its_store_is_reported) {
  TempDir dir;
  std::filesystem::create_directory(dir / "var");
  WriteFile(dir / "var/keys.db", "");
  Outcome o = Run(dir, {"--check-config"});
  BOOST_TEST(o.exit_code == kExitConfig);
  BOOST_TEST(Says(o,
                  "master key (development key): var/master.key is missing, but the key store "
                  "var/keys.db exists and was sealed under it"),
             o.err);
  // A fresh embedded default (no var yet) is fine: the daemon makes both.
  TempDir fresh;
  Outcome ok = Run(fresh, {"--check-config"});
  BOOST_TEST(ok.exit_code == 0, ok.err);
  BOOST_TEST(ok.err.empty(), ok.err);
}

BOOST_AUTO_TEST_CASE(check_config_checks_the_store_directory) {
  TempDir dir;
  WriteKey(dir / "master.key", 32);
  const std::string config = dir / "instaccessd.toml";
  WriteFile(config, SystemConfig(dir));
  Outcome missing = Run(dir, {"--check-config", "--config", config});
  BOOST_TEST(missing.exit_code == kExitConfig);
  BOOST_TEST(missing.err == "instaccessd: store.path: the directory " + (dir / "state") +
                                " does not exist: create it for the daemon's user, mode 0700 "
                                "(systemd-tmpfiles --create makes /var/lib/instaccessd)\n",
             missing.err);

  WriteFile(dir / "state", "not a directory");
  Outcome file = Run(dir, {"--check-config", "--config", config});
  BOOST_TEST(file.exit_code == kExitConfig);
  BOOST_TEST(Says(file, "store.path: " + (dir / "state") + " is not a directory"), file.err);
}

BOOST_AUTO_TEST_CASE(check_config_checks_a_peers_ca_file) {
  TempDir dir;
  WriteKey(dir / "master.key", 32);
  std::filesystem::create_directory(dir / "state");
  const std::string config = dir / "instaccessd.toml";
  WriteFile(config, SystemConfig(dir,
                                 "[[peers]]\nname = \"gateway\"\n"
                                 "jwks_url = \"https://gateway.example.edu/jwks.json\"\n"
                                 "ca_file = \"" +
                                     (dir / "ca.pem") + "\"\n"));
  Outcome missing = Run(dir, {"--check-config", "--config", config});
  BOOST_TEST(missing.exit_code == kExitConfig);
  BOOST_TEST(Says(missing, "peers[0].ca_file: cannot read " + (dir / "ca.pem")), missing.err);
  WriteFile(dir / "ca.pem", "-----BEGIN CERTIFICATE-----\n");
  BOOST_TEST(Run(dir, {"--check-config", "--config", config}).exit_code == 0);
}

BOOST_AUTO_TEST_CASE(check_config_checks_the_store_directory_is_writable_by_its_user,
                     *boost::unit_test::precondition(RunningAsRoot(kNeedsRoot))) {
  TempDir dir;
  OpenUp(dir);
  std::filesystem::create_directory(dir / "state");  // root's, 0755
  BOOST_REQUIRE(chmod((dir / "state").c_str(), 0755) == 0);
  WriteKey(dir / "master.key", 32);
  BOOST_REQUIRE(chown((dir / "master.key").c_str(), kNobodyUid, kNogroupGid) == 0);
  const std::string config = dir / "instaccessd.toml";
  WriteFile(config, SystemConfig(dir));
  Outcome o = Run(dir, {"--check-config", "--config", config}, {}, kAsNobody);
  BOOST_TEST(o.exit_code == kExitConfig);
  BOOST_TEST(Says(o, "store.path: the directory " + (dir / "state") +
                         " is not writable by uid 65534 (nobody)"),
             o.err);
  BOOST_REQUIRE(chown((dir / "state").c_str(), kNobodyUid, kNogroupGid) == 0);
  BOOST_TEST(Run(dir, {"--check-config", "--config", config}, {}, kAsNobody).exit_code == 0);

  // The embedded default may make ./var, if nobody may write the working directory.
  TempDir cwd;
  OpenUp(cwd);
  Outcome embedded = Run(cwd, {"--check-config"}, {}, kAsNobody);
  BOOST_TEST(embedded.exit_code == kExitConfig);
  BOOST_TEST(Says(embedded,
                  "store.path: the directory var does not exist and uid 65534 (nobody) "
                  "cannot create it (. is not writable)"),
             embedded.err);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing
