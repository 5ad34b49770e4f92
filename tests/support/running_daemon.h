// The one fixture for suites that need the real instaccessd running: the binary this tree built,
// in a fresh temp dir of its own, with its own notify socket, ready (READY=1 read, as systemd
// would) when the constructor returns. Never a sleep: every wait is for an event.
#pragma once

#include <signal.h>
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tests/support/daemon_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/unix_http.h"

namespace instaccess::testing {

using namespace std::chrono_literals;

// Generous for sanitizer builds; only a failure waits it out.
inline constexpr auto kStartTimeout = 30s;

inline constexpr const char* kIssuePath = "/api/v1/inst_access_tokens";
inline constexpr const char* kDecryptPath = "/api/v1/inst_access_tokens/decrypt";

// Tag: a daemon whose socket anyone may connect to (d.sock, mode 0666, in a 0755 dir), so that a
// test may also call as nobody and the roles alone decide.
struct OpenToAll {};

class RunningDaemon {
 public:
  // The embedded default, plus `toml` as ./instaccessd.toml when not empty. `socket_path`: where
  // that puts the socket, relative to the temp dir.
  explicit RunningDaemon(std::string toml_text = "",
                         const std::string& socket_path = "var/instaccessd.sock")
      : toml(std::move(toml_text)), socket(dir / socket_path) {
    if (!toml.empty()) WriteFile(dir / "instaccessd.toml", toml);
    Start();
  }

  // As above, open to every local user; `extra_toml` follows the [daemon] socket settings.
  explicit RunningDaemon(OpenToAll, const std::string& extra_toml = "")
      : toml("[daemon]\nsocket = \"d.sock\"\nsocket_mode = \"0666\"\n" + extra_toml),
        socket(dir / "d.sock") {
    BOOST_REQUIRE(chmod(dir.path().c_str(), 0755) == 0);
    WriteFile(dir / "instaccessd.toml", toml);
    Start();
  }

  RunningDaemon(const RunningDaemon&) = delete;
  RunningDaemon& operator=(const RunningDaemon&) = delete;

  // Starts the daemon again in the same dir (after Stop or Kill): same store, same config.
  void Start() {
    process = std::make_unique<DaemonProcess>(
        DaemonOptions{dir.path().string(), {}, {}, notify.path(), {}, {}});
    BOOST_REQUIRE_MESSAGE(notify.WaitFor("READY=1", kStartTimeout), "daemon never became ready:\n"
                                                                        << process->Stderr());
  }

  // SIGTERM; the daemon must drain and exit 0.
  void Stop() {
    process->Signal(SIGTERM);
    auto rc = process->Wait(kStartTimeout);
    BOOST_REQUIRE(rc.has_value());
    BOOST_REQUIRE_EQUAL(*rc, 0);
  }

  // SIGKILL, no chance to clean up: what a crash or an OOM kill does.
  void Kill() {
    process->Signal(SIGKILL);
    BOOST_REQUIRE(process->Wait(kStartTimeout).has_value());
  }

  HttpReply Get(const std::string& target) const { return HttpGet(socket, target); }
  HttpReply Post(const std::string& target, const nlohmann::json& body) const {
    return HttpPost(socket, target, body.dump());
  }
  // GET that must answer 200 with JSON.
  nlohmann::json GetJson(const std::string& target) const {
    HttpReply r = Get(target);
    BOOST_REQUIRE_MESSAGE(r.status == 200, target << " answered " << r.status << ": " << r.body);
    return nlohmann::json::parse(r.body);
  }

  // Issues a token with the given claims (default: the required ones); fails the test otherwise.
  std::string Issue(nlohmann::json claims = {{"sub", "user-1"}, {"acct", "acct-1"}},
                    std::optional<int> ttl = std::nullopt) const {
    nlohmann::json body = {{"claims", std::move(claims)}};
    if (ttl) body["ttl"] = *ttl;
    HttpReply r = Post(kIssuePath, body);
    BOOST_REQUIRE_MESSAGE(r.status == 201, "issue answered " << r.status << ": " << r.body);
    return nlohmann::json::parse(r.body).at("token").get<std::string>();
  }
  HttpReply Decrypt(const std::string& token) const {
    return Post(kDecryptPath, {{"token", token}});
  }

  TempDir dir;
  NotifySocket notify{dir / "notify.sock"};
  std::string toml;
  std::string socket;
  std::unique_ptr<DaemonProcess> process;
};

}  // namespace instaccess::testing
