// The soak (docs/security.md, "Soak"): the real daemon under mixed load from several uids while
// its keys rotate every few seconds, SIGHUP arrives every few seconds, an admin revokes and
// imports keys, and SIGKILL hits at random moments (each kill is followed by a restart on the
// same store). $INSTACCESS_SOAK_SECONDS sets the length (default 60), $INSTACCESS_SOAK_SEED the
// seed of every random choice (default: a fresh one; printed either way, to replay a run).
//
// Asserted: every answer is the one its request must get, except requests in flight while the
// daemon was down (between a SIGKILL and the next READY=1), and tokens refused because they
// expired or a key of theirs was revoked; exactly one active key per purpose in every key list
// read; the daemon's RSS and open descriptors stay under the bounds below; every token issued
// and not revoked still decrypts at the end unless it expired, and none that expired does; the
// audit chain verifies.
//
// Each load thread takes its uid with raw setresuid/setresgid/setgroups system calls, which
// change the calling thread only (glibc's wrappers change every thread): the daemon reads the
// connecting thread's credentials (SO_PEERCRED, SO_PEERGROUPS), so one process can call as
// several users. It needs root.
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/as_nobody.h"
#include "tests/support/daemon_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/unix_http.h"

namespace instaccess::testing {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using SteadyTime = std::chrono::steady_clock::time_point;

// Bounds on the daemon process. Its RSS holds the decrypt cache (mapped in 1 MiB steps), the
// secure heap and the threads' stacks; under AddressSanitizer the shadow memory and quarantine
// come on top. Descriptors: the load below keeps about ten connections open, plus the store,
// its -wal, the lock, the log and the event loops'.
#if defined(__SANITIZE_ADDRESS__)
constexpr long kMaxRssKiB = 1024 * 1024;
#else
constexpr long kMaxRssKiB = 128 * 1024;
#endif
constexpr std::size_t kMaxFds = 64;

constexpr std::int64_t kSkew = 1;     // tokens.clock_skew below
constexpr std::int64_t kMaxTtl = 30;  // tokens.max_lifetime below
constexpr std::size_t kMaxBody = 16 * 1024;

std::string Config(const std::string& log_level) {
  return R"([daemon]
socket = "d.sock"
socket_mode = "0666"
workers = 2
log_level = ")" +
         log_level + R"("
[rotation.sig]
period = "3s"
prepublish = "1s"
[rotation.enc]
period = "5s"
prepublish = "2s"
[tokens]
max_lifetime = "30s"
default_ttl = "30s"
clock_skew = "1s"
[limits]
max_body = "16KiB"
read_timeout = "2s"
[access]
issue = ["daemon", "group:www-data"]
decrypt = ["daemon", "www-data", "backup"]
read = ["list"]
)";
}

// The daemon's clock (SystemClock: CLOCK_REALTIME). Not time(2): glibc reads it from the coarse
// clock, which may still show the previous second for a few milliseconds after the daemon's has
// moved on, and a token would then look valid here when the daemon rightly calls it expired.
std::int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Identity {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

Identity Lookup(const std::string& name) {
  const passwd* pw = ::getpwnam(name.c_str());
  BOOST_REQUIRE_MESSAGE(pw != nullptr, "no user " << name);
  return {name, pw->pw_uid, pw->pw_gid};
}

// The calling thread alone becomes `who` (see the file comment); for good.
void BecomeInThisThread(const Identity& who) {
  if (::syscall(SYS_setgroups, 0, nullptr) != 0 ||
      ::syscall(SYS_setresgid, who.gid, who.gid, who.gid) != 0 ||
      ::syscall(SYS_setresuid, who.uid, who.uid, who.uid) != 0) {
    std::abort();  // a thread running as root would make every check below meaningless
  }
}

// A token issued during the run, with the kids its decryption named.
struct IssuedToken {
  std::string token;
  std::string sub;
  std::int64_t exp = 0;
  std::string sig_kid;
  std::string enc_kid;
};

// What every thread shares: the windows in which the daemon was down, revoked kids, issued
// tokens, counters and the failures found. Thread-safe.
class Ledger {
 public:
  void DownFrom(SteadyTime t) {
    std::scoped_lock lock(mu_);
    down_since_ = t;
  }
  void UpAt(SteadyTime t) {
    std::scoped_lock lock(mu_);
    windows_.push_back({*down_since_, t});
    down_since_.reset();
  }
  // Whether the daemon was down at some moment in [from, to].
  bool WasDown(SteadyTime from, SteadyTime to) const {
    std::scoped_lock lock(mu_);
    if (down_since_ && *down_since_ <= to) return true;
    return std::any_of(windows_.begin(), windows_.end(),
                       [&](const auto& w) { return w.first <= to && from <= w.second; });
  }

  // Brackets a revoke request: from before it is sent until its answer came.
  void Revoking(const std::string& kid) {
    std::scoped_lock lock(mu_);
    revoked_[kid] = SteadyTime::max();  // in flight
  }
  void Revoked(const std::string& kid) {
    std::scoped_lock lock(mu_);
    revoked_[kid] = std::chrono::steady_clock::now();
  }
  bool Revoked(const IssuedToken& t) const {
    std::scoped_lock lock(mu_);
    return revoked_.count(t.sig_kid) != 0 || revoked_.count(t.enc_kid) != 0;
  }
  // Whether a revoke was in flight or answered at `t` or later.
  bool RevokedSince(SteadyTime t) const {
    std::scoped_lock lock(mu_);
    return std::any_of(revoked_.begin(), revoked_.end(),
                       [&](const auto& r) { return r.second >= t; });
  }

  void Add(IssuedToken t) {
    std::scoped_lock lock(mu_);
    tokens_.push_back(std::move(t));
  }
  std::optional<IssuedToken> Pick(std::mt19937_64& rng) const {
    std::scoped_lock lock(mu_);
    if (tokens_.empty()) return std::nullopt;
    return tokens_[std::uniform_int_distribution<std::size_t>(0, tokens_.size() - 1)(rng)];
  }
  std::vector<IssuedToken> Tokens() const {
    std::scoped_lock lock(mu_);
    return tokens_;
  }

  void Count(const std::string& what) {
    std::scoped_lock lock(mu_);
    ++counts_[what];
  }
  void Fail(const std::string& what) {
    std::scoped_lock lock(mu_);
    ++counts_["unexpected failures"];
    if (failures_.size() < 20) failures_.push_back(what);
  }
  std::map<std::string, std::uint64_t> Counts() const {
    std::scoped_lock lock(mu_);
    return counts_;
  }
  std::vector<std::string> Failures() const {
    std::scoped_lock lock(mu_);
    return failures_;
  }

 private:
  mutable std::mutex mu_;
  std::optional<SteadyTime> down_since_;
  std::vector<std::pair<SteadyTime, SteadyTime>> windows_;
  std::map<std::string, SteadyTime> revoked_;
  std::vector<IssuedToken> tokens_;
  std::map<std::string, std::uint64_t> counts_;
  std::vector<std::string> failures_;
};

// One request and the verdict on its answer. `check` returns "" when the answer is the one the
// request must get, else why not; `intended` says whether a wrong answer was one the run caused
// on purpose (a revoked key, an expired token). A request that gets no answer is intended only
// when the daemon was down meanwhile.
class Caller {
 public:
  Caller(Ledger& ledger, std::string socket, std::string who)
      : ledger_(ledger), socket_(std::move(socket)), who_(std::move(who)) {}

  // The answer, or nullopt when there was none (counted and judged here).
  std::optional<HttpReply> Call(const std::string& kind, const std::function<HttpReply()>& send) {
    const SteadyTime start = std::chrono::steady_clock::now();
    ledger_.Count("requests");
    ledger_.Count("requests: " + kind);
    try {
      return send();
    } catch (const std::exception& e) {
      if (ledger_.WasDown(start, std::chrono::steady_clock::now())) {
        ledger_.Count("intended failures: daemon down");
      } else {
        ledger_.Fail(who_ + " " + kind + ": no answer while the daemon ran: " + e.what());
      }
      ShortPause();  // do not spin while the daemon restarts
      return std::nullopt;
    }
  }

  // Call, and the answer's status must be `want`.
  std::optional<HttpReply> Expect(const std::string& kind, int want,
                                  const std::function<HttpReply()>& send) {
    std::optional<HttpReply> r = Call(kind, send);
    if (r && r->status != want) {
      ledger_.Fail(who_ + " " + kind + ": " + std::to_string(r->status) + " (want " +
                   std::to_string(want) + "): " + r->body.substr(0, 200));
      return std::nullopt;
    }
    return r;
  }

  HttpReply Post(const std::string& target, const Json& body) const {
    return HttpPost(socket_, target, body.dump());
  }
  HttpReply Get(const std::string& target) const { return HttpGet(socket_, target); }

  // Decrypts `t`: 200 with its claims while it is valid (the daemon's time, whole seconds, is
  // before exp + clock_skew); 401 is intended once it expired or a key of it was revoked; a 200
  // after it expired is a failure.
  void DecryptTracked(const IssuedToken& t, const std::string& kind) {
    const std::int64_t started = UnixNow();
    std::optional<HttpReply> r = Call(kind, [&] {
      return Post("/api/v1/inst_access_tokens/decrypt", {{"token", t.token}});
    });
    if (!r) return;
    const std::int64_t ended = UnixNow();
    if (r->status == 200) {
      const Json body = Json::parse(r->body);
      if (body.at("claims").at("sub") != t.sub) ledger_.Fail(who_ + " " + kind + ": wrong claims");
      if (started >= t.exp + kSkew) ledger_.Fail(who_ + " " + kind + ": expired token accepted");
    } else if (r->status == 401 && ended >= t.exp + kSkew) {
      ledger_.Count("intended failures: token expired");
    } else if (r->status == 401 && ledger_.Revoked(t)) {
      ledger_.Count("intended failures: key revoked");
    } else {
      ledger_.Fail(who_ + " " + kind + ": " + std::to_string(r->status) +
                   " for a valid token: " + r->body.substr(0, 200));
    }
  }

  // Issues a token and decrypts it at once, which names its keys; then it joins the pool.
  void IssueAndLearn(std::mt19937_64& rng, bool decrypt_twice) {
    IssuedToken t;
    t.sub = "user-" + std::to_string(rng() % 100000);
    const int ttl = std::uniform_int_distribution<int>(3, static_cast<int>(kMaxTtl))(rng);
    const SteadyTime issued_at = std::chrono::steady_clock::now();
    std::optional<HttpReply> r = Expect("issue", 201, [&] {
      return Post("/api/v1/inst_access_tokens",
                  {{"claims", {{"sub", t.sub}, {"acct", "acct-1"}}}, {"ttl", ttl}});
    });
    if (!r) return;
    t.token = Json::parse(r->body).at("token");
    std::optional<HttpReply> d = Call("decrypt (fresh)", [&] {
      return Post("/api/v1/inst_access_tokens/decrypt", {{"token", t.token}});
    });
    if (!d) {
      ledger_.Count("tokens not tracked (daemon down before their first decrypt)");
      return;
    }
    if (d->status == 401 && ledger_.RevokedSince(issued_at)) {
      ledger_.Count("intended failures: key revoked");
      return;
    }
    if (d->status != 200) {
      ledger_.Fail(who_ + " decrypt (fresh): " + std::to_string(d->status) + ": " +
                   d->body.substr(0, 200));
      return;
    }
    const Json body = Json::parse(d->body);
    t.exp = body.at("claims").at("exp");
    t.sig_kid = body.at("sig_kid");
    t.enc_kid = body.at("enc_kid");
    if (body.at("claims").at("sub") != t.sub) ledger_.Fail(who_ + " decrypt (fresh): wrong claims");
    if (decrypt_twice) DecryptTracked(t, "decrypt (cached)");
    ledger_.Add(std::move(t));
  }

 private:
  Ledger& ledger_;
  const std::string socket_;
  const std::string who_;
};

// A token with one character of its ciphertext changed: never valid.
std::string Damaged(std::string token, std::mt19937_64& rng) {
  std::size_t start = 0;
  for (int dots = 0; dots < 3; ++dots) start = token.find('.', start) + 1;
  const std::size_t end = token.find('.', start);
  if (end == std::string::npos || end - start < 8) return "not-a-token";
  // Away from the segment's ends, so every bit of the character counts.
  const std::size_t at = start + 2 + rng() % (end - start - 4);
  token[at] = token[at] == 'A' ? 'B' : 'A';
  return token;
}

// The daemon's RSS (KiB) and open descriptors; nullopt while it is not there.
std::optional<std::pair<long, std::size_t>> Footprint(pid_t pid) {
  try {
    const std::string proc = "/proc/" + std::to_string(pid);
    std::istringstream status(ReadFile(proc + "/status"));
    long rss = -1;
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("VmRSS:", 0) == 0) rss = std::stol(line.substr(6));
    }
    std::size_t fds = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(proc + "/fd")) ++fds;
    if (rss < 0) return std::nullopt;
    return std::make_pair(rss, fds);
  } catch (const std::exception&) {
    return std::nullopt;  // exited meanwhile
  }
}

// The daemon, killed and restarted by the chaos loop on the main thread only.
class SoakDaemon {
 public:
  SoakDaemon() {
    BOOST_REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);  // the load's uids reach d.sock
    WriteFile(dir / "instaccessd.toml", Config("info"));
    Start();
  }

  void Start() {
    // Datagrams the previous process sent (READY=1 after a reload, say) must not pass for this
    // one's: the previous process has exited, so all of them are queued by now.
    DrainNotifications();
    process = std::make_unique<DaemonProcess>(
        DaemonOptions{dir.path().string(), {}, {}, notify.path(), {}, {}});
    BOOST_REQUIRE_MESSAGE(notify.WaitFor("READY=1", 60s), "daemon never became ready:\n"
                                                              << process->Stderr());
  }

  // Reads what the daemon sent so far, as systemd would: unread, the queue fills after
  // net.unix.max_dgram_qlen datagrams and the daemon drops the rest with a warning.
  void DrainNotifications() {
    while (notify.Receive(0ms)) {
    }
  }

  void Kill() {
    process->Signal(SIGKILL);
    BOOST_REQUIRE(process->Wait(60s).has_value());
  }

  TempDir dir;
  NotifySocket notify{dir / "notify.sock"};
  std::string socket = dir / "d.sock";
  std::unique_ptr<DaemonProcess> process;
};

std::string PrivatePem() {
  return CaptureOutput("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null");
}

std::string PublicPem(const TempDir& dir, const std::string& private_pem) {
  WriteFile(dir / "import.pem", private_pem);
  return CaptureOutput("openssl pkey -pubout -in " + dir / "import.pem");
}

BOOST_AUTO_TEST_SUITE(soak)

BOOST_AUTO_TEST_CASE(
    keys_and_answers_hold_under_load_rotation_reloads_and_kills,
    *boost::unit_test::precondition(RunningAsRoot("calling as several uids needs root"))) {
  const char* seconds_env = std::getenv("INSTACCESS_SOAK_SECONDS");
  const auto duration = std::chrono::seconds(seconds_env ? std::atoi(seconds_env) : 60);
  const char* seed_env = std::getenv("INSTACCESS_SOAK_SEED");
  const std::uint64_t seed =
      seed_env ? std::strtoull(seed_env, nullptr, 10) : std::random_device{}();
  std::cout << "soak: " << duration.count() << " s, seed " << seed
            << " (INSTACCESS_SOAK_SEED=" << seed << " replays the choices)" << std::endl;
  std::mt19937_64 chaos_rng(seed);

  const Identity issuer = Lookup("daemon"), gateway = Lookup("www-data"),
                 decrypter = Lookup("backup"), reader = Lookup("list"), stranger = Lookup("nobody");
  SoakDaemon d;
  Ledger ledger;
  std::atomic<bool> stop{false};
  std::set<std::string> active_seen;  // "sig kid", "enc kid"; reader thread only until joined
  std::vector<std::thread> threads;
  auto spawn = [&](const Identity& who, std::uint64_t salt,
                   std::function<void(Caller&, std::mt19937_64&)> step) {
    threads.emplace_back([&, who, salt, step = std::move(step)] {
      BecomeInThisThread(who);
      Caller caller(ledger, d.socket, who.name);
      std::mt19937_64 rng(seed ^ salt);
      while (!stop.load()) {
        step(caller, rng);
        // Pacing of the load (not synchronisation): about 50 requests a second per thread, so
        // the run shares the host's cores.
        std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 20));
      }
    });
  };

  // daemon: issues (it holds issue and decrypt by name).
  spawn(issuer, 1, [](Caller& c, std::mt19937_64& rng) { c.IssueAndLearn(rng, false); });
  // www-data: issues (by its group) and decrypts each token twice, the second from the cache.
  spawn(gateway, 2, [](Caller& c, std::mt19937_64& rng) { c.IssueAndLearn(rng, true); });
  // backup: decrypts tokens of the pool, damaged tokens, garbage and oversize requests.
  spawn(decrypter, 3, [&](Caller& c, std::mt19937_64& rng) {
    std::optional<IssuedToken> t = ledger.Pick(rng);
    switch (rng() % 6) {
      case 0:
      case 1:
      case 2:
        if (t) c.DecryptTracked(*t, "decrypt (pool)");
        break;
      case 3:
        if (t) {
          c.Expect("decrypt (damaged token)", 401, [&] {
            return c.Post("/api/v1/inst_access_tokens/decrypt",
                          {{"token", Damaged(t->token, rng)}});
          });
        }
        break;
      case 4:
        c.Expect("decrypt (garbage)", 401, [&] {
          return c.Post("/api/v1/inst_access_tokens/decrypt",
                        {{"token", "eyJ" + std::string(rng() % 200, 'x') + ".a.b.c.d"}});
        });
        break;
      default:
        c.Expect("oversize body", 413, [&] {
          return c.Post("/api/v1/inst_access_tokens/decrypt",
                        {{"token", std::string(kMaxBody + 1024, 'x')}});
        });
        c.Expect("oversize header", 431, [&] {
          UnixHttpConnection conn(d.socket);
          return conn.Request("GET", "/api/v1/keys?" + std::string(9 * 1024, 'x'));
        });
    }
  });
  // list: reads the key list; exactly one active key per purpose, every time.
  spawn(reader, 4, [&](Caller& c, std::mt19937_64&) {
    std::optional<HttpReply> r = c.Expect("key list", 200, [&] { return c.Get("/api/v1/keys"); });
    if (!r) return;
    std::map<std::string, int> active;
    const Json keys = Json::parse(r->body);
    for (const Json& k : keys.at("keys")) {
      if (k.at("state") == "active") {
        ++active[k.at("purpose").get<std::string>()];
        active_seen.insert(k.at("purpose").get<std::string>() + " " +
                           k.at("kid").get<std::string>());
      }
    }
    ledger.Count("key lists read");
    if (active["sig"] != 1 || active["enc"] != 1) {
      ledger.Fail("key list with " + std::to_string(active["sig"]) + " active sig and " +
                  std::to_string(active["enc"]) + " active enc keys");
    }
    c.Expect("jwks", 200, [&] { return c.Get("/.well-known/jwks.json"); });
  });
  // nobody: no role (403; /healthz answers), and slow senders cut off after read_timeout.
  spawn(stranger, 5, [&](Caller& c, std::mt19937_64& rng) {
    if (rng() % 4 != 0) {
      c.Expect("no role", 403, [&] {
        return c.Post("/api/v1/inst_access_tokens", {{"claims", {{"sub", "x"}, {"acct", "y"}}}});
      });
      c.Expect("healthz", 200, [&] { return c.Get("/healthz"); });
      return;
    }
    c.Expect("slow sender", 408, [&] {
      UnixHttpConnection conn(d.socket);
      conn.SendRaw("POST /api/v1/inst_access_tokens/decrypt HTTP/1.1\r\nHost: l");
      std::optional<HttpReply> r = conn.Read();
      if (!r) throw std::runtime_error("closed without an answer");
      return *r;
    });
  });

  // Chaos on the main thread (root, so admin): SIGHUP, revoke, import, SIGKILL + restart, and
  // the footprint sampled between them.
  long max_rss = 0;
  std::size_t max_fds = 0;
  std::map<std::string, std::uint64_t> chaos;
  auto sample = [&] {
    if (auto f = Footprint(d.process->pid())) {
      max_rss = std::max(max_rss, f->first);
      max_fds = std::max(max_fds, f->second);
    }
  };
  auto admin = [&](const std::string& kind, int want, const Json& body, const std::string& target) {
    HttpReply r = HttpPost(d.socket, target, body.dump());
    ++chaos[kind];
    BOOST_TEST(r.status == want, kind << ": " << r.status << " " << r.body);
  };
  auto random_gap = [&](int lo_ms, int hi_ms) {
    return std::chrono::milliseconds(std::uniform_int_distribution<int>(lo_ms, hi_ms)(chaos_rng));
  };
  const SteadyTime end = std::chrono::steady_clock::now() + duration;
  SteadyTime next_hup = std::chrono::steady_clock::now() + random_gap(1000, 4000);
  SteadyTime next_admin = std::chrono::steady_clock::now() + random_gap(3000, 8000);
  SteadyTime next_kill = std::chrono::steady_clock::now() + random_gap(4000, 15000);
  int admin_turn = 0;
  bool log_debug = false;
  while (std::chrono::steady_clock::now() < end) {
    sample();
    d.DrainNotifications();
    const SteadyTime now = std::chrono::steady_clock::now();
    if (now >= next_hup) {
      log_debug = !log_debug;
      WriteFile(d.dir / "instaccessd.toml.new", Config(log_debug ? "debug" : "info"));
      std::filesystem::rename(d.dir / "instaccessd.toml.new", d.dir / "instaccessd.toml");
      d.process->Signal(SIGHUP);
      ++chaos["SIGHUP"];
      next_hup = now + random_gap(1000, 4000);
    } else if (now >= next_admin) {
      const Json active = Json::parse(HttpGet(d.socket, "/api/v1/status").body).at("active_kids");
      const int turn = admin_turn++ % 4;
      switch (turn) {
        case 0:
        case 2: {
          const std::string kid = active.at(turn == 0 ? "sig" : "enc");
          ledger.Revoking(kid);
          admin("revoke", 200, Json::object(), "/api/v1/keys/" + kid + "/revoke");
          ledger.Revoked(kid);
          break;
        }
        case 1:
          admin("import (active enc key)", 201,
                {{"purpose", "enc"}, {"pem", PrivatePem()}, {"activate", true}},
                "/api/v1/keys/import");
          break;
        default:
          admin("import (partner's signing key)", 201,
                {{"purpose", "sig"},
                 {"pem", PublicPem(d.dir, PrivatePem())},
                 {"issuers", {"partner.example"}}},
                "/api/v1/keys/import");
      }
      next_admin = std::chrono::steady_clock::now() + random_gap(3000, 8000);
    } else if (now >= next_kill) {
      ledger.DownFrom(std::chrono::steady_clock::now());
      d.Kill();
      ++chaos["SIGKILL + restart"];
      d.Start();
      ledger.UpAt(std::chrono::steady_clock::now());
      next_kill = std::chrono::steady_clock::now() + random_gap(4000, 15000);
    }
    // Pacing of the chaos loop; every event above is due at a time of its own.
    std::this_thread::sleep_for(100ms);
  }
  stop = true;
  for (std::thread& t : threads) t.join();
  sample();

  // Every token issued and not revoked decrypts until it expires, and not after.
  Caller root(ledger, d.socket, "root (final check)");
  std::uint64_t checked = 0, valid_at_end = 0;
  for (const IssuedToken& t : ledger.Tokens()) {
    if (ledger.Revoked(t)) continue;
    if (t.exp + kSkew > UnixNow()) ++valid_at_end;
    if (++checked % 100 == 0) d.DrainNotifications();
    root.DecryptTracked(t, "decrypt (final check)");
  }
  d.DrainNotifications();
  const Json audit = Json::parse(HttpGet(d.socket, "/api/v1/audit/verify").body);
  BOOST_TEST(audit.at("ok") == true, audit.dump());
  d.process->Signal(SIGTERM);
  BOOST_TEST(d.process->Wait(60s).value_or(-1) == 0);

  std::ostringstream report;
  report << "soak: " << duration.count() << " s, seed " << seed << "; active keys seen "
         << active_seen.size() << "; max RSS " << max_rss << " KiB (bound " << kMaxRssKiB
         << "), max fds " << max_fds << " (bound " << kMaxFds << "); tokens checked at the end "
         << checked << " (" << valid_at_end << " still valid); audit entries "
         << audit.at("entries");
  for (const auto& [what, n] : chaos) report << "; " << what << " " << n;
  for (const auto& [what, n] : ledger.Counts()) report << "; " << what << " " << n;
  std::cout << report.str() << std::endl;
  for (const std::string& f : ledger.Failures()) std::cout << "failure: " << f << std::endl;

  BOOST_TEST(ledger.Failures().empty(), ledger.Failures().size() << " failures (listed above)");
  BOOST_TEST(max_rss <= kMaxRssKiB);
  BOOST_TEST(max_fds <= kMaxFds);
  BOOST_TEST(chaos["SIGKILL + restart"] >= 1u);
  BOOST_TEST(active_seen.size() > 4u, "too few rotations seen");
  BOOST_TEST(valid_at_end > 0u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing
