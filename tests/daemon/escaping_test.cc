// What a client controls reaches the daemon's log escaped (instaccess::LogText): its process
// name (/proc/PID/comm, set with prctl(PR_SET_NAME)) and its request's path, so a refused
// client can neither forge a log line nor send a terminal escape to whoever reads the journal.
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include "tests/daemon/peer_client.h"
#include "tests/support/as_nobody.h"
#include "tests/support/running_daemon.h"

namespace instaccess::testing {
namespace {

BOOST_AUTO_TEST_SUITE(daemon_log_escaping, *boost::unit_test::precondition(
                                               RunningAsRoot("a client as another uid needs root")))

BOOST_AUTO_TEST_CASE(a_refused_clients_process_name_and_path_are_escaped) {
  RunningDaemon d(OpenToAll{});
  // 14 bytes, under comm's 15: a newline that would start a forged line, an ANSI escape, a
  // backslash (escaped too, so "\x0a" in the log cannot be the client's own text).
  const std::string name = "ev\nil\x1b[2J\\ok";
  BOOST_REQUIRE_LT(name.size(), 16u);
  BOOST_TEST(RequestFromChild(d.socket, RawGet("/api/v1/keys"), {name, kNobodyUid}) == 403);
  // A path with the bytes of UTF-8 "é".
  BOOST_TEST(RequestFromChild(d.socket,
                              "POST /api/v1/keys/k\xc3\xa9/revoke HTTP/1.1\r\nHost: x\r\n"
                              "Content-Length: 0\r\nConnection: close\r\n\r\n",
                              {name, kNobodyUid}) == 403);

  const std::string escaped = "(ev\\x0ail\\x1b[2J\\\\ok)";
  BOOST_REQUIRE(Eventually(
      [&] {
        return d.process->Stderr().find(
                   "refused POST /api/v1/keys/k\\xc3\\xa9/revoke from uid "
                   "65534 (nobody) pid ") != std::string::npos;
      },
      kStartTimeout));
  const std::string log = d.process->Stderr();
  BOOST_TEST(log.find("refused GET /api/v1/keys from uid 65534 (nobody) pid ") != std::string::npos,
             log);
  BOOST_TEST(log.find(escaped + ": no 'read' role") != std::string::npos, log);
  BOOST_TEST(log.find(escaped + ": no 'admin' role") != std::string::npos, log);
  // No byte of the name or the path arrived raw: no escape, no UTF-8, no line of the client's.
  BOOST_TEST(log.find('\x1b') == std::string::npos);
  BOOST_TEST(log.find("\xc3\xa9") == std::string::npos);
  BOOST_TEST(log.find("\nil") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing
