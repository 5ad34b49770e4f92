// Faults injected into the real daemon (docs/security.md, "Faults"). Each case's name states
// the outcome it asserts, and each checks that nothing already stored was lost: every key row
// the daemon had is still there after a restart, and a token issued before the fault still
// decrypts. Every wait is for a condition with a deadline, never a sleep.
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "tests/support/as_nobody.h"
#include "tests/support/daemon_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/unix_http.h"

namespace instaccess::testing {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

// Both purposes rotate every 4 s, so a rotation is always near; tokens live a minute, so a
// token issued before a fault is still valid when the test checks it after the recovery. A
// failed pass is retried after 1 s, 2 s, 4 s, ... (at most half of max_lifetime).
constexpr const char* kFastRotation = R"([rotation.sig]
period = "4s"
prepublish = "2s"
[rotation.enc]
period = "4s"
prepublish = "2s"
[tokens]
max_lifetime = "60s"
default_ttl = "60s"
clock_skew = "1s"
)";

// Generous for the sanitizer build; only a failure waits it out.
constexpr auto kDeadline = 60s;

// The daemon (embedded default: state in ./var) in a temp dir of its own, started and restarted
// with the same options.
class FaultDaemon {
 public:
  FaultDaemon() { Configure(""); }

  void Configure(const std::string& extra_toml) {
    WriteFile(dir / "instaccessd.toml", std::string(kFastRotation) + extra_toml);
  }

  void Start() {
    // What an earlier process sent (READY=1 among it) must not pass for this one's.
    DrainNotifications();
    process = std::make_unique<DaemonProcess>(Options());
    BOOST_REQUIRE_MESSAGE(notify.WaitFor("READY=1", kDeadline), "daemon never became ready:\n"
                                                                    << process->Stderr());
  }

  // Starts the daemon where it must refuse to: its exit code, and its stderr in `err`.
  int StartExpectingExit(std::string* err) {
    process = std::make_unique<DaemonProcess>(Options());
    const int rc = process->Wait(kDeadline).value_or(-1);
    *err = process->Stderr();
    return rc;
  }

  void Stop() {
    process->Signal(SIGTERM);
    BOOST_REQUIRE_MESSAGE(process->Wait(kDeadline).value_or(-1) == 0, process->Stderr());
  }

  HttpReply Get(const std::string& target) const { return HttpGet(socket, target); }
  HttpReply Post(const std::string& target, const Json& body) const {
    return HttpPost(socket, target, body.dump());
  }
  Json GetJson(const std::string& target) const {
    HttpReply r = Get(target);
    BOOST_REQUIRE_MESSAGE(r.status == 200, target << " answered " << r.status << ": " << r.body);
    return Json::parse(r.body);
  }
  // Every status poll reads what the daemon sent so far, as systemd would: unread, the queue
  // fills after net.unix.max_dgram_qlen datagrams and the daemon drops the rest with a warning.
  Json Status() const {
    DrainNotifications();
    return GetJson("/api/v1/status");
  }
  void DrainNotifications() const {
    while (notify.Receive(0ms)) {
    }
  }

  std::string Issue() const {
    HttpReply r = Post("/api/v1/inst_access_tokens", {{"claims", {{"sub", "u"}, {"acct", "a"}}}});
    BOOST_REQUIRE_MESSAGE(r.status == 201, "issue answered " << r.status << ": " << r.body);
    return Json::parse(r.body).at("token").get<std::string>();
  }
  int Decrypt(const std::string& token) const {
    return Post("/api/v1/inst_access_tokens/decrypt", {{"token", token}}).status;
  }

  // Every kid of the store, whatever its state (destroyed rows are kept).
  std::set<std::string> Kids() const {
    std::set<std::string> kids;
    const Json keys = GetJson("/api/v1/keys");
    for (const Json& k : keys.at("keys")) kids.insert(k.at("kid"));
    return kids;
  }

  // Waits until status reports a failing rotation; returns that status.
  Json WaitUntilFailing() const {
    Json status;
    BOOST_REQUIRE_MESSAGE(Eventually(
                              [&] {
                                status = Status();
                                return !status.at("rotation").at("failing_since").is_null();
                              },
                              kDeadline),
                          "no rotation failure reported:\n"
                              << process->Stderr());
    return status;
  }

  // Waits until rotation works again and has replaced at least one of the `active` kids.
  void WaitUntilRotatedPast(const Json& active) const {
    BOOST_REQUIRE_MESSAGE(Eventually(
                              [&] {
                                const Json status = Status();
                                return status.at("rotation").at("failing_since").is_null() &&
                                       status.at("active_kids") != active;
                              },
                              kDeadline),
                          "rotation did not resume:\n"
                              << process->Stderr());
  }

  // Starts the daemon again: it must hold every one of `kids` and decrypt every one of `tokens`.
  // Then stops it.
  void StartAndCheckNothingLost(const std::set<std::string>& kids,
                                const std::vector<std::string>& tokens) {
    Start();
    const std::set<std::string> now = Kids();
    for (const std::string& kid : kids) BOOST_TEST(now.count(kid) == 1u, "key " << kid << " lost");
    for (const std::string& token : tokens) BOOST_TEST(Decrypt(token) == 200);
    Stop();
  }

  bool Logged(const std::string& text) const {
    return process->Stderr().find(text) != std::string::npos;
  }

  TempDir dir;
  mutable NotifySocket notify{dir / "notify.sock"};
  std::string socket = dir / "var/instaccessd.sock";
  std::map<std::string, std::string> env;
  std::vector<std::string> wrapper;
  std::unique_ptr<DaemonProcess> process;

 private:
  DaemonOptions Options() const {
    return {dir.path().string(), {}, env, notify.path(), {}, wrapper};
  }
};

bool Includes(const std::set<std::string>& all, const std::set<std::string>& part) {
  for (const std::string& k : part) {
    if (all.count(k) == 0) return false;
  }
  return true;
}

std::string MetricsText(const FaultDaemon& d) {
  HttpReply r = d.Get("/metrics");
  BOOST_REQUIRE(r.status == 200);
  return r.body;
}

int Occurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// GET /healthz on a connection of our own that waits at most `timeout` for the answer (the
// support client's receive timeout does not reach its blocking reads): whether 200 came.
bool HealthzAnswersWithin(const std::string& socket_path, std::chrono::milliseconds timeout) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  BOOST_REQUIRE(socket_path.size() < sizeof addr.sun_path);
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return false;
  }
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
  if (::write(fd.get(), request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    return false;
  }
  pollfd p{fd.get(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
  char reply[64] = {};
  const ssize_t n = ::read(fd.get(), reply, sizeof reply - 1);
  return n > 0 && std::string(reply).starts_with("HTTP/1.1 200");
}

// Runs the daemon's offline command `args` in the daemon's dir; its exit code.
int RunOffline(const FaultDaemon& d, std::vector<std::string> args, std::string* err) {
  DaemonProcess p({d.dir.path().string(), std::move(args), {}, "", {}, d.wrapper});
  const int rc = p.Wait(kDeadline).value_or(-1);
  *err = p.Stderr();
  return rc;
}

BOOST_AUTO_TEST_SUITE(faults)

// RLIMIT_FSIZE stands in for a full disk: every write to the store fails (EFBIG, SIGXFSZ being
// ignored, as ENOSPC would). The daemon's stderr goes through a pipe, so the limit does not
// silence its log.
BOOST_AUTO_TEST_CASE(disk_full_serves_on_reports_retries_and_rotates_once_space_is_back) {
  FaultDaemon d;
  d.wrapper = {"/bin/bash", "-c",
               "trap '' XFSZ; exec 2> >(exec cat >> instaccessd.stderr); exec \"$0\" \"$@\""};
  d.Start();
  const std::string before = d.Issue();
  rlimit limit{};
  BOOST_REQUIRE(::prlimit(d.process->pid(), RLIMIT_FSIZE, nullptr, &limit) == 0);
  const rlimit full{1, limit.rlim_max};  // the soft limit only: the test may raise it again
  BOOST_REQUIRE(::prlimit(d.process->pid(), RLIMIT_FSIZE, &full, nullptr) == 0);

  const Json failing = d.WaitUntilFailing();
  const std::set<std::string> kids = d.Kids();
  BOOST_TEST(!failing.at("rotation").at("last_error").get<std::string>().empty());
  BOOST_TEST(failing.at("rotation").at("failures_total").get<int>() >= 1);
  BOOST_TEST(failing.at("warnings").dump().find("key rotation failing") != std::string::npos);
  BOOST_TEST(MetricsText(d).find("\ninstaccess_rotation_failing 1\n") != std::string::npos);
  BOOST_TEST(d.Logged("key rotation failed"));
  // Serving goes on with the keys it has.
  BOOST_TEST(d.Get("/healthz").status == 200);
  const std::string during = d.Issue();
  BOOST_TEST(d.Decrypt(before) == 200);
  BOOST_TEST(d.Decrypt(during) == 200);
  const Json still = d.Status();
  BOOST_TEST(!still.at("rotation").at("failing_since").is_null());
  BOOST_TEST(still.at("active_kids") == failing.at("active_kids"));

  const rlimit room{limit.rlim_max, limit.rlim_max};
  BOOST_REQUIRE(::prlimit(d.process->pid(), RLIMIT_FSIZE, &room, nullptr) == 0);
  d.WaitUntilRotatedPast(failing.at("active_kids"));
  BOOST_TEST(d.Logged("key rotation works again"));
  BOOST_TEST(MetricsText(d).find("\ninstaccess_rotation_failing 0\n") != std::string::npos);
  BOOST_TEST(d.Decrypt(before) == 200);
  BOOST_TEST(d.Decrypt(during) == 200);
  BOOST_TEST(d.GetJson("/api/v1/audit/verify").at("ok") == true);

  const std::set<std::string> rotated = d.Kids();
  BOOST_TEST(Includes(rotated, kids));
  d.Stop();
  d.StartAndCheckNothingLost(rotated, {before, during});
}

// The daemon runs as nobody, so the directory's mode binds it. A running daemon keeps its files
// open and creates none, so it goes on rotating; a restart is refused with exit code 2 and a
// message naming the directory, and starts again, keys intact, once the mode is put back.
BOOST_AUTO_TEST_CASE(read_only_store_directory_serves_on_and_refuses_a_restart,
                     *boost::unit_test::precondition(
                         RunningAsRoot("running the daemon as nobody (setpriv) needs root"))) {
  FaultDaemon d;
  const passwd* nobody = ::getpwnam("nobody");
  BOOST_REQUIRE(nobody != nullptr);
  BOOST_REQUIRE(::chown(d.dir.path().c_str(), nobody->pw_uid, nobody->pw_gid) == 0);
  BOOST_REQUIRE(::chmod(d.dir.path().c_str(), 0755) == 0);
  BOOST_REQUIRE(::chmod(d.notify.path().c_str(), 0666) == 0);  // nobody sends READY=1 to it
  d.wrapper = {"/usr/bin/setpriv", "--reuid=nobody", "--regid=" + std::to_string(nobody->pw_gid),
               "--clear-groups"};
  d.Start();
  const std::string before = d.Issue();
  const std::string var = d.dir / "var";
  BOOST_REQUIRE(::chmod(var.c_str(), 0500) == 0);

  const Json active = d.Status().at("active_kids");
  d.WaitUntilRotatedPast(active);
  BOOST_TEST(d.Status().at("rotation").at("failures_total") == 0);
  const std::set<std::string> kids = d.Kids();
  d.Stop();

  std::string err;
  BOOST_TEST(d.StartExpectingExit(&err) == 2, err);
  BOOST_TEST(err.find("key store directory var is not writable") != std::string::npos, err);

  BOOST_REQUIRE(::chmod(var.c_str(), 0700) == 0);
  d.StartAndCheckNothingLost(kids, {before});
}

// The store's path no longer names the file the daemon has open. The daemon keeps serving with
// its keys, writes no change (it would be lost with the orphaned file) and says so in status; a
// backup still reads the open file, and restoring it after a stop brings every key back.
BOOST_AUTO_TEST_CASE(store_file_deleted_or_replaced_refuses_changes_and_a_backup_keeps_all) {
  for (const std::string how : {"deleted", "replaced by another file"}) {
    BOOST_TEST_CONTEXT("store file " << how) {
      FaultDaemon d;
      d.Start();
      const std::string before = d.Issue();
      const std::string store = d.dir / "var/keys.db";
      if (how == "deleted") {
        BOOST_REQUIRE(::unlink(store.c_str()) == 0);
      } else {
        // A copy of the store taken now, put in place after the next rotation: an older store.
        HttpReply early = d.Get("/api/v1/backup");
        BOOST_REQUIRE(early.status == 200);
        WriteFile(d.dir / "early.db", early.body);
        d.WaitUntilRotatedPast(d.Status().at("active_kids"));
        BOOST_REQUIRE(::rename((d.dir / "early.db").c_str(), store.c_str()) == 0);
      }
      const Json failing = d.WaitUntilFailing();
      BOOST_TEST(failing.at("rotation")
                         .at("last_error")
                         .get<std::string>()
                         .find("was " + how + " while the daemon ran") != std::string::npos,
                 failing.dump());
      HttpReply rotate = d.Post("/api/v1/keys/rotate", {{"purpose", "both"}});
      BOOST_TEST(rotate.status == 503, rotate.body);
      BOOST_TEST(d.Get("/healthz").status == 200);
      BOOST_TEST(d.Decrypt(before) == 200);
      BOOST_TEST(d.Decrypt(d.Issue()) == 200);
      const std::set<std::string> kids = d.Kids();

      HttpReply rescue = d.Get("/api/v1/backup");
      BOOST_REQUIRE_MESSAGE(rescue.status == 200, rescue.body);
      WriteFile(d.dir / "rescue.db", rescue.body);
      d.Stop();
      std::string err;
      BOOST_TEST(RunOffline(d, {"restore", d.dir / "rescue.db"}, &err) == 0, err);
      d.StartAndCheckNothingLost(kids, {before});
    }
  }
}

// The master key file is gone when the daemon restarts: exit code 2, one line naming the file,
// and the store untouched; with the file back, the daemon starts on the same keys.
BOOST_AUTO_TEST_CASE(master_key_missing_at_restart_exits_2_naming_it_and_touches_nothing) {
  FaultDaemon d;
  const std::string key = d.dir / "master.key";
  WriteFile(key, std::string(32, '\x42'));
  BOOST_REQUIRE(::chmod(key.c_str(), 0600) == 0);
  d.Configure("[store]\nmaster_key_file = \"" + key + "\"\n");
  d.Start();
  const std::string before = d.Issue();
  const std::set<std::string> kids = d.Kids();
  d.Stop();
  const std::string store_bytes = ReadFile(d.dir / "var/keys.db");

  BOOST_REQUIRE(::rename(key.c_str(), (key + ".away").c_str()) == 0);
  std::string err;
  BOOST_TEST(d.StartExpectingExit(&err) == 2, err);
  BOOST_TEST(err.find("master key file " + key + " (store.master_key_file) does not exist") !=
                 std::string::npos,
             err);
  BOOST_TEST((ReadFile(d.dir / "var/keys.db") == store_bytes));

  BOOST_REQUIRE(::rename((key + ".away").c_str(), key.c_str()) == 0);
  d.StartAndCheckNothingLost(kids, {before});
}

// fsync and fdatasync fail with EIO (an LD_PRELOAD shim) while a flag file exists: the change
// that needed them fails and is reported like a full disk; once they work again the schedule
// catches up, and a restart finds every key.
BOOST_AUTO_TEST_CASE(failing_fsync_fails_the_change_reports_it_and_loses_nothing) {
  FaultDaemon d;
  const std::string flag = d.dir / "fail-fsync";
  d.env = {{"LD_PRELOAD", INSTACCESS_FAIL_FSYNC_SHIM},
           {"INSTACCESS_FAIL_FSYNC_FLAG", flag},
           // The shim is loaded before the sanitizer's runtime in the ASan build.
           {"ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=1"}};
  d.Start();
  const std::string before = d.Issue();
  WriteFile(flag, "");

  const Json failing = d.WaitUntilFailing();
  BOOST_TEST(d.Logged("key rotation failed"));
  BOOST_TEST(d.Get("/healthz").status == 200);
  BOOST_TEST(d.Decrypt(before) == 200);
  const std::string during = d.Issue();
  BOOST_TEST(d.Decrypt(during) == 200);

  BOOST_REQUIRE(::unlink(flag.c_str()) == 0);
  d.WaitUntilRotatedPast(failing.at("active_kids"));
  BOOST_TEST(d.GetJson("/api/v1/audit/verify").at("ok") == true);
  const std::set<std::string> kids = d.Kids();
  d.Stop();
  d.StartAndCheckNothingLost(kids, {before, during});
}

// Nothing reads the notify socket (systemd busy): once its queue is full (net.unix.max_dgram_qlen
// datagrams, 10 by default) the daemon's notifications are dropped with a warning, and the main
// thread, which accepts connections and handles signals, goes on.
BOOST_AUTO_TEST_CASE(unread_notify_socket_never_stops_the_daemon) {
  FaultDaemon d;
  d.Start();
  // Each SIGHUP sends RELOADING=1 and READY=1; none is read from here on.
  for (int i = 1; i <= 12; ++i) {
    d.process->Signal(SIGHUP);
    BOOST_REQUIRE_MESSAGE(
        Eventually([&] { return Occurrences(d.process->Stderr(), "configuration reloaded") >= i; },
                   10s),
        "reload " << i << " never finished:\n"
                  << d.process->Stderr());
  }
  BOOST_TEST(d.Logged("systemd is not reading its notify socket"));
  BOOST_TEST(HealthzAnswersWithin(d.socket, 10s));
  d.Stop();
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing
