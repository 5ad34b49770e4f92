// When the client library sends a request a second time (client/http_transport.h): only when
// the daemon cannot have acted on the first one. A scripted server on a real Unix socket stands
// in for the daemon and counts every request it read, so each test checks how many requests of
// each method reached it.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "instaccess/client.h"
#include "tests/client/client_fixture.h"
#include "tests/support/temp_dir.h"

namespace instaccess::testing {
namespace {

using client::Claims;
using client::Client;
using client::ErrorKind;

// What the scripted server does with one request it has read whole.
enum class Act {
  kAnswer,              // answers 200/201, keeps the connection open
  kShutReadThenAnswer,  // shutdown(SHUT_RD), then answers: the client's next write fails at once
  kClose,               // closes without an answer
};

// Serves connections one at a time, in order; `script(connection, request, method)` (both
// counted from 0) says what to do. A connection ends when the script closes it or the client
// does; a connection it shut for reading stays open until the server is destroyed.
class ScriptedServer {
 public:
  using Script = std::function<Act(int connection, int request, const std::string& method)>;

  ScriptedServer(const std::string& path, Script script)
      : script_(std::move(script)), listener_(path) {
    listener_.Start([this] { Serve(); });
  }
  ~ScriptedServer() {
    listener_.Stop();
    for (int c : kept_) close(c);
  }
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  // Requests read whole, by method; connections accepted.
  int Received(const std::string& method) {
    std::scoped_lock lock(mu_);
    int n = 0;
    for (const auto& m : methods_) n += m == method ? 1 : 0;
    return n;
  }
  int connections() const { return connections_.load(); }

 private:
  void Serve() {
    for (int connection = 0; !listener_.stopping(); ++connection) {
      int c = listener_.Accept();
      if (c < 0) return;
      ++connections_;
      bool open = true;
      for (int request = 0; open; ++request) {
        std::string method;
        if (!ReadRequest(c, &method)) break;
        {
          std::scoped_lock lock(mu_);
          methods_.push_back(method);
        }
        switch (script_(connection, request, method)) {
          case Act::kAnswer:
            Answer(c, method);
            break;
          case Act::kShutReadThenAnswer:
            shutdown(c, SHUT_RD);
            Answer(c, method);
            kept_.push_back(c);
            c = -1;
            open = false;
            break;
          case Act::kClose:
            open = false;
            break;
        }
      }
      if (c >= 0) close(c);
    }
  }

  // Reads one request: its header, then Content-Length bytes of body. False at end of stream.
  static bool ReadRequest(int c, std::string* method) {
    std::string got;
    char buf[4096];
    std::size_t end;
    while ((end = got.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) return false;
      got.append(buf, static_cast<std::size_t>(n));
    }
    *method = got.substr(0, got.find(' '));
    std::size_t length = 0;
    std::size_t at = got.find("Content-Length: ");
    if (at != std::string::npos && at < end) length = std::stoul(got.substr(at + 16));
    std::size_t have = got.size() - (end + 4);
    while (have < length) {
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) return false;
      have += static_cast<std::size_t>(n);
    }
    return true;
  }

  static void Answer(int c, const std::string& method) {
    const std::string body = method == "POST" ? R"({"token":"the-token"})" : R"({"keys":[]})";
    const std::string status = method == "POST" ? "201 Created" : "200 OK";
    const std::string bytes =
        "HTTP/1.1 " + status +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body;
    BOOST_REQUIRE(write(c, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  }

  Script script_;
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::vector<std::string> methods_;  // guarded by mu_
  std::vector<int> kept_;             // only touched by the serving thread, then after Stop()
  SocketServerThread listener_;       // last: its thread stops before the members above go
};

// The error's text for a failed check's message; evaluated even when the check passes.
template <typename T>
std::string Why(const client::Result<T>& r) {
  return r.has_value() ? std::string() : r.error().ToString();
}

const Claims kClaims{{"sub", "user-1"}, {"acct", "acct-1"}};

struct IgnoreSigpipe {
  IgnoreSigpipe() { signal(SIGPIPE, SIG_IGN); }
};

BOOST_AUTO_TEST_SUITE(client_resend, *boost::unit_test::fixture<IgnoreSigpipe>())

// The daemon read a POST on a kept-alive connection and the connection was lost before any
// answer: it may have issued the token, so the client reports the loss and sends nothing more.
BOOST_AUTO_TEST_CASE(a_post_that_was_sent_is_never_sent_again) {
  TempDir dir;
  ScriptedServer server(dir / "s.sock", [](int, int, const std::string& method) {
    return method == "POST" ? Act::kClose : Act::kAnswer;
  });
  Client c(dir / "s.sock");
  BOOST_REQUIRE(c.Jwks().has_value());  // a kept-alive connection is now in the pool
  auto issued = c.Issue(kClaims);       // read by the server on it, then the connection closes
  BOOST_REQUIRE(!issued.has_value());
  BOOST_TEST(client::ErrorKindName(issued.error().kind()) ==
                 client::ErrorKindName(ErrorKind::kUnavailable),
             issued.error().ToString());
  BOOST_TEST(issued.error().message().find("not sent again") != std::string::npos,
             issued.error().message());
  BOOST_TEST(server.Received("POST") == 1);
  BOOST_TEST(server.connections() == 1);

  // The same on a fresh connection (nothing pooled: the last one was closed).
  auto again = c.Issue(kClaims);
  BOOST_REQUIRE(!again.has_value());
  BOOST_TEST(server.Received("POST") == 2);
  BOOST_TEST(server.connections() == 2);
}

// A GET lost the same way is asked again on a fresh connection: asking twice changes nothing.
BOOST_AUTO_TEST_CASE(a_get_that_was_sent_is_sent_again_once) {
  TempDir dir;
  ScriptedServer server(dir / "s.sock", [](int connection, int request, const std::string&) {
    return connection == 0 && request == 1 ? Act::kClose : Act::kAnswer;
  });
  Client c(dir / "s.sock");
  BOOST_REQUIRE(c.Jwks().has_value());
  auto again = c.Jwks();
  BOOST_REQUIRE_MESSAGE(again.has_value(), Why(again));
  BOOST_TEST(server.Received("GET") == 3);
  BOOST_TEST(server.connections() == 2);
}

// A POST whose write failed before any byte left (the daemon had shut the kept-alive connection)
// cannot have been read: it is sent on a fresh connection, and reaches the server exactly once.
BOOST_AUTO_TEST_CASE(a_post_found_unsendable_is_sent_on_a_fresh_connection) {
  TempDir dir;
  ScriptedServer server(dir / "s.sock", [](int connection, int, const std::string&) {
    return connection == 0 ? Act::kShutReadThenAnswer : Act::kAnswer;
  });
  Client c(dir / "s.sock");
  BOOST_REQUIRE(c.Jwks().has_value());  // pooled, but no longer readable by the server
  auto issued = c.Issue(kClaims);
  BOOST_REQUIRE_MESSAGE(issued.has_value(), Why(issued));
  BOOST_TEST(*issued == "the-token");
  BOOST_TEST(server.Received("POST") == 1);
  BOOST_TEST(server.connections() == 2);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing
