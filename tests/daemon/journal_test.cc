// The daemon's log as journald reads it (daemon/logging.h): with stderr connected to the journal
// and JOURNAL_STREAM naming it, every line the real daemon writes starts with its sd-daemon(3)
// priority, "<N>" and nothing before it, so `journalctl -p warning` finds the warnings. A
// JOURNAL_STREAM that names another file leaves the timestamped lines of a terminal.
#include <signal.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/daemon_process.h"
#include "tests/support/temp_dir.h"

namespace instaccess::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kTimeout = 30s;
constexpr int kExitConfig = 78;

// RSA1_5 for new encryption keys: accepted, with a warning at start-up.
constexpr const char* kWarnsAtStart = "[rotation.enc]\nalg = \"RSA1_5\"\n";

// The lines of `log`, which must end in a newline (a line journald would hold back otherwise).
std::vector<std::string> Lines(const std::string& log) {
  BOOST_TEST_REQUIRE(!log.empty());
  BOOST_TEST_REQUIRE(log.back() == '\n', log);
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t nl; (nl = log.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(log.substr(start, nl - start));
  }
  return lines;
}

bool HasLine(const std::vector<std::string>& lines, const std::string& prefix) {
  for (const std::string& line : lines) {
    if (line.starts_with(prefix)) return true;
  }
  return false;
}

// Runs the daemon in `dir` until it is ready, gives it a configuration it cannot use and a SIGHUP
// (a reload that fails: an error), stops it; returns what it wrote to stderr.
std::string ServeReloadBadlyAndStop(const TempDir& dir, std::vector<std::string> wrapper,
                                    std::map<std::string, std::string> env = {}) {
  NotifySocket notify(dir / "notify.sock");
  DaemonProcess d({dir.path().string(), {}, std::move(env), notify.path(), {}, std::move(wrapper)});
  BOOST_REQUIRE_MESSAGE(notify.WaitFor("READY=1", kTimeout), d.Stderr());
  WriteFile(dir / "instaccessd.toml", std::string(kWarnsAtStart) + "[daemon]\nworkers = \"x\"\n");
  d.Signal(SIGHUP);
  BOOST_REQUIRE_MESSAGE(notify.WaitFor("RELOADING=1", kTimeout), d.Stderr());
  BOOST_REQUIRE_MESSAGE(notify.WaitFor("READY=1", kTimeout), d.Stderr());
  d.Signal(SIGTERM);
  BOOST_REQUIRE(d.Wait(kTimeout).value_or(-1) == 0);
  return d.Stderr();
}

BOOST_AUTO_TEST_SUITE(daemon_journal)

BOOST_AUTO_TEST_CASE(under_journald_every_line_starts_with_its_priority) {
  TempDir dir;
  WriteFile(dir / "instaccessd.toml", kWarnsAtStart);
  const std::string log = ServeReloadBadlyAndStop(dir, kStderrIsJournal);
  const std::vector<std::string> lines = Lines(log);
  const std::regex sd_daemon("<[0-7]>[^<].*");
  for (const std::string& line : lines) {
    BOOST_TEST(std::regex_match(line, sd_daemon), "not in the sd-daemon(3) format: " << line);
  }
  // Warnings at 4: the generated development key, the deprecated algorithm.
  BOOST_TEST(HasLine(lines, "<4>GENERATED A NEW USING A DEVELOPMENT MASTER KEY"), log);
  BOOST_TEST(HasLine(lines, "<4>rotation.enc.alg is RSA1_5, which is deprecated"), log);
  // Information at 6, errors at 3; no timestamp, journald stamps the entries itself.
  BOOST_TEST(HasLine(lines, "<6>instaccessd serving on var/instaccessd.sock with "), log);
  BOOST_TEST(HasLine(lines, "<3>reload failed; keeping the running configuration: "), log);
  BOOST_TEST(lines.back() == "<6>stopped");
}

BOOST_AUTO_TEST_CASE(a_configuration_that_stops_the_start_is_an_error_in_the_journal) {
  TempDir dir;
  WriteFile(dir / "instaccessd.toml", "[daemon]\nworkers = \"x\"\n");
  DaemonProcess d({dir.path().string(), {}, {}, "", {}, kStderrIsJournal});
  BOOST_TEST(d.Wait(kTimeout).value_or(-1) == kExitConfig);
  const std::vector<std::string> lines = Lines(d.Stderr());
  BOOST_TEST_REQUIRE(lines.size() == 1u);
  BOOST_TEST(lines[0].starts_with("<3>instaccessd: instaccessd.toml:2: 'daemon.workers' "),
             lines[0]);
}

BOOST_AUTO_TEST_CASE(offline_commands_prefix_every_line_of_their_messages) {
  TempDir dir;
  {
    NotifySocket notify(dir / "notify.sock");
    DaemonProcess d({dir.path().string(), {}, {}, notify.path(), {}, {}});
    BOOST_REQUIRE_MESSAGE(notify.WaitFor("READY=1", kTimeout), d.Stderr());
    d.Signal(SIGTERM);
    BOOST_REQUIRE(d.Wait(kTimeout).value_or(-1) == 0);
  }
  WriteFile(dir / "new.key", std::string(32, 'n'));
  DaemonProcess rekey(
      {dir.path().string(), {"rekey", "--new-key", "new.key"}, {}, "", {}, kStderrIsJournal});
  BOOST_TEST(rekey.Wait(kTimeout).value_or(-1) == 0, rekey.Stderr());
  // One message of two lines: both at info.
  const std::vector<std::string> done = Lines(rekey.Stderr());
  BOOST_TEST_REQUIRE(done.size() == 2u, rekey.Stderr());
  BOOST_TEST(done[0] ==
             "<6>instaccessd rekey: every key in var/keys.db is now sealed under new.key.");
  BOOST_TEST(done[1].starts_with("<6>Put the new key where instaccessd reads it"), done[1]);

  WriteFile(dir / "not-a-backup.db", "not SQLite");
  DaemonProcess restore(
      {dir.path().string(), {"restore", "not-a-backup.db"}, {}, "", {}, kStderrIsJournal});
  BOOST_TEST(restore.Wait(kTimeout).value_or(-1) == 2, restore.Stderr());
  for (const std::string& line : Lines(restore.Stderr())) {
    BOOST_TEST(line.starts_with("<3>instaccessd restore: "), line);
  }
}

BOOST_AUTO_TEST_CASE(elsewhere_lines_are_timestamped_without_a_priority_prefix) {
  // Not set; naming another file (inherited from a parent whose stderr was the journal); not a
  // device and inode at all.
  for (const char* stream : {"", "1:1", "journal", "1:1:1", ":"}) {
    BOOST_TEST_CONTEXT("JOURNAL_STREAM=" << stream) {
      TempDir dir;
      WriteFile(dir / "instaccessd.toml", kWarnsAtStart);
      std::map<std::string, std::string> env;
      if (*stream != '\0') env["JOURNAL_STREAM"] = stream;
      const std::string log = ServeReloadBadlyAndStop(dir, {}, env);
      const std::regex timestamped(
          "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z (info|warning|error) .+");
      for (const std::string& line : Lines(log)) {
        BOOST_TEST(std::regex_match(line, timestamped), "not timestamped: " << line);
      }
      BOOST_TEST(log.find(" warning rotation.enc.alg is RSA1_5") != std::string::npos, log);
    }
  }
}

BOOST_AUTO_TEST_CASE(help_says_how_lines_reach_the_journal) {
  TempDir dir;
  DaemonProcess d(
      {dir.path().string(), {"--help"}, {}, "", {}, {"/bin/sh", "-c", "exec \"$0\" \"$@\" >&2"}});
  BOOST_TEST(d.Wait(kTimeout).value_or(-1) == 0);
  std::string help = d.Stderr();
  std::replace(help.begin(), help.end(), '\n', ' ');
  for (const char* text :
       {"When JOURNAL_STREAM names stderr",
        "starts instead with the priority journald reads: <2> crit, <3> err, <4> warning, <6> "
        "info, <7> debug.",
        "Exit codes: 0 ok, 1 start-up or run-time failure, 2 key store or master key unusable",
        "64 bad command line, 78 bad configuration."}) {
    BOOST_TEST(help.find(text) != std::string::npos, text << "\n" << help);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing
