// SIGHUP on the real daemon: the file is read off the main thread's event loop, the live part
// (log level, access lists) is applied, keys that need a restart are named, and a file that
// fails leaves the running configuration and says so in the log and the STATUS= line.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>

#include "tests/daemon/peer_client.h"
#include "tests/support/as_nobody.h"
#include "tests/support/running_daemon.h"

namespace instaccess::testing {
namespace {

using namespace std::chrono_literals;

// The next notify datagram holding `needle` as a line; empty when none comes in time.
std::string NextDatagramWith(NotifySocket& notify, const std::string& needle) {
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto message = notify.Receive(left);
    if (!message) return {};
    if (("\n" + *message + "\n").find("\n" + needle + "\n") != std::string::npos) return *message;
  }
  return {};
}

// Waits until the daemon's log holds `text`.
bool LogShows(const RunningDaemon& d, const std::string& text) {
  return Eventually([&] { return d.process->Stderr().find(text) != std::string::npos; },
                    kStartTimeout);
}

int KeysAsNobody(const RunningDaemon& d) {
  return RequestFromChild(d.socket, RawGet("/api/v1/keys"), {"", kNobodyUid});
}

void Rewrite(RunningDaemon& d, const std::string& toml) {
  WriteFile(d.dir / "instaccessd.toml", toml);
  d.toml = toml;
}

BOOST_AUTO_TEST_SUITE(daemon_reload)

BOOST_AUTO_TEST_CASE(
    a_broken_file_keeps_the_old_access_lists_and_says_so,
    *boost::unit_test::precondition(RunningAsRoot("a client as another uid needs root"))) {
  RunningDaemon d(OpenToAll{});
  BOOST_TEST(KeysAsNobody(d) == 403);

  const std::string granted = d.toml + "[access]\nread = [\"nobody\"]\n";
  Rewrite(d, granted);
  d.process->Signal(SIGHUP);
  BOOST_REQUIRE(d.notify.WaitFor("RELOADING=1", kStartTimeout));
  const std::string reloaded = NextDatagramWith(d.notify, "READY=1");
  BOOST_TEST(
      reloaded.find("STATUS=serving; configuration reloaded; active sig ") != std::string::npos,
      reloaded);
  BOOST_TEST(KeysAsNobody(d) == 200);

  // A TOML syntax error: the parser's message in the log at error level, and in STATUS=.
  Rewrite(d, d.toml + "[access\n");
  d.process->Signal(SIGHUP);
  BOOST_REQUIRE(d.notify.WaitFor("RELOADING=1", kStartTimeout));
  const std::string failed = NextDatagramWith(d.notify, "READY=1");
  BOOST_TEST(failed.find("STATUS=serving with the previous configuration; reload failed: "
                         "instaccessd.toml:") != std::string::npos,
             failed);
  BOOST_TEST(LogShows(d,
                      " error reload failed; keeping the running configuration: "
                      "instaccessd.toml:"),
             d.process->Stderr());
  BOOST_TEST(d.process->Stderr().find("TOML syntax error") != std::string::npos);
  // Still serving, with the access lists of the last good file.
  BOOST_TEST(KeysAsNobody(d) == 200);
  BOOST_TEST(d.Get("/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(changed_keys_that_need_a_restart_are_named_in_one_warning) {
  RunningDaemon d(OpenToAll{});
  Rewrite(d,
          "[daemon]\nsocket = \"elsewhere.sock\"\nsocket_mode = \"0666\"\nlog_level = \"debug\"\n"
          "[limits]\nmax_body = \"32KiB\"\n[access]\nread = [\"*\"]\n");
  d.process->Signal(SIGHUP);
  BOOST_REQUIRE(d.notify.WaitFor("RELOADING=1", kStartTimeout));
  const std::string ready = NextDatagramWith(d.notify, "READY=1");
  BOOST_TEST(ready.find("needs a restart: daemon.socket, limits.max_body") != std::string::npos,
             ready);
  BOOST_TEST(LogShows(d,
                      " warning configuration changed but needs a restart: daemon.socket, "
                      "limits.max_body\n"),
             d.process->Stderr());
  // The live part did change (debug lines now appear); the socket did not move.
  BOOST_TEST(LogShows(d, "configuration reloaded from instaccessd.toml"));
  BOOST_TEST(d.Get("/healthz").status == 200);
  BOOST_TEST(access((d.dir / "elsewhere.sock").c_str(), F_OK) != 0);
  // Reloading the same file again names the same keys: they still differ from what runs.
  d.process->Signal(SIGHUP);
  BOOST_REQUIRE(d.notify.WaitFor("RELOADING=1", kStartTimeout));
  BOOST_TEST(NextDatagramWith(d.notify, "READY=1").find("needs a restart: daemon.socket") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_unchanged_restart_key_is_not_named) {
  RunningDaemon d(OpenToAll{});
  Rewrite(d, d.toml + "[access]\nread = [\"*\"]\n");
  d.process->Signal(SIGHUP);
  BOOST_REQUIRE(d.notify.WaitFor("RELOADING=1", kStartTimeout));
  const std::string ready = NextDatagramWith(d.notify, "READY=1");
  BOOST_TEST(ready.find("STATUS=serving; configuration reloaded; active sig") != std::string::npos,
             ready);
  BOOST_TEST(d.process->Stderr().find("needs a restart") == std::string::npos);
}

// The main thread's loop accepts connections: while the file cannot be read yet (a FIFO nobody
// writes, standing in for a hung mount or a slow NSS server), new connections are still served.
BOOST_AUTO_TEST_CASE(the_file_is_read_off_the_event_loop) {
  RunningDaemon d(OpenToAll{});
  const std::string fifo = d.dir / "config.fifo";
  BOOST_REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  BOOST_REQUIRE(std::rename(fifo.c_str(), (d.dir / "instaccessd.toml").c_str()) == 0);
  d.process->Signal(SIGHUP);
  BOOST_REQUIRE(d.notify.WaitFor("RELOADING=1", kStartTimeout));
  // A fresh connection, answered within 5 s by a daemon whose main thread is free.
  BOOST_TEST(RequestFromChild(d.socket, RawGet("/healthz"), {}, 5s) == 200);
  BOOST_TEST(d.process->Stderr().find("reload failed") == std::string::npos);
  // Now let the read finish: a FIFO is not a configuration file.
  {
    const int writer = open((d.dir / "instaccessd.toml").c_str(), O_WRONLY | O_CLOEXEC);
    BOOST_REQUIRE(writer >= 0);
    close(writer);
  }
  const std::string failed = NextDatagramWith(d.notify, "READY=1");
  BOOST_TEST(
      failed.find("reload failed: config file instaccessd.toml is not a file") != std::string::npos,
      failed);
  BOOST_TEST(d.Get("/healthz").status == 200);
}

// A key from the file with a newline in it: the error names it, escaped, so neither the log nor
// the notify message gets a line of the file's making.
BOOST_AUTO_TEST_CASE(text_from_the_file_is_escaped_in_the_log_and_status) {
  RunningDaemon d(OpenToAll{});
  Rewrite(d, d.toml + "\"x\\nSTATUS=forged\\u001b[2J\" = 1\n");
  d.process->Signal(SIGHUP);
  BOOST_REQUIRE(d.notify.WaitFor("RELOADING=1", kStartTimeout));
  const std::string failed = NextDatagramWith(d.notify, "READY=1");
  BOOST_TEST(failed.find("reload failed: ") != std::string::npos, failed);
  BOOST_TEST(failed.find("\nSTATUS=forged") == std::string::npos, failed);
  BOOST_TEST(failed.find("x\\x0aSTATUS=forged\\x1b[2J") != std::string::npos, failed);
  BOOST_TEST(LogShows(d, "unknown key 'daemon.x\\x0aSTATUS=forged\\x1b[2J'"), d.process->Stderr());
  BOOST_TEST(d.process->Stderr().find('\x1b') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_file_others_may_write_is_refused_on_reload) {
  RunningDaemon d(OpenToAll{});
  Rewrite(d, d.toml + "[access]\nread = [\"*\"]\n");
  BOOST_REQUIRE(chmod((d.dir / "instaccessd.toml").c_str(), 0646) == 0);
  d.process->Signal(SIGHUP);
  BOOST_REQUIRE(d.notify.WaitFor("RELOADING=1", kStartTimeout));
  const std::string failed = NextDatagramWith(d.notify, "READY=1");
  BOOST_TEST(
      failed.find("reload failed: config file instaccessd.toml has mode 0646") != std::string::npos,
      failed);
  BOOST_TEST(LogShows(d, "run chmod go-w instaccessd.toml"), d.process->Stderr());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing
