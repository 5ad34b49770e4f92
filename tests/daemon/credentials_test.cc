// The master key as a systemd credential, end to end with the real tools (docs/operations.md,
// "Master key credential"): systemd-creds encrypts it under a host key, the service and the
// offline commands (restore, rekey) read it from $CREDENTIALS_DIRECTORY as the unprivileged
// service user, and a new key goes back into the credential without ever lying on disk in
// clear.
//
// systemd is not PID 1 where the tests run, so `systemd-run` cannot start a unit. What a unit's
// process sees is reproduced instead: each LoadCredentialEncrypted= credential decrypted by
// systemd-creds (the code systemd uses) into a directory only the unit's user may read,
// CREDENTIALS_DIRECTORY naming it, the command run as that user (setpriv). The host key is a
// file of the test's (SYSTEMD_CREDENTIAL_SECRET), not the machine's.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/as_nobody.h"
#include "tests/support/daemon_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/unix_http.h"

namespace instaccess::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kTimeout = 60s;
constexpr int kExitKeys = 2;

// A service's files as the package lays them out, under one temp dir: etc/ (root's: the
// configuration and the encrypted credentials), state/ (the service user's StateDirectory),
// host/ (the host key systemd-creds encrypts under).
struct Host {
  TempDir dir;
  std::string etc = dir / "etc";
  std::string state = dir / "state";
  std::string config = etc + "/instaccessd.toml";
  std::string socket = state + "/instaccessd.sock";

  Host() {
    fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read |
                                    fs::perms::group_exec | fs::perms::others_read |
                                    fs::perms::others_exec);
    fs::create_directory(etc);
    fs::create_directory(state);
    fs::create_directory(dir / "host");
    BOOST_REQUIRE(::chown(state.c_str(), kNobodyUid, kNogroupGid) == 0);
    fs::permissions(state, fs::perms::owner_all);
    fs::create_directory(dir / "offline");
    fs::create_directory(dir / "run-credentials");
    fs::create_directory(dir / "bin");
    fs::create_symlink(std::string(INSTACCESS_SOURCE_DIR) + "/tests/daemon/systemd_run_standin.sh",
                       dir / "bin/systemd-run");
    // No store.master_key_file: the key comes from the credential or not at all.
    WriteFile(config,
              "[daemon]\nsocket = \"" + socket + "\"\n[store]\npath = \"" + state + "/keys.db\"\n");
  }

  // `command` through the shell with systemd-creds' host key set to ours; its exit code (what
  // it said on stderr goes to the test log when it fails).
  int Shell(const std::string& command) const {
    const std::string err = dir / "shell.stderr";
    const std::string line = "cd " + dir.path().string() + " && export PATH=" + (dir / "bin") +
                             ":$PATH CREDENTIALS_ROOT=" + (dir / "run-credentials") +
                             " SYSTEMD_CREDENTIAL_SECRET=" + (dir / "host/credential.secret") +
                             " && (" + command + ") 2>" + err;
    const int status = std::system(line.c_str());
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code != 0) BOOST_TEST_MESSAGE(command << ": exit " << code << ": " << ReadFile(err));
    return code;
  }
};

// What systemd sets up for a unit with LoadCredentialEncrypted=ID:FILE lines, user nobody:
// each credential decrypted to DIR/ID, the directory and its files readable by that user alone.
// Removed when the unit is done, as systemd removes /run/credentials/UNIT.
class CredentialsDirectory {
 public:
  CredentialsDirectory(const Host& host, const std::map<std::string, std::string>& credentials)
      : path_(host.dir / ("credentials-" + std::to_string(++count_))) {
    fs::create_directory(path_);
    for (const auto& [id, file] : credentials) {
      BOOST_REQUIRE(host.Shell("systemd-creds decrypt --name=" + id + " " + file + " " + path_ +
                               "/" + id) == 0);
      const std::string plain = path_ + "/" + id;
      BOOST_REQUIRE(::chown(plain.c_str(), kNobodyUid, kNogroupGid) == 0);
      fs::permissions(plain, fs::perms::owner_read);
    }
    BOOST_REQUIRE(::chown(path_.c_str(), kNobodyUid, kNogroupGid) == 0);
    fs::permissions(path_, fs::perms::owner_read | fs::perms::owner_exec);
  }
  ~CredentialsDirectory() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  CredentialsDirectory(const CredentialsDirectory&) = delete;
  CredentialsDirectory& operator=(const CredentialsDirectory&) = delete;

  const std::string& path() const { return path_; }
  std::map<std::string, std::string> Environment() const {
    return {{"CREDENTIALS_DIRECTORY", path_}};
  }

 private:
  static inline int count_ = 0;
  std::string path_;
};

struct Outcome {
  int exit_code = -1;
  std::string err;
};

// `instaccessd --config CONFIG args...` run to its end as a unit with `credentials` would run it.
Outcome RunUnit(const Host& host, const std::map<std::string, std::string>& credentials,
                std::vector<std::string> args) {
  CredentialsDirectory creds(host, credentials);
  args.insert(args.begin(), {"--config", host.config});
  DaemonProcess p({host.state, std::move(args), creds.Environment(), "", {}, kAsNobody});
  Outcome o;
  o.exit_code = p.Wait(kTimeout).value_or(-1);
  o.err = p.Stderr();
  return o;
}

// The service started with `credentials`: runs `body` while it serves, then stops it.
template <typename F>
void Serve(const Host& host, const std::map<std::string, std::string>& credentials, F body) {
  CredentialsDirectory creds(host, credentials);
  NotifySocket notify(host.dir / "notify.sock");
  fs::permissions(notify.path(), fs::perms::all);
  DaemonProcess d(
      {host.state, {"--config", host.config}, creds.Environment(), notify.path(), {}, kAsNobody});
  BOOST_REQUIRE_MESSAGE(notify.WaitFor("READY=1", kTimeout), d.Stderr());
  BOOST_TEST(d.Stderr().find("(master key from credential " + creds.path() + "/master-key)") !=
                 std::string::npos,
             d.Stderr());
  body();
  d.Signal(SIGTERM);
  BOOST_TEST(d.Wait(kTimeout).value_or(-1) == 0, d.Stderr());
}

std::string ActiveKids(const Host& host) {
  return nlohmann::json::parse(HttpGet(host.socket, "/api/v1/status").body)["active_kids"].dump();
}

// The ```sh blocks of docs/operations.md's section `heading` ("## ..."), in order.
std::vector<std::string> DocBlocks(const std::string& heading) {
  const std::string doc = ReadFile(std::string(INSTACCESS_SOURCE_DIR) + "/docs/operations.md");
  std::vector<std::string> blocks;
  bool in_section = false, in_block = false;
  std::size_t start = 0;
  for (std::size_t nl; (nl = doc.find('\n', start)) != std::string::npos; start = nl + 1) {
    const std::string line = doc.substr(start, nl - start);
    // A heading of the section's level or above ends it.
    const std::size_t level = heading.find(' ');
    if (!in_block && line.starts_with('#') && line.find(' ') <= level &&
        line.find_first_not_of('#') == line.find(' ')) {
      in_section = line == heading;
    }
    if (!in_section) continue;
    if (in_block && line == "```") {
      in_block = false;
    } else if (in_block) {
      blocks.back() += line + "\n";
    } else if (line == "```sh") {
      in_block = true;
      blocks.emplace_back();
    }
  }
  return blocks;
}

// `block` as it runs on `host`: the package's paths and user are the test's (nobody stands for
// the service's user), the removable media a directory of its own, systemd-run the stand-in;
// the test is root already, and systemctl lines are left out (no service runs meanwhile).
std::string OnHost(std::string block, const Host& host) {
  const std::pair<std::string, std::string> replacements[] = {
      {"sudo ", ""},
      {"-o instaccessd -g instaccessd", "-o nobody -g nogroup"},
      {"User=instaccessd", "User=nobody"},
      {"Group=instaccessd", "Group=nogroup"},
      {"/usr/sbin/instaccessd", BuiltBinary("daemon/instaccessd")},
      {"/etc/instaccessd/", host.etc + "/"},
      {"/var/lib/instaccessd/", host.state + "/"},
      {"/run/credentials/", host.dir / "run-credentials/"},
      {"/media/offline/", host.dir / "offline/"}};
  for (const auto& [from, to] : replacements) {
    for (std::size_t at = 0; (at = block.find(from, at)) != std::string::npos; at += to.size()) {
      block.replace(at, from.size(), to);
    }
  }
  std::string kept = "set -e\n";  // as a reader would, stop at the first command that fails
  std::size_t start = 0;
  for (std::size_t nl; (nl = block.find('\n', start)) != std::string::npos; start = nl + 1) {
    const std::string line = block.substr(start, nl - start + 1);
    if (!line.starts_with("systemctl ")) kept += line;
  }
  return kept;
}

struct SystemdCreds {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    boost::test_tools::assertion_result result(fs::exists("/usr/bin/systemd-creds"));
    result.message() << "systemd-creds is missing (Debian package systemd)";
    return result;
  }
};

BOOST_AUTO_TEST_SUITE(daemon_credentials,
                      *boost::unit_test::precondition(RunningAsRoot(
                          "the service user (nobody) and its credentials need root")) *
                          boost::unit_test::precondition(SystemdCreds()))

BOOST_AUTO_TEST_CASE(service_restore_and_rekey_read_the_master_key_credential_as_its_user) {
  Host host;
  const std::string cred = host.etc + "/master-key.cred";
  const std::string new_cred = host.etc + "/new-master-key.cred";
  // The master key: 32 random bytes straight into the encrypted credential.
  BOOST_REQUIRE(host.Shell("head -c 32 /dev/urandom | systemd-creds encrypt --name=master-key - " +
                           cred) == 0);
  BOOST_TEST(ReadFile(cred).size() > 32u);
  // The name is sealed into the credential: LoadCredentialEncrypted= must use the same ID.
  BOOST_TEST(host.Shell("systemd-creds decrypt --name=other " + cred + " - >/dev/null") != 0);

  std::string kids;
  const std::string backup = host.state + "/backup.db";
  Serve(host, {{"master-key", cred}}, [&] {
    kids = ActiveKids(host);
    HttpReply reply = HttpGet(host.socket, "/api/v1/backup");
    BOOST_REQUIRE_MESSAGE(reply.status == 200, reply.body);
    WriteFile(backup, reply.body);
    // A rotation the restore will undo.
    BOOST_REQUIRE(HttpPost(host.socket, "/api/v1/keys/rotate", R"({"purpose":"both"})").status ==
                  200);
    BOOST_REQUIRE(ActiveKids(host) != kids);
  });
  BOOST_REQUIRE(::chown(backup.c_str(), kNobodyUid, kNogroupGid) == 0);

  Outcome restore = RunUnit(host, {{"master-key", cred}}, {"restore", backup});
  BOOST_TEST(restore.exit_code == 0, restore.err);
  BOOST_TEST(restore.err.find("restored from " + backup) != std::string::npos, restore.err);

  // rekey: the new key is a credential too, made and passed the same way.
  BOOST_REQUIRE(
      host.Shell("head -c 32 /dev/urandom | systemd-creds encrypt --name=new-master-key - " +
                 new_cred) == 0);
  {
    CredentialsDirectory creds(host, {{"master-key", cred}, {"new-master-key", new_cred}});
    DaemonProcess p(
        {host.state,
         {"--config", host.config, "rekey", "--new-key", creds.path() + "/new-master-key"},
         creds.Environment(),
         "",
         {},
         kAsNobody});
    BOOST_TEST(p.Wait(kTimeout).value_or(-1) == 0, p.Stderr());
  }
  // The old credential no longer opens the store: the service exits 2.
  Outcome old_key = RunUnit(host, {{"master-key", cred}}, {});
  BOOST_TEST(old_key.exit_code == kExitKeys, old_key.err);
  BOOST_TEST(old_key.err.find("master key") != std::string::npos, old_key.err);

  // The new key becomes the master-key credential, from credential to credential.
  BOOST_REQUIRE(host.Shell("systemd-creds decrypt --name=new-master-key " + new_cred +
                           " - | systemd-creds encrypt --name=master-key - " + cred) == 0);
  Serve(host, {{"master-key", cred}}, [&] { BOOST_TEST(ActiveKids(host) == kids); });
}

// The section's commands as written: make the credential, copy the key offline, bring it back.
BOOST_AUTO_TEST_CASE(master_key_credential_section_runs_as_written) {
  Host host;
  const std::vector<std::string> blocks = DocBlocks("## Master key credential");
  BOOST_TEST_REQUIRE(blocks.size() == 3u);
  const std::string cred = host.etc + "/master-key.cred";

  BOOST_REQUIRE(host.Shell(OnHost(blocks[0], host)) == 0);
  std::string kids;
  Serve(host, {{"master-key", cred}}, [&] { kids = ActiveKids(host); });

  BOOST_REQUIRE(host.Shell(OnHost(blocks[1], host)) == 0);
  const std::string copy = host.dir / "offline/instaccessd-master-key";
  BOOST_TEST(ReadFile(copy).size() == 32u);
  struct stat st {};
  BOOST_REQUIRE(::stat(copy.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);

  // A new host: a host key of its own, the credential made again from the copy.
  fs::remove(host.dir / "host/credential.secret");
  fs::remove(cred);
  BOOST_REQUIRE(host.Shell(OnHost(blocks[2], host)) == 0);
  Serve(host, {{"master-key", cred}}, [&] { BOOST_TEST(ActiveKids(host) == kids); });
}

// "Running them with the service's credentials" as written, systemd-run played by its stand-in.
BOOST_AUTO_TEST_CASE(offline_commands_under_systemd_run_run_as_written) {
  Host host;
  const std::vector<std::string> make = DocBlocks("## Master key credential");
  const std::vector<std::string> blocks =
      DocBlocks("### Running them with the service's credentials");
  BOOST_TEST_REQUIRE(blocks.size() == 2u);
  BOOST_TEST_REQUIRE(!make.empty());
  const std::string cred = host.etc + "/master-key.cred";
  BOOST_REQUIRE(host.Shell(OnHost(make[0], host)) == 0);

  std::string kids;
  Serve(host, {{"master-key", cred}}, [&] {
    kids = ActiveKids(host);
    HttpReply reply = HttpGet(host.socket, "/api/v1/backup");
    BOOST_REQUIRE_MESSAGE(reply.status == 200, reply.body);
    WriteFile(host.dir / "backup.db", reply.body);
    BOOST_REQUIRE(HttpPost(host.socket, "/api/v1/keys/rotate", R"({"purpose":"both"})").status ==
                  200);
  });
  // restore
  BOOST_TEST_REQUIRE(host.Shell(OnHost(blocks[0], host)) == 0);
  Serve(host, {{"master-key", cred}}, [&] { BOOST_TEST(ActiveKids(host) == kids); });

  // rekey: the old credential's key no longer opens the store, the new one does.
  const std::string old_cred = host.dir / "old-master-key.cred";
  fs::copy_file(cred, old_cred);
  BOOST_TEST_REQUIRE(host.Shell(OnHost(blocks[1], host)) == 0);
  BOOST_TEST(!fs::exists(host.etc + "/new-master-key.cred"));
  BOOST_TEST(RunUnit(host, {{"master-key", old_cred}}, {}).exit_code == kExitKeys);
  Serve(host, {{"master-key", cred}}, [&] { BOOST_TEST(ActiveKids(host) == kids); });
  BOOST_TEST(fs::is_empty(host.dir / "run-credentials"));
}

BOOST_AUTO_TEST_CASE(without_the_master_key_credential_the_service_exits_2_saying_so) {
  Host host;
  const std::string other = host.etc + "/other.cred";
  BOOST_REQUIRE(host.Shell("echo x | systemd-creds encrypt --name=other - " + other) == 0);
  // stderr is the journal, as under systemd.
  std::vector<std::string> wrapper = kAsNobody;
  wrapper.insert(wrapper.end(), kStderrIsJournal.begin(), kStderrIsJournal.end());
  CredentialsDirectory creds(host, {{"other", other}});
  DaemonProcess p({host.state, {"--config", host.config}, creds.Environment(), "", {}, wrapper});
  BOOST_TEST(p.Wait(kTimeout).value_or(-1) == kExitKeys);
  BOOST_TEST(p.Stderr() == "<2>cannot open the key store " + host.state +
                               "/keys.db: no master key: the systemd credential \"master-key\" is "
                               "not in " +
                               creds.path() +
                               " and store.master_key_file is not set: give the unit "
                               "LoadCredentialEncrypted=master-key:FILE, FILE made with "
                               "systemd-creds encrypt --name=master-key\n");
  BOOST_TEST(!fs::exists(host.state + "/keys.db"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing
