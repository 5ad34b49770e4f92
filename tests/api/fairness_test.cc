// Fairness between callers (ipc/server.h, docs/api.md "Limits"), against the real daemon: a uid
// without any role cannot take connections from the holders of issue or decrypt, a uid is
// bounded in connections and in queued work, a role-less peer is closed after its answer, and
// accept failures (out of descriptors) pause accepting rather than spin.
//
// Connections "as" another uid are made by a forked child that switches uid, connects, and
// hands the connected sockets back over SCM_RIGHTS: the kernel keeps the credentials of the
// process that connected (SO_PEERCRED), so the test drives them as that uid.
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/api/api_test_util.h"
#include "tests/support/prometheus_text.h"

namespace instaccess::testing::api {
namespace {

// setresuid needs CAP_SETUID; elsewhere the suite is reported skipped.
struct RunningAsRoot {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    boost::test_tools::assertion_result result(geteuid() == 0);
    result.message() << "connecting as other uids needs root";
    return result;
  }
};

// The test process holds over a thousand sockets at once.
struct RaisedFileLimit {
  RaisedFileLimit() {
    rlimit files{};
    BOOST_REQUIRE(getrlimit(RLIMIT_NOFILE, &files) == 0);
    files.rlim_cur = files.rlim_max;
    BOOST_REQUIRE(setrlimit(RLIMIT_NOFILE, &files) == 0);
    BOOST_REQUIRE_MESSAGE(files.rlim_cur >= 4096, "RLIMIT_NOFILE hard limit " << files.rlim_max);
  }
};

struct Account {
  uid_t uid;
  gid_t gid;
};

Account AccountOf(const char* name) {
  passwd* pw = getpwnam(name);
  BOOST_REQUIRE_MESSAGE(pw != nullptr, "no user " << name);
  return {pw->pw_uid, pw->pw_gid};
}

int ConnectTo(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Owns connected sockets, and the children that made them: each waits for the end of its
// `hold` socket to exit, so that the daemon never reads the credentials of a process that is
// exiting at that moment.
struct Sockets {
  std::vector<int> fds;
  std::vector<std::pair<pid_t, int>> children;  // pid, hold
  Sockets() = default;
  Sockets(const Sockets&) = delete;
  Sockets& operator=(const Sockets&) = delete;
  ~Sockets() { CloseAll(); }
  void CloseAll() {
    for (int fd : fds) {
      if (fd >= 0) close(fd);
    }
    fds.clear();
    for (auto [pid, hold] : children) {
      close(hold);
      waitpid(pid, nullptr, 0);
    }
    children.clear();
  }
  int operator[](std::size_t i) const { return fds[i]; }
  std::size_t size() const { return fds.size(); }
};

// `n` connections to `path` made by `who`, in this order.
void ConnectAs(Account who, const std::string& path, std::size_t n, Sockets* out) {
  int pair[2];
  BOOST_REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
  pid_t pid = fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    // Only its own end of the pair: a copy of another connection would keep it open.
    const unsigned keep = static_cast<unsigned>(pair[1]);
    if (close_range(3, keep - 1, 0) != 0 || close_range(keep + 1, ~0U, 0) != 0) _exit(9);
    if (setgroups(0, nullptr) != 0 || setresgid(who.gid, who.gid, who.gid) != 0 ||
        setresuid(who.uid, who.uid, who.uid) != 0) {
      _exit(10);
    }
    constexpr std::size_t kBatch = 200;  // below SCM_MAX_FD (253)
    for (std::size_t done = 0; done < n;) {
      int batch[kBatch];
      std::size_t k = 0;
      for (; k < kBatch && done + k < n; ++k) {
        batch[k] = ConnectTo(path);
        if (batch[k] < 0) _exit(11);
      }
      char cmsg_space[CMSG_SPACE(sizeof batch)] = {};
      char byte = 'x';
      iovec iov{&byte, 1};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = cmsg_space;
      msg.msg_controllen = CMSG_SPACE(k * sizeof(int));
      cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN(k * sizeof(int));
      std::memcpy(CMSG_DATA(cmsg), batch, k * sizeof(int));
      if (sendmsg(pair[1], &msg, 0) != 1) _exit(12);
      for (std::size_t i = 0; i < k; ++i) close(batch[i]);
      done += k;
    }
    char ignored;
    (void)!read(pair[1], &ignored, 1);  // until the test is done with the connections
    _exit(0);
  }
  close(pair[1]);
  while (out->size() < n) {
    char cmsg_space[CMSG_SPACE(200 * sizeof(int))] = {};
    char byte;
    iovec iov{&byte, 1};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg_space;
    msg.msg_controllen = sizeof cmsg_space;
    if (recvmsg(pair[0], &msg, MSG_CMSG_CLOEXEC) != 1) break;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const std::size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < k; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        out->fds.push_back(fd);
      }
    }
  }
  if (out->size() < n) {
    close(pair[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    BOOST_FAIL("connecting as uid " << who.uid << " failed: status " << status);
  }
  out->children.emplace_back(pid, pair[0]);
}

void ConnectAsRoot(const std::string& path, std::size_t n, Sockets* out) {
  for (std::size_t i = 0; i < n; ++i) {
    int fd = ConnectTo(path);
    BOOST_REQUIRE(fd >= 0);
    out->fds.push_back(fd);
  }
}

void Send(int fd, const std::string& method, const std::string& target,
          const std::string& body = "") {
  std::string bytes = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n";
  if (!body.empty()) {
    bytes +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  bytes += "\r\n" + body;
  BOOST_REQUIRE(write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
}

const std::string kIssueBody = R"({"claims":{"sub":"user-1","acct":"acct-1"}})";

struct RawReply {
  int status = 0;  // 0: closed or timed out before an answer
  std::string head;
  std::string body;
  bool Has(const std::string& header_line) const {
    return head.find("\r\n" + header_line + "\r\n") != std::string::npos;
  }
};

// Waits up to `timeout` for `fd` to be readable.
bool Readable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

// The next answer on `fd` (one read buffer of it at a time: answers are small).
RawReply ReadReply(int fd, std::chrono::milliseconds timeout = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string got;
  char buf[4096];
  RawReply r;
  for (;;) {
    std::size_t end = got.find("\r\n\r\n");
    if (end != std::string::npos) {
      r.head = got.substr(0, end + 2);
      std::size_t at = r.head.find("Content-Length: ");
      std::size_t length = at == std::string::npos ? 0 : std::stoul(r.head.substr(at + 16));
      if (got.size() >= end + 4 + length) {
        r.status = std::atoi(r.head.c_str() + 9);
        r.body = got.substr(end + 4, length);
        return r;
      }
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !Readable(fd, left)) return r;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return r;
    got.append(buf, static_cast<std::size_t>(n));
  }
}

// True when the daemon closes `fd` (end of stream, nothing more) within the timeout.
bool ClosedByDaemon(int fd, std::chrono::milliseconds timeout = 20s) {
  char c;
  return Readable(fd, timeout) && read(fd, &c, 1) == 0;
}

// utime + stime of `pid`, in clock ticks.
long CpuTicks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string f;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stol(f);
    if (i == 15) stime = std::stol(f);
  }
  return utime + stime;
}

// Every thread of `pid` stopped (SIGSTOP took effect).
bool AllThreadsStopped(pid_t pid) {
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& t : std::filesystem::directory_iterator(tasks)) {
    std::ifstream in(t.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'T') {
      return false;
    }
  }
  return true;
}

std::size_t Count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// A daemon anyone may connect to, on one event loop, with `extra` after its [daemon] settings.
struct OpenDaemon : Daemon {
  explicit OpenDaemon(const std::string& extra) : Daemon(OpenToAll{}, "workers = 1\n" + extra) {}
  // Issues as root on a fresh connection; fails the test unless it is 201 within a second.
  void IssuesWithinASecond() {
    const auto start = std::chrono::steady_clock::now();
    HttpReply r = Post(kIssuePath, Json::parse(kIssueBody));
    const auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST(r.status == 201, r.body);
    BOOST_TEST(took < 1s, std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                              << " ms");
  }
  // Open connections, this one included, as status reports them (read with a timeout).
  std::size_t OpenConnections() {
    Sockets conn;
    ConnectAsRoot(socket, 1, &conn);
    Send(conn[0], "GET", "/api/v1/status");
    RawReply r = ReadReply(conn[0]);
    BOOST_REQUIRE_MESSAGE(r.status == 200, "status answered " << r.status << ": " << r.body);
    return Json::parse(r.body).at("load").at("connections").get<std::size_t>();
  }
};

BOOST_AUTO_TEST_SUITE(api_fairness, *boost::unit_test::precondition(RunningAsRoot()) *
                                        boost::unit_test::fixture<RaisedFileLimit>())

// 1,100 connections of a uid without any role, all held open, while max_connections is 1024:
// they count against the others' bound, never against the role holders'. With the per-uid
// bound as high as the flood, every one of them is admitted and held, and root is still served.
BOOST_AUTO_TEST_CASE(a_roleless_uid_holding_1100_connections_takes_nothing_from_issuers) {
  OpenDaemon d("[limits]\nmax_connections = 1024\nmax_connections_per_uid = 2000\n");
  Sockets flood;
  ConnectAs(AccountOf("nobody"), d.socket, 1100, &flood);
  // All accepted and held: status (root, on a connection made after them) counts them.
  BOOST_TEST(d.OpenConnections() >= 1101u);
  d.IssuesWithinASecond();
  // Role holders still have every one of max_connections: 100 more kept-alive connections.
  Sockets root;
  ConnectAsRoot(d.socket, 100, &root);
  for (std::size_t i = 0; i < root.size(); ++i) Send(root[i], "GET", "/api/v1/status");
  for (std::size_t i = 0; i < root.size(); ++i) BOOST_TEST(ReadReply(root[i]).status == 200);
  d.IssuesWithinASecond();
}

// The same flood under the default per-uid bound (64): 64 are admitted, every other one gets
// 503 overloaded with Retry-After and is closed, and root is served at once.
BOOST_AUTO_TEST_CASE(a_roleless_flood_past_its_bounds_is_refused_and_closed) {
  OpenDaemon d("[limits]\nmax_connections = 1024\n");
  Sockets flood;
  ConnectAs(AccountOf("nobody"), d.socket, 1100, &flood);
  d.IssuesWithinASecond();
  std::size_t refused = 0;
  for (std::size_t i = 64; i < flood.size(); ++i) {
    RawReply r = ReadReply(flood[i]);
    if (r.status == 503 && r.Has("Retry-After: 1") &&
        r.body.find("\"overloaded\"") != std::string::npos && ClosedByDaemon(flood[i])) {
      ++refused;
    }
  }
  BOOST_TEST(refused == 1100u - 64u);
  // The first 64 are held: each is answered (once: it holds no role).
  for (std::size_t i = 0; i < 64; ++i) Send(flood[i], "GET", "/healthz");
  for (std::size_t i = 0; i < 64; ++i) BOOST_TEST(ReadReply(flood[i]).status == 200);
  BOOST_TEST(Count(d.process->Stderr(), "refusing connection from uid 65534") == 1100u - 64u);
}

// A peer without any role gets its answer, /healthz or a refusal, with Connection: close, and
// the connection is closed; a peer with a role keeps its connection.
BOOST_AUTO_TEST_CASE(a_roleless_peer_is_closed_after_its_answer) {
  OpenDaemon d("[access]\nread = [\"daemon\"]\n");
  Sockets nobody;
  ConnectAs(AccountOf("nobody"), d.socket, 2, &nobody);
  Send(nobody[0], "GET", "/healthz");
  RawReply health = ReadReply(nobody[0]);
  BOOST_TEST(health.status == 200, health.head);
  BOOST_TEST(health.Has("Connection: close"), health.head);
  BOOST_TEST(ClosedByDaemon(nobody[0]));

  Send(nobody[1], "POST", kIssuePath, kIssueBody);
  RawReply refused = ReadReply(nobody[1]);
  BOOST_TEST(refused.status == 403, refused.body);
  BOOST_TEST(refused.Has("Connection: close"), refused.head);
  BOOST_TEST(ClosedByDaemon(nobody[1]));

  // `daemon` holds read: two requests on one connection, which stays open.
  Sockets reader;
  ConnectAs(AccountOf("daemon"), d.socket, 1, &reader);
  for (int i = 0; i < 2; ++i) {
    Send(reader[0], "GET", "/healthz");
    RawReply r = ReadReply(reader[0]);
    BOOST_TEST(r.status == 200);
    BOOST_TEST(!r.Has("Connection: close"), r.head);
  }
  BOOST_TEST(!Readable(reader[0], 0ms));
}

// A uid with the issue role at its bound (4 here): its next connection gets 503 overloaded with
// Retry-After and is closed, while another uid and root are served; once it closes one, it may
// connect again.
BOOST_AUTO_TEST_CASE(a_uid_at_its_connection_bound_is_refused_while_others_are_served) {
  OpenDaemon d(
      "[access]\nissue = [\"nobody\", \"daemon\"]\n[limits]\nmax_connections_per_uid = 4\n");
  Sockets nobody;
  ConnectAs(AccountOf("nobody"), d.socket, 5, &nobody);
  for (std::size_t i = 0; i < 4; ++i) Send(nobody[i], "POST", kIssuePath, kIssueBody);
  for (std::size_t i = 0; i < 4; ++i) BOOST_TEST(ReadReply(nobody[i]).status == 201);
  RawReply refused = ReadReply(nobody[4]);
  BOOST_TEST(refused.status == 503, refused.body);
  BOOST_TEST(refused.Has("Retry-After: 1"), refused.head);
  ExpectError({refused.status, refused.body, {{"content-type", "application/json"}}, false}, 503,
              "overloaded", "too many connections");
  BOOST_TEST(ClosedByDaemon(nobody[4]));
  const PromExposition m = ParsePrometheusText(d.Get("/metrics").body);
  BOOST_TEST(m.Value("instaccess_overloaded_total", {{"reason", "connections"}}) == 1.0);

  // Another uid with the same role, and root, are unaffected.
  Sockets other;
  ConnectAs(AccountOf("daemon"), d.socket, 4, &other);
  for (std::size_t i = 0; i < 4; ++i) Send(other[i], "POST", kIssuePath, kIssueBody);
  for (std::size_t i = 0; i < 4; ++i) BOOST_TEST(ReadReply(other[i]).status == 201);
  d.IssuesWithinASecond();
  // The first four of nobody's connections are still open and served.
  Send(nobody[0], "POST", kIssuePath, kIssueBody);
  BOOST_TEST(ReadReply(nobody[0]).status == 201);

  // A slot freed is a slot nobody may use again (once the daemon has seen the close).
  close(nobody.fds[1]);
  nobody.fds[1] = -1;
  BOOST_TEST(Eventually(
      [&] {
        Sockets again;
        ConnectAs(AccountOf("nobody"), d.socket, 1, &again);
        Send(again[0], "POST", kIssuePath, kIssueBody);
        return ReadReply(again[0]).status == 201;
      },
      10s));
}

// A uid other than root's may have a quarter of max_queue (256) queued: 80 issue requests of
// nobody read in one go get 64 answers and 16 refusals, while root's 16 are all answered. The
// daemon is stopped (SIGSTOP) while every request is written, so its one event loop reads them
// all before it starts any of their jobs.
BOOST_AUTO_TEST_CASE(one_uid_cannot_fill_the_work_queue) {
  OpenDaemon d("[access]\nissue = [\"nobody\"]\n[limits]\nmax_connections_per_uid = 200\n");
  Sockets nobody, root;
  ConnectAs(AccountOf("nobody"), d.socket, 80, &nobody);
  ConnectAsRoot(d.socket, 16, &root);
  // Answered on the same event loop after every connection above was set up there.
  BOOST_REQUIRE_EQUAL(d.OpenConnections(), 97u);

  d.process->Signal(SIGSTOP);
  BOOST_REQUIRE(Eventually([&] { return AllThreadsStopped(d.process->pid()); }, 10s));
  for (std::size_t i = 0; i < nobody.size(); ++i) Send(nobody[i], "POST", kIssuePath, kIssueBody);
  for (std::size_t i = 0; i < root.size(); ++i) Send(root[i], "POST", kIssuePath, kIssueBody);
  d.process->Signal(SIGCONT);

  std::size_t issued = 0, queue_full = 0;
  for (std::size_t i = 0; i < nobody.size(); ++i) {
    RawReply r = ReadReply(nobody[i]);
    if (r.status == 201) ++issued;
    if (r.status == 503 && r.Has("Retry-After: 1") &&
        r.body.find("uid 65534 (nobody) are queued") != std::string::npos) {
      ++queue_full;
    }
  }
  BOOST_TEST(issued == 64u);
  BOOST_TEST(queue_full == 16u);
  for (std::size_t i = 0; i < root.size(); ++i) BOOST_TEST(ReadReply(root[i]).status == 201);
  const PromExposition m = ParsePrometheusText(d.Get("/metrics").body);
  BOOST_TEST(m.Value("instaccess_overloaded_total", {{"reason", "queue"}}) == 16.0);
  BOOST_TEST(m.Value("instaccess_overloaded_total", {{"reason", "connections"}}) == 0.0);
}

// Out of descriptors (RLIMIT_NOFILE lowered on the running daemon), accept fails with EMFILE
// (Linux reports it at the limit even before it looks at the listen queue) while a connection
// waits: the daemon pauses accepting instead of retrying at once, warns once for the episode,
// and serves the waiting connection once descriptors are free.
// Not under AddressSanitizer + UBSan: with no descriptor left, UBSan cannot check a vptr (it
// probes memory through a pipe), so the daemon's first boost::system error_code of the run fails
// its vptr check ("invalid vptr", "memory cannot be printed") and halts. Ubsan's own limit, not
// the daemon's: this case runs in the default (debug) suite.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kUnderSanitizers = true;
#else
constexpr bool kUnderSanitizers = false;
#endif
BOOST_AUTO_TEST_CASE(accept_failures_back_off_and_recover,
                     *boost::unit_test::enable_if<!kUnderSanitizers>()) {
  OpenDaemon d("");
  const pid_t pid = d.process->pid();
  std::size_t open_fds = 0;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    ++open_fds;
  }
  rlimit low{};
  BOOST_REQUIRE(prlimit(pid, RLIMIT_NOFILE, nullptr, &low) == 0);
  low.rlim_cur = open_fds + 8;
  BOOST_REQUIRE(prlimit(pid, RLIMIT_NOFILE, &low, nullptr) == 0);

  // Kept-alive connections, one at a time, until the daemon is out of descriptors.
  Sockets held;
  std::size_t answered = 0;
  while (d.process->Stderr().find("accept failed") == std::string::npos) {
    BOOST_REQUIRE(held.size() < 64);
    int fd = ConnectTo(d.socket);
    BOOST_REQUIRE(fd >= 0);
    held.fds.push_back(fd);
    Send(fd, "GET", "/healthz");
    BOOST_REQUIRE(Eventually(
        [&] {
          return Readable(fd, 0ms) ||
                 d.process->Stderr().find("accept failed") != std::string::npos;
        },
        10s));
    if (Readable(fd, 0ms)) {
      BOOST_REQUIRE(ReadReply(fd).status == 200);
      ++answered;
    }
  }
  BOOST_REQUIRE(answered >= 1u);
  // The daemon now holds every descriptor it may: this connection waits in the listen queue.
  const int waiting = ConnectTo(d.socket);
  BOOST_REQUIRE(waiting >= 0);
  Send(waiting, "GET", "/healthz");

  // While it waits, the daemon is idle, not spinning: one second of it costs well under a fifth
  // of a second of CPU (a busy accept loop costs the whole second).
  const long before = CpuTicks(pid);
  const auto window_end = std::chrono::steady_clock::now() + 1s;
  while (std::chrono::steady_clock::now() < window_end) ShortPause();
  const long used = CpuTicks(pid) - before;
  BOOST_TEST(used < sysconf(_SC_CLK_TCK) / 5, used << " ticks");
  BOOST_TEST(!Readable(waiting, 0ms));
  BOOST_TEST(Count(d.process->Stderr(), "accept failed") == 1u, d.process->Stderr());

  // Descriptors freed: the waiting connection is accepted and answered.
  held.CloseAll();
  BOOST_TEST(ReadReply(waiting).status == 200);
  close(waiting);
  const std::string log = d.process->Stderr();
  BOOST_TEST(log.find("accepting again after") != std::string::npos, log);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing::api
