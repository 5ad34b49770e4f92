// The Debian package as an operator gets it: scripts/package builds it (reusing build/package
// when that is up to date), then the .deb is taken apart with Debian's own tools and its daemon
// started from a scratch root. Nothing is installed on the host.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/daemon_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/unix_http.h"

namespace instaccess::testing {
namespace {

using namespace std::chrono_literals;

struct Ran {
  int status = -1;     // exit code; -1 when it did not exit normally
  std::string output;  // stdout and stderr together
};

// Runs a shell command; its exit code and everything it printed.
Ran Run(const std::string& command) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  BOOST_REQUIRE_MESSAGE(p != nullptr, "cannot run: " << command);
  Ran r;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) r.output.append(buf, n);
  int status = pclose(p);
  if (WIFEXITED(status)) r.status = WEXITSTATUS(status);
  return r;
}

std::string Quoted(const std::string& s) { return "'" + s + "'"; }

// DaemonProcess runs this tree's binary after its wrapper; this wrapper execs the unpacked one
// instead, with the same arguments (the tree's path is only sh's $0).
std::vector<std::string> UnpackedDaemon(const std::string& root) {
  return {"/bin/sh", "-c", "exec " + Quoted(root + "/usr/sbin/instaccessd") + " \"$@\""};
}

// The package, built once for the whole suite and unpacked (dpkg -x) into a scratch root.
struct Package {
  TempDir dir;
  std::string deb;
  std::string root = dir / "root";

  Package() {
    const auto start = std::chrono::steady_clock::now();
    Ran built = Run(std::string(INSTACCESS_SOURCE_DIR) + "/scripts/package");
    BOOST_TEST_MESSAGE("scripts/package took " << std::chrono::duration_cast<std::chrono::seconds>(
                                                      std::chrono::steady_clock::now() - start)
                                                      .count()
                                               << " s");
    BOOST_REQUIRE_MESSAGE(built.status == 0, built.output);
    // The last line is the .deb's path.
    std::string out = built.output;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    deb = out.substr(out.rfind('\n') + 1);
    BOOST_REQUIRE_MESSAGE(std::regex_match(std::filesystem::path(deb).filename().string(),
                                           std::regex("instaccessd_[0-9.]+_[a-z0-9]+\\.deb")),
                          deb);
    Ran x = Run("dpkg-deb -x " + Quoted(deb) + " " + Quoted(root));
    BOOST_REQUIRE_MESSAGE(x.status == 0, x.output);
  }
};

Package& Built() {
  static auto package = std::make_unique<Package>();
  return *package;
}

BOOST_AUTO_TEST_SUITE(package)

BOOST_AUTO_TEST_CASE(holds_programs_units_config_docs_and_client_library) {
  Ran list = Run("dpkg-deb -c " + Quoted(Built().deb));
  BOOST_REQUIRE_MESSAGE(list.status == 0, list.output);
  for (const char* path : {
           "./usr/sbin/instaccessd",
           "./usr/bin/instaccessctl",
           "./usr/lib/systemd/system/instaccessd.service",
           "./usr/lib/systemd/system/instaccessd.socket",
           "./usr/lib/sysusers.d/instaccessd.conf",
           "./usr/lib/tmpfiles.d/instaccessd.conf",
           "./etc/instaccessd/instaccessd.toml",
           "./usr/share/man/man8/instaccessd.8.gz",
           "./usr/share/man/man1/instaccessctl.1.gz",
           "./usr/share/man/man5/instaccessd.toml.5.gz",
           "./usr/share/bash-completion/completions/instaccessctl",
           "./usr/include/instaccess/client.h",
           "/pkgconfig/instaccess.pc",
           "/cmake/instaccess/instaccessConfig.cmake",
           "./usr/share/doc/instaccessd/copyright",
           "./usr/share/doc/instaccessd/changelog.gz",
           "./usr/share/doc/instaccessd/operations.md",
       }) {
    BOOST_TEST(list.output.find(path) != std::string::npos, path << " missing:\n" << list.output);
  }
  // No master key, and nothing of the build tree.
  BOOST_TEST(list.output.find("master") == std::string::npos, list.output);
  BOOST_TEST(list.output.find("/build/") == std::string::npos, list.output);
}

BOOST_AUTO_TEST_CASE(marks_the_configuration_a_conffile_and_has_maintainer_scripts) {
  const std::string control = Built().dir / "control";
  Ran e = Run("dpkg-deb -e " + Quoted(Built().deb) + " " + Quoted(control));
  BOOST_REQUIRE_MESSAGE(e.status == 0, e.output);
  BOOST_TEST(ReadFile(control + "/conffiles") == "/etc/instaccessd/instaccessd.toml\n");
  for (const char* script : {"postinst", "prerm", "postrm"}) {
    BOOST_TEST(access((control + "/" + script).c_str(), X_OK) == 0, script);
  }
  const std::string fields = ReadFile(control + "/control");
  BOOST_TEST(fields.find("Package: instaccessd\n") != std::string::npos, fields);
  BOOST_TEST(std::regex_search(fields, std::regex("\nDepends: [^\n]*systemd")), fields);
}

// postinst in a scratch root (DPKG_ROOT, as dpkg --root runs it): the user and group exist
// afterwards, no master key was made, and the operator is told the one command that makes it.
BOOST_AUTO_TEST_CASE(postinst_makes_the_user_but_no_master_key_and_says_how) {
  const std::string control = Built().dir / "control-postinst";
  BOOST_REQUIRE(Run("dpkg-deb -e " + Quoted(Built().deb) + " " + Quoted(control)).status == 0);
  const std::string& root = Built().root;
  Ran postinst =
      Run("DPKG_ROOT=" + Quoted(root) + " " + Quoted(control + "/postinst") + " configure");
  BOOST_REQUIRE_MESSAGE(postinst.status == 0, postinst.output);
  BOOST_TEST(postinst.output.find("head -c 32 /dev/urandom | systemd-creds encrypt "
                                  "--name=master-key - /etc/instaccessd/master-key.cred") !=
                 std::string::npos,
             postinst.output);
  BOOST_TEST(postinst.output.find("systemctl enable --now instaccessd.socket") != std::string::npos,
             postinst.output);
  BOOST_TEST(!std::filesystem::exists(root + "/etc/instaccessd/master-key.cred"));
  // The user and group, and the directories the tmpfiles snippet gives them (uid and gid as
  // the scratch root's own files say).
  std::smatch user;
  const std::string passwd = ReadFile(root + "/etc/passwd");
  BOOST_REQUIRE_MESSAGE(
      std::regex_search(passwd, user,
                        std::regex("^instaccessd:x:([0-9]+):([0-9]+):", std::regex::multiline)),
      passwd);
  BOOST_TEST(std::regex_search(ReadFile(root + "/etc/group"),
                               std::regex("^instaccess:", std::regex::multiline)));
  struct stat state {};
  BOOST_REQUIRE(stat((root + "/var/lib/instaccessd").c_str(), &state) == 0);
  BOOST_TEST((state.st_mode & 07777) == 0700u);
  BOOST_TEST(std::to_string(state.st_uid) == user[1].str());
  struct stat config {};
  BOOST_REQUIRE(stat((root + "/etc/instaccessd").c_str(), &config) == 0);
  BOOST_TEST((config.st_mode & 07777) == 0750u);
  BOOST_TEST(config.st_uid == 0u);
  BOOST_TEST(std::to_string(config.st_gid) == user[2].str());
}

BOOST_AUTO_TEST_CASE(lintian_reports_no_errors) {
  Ran lintian = Run("lintian --fail-on error --tag-display-limit 0 " + Quoted(Built().deb));
  BOOST_TEST_MESSAGE("lintian:\n" << lintian.output);
  BOOST_TEST(lintian.status == 0, lintian.output);
  BOOST_TEST(!std::regex_search(lintian.output, std::regex("^E: ", std::regex::multiline)),
             lintian.output);
}

BOOST_AUTO_TEST_CASE(binaries_pass_hardening_check) {
  for (const char* binary : {"/usr/sbin/instaccessd", "/usr/bin/instaccessctl"}) {
    // --nocfprotection: Debian 12's crt1.o lacks the CET property, so no program linked here
    // gets it (cmake/Hardening.cmake); every other check must pass.
    Ran check = Run("hardening-check --nocfprotection " + Quoted(Built().root + binary));
    BOOST_TEST(check.status == 0, check.output);
  }
}

BOOST_AUTO_TEST_CASE(man_pages_render_without_warnings) {
  const std::string man = Built().root + "/usr/share/man";
  for (const char* page : {"instaccessd", "instaccessctl", "instaccessd.toml"}) {
    // Found by name in the unpacked tree, as `man instaccessd` finds it once installed.
    Ran shown = Run("MANWIDTH=80 MANPAGER=cat man -M " + Quoted(man) + " " + page);
    BOOST_TEST(shown.status == 0, shown.output);
    BOOST_TEST(shown.output.find("NAME") != std::string::npos, shown.output);
    BOOST_TEST(shown.output.find(std::string(page) + " - ") != std::string::npos, shown.output);
    // groff's own checks: no warnings for the roff scdoc wrote.
    Ran warnings = Run("MANWIDTH=80 man --warnings -M " + Quoted(man) + " " + page + " >/dev/null");
    BOOST_TEST(warnings.output.empty(), page << ": " << warnings.output);
  }
}

// systemd-analyze verify of the packaged units, with man pages looked up in the unpacked tree
// (so every Documentation=man: page must be in the package). The daemon is not in /usr/sbin on
// this host: ExecStart= is checked as packaged, then pointed at the unpacked binary for verify.
BOOST_AUTO_TEST_CASE(units_verify_and_name_the_packaged_binary_and_pages) {
  const std::string& root = Built().root;
  const std::string units = root + "/usr/lib/systemd/system";
  std::string service = ReadFile(units + "/instaccessd.service");
  const std::string exec_start = "\nExecStart=/usr/sbin/instaccessd";
  BOOST_TEST(service.find(exec_start + " --config /etc/instaccessd/instaccessd.toml\n") !=
                 std::string::npos,
             service);
  BOOST_TEST(service.find("\nRestartPreventExitStatus=2 64 78 243\n") != std::string::npos,
             service);
  BOOST_TEST(service.find("man:instaccessd(8)") != std::string::npos, service);
  BOOST_REQUIRE(service.find(exec_start) != std::string::npos);
  service.replace(service.find(exec_start), exec_start.size(),
                  "\nExecStart=" + root + "/usr/sbin/instaccessd");
  TempDir dir;
  WriteFile(dir / "instaccessd.service", service);
  WriteFile(dir / "instaccessd.socket", ReadFile(units + "/instaccessd.socket"));
  Ran verify =
      Run("MANPATH=" + Quoted(root + "/usr/share/man") + " systemd-analyze verify --man=yes " +
          Quoted(dir / "instaccessd.socket") + " " + Quoted(dir / "instaccessd.service"));
  // Anything it prints is a complaint (an unknown key is only a warning, exit 0).
  BOOST_TEST(verify.status == 0, verify.output);
  BOOST_TEST(verify.output.empty(), verify.output);
}

// The unpacked daemon serves: /healthz answers over its socket.
BOOST_AUTO_TEST_CASE(unpacked_daemon_serves_healthz) {
  TempDir dir;
  const std::string key = dir / "master.key";
  Ran made = Run("head -c 32 /dev/urandom > " + Quoted(key) + " && chmod 0600 " + Quoted(key));
  BOOST_REQUIRE(made.status == 0);
  const std::string config = dir / "instaccessd.toml";
  WriteFile(config, "[daemon]\nsocket = \"" + (dir / "api.sock") + "\"\n[store]\npath = \"" +
                        (dir / "keys.db") + "\"\nmaster_key_file = \"" + key + "\"\n");
  chmod(config.c_str(), 0600);
  NotifySocket notify(dir / "notify.sock");
  DaemonProcess daemon({dir.path().string(),
                        {"--config", config},
                        {},
                        notify.path(),
                        {},
                        UnpackedDaemon(Built().root)});
  BOOST_REQUIRE_MESSAGE(notify.WaitFor("READY=1", 30s), daemon.Stderr());
  HttpReply health = HttpGet(dir / "api.sock", "/healthz");
  BOOST_TEST(health.status == 200, health.body);
  daemon.Signal(SIGTERM);
  BOOST_TEST(daemon.Wait(20s).value_or(-1) == 0);
}

// Installed, the daemon gets its master key only from the credential the unit passes: without
// it, it exits 2 (which the unit does not restart) and says what is missing.
BOOST_AUTO_TEST_CASE(unpacked_daemon_refuses_to_start_without_a_master_key) {
  TempDir dir;
  std::filesystem::create_directory(dir / "credentials");  // the credential directory, empty
  const std::string config = dir / "instaccessd.toml";
  WriteFile(config, "[daemon]\nsocket = \"" + (dir / "api.sock") + "\"\n[store]\npath = \"" +
                        (dir / "keys.db") + "\"\n");
  chmod(config.c_str(), 0600);
  DaemonOptions options{dir.path().string(),
                        {"--config", config},
                        {{"CREDENTIALS_DIRECTORY", dir / "credentials"}},
                        {},
                        {},
                        UnpackedDaemon(Built().root)};
  DaemonProcess daemon(std::move(options));
  BOOST_TEST(daemon.Wait(20s).value_or(-1) == 2);
  BOOST_TEST(daemon.Stderr().find("no master key: the systemd credential \"master-key\" is not "
                                  "in") != std::string::npos,
             daemon.Stderr());
  BOOST_TEST(!std::filesystem::exists(dir / "keys.db"));
  BOOST_TEST(!std::filesystem::exists(dir / "api.sock"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing
