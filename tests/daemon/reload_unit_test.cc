// RestartOnlyChanges: which changed keys a reload cannot apply, named as docs/config.md names
// them; the live keys (daemon.log_level, [access]) are never among them.
#include <boost/test/unit_test.hpp>

#include "daemon/config.h"
#include "daemon/reload.h"

namespace instaccess::daemon {
namespace {

Config Parse(std::string_view toml) {
  auto c = ParseConfig(toml, "test.toml", false);
  BOOST_REQUIRE_MESSAGE(c.has_value(), c.status().message());
  return *c;
}

BOOST_AUTO_TEST_SUITE(reload_changes)

BOOST_AUTO_TEST_CASE(live_keys_need_no_restart) {
  const Config running = Parse("");
  const Config fresh =
      Parse("[daemon]\nlog_level = \"debug\"\n[access]\nissue = [\"canvas\"]\nread = [\"*\"]\n");
  BOOST_TEST(RestartOnlyChanges(running, fresh).empty());
  BOOST_TEST(RestartOnlyChanges(running, running).empty());
}

BOOST_AUTO_TEST_CASE(every_other_changed_key_is_named_in_order) {
  const Config running = Parse("");
  const Config fresh = Parse(R"(
[daemon]
socket = "/tmp/other.sock"
socket_mode = "0600"
socket_group = "www-data"
workers = 3
[store]
path = "/tmp/other.db"
master_key_file = "/tmp/master.key"
[tokens]
issuer = "me"
accepted_issuers = ["me", "you"]
required_claims = ["sub"]
default_ttl = "30m"
max_lifetime = "2h"
clock_skew = "30s"
include_kid = false
allow_unencrypted = true
accept_unencrypted = true
[rotation.sig]
alg = "PS256"
bits = 3072
period = "2d"
prepublish = "2h"
[rotation.enc]
alg = "RSA-OAEP-256"
content = "A256GCM"
bits = 4096
period = "14d"
prepublish = "3h"
[cache]
entries = 5
[limits]
max_body = "32KiB"
max_header = "4KiB"
max_token = "8KiB"
max_connections = 10
max_connections_per_uid = 5
read_timeout = "5s"
idle_timeout = "30s"
)");
  const std::vector<std::string> want = {
      "daemon.socket",
      "daemon.socket_mode",
      "daemon.socket_group",
      "daemon.workers",
      "store.path",
      "store.master_key_file",
      "tokens.issuer",
      "tokens.accepted_issuers",
      "tokens.required_claims",
      "tokens.default_ttl",
      "tokens.max_lifetime",
      "tokens.clock_skew",
      "tokens.include_kid",
      "tokens.allow_unencrypted",
      "tokens.accept_unencrypted",
      "rotation.sig.alg",
      "rotation.sig.bits",
      "rotation.sig.period",
      "rotation.sig.prepublish",
      "rotation.enc.alg",
      "rotation.enc.content",
      "rotation.enc.bits",
      "rotation.enc.period",
      "rotation.enc.prepublish",
      "cache.entries",
      "limits.max_body",
      "limits.max_header",
      "limits.max_token",
      "limits.max_connections",
      "limits.max_connections_per_uid",
      "limits.read_timeout",
      "limits.idle_timeout",
  };
  BOOST_TEST(RestartOnlyChanges(running, fresh) == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::daemon
