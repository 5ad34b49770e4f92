// The real daemon under a clock that jumps forward (Debian's libfaketime, the time read from a
// file the test rewrites): the schedule is held rather than rewritten, health stays up, and an
// admin's accept-clock resumes it. The keystore's own tests cover the rules through its clock
// parameter; this one shows the running scheduler notices.
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/unix_http.h"

namespace instaccess::testing {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

constexpr const char* kFaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

Json GetJson(const std::string& socket, const std::string& target) {
  HttpReply r = HttpGet(socket, target);
  BOOST_REQUIRE_MESSAGE(r.status == 200, target << ": " << r.status << " " << r.body);
  return Json::parse(r.body);
}

BOOST_AUTO_TEST_SUITE(clock_jump)

BOOST_AUTO_TEST_CASE(forward_jump_holds_the_schedule_until_accepted) {
  BOOST_REQUIRE_MESSAGE(std::filesystem::exists(kFaketime),
                        "libfaketime is missing: scripts/bootstrap installs the faketime package");
  TempDir dir;
  // A short token lifetime: the scheduler then passes at least every 10 s (half of it), so it
  // notices the jump within seconds.
  WriteFile(dir / "instaccessd.toml", "[tokens]\nmax_lifetime = \"20s\"\ndefault_ttl = \"20s\"\n");
  const std::string time_file = dir / "fake.time";
  WriteFile(time_file, "@2027-01-01 00:00:00\n");
  NotifySocket notify(dir / "notify.sock");
  DaemonOptions options{dir.path().string(), {}, {}, notify.path(), {}, {}};
  options.env = {{"LD_PRELOAD", kFaketime},
                 {"FAKETIME_TIMESTAMP_FILE", time_file},
                 {"FAKETIME_NO_CACHE", "1"},
                 // libfaketime is loaded before the sanitizer's runtime in the ASan build.
                 {"ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=1"}};
  DaemonProcess daemon(options);
  BOOST_REQUIRE_MESSAGE(notify.WaitFor("READY=1", 30s), daemon.Stderr());
  const std::string socket = dir / "var/instaccessd.sock";
  const Json keys_before = GetJson(socket, "/api/v1/keys").at("keys");
  BOOST_TEST(GetJson(socket, "/api/v1/status").at("clock_held_since").is_null());

  WriteFile(time_file, "@2027-01-03 00:00:00\n");  // two days ahead
  Json status;
  BOOST_REQUIRE_MESSAGE(Eventually(
                            [&] {
                              status = GetJson(socket, "/api/v1/status");
                              return !status.at("clock_held_since").is_null();
                            },
                            30s),
                        "the schedule was not held:\n"
                            << daemon.Stderr());
  BOOST_TEST(status.at("warnings").dump().find("clock jumped forward") != std::string::npos,
             status.dump());
  BOOST_TEST(HttpGet(socket, "/healthz").status == 200);
  // Nothing was rewritten: no key destroyed, generated or promoted by the jump.
  BOOST_TEST(GetJson(socket, "/api/v1/keys").at("keys") == keys_before);

  HttpReply accepted = HttpPost(socket, "/api/v1/schedule/accept-clock", "");
  BOOST_TEST(accepted.status == 200, accepted.body);
  BOOST_TEST(GetJson(socket, "/api/v1/status").at("clock_held_since").is_null());

  daemon.Signal(SIGTERM);
  BOOST_TEST(daemon.Wait(30s).value_or(-1) == 0, daemon.Stderr());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing
