// The real instaccessd binary: start-up, the socket, hostile bytes, signals.
#include "tests/support/daemon_process.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <nlohmann/json.hpp>

#include "tests/support/running_daemon.h"

namespace instaccess::testing {
namespace {

using namespace std::chrono_literals;

// A bound Unix socket that may or may not listen; closes (leaving the file) on destruction.
struct RawSocket {
  explicit RawSocket(const std::string& path, bool listening) {
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path.c_str());
    BOOST_REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    if (listening) BOOST_REQUIRE(listen(fd, 4) == 0);
  }
  ~RawSocket() { close(fd); }
  int fd;
};

void ExpectStillServing(const RunningDaemon& d) {
  HttpReply r = HttpGet(d.socket, "/healthz");
  BOOST_TEST(r.status == 200);
}

void ExpectJsonError(const HttpReply& r, int status, const std::string& code) {
  BOOST_TEST(r.status == status);
  BOOST_TEST(r.headers.at("content-type") == "application/json");
  auto body = nlohmann::json::parse(r.body);
  BOOST_TEST(body["error"]["code"] == code);
  BOOST_TEST(body["error"]["message"].is_string());
  BOOST_TEST(!body["error"]["message"].get<std::string>().empty());
}

BOOST_AUTO_TEST_SUITE(daemon_process)

BOOST_AUTO_TEST_CASE(serves_healthz_and_answers_unknown_paths_with_json_404) {
  RunningDaemon d;
  HttpReply ok = HttpGet(d.socket, "/healthz");
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(ok.body == "ok\n");
  ExpectJsonError(HttpGet(d.socket, "/no/such/thing"), 404, "not_found");
  ExpectJsonError(HttpPost(d.socket, "/healthz", "{}"), 405, "method_not_allowed");
}

BOOST_AUTO_TEST_CASE(creates_socket_owner_and_group_only) {
  RunningDaemon d;
  struct stat st {};
  BOOST_REQUIRE(stat(d.socket.c_str(), &st) == 0);
  BOOST_TEST(S_ISSOCK(st.st_mode));
  BOOST_TEST((st.st_mode & 0777) == 0660u);
  BOOST_REQUIRE(stat((d.dir / "var").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0700u);
}

BOOST_AUTO_TEST_CASE(honours_configured_socket_mode) {
  RunningDaemon d("[daemon]\nsocket_mode = \"0600\"\n");
  struct stat st {};
  BOOST_REQUIRE(stat(d.socket.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
}

BOOST_AUTO_TEST_CASE(garbage_gets_400_and_the_daemon_keeps_serving) {
  RunningDaemon d;
  UnixHttpConnection c(d.socket);
  // A TLS ClientHello's first bytes, then noise: not HTTP at all.
  static constexpr char kGarbage[] =
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 garbage \r\n\r\n";
  c.SendRaw(std::string(kGarbage, sizeof kGarbage - 1));
  auto reply = c.Read();
  BOOST_REQUIRE(reply.has_value());
  ExpectJsonError(*reply, 400, "bad_request");
  BOOST_TEST(c.ServerClosed());
  ExpectStillServing(d);
}

BOOST_AUTO_TEST_CASE(oversized_header_gets_431_and_the_daemon_keeps_serving) {
  RunningDaemon d;
  UnixHttpConnection c(d.socket);
  c.SendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(10000, 'a') + "\r\n\r\n");
  auto reply = c.Read();
  BOOST_REQUIRE(reply.has_value());
  ExpectJsonError(*reply, 431, "request_header_fields_too_large");
  BOOST_TEST(c.ServerClosed());
  ExpectStillServing(d);
}

BOOST_AUTO_TEST_CASE(oversized_body_gets_413_before_it_is_read) {
  RunningDaemon d;
  UnixHttpConnection c(d.socket);
  // Announce 10 MB, send only the headers: the answer must not wait for the body.
  c.SendRaw(
      "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 10485760\r\n\r\n");
  auto reply = c.Read();
  BOOST_REQUIRE(reply.has_value());
  ExpectJsonError(*reply, 413, "payload_too_large");
  ExpectStillServing(d);
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order_on_one_connection) {
  RunningDaemon d;
  UnixHttpConnection c(d.socket);
  c.SendRaw(
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  auto first = c.Read();
  auto second = c.Read();
  auto third = c.Read();
  BOOST_REQUIRE(first && second && third);
  BOOST_TEST(first->status == 200);
  BOOST_TEST(second->status == 404);
  BOOST_TEST(third->status == 200);
  BOOST_TEST(third->keep_alive);
  // And the connection stays usable.
  BOOST_TEST(c.Request("GET", "/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(half_a_request_then_the_rest_is_served) {
  RunningDaemon d;
  UnixHttpConnection c(d.socket);
  c.SendRaw("GET /heal");
  c.SendRaw("thz HTTP/1.1\r\nHo");
  c.SendRaw("st: x\r\n\r\n");
  auto reply = c.Read();
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->status == 200);
}

BOOST_AUTO_TEST_CASE(slow_request_is_cut_off_by_the_read_timeout) {
  RunningDaemon d("[limits]\nread_timeout = \"1s\"\n");
  UnixHttpConnection c(d.socket, 15s);
  c.SendRaw("GET /healthz HTTP/1.1\r\n");  // and never the rest
  auto reply = c.Read();                   // the error, then the close
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->status == 408);
  BOOST_TEST(c.ServerClosed());
  ExpectStillServing(d);
}

BOOST_AUTO_TEST_CASE(sigterm_drains_and_exits_zero) {
  RunningDaemon d;
  UnixHttpConnection idle(d.socket);
  BOOST_TEST(idle.Request("GET", "/healthz").status == 200);  // now idle, kept alive
  d.process->Signal(SIGTERM);
  BOOST_TEST(d.notify.WaitFor("STOPPING=1", kStartTimeout));
  BOOST_TEST(idle.ServerClosed());
  auto rc = d.process->Wait(kStartTimeout);
  BOOST_REQUIRE(rc.has_value());
  BOOST_TEST(*rc == 0, d.process->Stderr());
  BOOST_TEST(access(d.socket.c_str(), F_OK) != 0);  // removed on the way out
}

BOOST_AUTO_TEST_CASE(sighup_rereads_the_config_and_keeps_serving) {
  TempDir dir;
  NotifySocket notify(dir / "notify.sock");
  std::string socket = dir / "d.sock";
  std::string config = dir / "instaccessd.toml";
  // With --config there is no development key: the master key comes from a file.
  WriteFile(dir / "master.key", std::string(32, 'k'));
  chmod((dir / "master.key").c_str(), 0600);
  const std::string store = "[store]\npath = \"" + (dir / "k.db") + "\"\nmaster_key_file = \"" +
                            (dir / "master.key") + "\"\n";
  WriteFile(config, "[daemon]\nsocket = \"" + socket + "\"\n" + store);
  DaemonProcess daemon({dir.path().string(), {"--config", config}, {}, notify.path(), {}, {}});
  BOOST_REQUIRE_MESSAGE(notify.WaitFor("READY=1", kStartTimeout), daemon.Stderr());

  WriteFile(config, "[daemon]\nsocket = \"" + socket + "\"\nlog_level = \"debug\"\n" + store);
  daemon.Signal(SIGHUP);
  BOOST_TEST(notify.WaitFor("RELOADING=1", kStartTimeout));
  BOOST_TEST(notify.WaitFor("READY=1", kStartTimeout));
  BOOST_TEST(daemon.Stderr().find("configuration reloaded from " + config) != std::string::npos);

  WriteFile(config, "[daemon]\nsocekt = 1\n");
  daemon.Signal(SIGHUP);
  BOOST_TEST(notify.WaitFor("READY=1", kStartTimeout));
  BOOST_TEST(daemon.Stderr().find("keeping the running configuration: " + config +
                                  ":2: unknown key 'daemon.socekt'") != std::string::npos);
  BOOST_TEST(HttpGet(socket, "/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(stale_socket_file_is_replaced) {
  TempDir dir;
  std::filesystem::create_directory(dir / "var");
  { RawSocket stale(dir / "var/instaccessd.sock", false); }  // bound, closed: nobody listens
  BOOST_REQUIRE(access((dir / "var/instaccessd.sock").c_str(), F_OK) == 0);
  NotifySocket notify(dir / "notify.sock");
  DaemonProcess daemon({dir.path().string(), {}, {}, notify.path(), {}, {}});
  BOOST_REQUIRE_MESSAGE(notify.WaitFor("READY=1", kStartTimeout), daemon.Stderr());
  BOOST_TEST(HttpGet(dir / "var/instaccessd.sock", "/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(live_socket_makes_start_up_fail_and_is_left_alone) {
  TempDir dir;
  std::filesystem::create_directory(dir / "var");
  RawSocket live(dir / "var/instaccessd.sock", true);
  DaemonProcess daemon({dir.path().string(), {}, {}, "", {}, {}});
  auto rc = daemon.Wait(kStartTimeout);
  BOOST_REQUIRE(rc.has_value());
  BOOST_TEST(*rc == 1);
  BOOST_TEST(daemon.Stderr().find("another process is listening on var/instaccessd.sock") !=
                 std::string::npos,
             daemon.Stderr());
  BOOST_TEST(CanConnect(dir / "var/instaccessd.sock"));
}

BOOST_AUTO_TEST_CASE(a_regular_file_at_the_socket_path_is_never_removed) {
  TempDir dir;
  std::filesystem::create_directory(dir / "var");
  WriteFile(dir / "var/instaccessd.sock", "precious");
  DaemonProcess daemon({dir.path().string(), {}, {}, "", {}, {}});
  auto rc = daemon.Wait(kStartTimeout);
  BOOST_REQUIRE(rc.has_value());
  BOOST_TEST(*rc == 1);
  BOOST_TEST(daemon.Stderr().find("exists and is not a socket") != std::string::npos);
  BOOST_TEST(ReadFile(dir / "var/instaccessd.sock") == "precious");
}

BOOST_AUTO_TEST_CASE(check_config_reports_ok_or_the_error_with_exit_78) {
  TempDir dir;
  // With --config the master key and the store's directory must be there too.
  WriteFile(dir / "master.key", std::string(32, 'k'));
  WriteFile(dir / "good.toml", "[daemon]\nworkers = 2\n[store]\npath = \"" + (dir / "k.db") +
                                   "\"\nmaster_key_file = \"" + (dir / "master.key") + "\"\n");
  WriteFile(dir / "bad.toml", "[daemon]\nworkers = 2\nbogus = true\n");
  DaemonProcess good(
      {dir.path().string(), {"--check-config", "--config", dir / "good.toml"}, {}, "", {}, {}});
  BOOST_TEST(good.Wait(kStartTimeout).value_or(-1) == 0);
  DaemonProcess bad(
      {dir.path().string(), {"--check-config", "--config", dir / "bad.toml"}, {}, "", {}, {}});
  BOOST_TEST(bad.Wait(kStartTimeout).value_or(-1) == 78);
  BOOST_TEST(bad.Stderr() ==
             "instaccessd: " + (dir / "bad.toml") + ":3: unknown key 'daemon.bogus'\n");
  DaemonProcess usage({dir.path().string(), {"--no-such-flag"}, {}, "", {}, {}});
  BOOST_TEST(usage.Wait(kStartTimeout).value_or(-1) == 64);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing
