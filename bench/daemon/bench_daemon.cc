// instaccess-bench-daemon: load over the Unix socket against a running instaccessd, printed
// beside `openssl speed -multi <cores> rsa2048` from the same run (DESIGN.md §7, issue 6).
//
//   instaccess-bench-daemon --socket var/instaccessd.sock [--seconds 5] [--connections 16]
//
// Phases: issue (N connections), cold decrypt (each token issued in the first phase decrypted
// once), cached decrypt (16 connections repeating one token), latency at 4 connections. The
// daemon's CPU time per request is read from /proc/<pid>/stat (pid from SO_PEERCRED) and set
// beside the CPU cost of its RSA work (one private + one public operation per request, from
// `openssl speed`'s per-core rates).
//
// The client is deliberately minimal (blocking sockets, one request at a time per connection,
// a tiny response parser) so that it takes as little of the shared cores as possible.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string socket = "var/instaccessd.sock";
  int seconds = 5;
  int connections = 16;
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
};

class Conn {
 public:
  explicit Conn(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      std::perror(("connect " + path).c_str());
      std::exit(1);
    }
  }
  ~Conn() { close(fd_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  pid_t ServerPid() const {
    ucred c{};
    socklen_t len = sizeof c;
    getsockopt(fd_, SOL_SOCKET, SO_PEERCRED, &c, &len);
    return c.pid;
  }

  // POSTs `body` and returns the status; the response body goes to *out.
  int Post(const std::string& target, const std::string& body, std::string* out) {
    std::string req = "POST " + target +
                      " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body;
    if (!WriteAll(req)) return -1;
    return ReadResponse(out);
  }

 private:
  bool WriteAll(const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      ssize_t n = write(fd_, s.data() + off, s.size() - off);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  int ReadResponse(std::string* out) {
    for (;;) {
      std::size_t end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        int status = std::atoi(buf_.c_str() + 9);
        std::size_t cl = 0;
        std::size_t p = buf_.find("Content-Length: ");
        if (p != std::string::npos && p < end) cl = std::strtoul(buf_.c_str() + p + 16, nullptr, 10);
        while (buf_.size() < end + 4 + cl) {
          if (!Fill()) return -1;
        }
        if (out != nullptr) out->assign(buf_, end + 4, cl);
        buf_.erase(0, end + 4 + cl);
        return status;
      }
      if (!Fill()) return -1;
    }
  }

  bool Fill() {
    char tmp[16384];
    ssize_t n = read(fd_, tmp, sizeof tmp);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buf_;
};

// utime + stime of `pid`, in seconds.
double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  std::size_t p = stat.rfind(')');
  std::istringstream fields(stat.substr(p + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; fields >> f; ++i) {
    if (i == 14) utime = std::stoull(f);
    if (i == 15) {
      stime = std::stoull(f);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct OpensslRates {
  double sign_multi = 0, verify_multi = 0;  // with -multi <cores>
};

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

std::string Field(const std::string& json, const std::string& name) {
  std::size_t p = json.find("\"" + name + "\":\"");
  if (p == std::string::npos) return {};
  p += name.size() + 4;
  return json.substr(p, json.find('"', p) - p);
}

struct PhaseResult {
  double seconds = 0;
  std::uint64_t ok = 0, failed = 0;
  double daemon_cpu = 0;
  std::vector<double> latencies_us;
  double rate() const { return static_cast<double>(ok) / seconds; }
  double Percentile(double q) {
    if (latencies_us.empty()) return 0;
    std::sort(latencies_us.begin(), latencies_us.end());
    return latencies_us[std::min(latencies_us.size() - 1,
                                 static_cast<std::size_t>(q * static_cast<double>(latencies_us.size())))];
  }
};

// Runs `connections` threads calling `step(conn, thread_index, latencies)` until `seconds` pass
// or a step says to stop.
template <typename Step>
PhaseResult RunPhase(const Args& a, int connections, int seconds, pid_t daemon_pid, Step step) {
  PhaseResult result;
  std::atomic<std::uint64_t> ok{0}, failed{0};
  std::mutex mu;
  double cpu0 = ProcessCpuSeconds(daemon_pid);
  auto start = Clock::now();
  auto deadline = start + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int t = 0; t < connections; ++t) {
    threads.emplace_back([&, t] {
      Conn c(a.socket);
      std::vector<double> lat;
      while (Clock::now() < deadline) {
        auto t0 = Clock::now();
        int r = step(c, t);
        if (r == 0) break;
        auto us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
        if (r > 0) {
          ok++;
          lat.push_back(us);
        } else {
          failed++;
        }
      }
      std::scoped_lock lock(mu);
      result.latencies_us.insert(result.latencies_us.end(), lat.begin(), lat.end());
    });
  }
  for (auto& th : threads) th.join();
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.daemon_cpu = ProcessCpuSeconds(daemon_pid) - cpu0;
  result.ok = ok;
  result.failed = failed;
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--socket") a.socket = argv[i + 1];
    else if (k == "--seconds") a.seconds = std::atoi(argv[i + 1]);
    else if (k == "--connections") a.connections = std::atoi(argv[i + 1]);
    else if (k == "--cores") a.cores = std::atoi(argv[i + 1]);
    else {
      std::cerr << "usage: instaccess-bench-daemon [--socket S] [--seconds N] [--connections N] [--cores N]\n";
      return 64;
    }
  }
  pid_t pid = Conn(a.socket).ServerPid();
  auto rss = [pid] {
    std::ifstream st("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(st, line);) {
      if (line.starts_with("VmRSS")) return line;
    }
    return std::string("VmRSS: unknown");
  };
  const std::string idle_rss = rss();
  const std::string issue_body = R"({"claims":{"sub":"bench-user","acct":"bench-acct"}})";

  std::printf("openssl speed -multi %d rsa2048 ...\n", a.cores);
  OpensslRates ossl = OpensslSpeed(a.cores, a.seconds);

  std::vector<std::vector<std::string>> tokens(static_cast<std::size_t>(a.connections));
  PhaseResult issue = RunPhase(a, a.connections, a.seconds, pid, [&](Conn& c, int t) {
    std::string body;
    int s = c.Post("/api/v1/inst_access_tokens", issue_body, &body);
    if (s != 201) return -1;
    tokens[static_cast<std::size_t>(t)].push_back(Field(body, "token"));
    return 1;
  });

  std::vector<std::size_t> next(static_cast<std::size_t>(a.connections), 0);
  PhaseResult cold = RunPhase(a, a.connections, a.seconds * 2, pid, [&](Conn& c, int t) {
    auto& mine = tokens[static_cast<std::size_t>(t)];
    auto& i = next[static_cast<std::size_t>(t)];
    if (i >= mine.size()) return 0;  // every token decrypted once: stop
    int s = c.Post("/api/v1/inst_access_tokens/decrypt", "{\"token\":\"" + mine[i++] + "\"}", nullptr);
    return s == 200 ? 1 : -1;
  });

  const std::string cached_body = "{\"token\":\"" + tokens[0][0] + "\"}";
  PhaseResult cached = RunPhase(a, 16, a.seconds, pid, [&](Conn& c, int) {
    return c.Post("/api/v1/inst_access_tokens/decrypt", cached_body, nullptr) == 200 ? 1 : -1;
  });
  PhaseResult cached4 = RunPhase(a, 4, a.seconds, pid, [&](Conn& c, int) {
    return c.Post("/api/v1/inst_access_tokens/decrypt", cached_body, nullptr) == 200 ? 1 : -1;
  });
  PhaseResult issue4 = RunPhase(a, 4, a.seconds, pid, [&](Conn& c, int) {
    return c.Post("/api/v1/inst_access_tokens", issue_body, nullptr) == 201 ? 1 : -1;
  });

  // The CPU one request's RSA work costs: one private and one public operation, per core.
  double per_core_sign = ossl.sign_multi / a.cores, per_core_verify = ossl.verify_multi / a.cores;
  double rsa_cpu = 1.0 / per_core_sign + 1.0 / per_core_verify;
  auto cpu_ratio = [&](const PhaseResult& r) { return r.daemon_cpu / static_cast<double>(r.ok) / rsa_cpu; };

  std::printf("\nopenssl speed -multi %d rsa2048: %.0f sign/s, %.0f verify/s\n", a.cores,
              ossl.sign_multi, ossl.verify_multi);
  std::printf("%-34s %10s %8s %8s %10s %10s\n", "phase", "req/s", "x sign", "failed", "p50 us", "p99 us");
  auto row = [&](const char* name, PhaseResult& r, bool vs_sign) {
    std::printf("%-34s %10.0f %8s %8llu %10.0f %10.0f\n", name, r.rate(),
                vs_sign ? (std::to_string(r.rate() / ossl.sign_multi).substr(0, 5)).c_str() : "-",
                static_cast<unsigned long long>(r.failed), r.Percentile(0.5), r.Percentile(0.99));
  };
  std::string c_issue = "issue (" + std::to_string(a.connections) + " conns)";
  std::string c_cold = "cold decrypt (" + std::to_string(a.connections) + " conns)";
  row(c_issue.c_str(), issue, true);
  row(c_cold.c_str(), cold, true);
  row("cached decrypt (16 conns)", cached, false);
  row("cached decrypt (4 conns)", cached4, false);
  row("issue (4 conns)", issue4, true);
  std::printf("\ndaemon CPU per request / CPU of its RSA work (1 private + 1 public = %.0f us):\n",
              rsa_cpu * 1e6);
  std::printf("  issue %.3f   cold decrypt %.3f   (goal <= 1.10)\n", cpu_ratio(issue), cpu_ratio(cold));
  std::printf("  cached decrypt: %.1f us of daemon CPU per request\n",
              cached.daemon_cpu / static_cast<double>(cached.ok) * 1e6);
  std::printf("  daemon idle %s; after the run %s\n", idle_rss.c_str(), rss().c_str());
  return 0;
}
