// The daemon with the real systemd tools: socket activation by systemd-socket-activate, the
// notify protocol read from our own NOTIFY_SOCKET, and the unit's hardening score.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <regex>

#include "tests/support/daemon_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/unix_http.h"

namespace instaccess::testing {
namespace {

using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(systemd)

BOOST_AUTO_TEST_CASE(started_by_systemd_socket_activate_on_the_passed_socket) {
  TempDir dir;
  NotifySocket notify(dir / "notify.sock");
  std::string socket = dir / "activated.sock";
  DaemonProcess daemon({dir.path().string(),
                        {},
                        {},
                        notify.path(),
                        {},
                        {"/usr/bin/systemd-socket-activate", "-l", socket, "-E", "NOTIFY_SOCKET"}});
  // systemd-socket-activate binds first and execs the daemon on the first connection. The path
  // appears at bind(), a moment before listen(): a connection in between is refused, so that one
  // error (and only it) is tried again.
  HttpReply first;
  BOOST_REQUIRE(Eventually(
      [&] {
        try {
          first = HttpGet(socket, "/healthz");
          return true;
        } catch (const std::runtime_error& e) {
          const std::string what = e.what();
          if (what.find("No such file") == std::string::npos &&
              what.find("Connection refused") == std::string::npos) {
            throw;
          }
          return false;
        }
      },
      20s));
  BOOST_TEST(first.status == 200);
  BOOST_TEST(notify.WaitFor("READY=1", 20s));
  BOOST_TEST(daemon.Stderr().find("serving on the socket systemd passed") != std::string::npos,
             daemon.Stderr());
  // The daemon made no socket of its own.
  BOOST_TEST(access((dir / "var/instaccessd.sock").c_str(), F_OK) != 0);

  daemon.Signal(SIGTERM);
  BOOST_TEST(notify.WaitFor("STOPPING=1", 20s));
  BOOST_TEST(daemon.Wait(20s).value_or(-1) == 0);
  BOOST_TEST(access(socket.c_str(), F_OK) == 0);  // systemd's socket: not ours to remove
}

BOOST_AUTO_TEST_CASE(notify_protocol_sends_ready_with_status_then_stopping) {
  TempDir dir;
  NotifySocket notify(dir / "notify.sock");
  DaemonProcess daemon({dir.path().string(), {}, {}, notify.path(), {}, {}});
  auto ready = notify.Receive(20s);
  BOOST_REQUIRE(ready.has_value());
  BOOST_TEST(ready->find("READY=1\n") == 0u, *ready);
  BOOST_TEST(ready->find("STATUS=serving on var/instaccessd.sock") != std::string::npos, *ready);
  daemon.Signal(SIGTERM);
  auto stopping = notify.Receive(20s);
  BOOST_REQUIRE(stopping.has_value());
  BOOST_TEST(stopping->find("STOPPING=1") == 0u, *stopping);
  BOOST_TEST(daemon.Wait(20s).value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(watchdog_pings_at_half_the_interval) {
  TempDir dir;
  NotifySocket notify(dir / "notify.sock");
  // WATCHDOG_USEC of 400 ms: pings every 200 ms.
  DaemonProcess daemon(
      {dir.path().string(), {}, {{"WATCHDOG_USEC", "400000"}}, notify.path(), {}, {}});
  BOOST_REQUIRE(notify.WaitFor("READY=1", 20s));
  BOOST_TEST(notify.WaitFor("WATCHDOG=1", 5s));
  BOOST_TEST(notify.WaitFor("WATCHDOG=1", 5s));
}

BOOST_AUTO_TEST_CASE(process_is_not_dumpable_and_has_no_core_limit) {
  // Run as nobody: the kernel gives a non-dumpable process's /proc files to root, while a
  // dumpable one's belong to its own uid. (As root we could not tell the difference.)
  TempDir dir;
  std::filesystem::permissions(dir.path(), std::filesystem::perms::all);
  NotifySocket notify(dir / "notify.sock");
  std::filesystem::permissions(notify.path(), std::filesystem::perms::all);
  DaemonProcess daemon(
      {dir.path().string(),
       {},
       {},
       notify.path(),
       {},
       {"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"}});
  BOOST_REQUIRE_MESSAGE(notify.WaitFor("READY=1", 20s), daemon.Stderr());
  std::string proc = "/proc/" + std::to_string(daemon.pid());
  struct stat st {};
  BOOST_REQUIRE(stat((proc + "/status").c_str(), &st) == 0);
  BOOST_TEST(st.st_uid == 0u);
  std::string status = ReadFile(proc + "/status");
  BOOST_TEST(std::regex_search(status, std::regex("Uid:\\s+65534\\s")), status);  // really nobody
  std::string limits = ReadFile(proc + "/limits");
  BOOST_TEST(std::regex_search(limits, std::regex("Max core file size +0 +0 ")), limits);
}

BOOST_AUTO_TEST_CASE(unit_hardening_scores_at_most_2_with_no_line_ignored) {
  std::string unit = std::string(INSTACCESS_BINARY_DIR) + "/systemd/instaccessd.service";
  std::string out =
      CaptureOutput("systemd-analyze security --offline=true --no-pager " + unit + " 2>&1");
  std::smatch m;
  BOOST_REQUIRE_MESSAGE(
      std::regex_search(out, m,
                        std::regex("Overall exposure level for instaccessd.service: ([0-9.]+)")),
      out);
  double score = std::stod(m[1]);
  BOOST_TEST_MESSAGE("systemd-analyze security exposure: " << score);
  BOOST_TEST(score <= 2.0, out);
  // systemd names a line of the unit ("instaccessd.service:31: ...") only to say it ignores it:
  // an unknown key or a value it cannot parse, a hardening setting that silently does nothing.
  BOOST_TEST(!std::regex_search(out, std::regex("instaccessd\\.service:[0-9]+: ")), out);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing
