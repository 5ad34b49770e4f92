// Hostile and greedy clients (issue 6): slowloris, a thousand idle connections, a 10 MB body,
// pipelined requests cut in half, a flood past the work queue. After each, a fresh connection
// must still get its answer.
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "tests/api/api_test_util.h"
#include "tests/support/prometheus_text.h"

namespace instaccess::testing::api {
namespace {

// A plain blocking Unix stream socket: cheap enough to hold a thousand of (UnixHttpConnection
// has an io_context each), and in full control of the bytes and their timing.
class RawConnection {
 public:
  RawConnection(const std::string& path, std::chrono::milliseconds timeout) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      int err = errno;
      close(fd_);
      throw std::runtime_error("connect " + path + ": " + std::strerror(err));
    }
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  ~RawConnection() {
    if (fd_ >= 0) close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // False once the server has closed (EPIPE) or the send timed out.
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // The next response (Content-Length bodies only, which is all the daemon sends), or nullopt
  // when the server closed, nothing came within the timeout, or the bytes are not a response
  // where one must start (a byte too many or too few before it).
  std::optional<HttpReply> ReadReply() {
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    if (!buffer_.starts_with("HTTP/1.1 ")) return std::nullopt;
    HttpReply reply;
    std::string head = buffer_.substr(0, end + 2);
    reply.status = std::atoi(head.c_str() + head.find(' ') + 1);
    std::size_t line = head.find("\r\n") + 2;
    while (line < head.size()) {
      std::size_t eol = head.find("\r\n", line);
      std::string field = head.substr(line, eol - line);
      std::size_t colon = field.find(':');
      std::string name = field.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::size_t value = field.find_first_not_of(' ', colon + 1);
      reply.headers[name] = value == std::string::npos ? "" : field.substr(value);
      line = eol + 2;
    }
    std::size_t length =
        reply.headers.count("content-length") ? std::stoul(reply.headers["content-length"]) : 0;
    while (buffer_.size() < end + 4 + length) {
      if (!Fill()) return std::nullopt;
    }
    reply.body = buffer_.substr(end + 4, length);
    buffer_.erase(0, end + 4 + length);
    return reply;
  }

  // Bytes the server has sent that this side has not read yet.
  std::size_t Unread() const {
    int n = 0;
    if (ioctl(fd_, FIONREAD, &n) != 0 || n < 0) return 0;
    return buffer_.size() + static_cast<std::size_t>(n);
  }

  // True when the server closes the connection within `timeout` (anything it sends first, such
  // as an error answer, is skipped).
  bool ClosedWithin(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      int rc = poll(&p, 1, static_cast<int>(left.count()));
      if (rc < 0 && errno == EINTR) continue;
      if (rc == 0) return false;
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    }
  }

 private:
  bool Fill() {
    char buf[65536];
    ssize_t n;
    do {
      n = recv(fd_, buf, sizeof buf, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
};

std::string IssueRequest(const std::string& sub) {
  const std::string body = Json{{"claims", {{"sub", sub}, {"acct", "a"}}}}.dump();
  return "POST /api/v1/inst_access_tokens HTTP/1.1\r\nHost: localhost\r\n"
         "Content-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::int64_t MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

// A fresh connection is still answered.
void ExpectStillServing(const Daemon& d) {
  HttpReply r = d.Get("/healthz");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body == "ok\n");
}

std::size_t OpenConnections(const Daemon& d) {
  return d.GetJson("/api/v1/status").at("load").at("connections").get<std::size_t>();
}

BOOST_AUTO_TEST_SUITE(api_hostile)

BOOST_AUTO_TEST_CASE(slowloris_is_cut_off_by_the_read_timeout_while_others_are_served) {
  Daemon d("[limits]\nread_timeout = \"2s\"\n");
  RawConnection slow(d.socket, 10s);
  const std::string request = IssueRequest("slow");  // ~150 bytes: over a minute at this pace
  const auto started = std::chrono::steady_clock::now();
  std::size_t sent = 0;
  bool closed = false;
  // One byte, then half a second of listening for the server closing: that is the pace.
  while (sent < request.size() && !closed) {
    if (!slow.Send(request.substr(sent, 1))) break;
    ++sent;
    if (sent == 2) ExpectStillServing(d);  // others are served while it dribbles
    closed = slow.ClosedWithin(500ms);
    BOOST_REQUIRE(MillisSince(started) < 15000);
  }
  const std::int64_t elapsed_ms = MillisSince(started);
  BOOST_TEST((closed || sent < request.size()), "the slow request was never cut off");
  BOOST_TEST(sent < request.size());
  BOOST_TEST(elapsed_ms >= 1500);  // not before the timeout ...
  BOOST_TEST(elapsed_ms < 6000);   // ... but soon after it
  ExpectStillServing(d);

  // The same with the headers sent at once and the body dribbled.
  RawConnection slow_body(d.socket, 10s);
  const std::size_t body_at = request.find("\r\n\r\n") + 4;
  BOOST_REQUIRE(slow_body.Send(request.substr(0, body_at)));
  const auto body_started = std::chrono::steady_clock::now();
  closed = false;
  for (std::size_t i = body_at; i < request.size() && !closed; ++i) {
    if (!slow_body.Send(request.substr(i, 1))) break;
    closed = slow_body.ClosedWithin(500ms);
    BOOST_REQUIRE(MillisSince(body_started) < 15000);
  }
  BOOST_TEST(MillisSince(body_started) < 6000, "a slow body was not cut off");
  ExpectStillServing(d);
}

// A request that stops half way is answered 408 when the read timeout passes (docs/api.md: past
// a limit the client gets an error), then the connection closes.
BOOST_AUTO_TEST_CASE(a_request_that_stops_half_way_gets_408_at_the_read_timeout) {
  Daemon d("[limits]\nread_timeout = \"2s\"\n");
  RawConnection c(d.socket, 10s);
  const std::string request = IssueRequest("half");
  const auto started = std::chrono::steady_clock::now();
  BOOST_REQUIRE(c.Send(request.substr(0, request.size() / 2)));
  auto reply = c.ReadReply();
  BOOST_REQUIRE(reply.has_value());
  ExpectError(*reply, 408, "request_timeout", "read timeout");
  BOOST_TEST(MillisSince(started) >= 1500);
  BOOST_TEST(c.ClosedWithin(5s));
  ExpectStillServing(d);
}

BOOST_AUTO_TEST_CASE(idle_connections_are_closed_after_the_idle_timeout) {
  Daemon d("[limits]\nidle_timeout = \"1s\"\n");
  RawConnection kept(d.socket, 10s);
  BOOST_REQUIRE(kept.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto reply = kept.ReadReply();
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->status == 200);
  const auto started = std::chrono::steady_clock::now();
  BOOST_TEST(kept.ClosedWithin(8s));
  BOOST_TEST(MillisSince(started) >= 700);
  RawConnection silent(d.socket, 10s);  // never sends a byte
  BOOST_TEST(silent.ClosedWithin(8s));
  ExpectStillServing(d);
}

BOOST_AUTO_TEST_CASE(a_thousand_idle_connections_do_not_stop_service) {
  RaiseOpenFileLimit();
  BOOST_REQUIRE_MESSAGE(OpenFileLimit() >= 1100, "RLIMIT_NOFILE is only " << OpenFileLimit());
  Daemon d;
  const std::size_t before = OpenConnections(d);
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 1000; ++i) idle.push_back(std::make_unique<RawConnection>(d.socket, 10s));
  // The daemon has accepted them all (no event tells us when).
  BOOST_TEST(Eventually([&] { return OpenConnections(d) >= before + 1000; }, 20s),
             "open connections: " << OpenConnections(d));
  ExpectStillServing(d);
  BOOST_TEST(d.Decrypt(d.Issue()).status == 200);
  // The idle ones are still usable too.
  for (std::size_t i : {std::size_t{0}, std::size_t{499}, std::size_t{999}}) {
    BOOST_REQUIRE(idle[i]->Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto reply = idle[i]->ReadReply();
    BOOST_REQUIRE(reply.has_value());
    BOOST_TEST(reply->status == 200);
  }
  idle.clear();
  BOOST_TEST(Eventually([&] { return OpenConnections(d) <= before; }, 20s));
}

BOOST_AUTO_TEST_CASE(connections_past_the_limit_get_503_and_service_resumes_when_freed) {
  Daemon d("[limits]\nmax_connections = 20\n");
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 20; ++i) idle.push_back(std::make_unique<RawConnection>(d.socket, 10s));
  // Once the daemon has accepted all twenty, the next connection is turned away at once.
  std::optional<HttpReply> refused;
  int refusals = 0;
  BOOST_REQUIRE(Eventually(
      [&] {
        RawConnection extra(d.socket, 10s);
        extra.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        auto reply = extra.ReadReply();
        if (!reply || reply->status == 200) return false;
        refused = reply;
        ++refusals;
        return extra.ClosedWithin(5s);
      },
      20s));
  BOOST_TEST(refused->status == 503);
  BOOST_TEST(Json::parse(refused->body).at("error").at("code") == "overloaded");
  BOOST_TEST(refused->headers.count("retry-after") == 1u);
  // The connections already open are served meanwhile.
  BOOST_REQUIRE(idle.front()->Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto reply = idle.front()->ReadReply();
  BOOST_REQUIRE(reply.has_value());
  BOOST_TEST(reply->status == 200);
  idle.resize(10);
  BOOST_TEST(Eventually(
      [&] {
        const HttpReply r = d.Get("/healthz");
        refusals += r.status == 503;  // the daemon had not yet seen the others close
        return r.status == 200;
      },
      20s));
  // Each refusal was counted as an overload of connections, and nothing else was.
  const PromExposition m = ParsePrometheusText(d.Get("/metrics").body, "instaccess_");
  BOOST_TEST(m.Value("instaccess_overloaded_total", {{"reason", "connections"}}) ==
             static_cast<double>(refusals));
  BOOST_TEST(m.Value("instaccess_overloaded_total", {{"reason", "queue"}}) == 0.0);
}

BOOST_AUTO_TEST_CASE(a_10_mb_body_gets_413_without_a_hang) {
  Daemon d;
  const std::string ten_mb(10 * 1024 * 1024, 'x');
  {
    RawConnection c(d.socket, 10s);
    const auto started = std::chrono::steady_clock::now();
    c.Send(
        "POST /api/v1/inst_access_tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(ten_mb.size()) + "\r\n\r\n");
    c.Send(ten_mb);  // fails part-way once the daemon has answered and closed
    auto reply = c.ReadReply();
    BOOST_REQUIRE(reply.has_value());
    BOOST_TEST(reply->status == 413);
    BOOST_TEST(Json::parse(reply->body).at("error").at("code") == "payload_too_large");
    BOOST_TEST(c.ClosedWithin(5s));
    BOOST_TEST(MillisSince(started) < 8000);
  }
  ExpectStillServing(d);
  {
    // The same without a length: chunks until the limit is passed.
    RawConnection c(d.socket, 10s);
    c.Send(
        "POST /api/v1/inst_access_tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n");
    const std::string chunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
    for (int i = 0; i < 160 && c.Send(chunk); ++i) {
    }
    auto reply = c.ReadReply();
    BOOST_REQUIRE(reply.has_value());
    BOOST_TEST(reply->status == 413);
    BOOST_TEST(Json::parse(reply->body).at("error").at("code") == "payload_too_large");
    BOOST_TEST(c.ClosedWithin(5s));
  }
  ExpectStillServing(d);
}

// Kilobytes of the process's resident memory (VmRSS).
std::size_t VmRssKb(pid_t pid) {
  const std::string status = ReadFile("/proc/" + std::to_string(pid) + "/status");
  const std::size_t at = status.find("VmRSS:");
  BOOST_REQUIRE(at != std::string::npos);
  return std::stoul(status.substr(at + 6));
}

// The line that announces a chunk ("1;" and a chunk extension) never ends. Beast limits the
// header and the body, not that line: without a cap on its read buffer the daemon kept all of it,
// gigabytes within one read timeout over a Unix socket.
BOOST_AUTO_TEST_CASE(a_chunk_line_that_never_ends_gets_400_and_does_not_grow_the_daemon) {
  Daemon d;
  const std::size_t rss_before = VmRssKb(d.process->pid());
  constexpr std::size_t kOffered = 64 * 1024 * 1024;
  std::size_t sent = 0;
  {
    RawConnection c(d.socket, 10s);
    c.Send(
        "POST /api/v1/inst_access_tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n1;");
    const std::string junk(64 * 1024, 'a');
    while (sent < kOffered && c.Send(junk)) sent += junk.size();  // fails once the daemon closed
    auto reply = c.ReadReply();
    BOOST_REQUIRE(reply.has_value());
    ExpectError(*reply, 400, "bad_request", "too long");
    BOOST_TEST(c.ClosedWithin(5s));
  }
  BOOST_TEST(sent < kOffered, "the daemon read all " << sent << " bytes");
  const std::size_t rss_after = VmRssKb(d.process->pid());
  BOOST_TEST(rss_after < rss_before + 16 * 1024,
             "VmRSS " << rss_before << " -> " << rss_after << " kB");
  ExpectStillServing(d);
}

BOOST_AUTO_TEST_CASE(pipelined_requests_cut_in_half_are_both_answered_in_order) {
  Daemon d;
  const std::string first = IssueRequest("first"), second = IssueRequest("second");
  UnixHttpConnection c(d.socket);
  // Three writes: half of the first; the rest of it with half of the second; the rest.
  c.SendRaw(first.substr(0, first.size() / 2));
  c.SendRaw(first.substr(first.size() / 2) + second.substr(0, second.size() / 2));
  auto one = c.Read();
  BOOST_REQUIRE(one.has_value());
  BOOST_TEST(one->status == 201);
  c.SendRaw(second.substr(second.size() / 2));
  auto two = c.Read();
  BOOST_REQUIRE(two.has_value());
  BOOST_TEST(two->status == 201);
  BOOST_TEST(two->keep_alive);
  auto sub = [&](const HttpReply& r) {
    return Json::parse(d.Decrypt(Json::parse(r.body).at("token")).body).at("claims").at("sub");
  };
  BOOST_TEST(sub(*one) == "first");
  BOOST_TEST(sub(*two) == "second");

  // A cheap, an expensive and a refused request in one write come back in order.
  c.SendRaw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + IssueRequest("third") +
            "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  auto a = c.Read(), b = c.Read(), e = c.Read();
  BOOST_REQUIRE((a && b && e));
  BOOST_TEST(a->status == 200);
  BOOST_TEST(b->status == 201);
  BOOST_TEST(e->status == 404);
  ExpectStillServing(d);
}

// Its answers fill the socket's buffer: the daemon sends what fits (often part of an answer),
// waits for the rest without holding up its event loop, and every answer arrives whole and in
// order.
BOOST_AUTO_TEST_CASE(a_client_that_does_not_read_its_answers_gets_them_all_later) {
  Daemon d;
  // A backup (the store file, ~40 KB) is larger than what the kernel takes in one piece, so
  // a send into a nearly full buffer takes part of it.
  const HttpReply backup = d.Get("/api/v1/backup");
  BOOST_REQUIRE(backup.status == 200);
  BOOST_REQUIRE(backup.body.size() > 32 * 1024);
  RawConnection greedy(d.socket, 20s);
  constexpr int kRequests = 100;  // answers many times a Unix socket's buffer
  std::string requests;
  for (int i = 0; i < kRequests; ++i) requests += "GET /api/v1/backup HTTP/1.1\r\nHost: x\r\n\r\n";
  BOOST_REQUIRE(greedy.Send(requests));  // 4 KB: the socket takes it at once
  // Read nothing until the daemon has filled the socket (what it holds stops growing): its
  // sends have come back short or refused, and the rest of the answer waits for the event loop.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::size_t unread = 0, before = 0;
  do {
    before = unread;
    std::this_thread::sleep_for(50ms);  // polling what the kernel holds, not a guess at timing
    unread = greedy.Unread();
  } while ((unread < 128 * 1024 || unread != before) &&
           std::chrono::steady_clock::now() < deadline);
  BOOST_REQUIRE(unread >= 128 * 1024);
  ExpectStillServing(d);  // answered while the greedy connection's answers wait
  int whole = 0;
  for (int i = 0; i < kRequests; ++i) {
    auto reply = greedy.ReadReply();
    if (!reply) break;
    // (Not equal to the first: every backup adds an audit row.)
    whole += reply->status == 200 && reply->body.size() > 32 * 1024 &&
             reply->body.starts_with(std::string_view("SQLite format 3\0", 16));
  }
  BOOST_TEST(whole == kRequests);
  // Nothing was sent twice or left out: the next answer on the connection is the next request's.
  BOOST_REQUIRE(greedy.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto last = greedy.ReadReply();
  BOOST_REQUIRE(last.has_value());
  BOOST_TEST(last->status == 200);
  BOOST_TEST(last->body == "ok\n");
  ExpectStillServing(d);
}

BOOST_AUTO_TEST_CASE(a_flood_past_the_work_queue_gets_201_or_503_overloaded_with_retry_after) {
  RaiseOpenFileLimit();
  Daemon d("[daemon]\nworkers = 1\n");
  // More requests at once than the work queue holds (256): one worker cannot keep up.
  constexpr int kClients = 800;
  const std::string request = IssueRequest("flood");
  std::vector<std::unique_ptr<RawConnection>> clients;
  for (int i = 0; i < kClients; ++i)
    clients.push_back(std::make_unique<RawConnection>(d.socket, 60s));
  for (auto& c : clients) BOOST_REQUIRE(c->Send(request));

  int issued = 0, overloaded = 0, other = 0, unanswered = 0;
  for (auto& c : clients) {
    auto reply = c->ReadReply();
    if (!reply) {
      ++unanswered;
      continue;
    }
    Json body = Json::parse(reply->body, nullptr, false);
    if (reply->status == 201 && body.contains("token")) {
      ++issued;
    } else if (reply->status == 503) {
      ++overloaded;
      BOOST_TEST(body.value("error", Json::object()).value("code", "") == "overloaded",
                 reply->body);
      BOOST_TEST(reply->headers.count("retry-after") == 1u, "503 without Retry-After");
      if (reply->headers.count("retry-after")) {
        const std::string& after = reply->headers.at("retry-after");
        BOOST_TEST((!after.empty() && after.find_first_not_of("0123456789") == std::string::npos &&
                    std::stoi(after) >= 1),
                   "Retry-After: " << after);
      }
    } else {
      ++other;
      BOOST_ERROR("unexpected answer " << reply->status << ": " << reply->body);
    }
  }
  BOOST_TEST_MESSAGE(issued << " issued, " << overloaded << " overloaded of " << kClients);
  BOOST_TEST(other == 0);
  BOOST_TEST(unanswered == 0);
  BOOST_TEST(issued + overloaded == kClients);
  BOOST_TEST(issued > 0);
  // The daemon counted exactly the refusals the clients saw.
  const PromExposition m = ParsePrometheusText(d.Get("/metrics").body, "instaccess_");
  BOOST_TEST(m.Value("instaccess_overloaded_total", {{"reason", "queue"}}) ==
             static_cast<double>(overloaded));
  BOOST_TEST(m.Value("instaccess_overloaded_total", {{"reason", "connections"}}) == 0.0);
  clients.clear();
  ExpectStillServing(d);
  BOOST_TEST(d.Decrypt(d.Issue()).status == 200);
}

BOOST_AUTO_TEST_CASE(sigterm_answers_every_request_already_taken_then_exits_zero) {
  RaiseOpenFileLimit();
  Daemon d("[daemon]\nworkers = 1\n");
  // Fewer than the work queue holds, so none is refused; one worker takes a while for them.
  constexpr int kClients = 200;
  const std::string request = IssueRequest("draining");
  std::vector<std::unique_ptr<RawConnection>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<RawConnection>(d.socket, 60s));
  }
  for (auto& c : clients) BOOST_REQUIRE(c->Send(request));
  // Every request has been read: it is issued or waiting in the work queue.
  std::size_t queued = 0;
  BOOST_REQUIRE(Eventually(
      [&] {
        Json load = d.GetJson("/api/v1/status").at("load");
        queued = load.at("queued");
        return load.at("tokens_issued").get<std::size_t>() + queued >= kClients;
      },
      20s));
  BOOST_TEST_MESSAGE(queued << " requests queued at SIGTERM");
  d.process->Signal(SIGTERM);
  BOOST_TEST(d.notify.WaitFor("STOPPING=1", kStartTimeout));
  int answered = 0;
  for (auto& c : clients) {
    auto reply = c->ReadReply();
    if (reply && reply->status == 201) ++answered;
  }
  BOOST_TEST(answered == kClients);
  BOOST_TEST(d.process->Wait(kStartTimeout).value_or(-1) == 0, d.process->Stderr());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing::api
