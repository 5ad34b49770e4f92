// instaccess-bench-daemon: load over the Unix socket against a running instaccessd, printed
// beside `openssl speed -multi <cores> rsa2048` from the same run (docs/performance.md, issue 6).
//
//   instaccess-bench-daemon --socket var/instaccessd.sock [--seconds 5] [--connections 16]
//                           [--rounds N]
//
// openssl speed runs before the issue phase, between it and the cold decrypt phase, and after
// that; each of those two phases is set beside the mean of the runs on either side of it, because
// this shared host drifts by 10% within half a minute. With --rounds N the whole sequence
// repeats and the summary gives the median of the rounds.
// Phases: issue (N connections), cold decrypt (each token issued in the first phase decrypted
// once), issue and cold decrypt in turn (after the last openssl run; its ratio is over the RSA
// CPU the daemon timed in that same phase, so no drift between phases enters it), cached decrypt
// (16 connections repeating one token), the same token through GET /api/v1/auth as a reverse
// proxy asks, latency at 4 connections. The daemon's CPU time per
// request is read from /proc/<pid>/stat (pid from SO_PEERCRED) and set beside the CPU cost of its
// RSA work (one private + one public operation per request, from `openssl speed`'s per-core
// rates, and from the daemon's own timing of its RSA operations).
//
// The client is deliberately minimal (one thread, epoll, one request at a time per connection,
// a tiny response parser) so that it takes as little of the shared cores as possible. In the
// throughput phases it runs as SCHED_BATCH (--generator-policy normal to compare): it is batch
// work, and the kernel does not let a batch task's wake-ups preempt the daemon. Under
// SCHED_OTHER every answer woke it onto a core running an event loop, which it preempted at once
// (0.95 involuntary context switches per request, and in this VM a reschedule IPI for every
// other answer). The latency phases (4 connections) keep SCHED_OTHER: an interactive client,
// run as soon as its answer comes.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "bench/own_cpu.h"
#include "jose/rsa_cpu.h"  // only kRsaCpuSampleEvery, a constant

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string socket = "var/instaccessd.sock";
  int seconds = 5;
  int connections = 16;
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int rounds = 1;
  bool batch = true;  // SCHED_BATCH for the generator in the throughput phases
};

// Sets this thread's scheduling policy for its lifetime, then restores it (openssl speed, which
// the bench also runs, inherits the policy and should keep the default).
class SchedPolicy {
 public:
  explicit SchedPolicy(int policy) : saved_(sched_getscheduler(0)) {
    sched_param p{};
    if (sched_setscheduler(0, policy, &p) != 0) std::perror("sched_setscheduler");
  }
  ~SchedPolicy() {
    sched_param p{};
    sched_setscheduler(0, saved_, &p);
  }
  SchedPolicy(const SchedPolicy&) = delete;
  SchedPolicy& operator=(const SchedPolicy&) = delete;

 private:
  int saved_;
};

// A blocking connection to the daemon's socket, or -1 (errno says why).
int ConnectUnix(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

// The daemon's pid, from the kernel's view of a connection to it.
pid_t ServerPid(const std::string& path) {
  int fd = ConnectUnix(path);
  ucred c{};
  socklen_t len = sizeof c;
  if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &len) != 0) {
    std::perror(("connect " + path).c_str());
    std::exit(1);
  }
  close(fd);
  return c.pid;
}

// The daemon's CPU use from /proc/<pid>/stat: user and system seconds, and minor page faults.
struct ProcessCpu {
  double user = 0, system = 0;
  std::uint64_t minor_faults = 0;
  double total() const { return user + system; }
};

ProcessCpu ReadProcessCpu(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  std::size_t p = stat.rfind(')');
  if (p == std::string::npos || p + 2 > stat.size()) {
    std::fprintf(stderr, "cannot read /proc/%d/stat: has the daemon exited?\n",
                 static_cast<int>(pid));
    std::exit(1);
  }
  std::istringstream fields(stat.substr(p + 2));
  std::string f;
  unsigned long long minflt = 0, utime = 0, stime = 0;
  for (int i = 3; fields >> f; ++i) {
    if (i == 10) minflt = std::stoull(f);
    if (i == 14) utime = std::stoull(f);
    if (i == 15) {
      stime = std::stoull(f);
      break;
    }
  }
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  return {static_cast<double>(utime) / tick, static_cast<double>(stime) / tick, minflt};
}

// Context switches of every thread of `pid`. A voluntary one is a loop that ran out of work and
// slept (a wake-up follows); an involuntary one is the daemon preempted, here by the load
// generator sharing its cores.
struct Switches {
  std::uint64_t voluntary = 0, involuntary = 0;
};

Switches ContextSwitches(pid_t pid) {
  Switches total;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(dir)) {
    std::ifstream st(task.path() / "status");
    for (std::string line; std::getline(st, line);) {
      auto count = [&] { return std::strtoull(line.c_str() + line.find(':') + 1, nullptr, 10); };
      if (line.starts_with("voluntary_ctxt_switches:")) total.voluntary += count();
      if (line.starts_with("nonvoluntary_ctxt_switches:")) total.involuntary += count();
    }
  }
  return total;
}

// The daemon's own account of its RSA work: instaccess_rsa_operation_cpu_seconds in /metrics
// (sampled; decryption is never timed, so a decrypt's private operation is priced as a sign).
struct RsaOpCpu {
  double sum[3] = {0, 0, 0};  // seconds: sign, verify, encrypt
  double count[3] = {0, 0, 0};
  double MeanSeconds(int op) const { return count[op] > 0 ? sum[op] / count[op] : 0; }
};
constexpr int kSign = 0, kVerify = 1, kEncrypt = 2;

RsaOpCpu operator-(const RsaOpCpu& x, const RsaOpCpu& y) {
  RsaOpCpu d;
  for (int i = 0; i < 3; ++i) {
    d.sum[i] = x.sum[i] - y.sum[i];
    d.count[i] = x.count[i] - y.count[i];
  }
  return d;
}

RsaOpCpu ReadRsaOpCpu(const std::string& path) {
  int fd = ConnectUnix(path);
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  std::string text;
  if (fd >= 0 && send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
                     static_cast<ssize_t>(request.size())) {
    char buf[16384];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;)
      text.append(buf, static_cast<std::size_t>(n));
  }
  if (fd >= 0) close(fd);
  RsaOpCpu r;
  const char* const ops[3] = {"sign", "verify", "encrypt"};
  for (int i = 0; i < 3; ++i) {
    for (auto [part, out] : {std::pair{"sum", &r.sum[i]}, std::pair{"count", &r.count[i]}}) {
      const std::string series = std::string("\ninstaccess_rsa_operation_cpu_seconds_") + part +
                                 "{op=\"" + ops[i] + "\"} ";
      std::size_t at = text.find(series);
      if (at != std::string::npos) *out = std::strtod(text.c_str() + at + series.size(), nullptr);
    }
  }
  return r;
}

struct OpensslRates {
  double sign_multi = 0, verify_multi = 0;  // with -multi <cores>
};

OpensslRates MeanOf(const OpensslRates& x, const OpensslRates& y) {
  return {(x.sign_multi + y.sign_multi) / 2, (x.verify_multi + y.verify_multi) / 2};
}

OpensslRates OpensslSpeed(int cores, int seconds) {
  std::string cmd = "openssl speed -multi " + std::to_string(cores) + " -seconds " +
                    std::to_string(seconds) + " rsa2048 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  OpensslRates r;
  char line[512];
  while (p != nullptr && std::fgets(line, sizeof line, p)) {
    double sign_s, verify_s, sign_rate, verify_rate;
    if (std::sscanf(line, "rsa 2048 bits %lfs %lfs %lf %lf", &sign_s, &verify_s, &sign_rate,
                    &verify_rate) == 4) {
      r.sign_multi = sign_rate;
      r.verify_multi = verify_rate;
    }
  }
  if (p != nullptr) pclose(p);
  return r;
}

// The string member `name` of a flat JSON object, as a view into `json` (empty when absent).
std::string_view Field(std::string_view json, const std::string& name) {
  std::size_t p = json.find("\"" + name + "\":\"");
  if (p == std::string_view::npos) return {};
  p += name.size() + 4;
  const std::size_t end = json.find('"', p);
  if (end == std::string_view::npos) return {};
  return json.substr(p, end - p);
}

// The tokens of the issue phase, kept for the cold decrypt phase, in one buffer written to
// before the phase starts. In this VM the first touch of a page costs ~13 us (a minor fault):
// storing each 1.3 KB token in its own fresh allocation gave the load generator 0.37 faults, about
// 5 us, per issued token, taken from the two cores the daemon is measured on. A token that does
// not fit grows the buffer (correct, only slower).
class TokenStore {
 public:
  // Room for `count` tokens of up to `bytes_each`, all of it touched now.
  void Prepare(std::size_t count, std::size_t bytes_each) {
    bytes_.assign(count * bytes_each, '\0');
    spans_.resize(count);
    spans_.clear();
  }
  void Add(std::string_view token) {
    if (used_ + token.size() > bytes_.size()) bytes_.resize(2 * (used_ + token.size()));
    std::memcpy(bytes_.data() + used_, token.data(), token.size());
    spans_.emplace_back(used_, token.size());
    used_ += token.size();
  }
  std::size_t size() const { return spans_.size(); }
  std::string_view operator[](std::size_t i) const {
    return std::string_view(bytes_).substr(spans_[i].first, spans_[i].second);
  }

 private:
  std::string bytes_;
  std::vector<std::pair<std::size_t, std::size_t>> spans_;  // offset and length in bytes_
  std::size_t used_ = 0;
};

struct PhaseResult {
  double seconds = 0;
  std::uint64_t ok = 0, failed = 0;
  double daemon_cpu = 0, daemon_system = 0;  // seconds
  std::uint64_t faults = 0;
  double generator_cpu = 0;  // seconds, this process
  Switches switches;
  std::vector<double> latencies_us;
  OpensslRates base;  // openssl speed around this phase
  RsaOpCpu rsa;       // the daemon's RSA operations during this phase
  double rate() const { return static_cast<double>(ok) / seconds; }
  double VsSign() const { return rate() / base.sign_multi; }
  // The CPU one request's RSA work costs: one private and one public operation, per core.
  double RsaCpu(int cores) const { return cores / base.sign_multi + cores / base.verify_multi; }
  double CpuPerRequest() const {
    return daemon_cpu / static_cast<double>(std::max<std::uint64_t>(ok, 1));
  }
  double CpuRatio(int cores) const { return CpuPerRequest() / RsaCpu(cores); }
  double Percentile(double q) {
    if (latencies_us.empty()) return 0;
    std::sort(latencies_us.begin(), latencies_us.end());
    return latencies_us[std::min(
        latencies_us.size() - 1,
        static_cast<std::size_t>(q * static_cast<double>(latencies_us.size())))];
  }
};

// One outstanding request per connection, all connections driven by one thread with epoll: the
// load generator shares the daemon's cores, and one thread preempts the daemon far less often
// than one thread per connection would.
// A POST of `body` to `target`, or, with `bearer` set, a GET of `target` with that token in
// Authorization (GET /api/v1/auth).
struct Request {
  std::string target;
  std::string body;
  std::string bearer;
};

struct LoadConn {
  int fd = -1;
  std::string in;
  Clock::time_point sent;
  bool active = false;
};

int ConnectNonBlocking(const std::string& path) {
  int fd = ConnectUnix(path);
  if (fd < 0) {
    std::perror(("connect " + path).c_str());
    std::exit(1);
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

bool SendRequest(LoadConn& c, const Request& r) {
  std::string raw =
      r.bearer.empty()
          ? "POST " + r.target +
                " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                std::to_string(r.body.size()) + "\r\n\r\n" + r.body
          : "GET " + r.target + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + r.bearer +
                "\r\n\r\n";
  std::size_t off = 0;
  while (off < raw.size()) {
    ssize_t n = send(c.fd, raw.data() + off, raw.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{c.fd, POLLOUT, 0};
      poll(&p, 1, 1000);
    } else {
      return false;
    }
  }
  c.sent = Clock::now();
  return true;
}

// A complete response at the front of c.in: its status and body, removed from the buffer.
bool TakeResponse(LoadConn& c, int* status, std::string* body) {
  std::size_t end = c.in.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  std::size_t cl = 0;
  std::size_t p = c.in.find("Content-Length: ");
  if (p != std::string::npos && p < end) cl = std::strtoul(c.in.c_str() + p + 16, nullptr, 10);
  if (c.in.size() < end + 4 + cl) return false;
  *status = std::atoi(c.in.c_str() + 9);
  body->assign(c.in, end + 4, cl);
  c.in.erase(0, end + 4 + cl);
  return true;
}

// next(conn): the connection's next request, or nullopt when it has none left.
// done(conn, status, body): whether the answer counts as a success.
// policy: the load generator's scheduling policy for the phase.
template <typename Next, typename Done>
PhaseResult RunPhase(const Args& a, int connections, int seconds, int policy, pid_t daemon_pid,
                     Next next, Done done) {
  PhaseResult result;
  const SchedPolicy scoped_policy(policy);
  const RsaOpCpu rsa0 = ReadRsaOpCpu(a.socket);
  const ProcessCpu cpu0 = ReadProcessCpu(daemon_pid);
  const double own0 = instaccess::bench::OwnCpuSeconds();  // the load generator's share
  const Switches cs0 = ContextSwitches(daemon_pid);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<LoadConn> conns(static_cast<std::size_t>(connections));
  int active = 0;
  auto start = Clock::now();
  auto deadline = start + std::chrono::seconds(seconds);
  auto send_next = [&](int i) {
    LoadConn& c = conns[static_cast<std::size_t>(i)];
    std::optional<Request> r;
    if (Clock::now() < deadline) r = next(i);
    if (r && SendRequest(c, *r)) return;
    if (c.active) {
      c.active = false;
      --active;
    }
  };
  for (int i = 0; i < connections; ++i) {
    LoadConn& c = conns[static_cast<std::size_t>(i)];
    c.fd = ConnectNonBlocking(a.socket);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    c.active = true;
    ++active;
  }
  for (int i = 0; i < connections; ++i) send_next(i);
  std::vector<epoll_event> events(static_cast<std::size_t>(connections));
  std::string body;
  char buf[65536];
  while (active > 0) {
    int n = epoll_wait(ep, events.data(), connections, 2000);
    if (n <= 0) break;  // nothing for 2 s: the daemon stalled; report what we have
    for (int k = 0; k < n; ++k) {
      int i = static_cast<int>(events[static_cast<std::size_t>(k)].data.u32);
      LoadConn& c = conns[static_cast<std::size_t>(i)];
      ssize_t got = read(c.fd, buf, sizeof buf);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) continue;
        if (c.active) {
          c.active = false;
          --active;
        }
        epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        continue;
      }
      c.in.append(buf, static_cast<std::size_t>(got));
      int status = 0;
      while (c.active && TakeResponse(c, &status, &body)) {
        double us = std::chrono::duration<double, std::micro>(Clock::now() - c.sent).count();
        if (done(i, status, body)) {
          result.ok++;
          result.latencies_us.push_back(us);
        } else {
          result.failed++;
        }
        send_next(i);
      }
    }
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const ProcessCpu cpu1 = ReadProcessCpu(daemon_pid);
  result.daemon_cpu = cpu1.total() - cpu0.total();
  result.daemon_system = cpu1.system - cpu0.system;
  result.faults = cpu1.minor_faults - cpu0.minor_faults;
  result.generator_cpu = instaccess::bench::OwnCpuSeconds() - own0;
  const Switches cs1 = ContextSwitches(daemon_pid);
  result.switches = {cs1.voluntary - cs0.voluntary, cs1.involuntary - cs0.involuntary};
  result.rsa = ReadRsaOpCpu(a.socket) - rsa0;
  for (auto& c : conns) close(c.fd);
  close(ep);
  return result;
}

struct Round {
  PhaseResult issue, cold, mixed, cached, cached4, auth, auth4, issue4;
  std::uint64_t mixed_issued = 0, mixed_decrypted = 0;
  // The daemon's CPU per request over the CPU its own RSA operations took, as it timed them.
  // Issue: a sign and an encrypt. Cold decrypt: a private operation, priced as the issue phase's
  // signs (the same key size by default), and a verify.
  double OwnRsaCpuIssue() const {
    return issue.rsa.MeanSeconds(kSign) + issue.rsa.MeanSeconds(kEncrypt);
  }
  double OwnRsaCpuCold() const {
    return issue.rsa.MeanSeconds(kSign) + cold.rsa.MeanSeconds(kVerify);
  }
  double OwnRatioIssue() const { return issue.CpuPerRequest() / OwnRsaCpuIssue(); }
  double OwnRatioCold() const { return cold.CpuPerRequest() / OwnRsaCpuCold(); }
  // The mixed phase, all from its own moments: one private operation a request (a decrypt's
  // priced as a sign: one thread alternating the two on 2048-bit keys timed them 0.999 apart),
  // and an encrypt per issue or a verify per decrypt.
  double OwnRsaCpuMixed() const {
    const auto n = static_cast<double>(std::max<std::uint64_t>(mixed_issued + mixed_decrypted, 1));
    return mixed.rsa.MeanSeconds(kSign) +
           (static_cast<double>(mixed_issued) * mixed.rsa.MeanSeconds(kEncrypt) +
            static_cast<double>(mixed_decrypted) * mixed.rsa.MeanSeconds(kVerify)) /
               n;
  }
  double OwnRatioMixed() const { return mixed.CpuPerRequest() / OwnRsaCpuMixed(); }
};

// The six phases, with openssl speed around the issue and cold decrypt ones; prints the round's
// table.
Round RunRound(const Args& a, pid_t pid) {
  const std::string issue_body = R"({"claims":{"sub":"bench-user","acct":"bench-acct"}})";
  const std::string kIssue = "/api/v1/inst_access_tokens";
  const std::string kDecrypt = "/api/v1/inst_access_tokens/decrypt";
  auto decrypt_request = [&kDecrypt](std::string_view token) {
    return Request{kDecrypt, "{\"token\":\"" + std::string(token) + "\"}", {}};
  };
  auto always = [](Request r) { return [r](int) { return std::optional<Request>(r); }; };
  auto status_is = [](int want) {
    return [want](int, int status, const std::string&) { return status == want; };
  };

  // Throughput phases run the generator as batch work (see the top of the file); the latency
  // phases at 4 connections as an ordinary client, which is woken at once.
  const int throughput = a.batch ? SCHED_BATCH : SCHED_OTHER;
  const int latency = SCHED_OTHER;
  Round round;
  // openssl speed runs on either side of the issue and cold decrypt phases and their mean is each
  // one's baseline: on this shared machine one run alone moved by up to 13% within one round.
  const OpensslRates before = OpensslSpeed(a.cores, a.seconds);

  // The issue rate stays below the sign rate; a token is about 1.3 KB.
  TokenStore tokens;
  tokens.Prepare(static_cast<std::size_t>(before.sign_multi * 1.25 * a.seconds) + 64, 2048);
  round.issue = RunPhase(a, a.connections, a.seconds, throughput, pid,
                         always(Request{kIssue, issue_body, {}}),
                         [&](int, int status, const std::string& body) {
                           if (status != 201) return false;
                           const std::string_view token = Field(body, "token");
                           if (token.empty()) return false;
                           tokens.Add(token);
                           return true;
                         });
  const OpensslRates between = OpensslSpeed(a.cores, a.seconds);
  round.issue.base = MeanOf(before, between);

  // Every connection takes the next token from one shared list, so all of them stay busy until
  // the list runs out. Per-connection lists could leave one loop's connections idle at the end
  // of the phase, and a core with them.
  std::size_t next = 0;
  round.cold = RunPhase(
      a, a.connections, a.seconds * 2, throughput, pid,
      [&](int) -> std::optional<Request> {
        if (next >= tokens.size()) return std::nullopt;  // every token decrypted once
        return decrypt_request(tokens[next++]);
      },
      status_is(200));
  const OpensslRates after = OpensslSpeed(a.cores, a.seconds);
  round.cold.base = MeanOf(between, after);

  if (tokens.size() == 0) {
    std::fprintf(stderr, "the issue phase produced no token: is the daemon serving?\n");
    std::exit(1);
  }

  // Issue and cold decrypt in turn on every connection, each token issued here opened once. The
  // daemon never times a decryption, so the cold phase's second ratio prices its private
  // operation with the issue phase's signs, taken half a minute earlier; here the signs, the
  // encrypts and the verifies it times are of the same moments as the decrypts.
  std::vector<std::string> mixed_tokens;
  std::size_t mixed_next = 0;
  std::vector<char> decrypt_next(static_cast<std::size_t>(a.connections), 0);
  round.mixed = RunPhase(
      a, a.connections, a.seconds, throughput, pid,
      [&](int i) -> std::optional<Request> {
        char& turn = decrypt_next[static_cast<std::size_t>(i)];
        const bool decrypt = turn != 0 && mixed_next < mixed_tokens.size();
        turn = !turn;
        if (decrypt) return decrypt_request(mixed_tokens[mixed_next++]);
        return Request{kIssue, issue_body, {}};
      },
      [&](int, int status, const std::string& body) {
        if (status == 200) {
          ++round.mixed_decrypted;
          return true;
        }
        const std::string_view token = Field(body, "token");
        if (status != 201 || token.empty()) return false;
        mixed_tokens.emplace_back(token);
        ++round.mixed_issued;
        return true;
      });
  round.mixed.base = after;
  const Request cached_request = decrypt_request(tokens[0]);
  round.cached =
      RunPhase(a, 16, a.seconds, throughput, pid, always(cached_request), status_is(200));
  round.cached4 = RunPhase(a, 4, a.seconds, latency, pid, always(cached_request), status_is(200));
  // GET /api/v1/auth on the same (cached) token, as a reverse proxy asks it.
  const Request auth_request{"/api/v1/auth", "", std::string(tokens[0])};
  round.auth = RunPhase(a, 16, a.seconds, throughput, pid, always(auth_request), status_is(204));
  round.auth4 = RunPhase(a, 4, a.seconds, latency, pid, always(auth_request), status_is(204));
  round.issue4 = RunPhase(a, 4, a.seconds, latency, pid, always(Request{kIssue, issue_body, {}}),
                          status_is(201));
  // The 4-connection issue phase is a latency test; its rate is set beside the last run.
  round.issue4.base = after;

  std::printf(
      "\nopenssl speed -multi %d rsa2048 sign/s: %.0f before issue, %.0f before cold "
      "decrypt, %.0f after it; verify/s %.0f, %.0f, %.0f\n",
      a.cores, before.sign_multi, between.sign_multi, after.sign_multi, before.verify_multi,
      between.verify_multi, after.verify_multi);
  // cpu us/req is the daemon's CPU (user + system) per answered request. cs/req, sys % and
  // faults/req say where its CPU beyond RSA goes: wake-ups, kernel time (socket I/O,
  // scheduling) and first touches of memory. gen us/req is the load generator's own CPU, taken
  // from the same two cores.
  std::printf("%-28s %8s %6s %6s %7s %7s %10s %11s %5s %10s %10s\n", "phase", "req/s", "x sign",
              "failed", "p50 us", "p99 us", "cpu us/req", "cs/req v+i", "sys %", "faults/req",
              "gen us/req");
  auto row = [&](const std::string& name, PhaseResult& r, bool vs_sign) {
    const double ok = static_cast<double>(std::max<std::uint64_t>(r.ok, 1));
    std::printf("%-28s %8.0f %6s %6llu %7.0f %7.0f %10.1f %5.2f+%5.2f %5.1f %10.3f %10.1f\n",
                name.c_str(), r.rate(),
                vs_sign ? (std::to_string(r.VsSign()).substr(0, 5)).c_str() : "-",
                static_cast<unsigned long long>(r.failed), r.Percentile(0.5), r.Percentile(0.99),
                r.CpuPerRequest() * 1e6, static_cast<double>(r.switches.voluntary) / ok,
                static_cast<double>(r.switches.involuntary) / ok,
                r.daemon_cpu > 0 ? 100 * r.daemon_system / r.daemon_cpu : 0.0,
                static_cast<double>(r.faults) / ok, r.generator_cpu / ok * 1e6);
  };
  row("issue (" + std::to_string(a.connections) + " conns)", round.issue, true);
  row("cold decrypt (" + std::to_string(a.connections) + " conns)", round.cold, true);
  row("mixed 1:1 (" + std::to_string(a.connections) + " conns)", round.mixed, true);
  row("cached decrypt (16 conns)", round.cached, false);
  row("cached decrypt (4 conns)", round.cached4, false);
  row("cached auth (16 conns)", round.auth, false);
  row("cached auth (4 conns)", round.auth4, false);
  row("issue (4 conns)", round.issue4, true);
  std::printf(
      "daemon CPU per request / CPU of its RSA work (1 private + 1 public, from openssl "
      "speed: %.0f us around issue, %.0f us around cold decrypt):\n",
      round.issue.RsaCpu(a.cores) * 1e6, round.cold.RsaCpu(a.cores) * 1e6);
  std::printf("  issue %.3f   cold decrypt %.3f   (goal <= 1.10)\n", round.issue.CpuRatio(a.cores),
              round.cold.CpuRatio(a.cores));
  std::printf(
      "the same, over the RSA CPU the daemon timed in these phases (sign %.0f us, encrypt "
      "%.0f us, verify %.0f us; one in %u timed):\n",
      round.issue.rsa.MeanSeconds(kSign) * 1e6, round.issue.rsa.MeanSeconds(kEncrypt) * 1e6,
      round.cold.rsa.MeanSeconds(kVerify) * 1e6,
      static_cast<unsigned>(instaccess::jose::kRsaCpuSampleEvery));
  std::printf("  issue %.3f   cold decrypt %.3f   (goal <= 1.10)\n", round.OwnRatioIssue(),
              round.OwnRatioCold());
  std::printf(
      "  issue + cold decrypt 1:1, over the RSA CPU timed in that phase (sign %.0f us): "
      "%.3f   (goal <= 1.10)\n",
      round.mixed.rsa.MeanSeconds(kSign) * 1e6, round.OwnRatioMixed());
  std::printf("  cached decrypt: %.1f us of daemon CPU per request; cached auth: %.1f us\n",
              round.cached.daemon_cpu / static_cast<double>(round.cached.ok) * 1e6,
              round.auth.daemon_cpu / static_cast<double>(round.auth.ok) * 1e6);
  std::fflush(stdout);
  return round;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t mid = v.size() / 2;
  return v.size() % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  const char* const kUsage =
      "usage: instaccess-bench-daemon [--socket S] [--seconds N] [--connections N] [--cores N] "
      "[--rounds N] [--generator-policy batch|normal]\n"
      "Loads a running instaccessd over its socket (default var/instaccessd.sock) and prints each\n"
      "phase beside `openssl speed -multi <cores> rsa2048`; --rounds N prints the median of N.\n"
      "The load generator runs as SCHED_BATCH in the throughput phases unless --generator-policy\n"
      "normal.\n";
  // Options come in pairs; an odd one out (a lone --help, a missing value) gets the usage.
  for (int i = 1; i < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--help" || k == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (i + 1 >= argc) {
      std::cerr << kUsage;
      return 64;
    }
    if (k == "--socket")
      a.socket = argv[i + 1];
    else if (k == "--seconds")
      a.seconds = std::atoi(argv[i + 1]);
    else if (k == "--connections")
      a.connections = std::atoi(argv[i + 1]);
    else if (k == "--cores")
      a.cores = std::atoi(argv[i + 1]);
    else if (k == "--rounds")
      a.rounds = std::max(1, std::atoi(argv[i + 1]));
    else if (k == "--generator-policy" &&
             (std::strcmp(argv[i + 1], "batch") == 0 || std::strcmp(argv[i + 1], "normal") == 0))
      a.batch = std::strcmp(argv[i + 1], "batch") == 0;
    else {
      std::cerr << kUsage;
      return 64;
    }
  }
  pid_t pid = ServerPid(a.socket);
  auto rss = [pid] {
    std::ifstream st("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(st, line);) {
      if (line.starts_with("VmRSS")) return line;
    }
    return std::string("VmRSS: unknown");
  };
  const std::string idle_rss = rss();

  std::printf("load generator: one thread, %s\n",
              a.batch ? "SCHED_BATCH in the throughput phases (its wake-ups do not preempt the "
                        "daemon), SCHED_OTHER at 4 connections"
                      : "SCHED_OTHER (every answer's wake-up preempts an event loop)");
  std::vector<Round> rounds;
  for (int r = 0; r < a.rounds; ++r) {
    std::printf(
        "round %d of %d: openssl speed -multi %d rsa2048 before, between and after the "
        "throughput phases; the latency phases\n",
        r + 1, a.rounds, a.cores);
    rounds.push_back(RunRound(a, pid));
  }

  auto median_of = [&](auto f) {
    std::vector<double> v;
    for (Round& r : rounds) v.push_back(f(r));
    return Median(v);
  };
  std::printf("\nmedian of %d round(s)%s:\n", a.rounds,
              a.rounds > 1 ? "" : " (one round: --rounds 5 damps a noisy machine)");
  std::printf("  issue %.3f x sign, cold decrypt %.3f x sign   (goal >= 0.80)\n",
              median_of([](Round& r) { return r.issue.VsSign(); }),
              median_of([](Round& r) { return r.cold.VsSign(); }));
  std::printf("  CPU per request / RSA CPU: issue %.3f, cold decrypt %.3f   (goal <= 1.10)\n",
              median_of([&a](Round& r) { return r.issue.CpuRatio(a.cores); }),
              median_of([&a](Round& r) { return r.cold.CpuRatio(a.cores); }));
  std::printf(
      "  the same over the RSA CPU the daemon timed: issue %.3f, cold decrypt %.3f; "
      "issue + cold decrypt 1:1 %.3f\n",
      median_of([](Round& r) { return r.OwnRatioIssue(); }),
      median_of([](Round& r) { return r.OwnRatioCold(); }),
      median_of([](Round& r) { return r.OwnRatioMixed(); }));
  std::printf("  cached decrypt %.0f req/s at 16 connections   (goal >= 60000)\n",
              median_of([](Round& r) { return r.cached.rate(); }));
  std::printf("  cached auth %.0f req/s at 16 connections   (goal: no less than cached decrypt)\n",
              median_of([](Round& r) { return r.auth.rate(); }));
  std::printf("  p99 at 4 connections: cached %.0f us, issue %.0f us   (goal <= 2000)\n",
              median_of([](Round& r) { return r.cached4.Percentile(0.99); }),
              median_of([](Round& r) { return r.issue4.Percentile(0.99); }));
  std::printf("  daemon idle %s; after the run %s   (goal idle < 30 MB)\n", idle_rss.c_str(),
              rss().c_str());
  return 0;
}
