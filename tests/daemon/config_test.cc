#include "daemon/config.h"

#include <boost/test/unit_test.hpp>

namespace instaccess::daemon {
namespace {

std::string ErrorOf(std::string_view toml) {
  auto c = ParseConfig(toml, "test.toml", true);
  BOOST_REQUIRE_MESSAGE(!c.has_value(), "expected an error for: " << toml);
  return c.error().message();
}

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(empty_file_gives_embedded_defaults) {
  auto c = ParseConfig("", "test.toml", true);
  BOOST_REQUIRE(c.has_value());
  BOOST_TEST(c->daemon.socket == "var/instaccessd.sock");
  BOOST_TEST(c->store.path == "var/keys.db");
  BOOST_TEST(c->daemon.socket_mode == 0660u);
  BOOST_TEST(c->daemon.workers == 0);
  BOOST_TEST(c->tokens.issuer == "instructure:inst_access");
  BOOST_TEST(c->tokens.required_claims == (std::vector<std::string>{"sub", "acct"}));
  BOOST_TEST(c->tokens.accepted_issuers == (std::vector<std::string>{"instructure:inst_access"}));
  BOOST_TEST(c->tokens.default_ttl.count() == 3600);
  BOOST_TEST(c->tokens.max_lifetime.count() == 3600);
  BOOST_TEST(c->tokens.clock_skew.count() == 60);
  BOOST_TEST(c->tokens.include_kid);
  BOOST_TEST(!c->tokens.allow_unencrypted);
  BOOST_TEST(c->rotation_sig.alg == "RS256");
  BOOST_TEST(c->rotation_sig.period.count() == 24 * 3600);
  BOOST_TEST(c->rotation_enc.alg == "RSA-OAEP");
  BOOST_TEST(c->rotation_enc.content == "A128CBC-HS256");
  BOOST_TEST(c->rotation_enc.period.count() == 7 * 24 * 3600);
  BOOST_TEST(c->cache.entries == 100000u);
  BOOST_TEST(c->limits.max_body == 65536u);
  BOOST_TEST(c->limits.max_header == 8192u);
}

BOOST_AUTO_TEST_CASE(system_defaults_use_system_paths) {
  Config c = DefaultConfig(false);
  BOOST_TEST(c.daemon.socket == "/run/instaccessd/instaccessd.sock");
  BOOST_TEST(c.store.path == "/var/lib/instaccessd/keys.db");
  BOOST_TEST(!c.embedded);
}

BOOST_AUTO_TEST_CASE(overrides_every_kind_of_value) {
  auto c = ParseConfig(R"(
[daemon]
socket = "/tmp/x.sock"
socket_mode = "0600"
workers = 4
log_level = "debug"
[store]
master_key_file = "/etc/instaccessd/master.key"
[tokens]
accepted_issuers = ["a", "b"]
default_ttl = "15m"
max_lifetime = "2h"
clock_skew = "90s"
include_kid = false
[rotation.sig]
alg = "PS256"
bits = 3072
period = "1d"
prepublish = "1h30m"
[rotation.enc]
alg = "RSA1_5"
content = "A256GCM"
[cache]
entries = 10
[access]
issue = ["canvas", "group:www-data"]
read = ["*"]
[limits]
max_body = "32KiB"
max_connections = 50
max_connections_per_uid = 8
idle_timeout = "5s"
)",
                       "test.toml", true);
  BOOST_REQUIRE_MESSAGE(c.has_value(), c.status().message());
  BOOST_TEST(c->daemon.socket == "/tmp/x.sock");
  BOOST_TEST(c->daemon.socket_mode == 0600u);
  BOOST_TEST(c->daemon.workers == 4);
  BOOST_TEST(c->daemon.log_level == "debug");
  BOOST_TEST(c->store.master_key_file == "/etc/instaccessd/master.key");
  BOOST_TEST(c->tokens.accepted_issuers == (std::vector<std::string>{"a", "b"}));
  BOOST_TEST(c->tokens.default_ttl.count() == 900);
  BOOST_TEST(c->tokens.max_lifetime.count() == 7200);
  BOOST_TEST(c->tokens.clock_skew.count() == 90);
  BOOST_TEST(!c->tokens.include_kid);
  BOOST_TEST(c->rotation_sig.alg == "PS256");
  BOOST_TEST(c->rotation_sig.bits == 3072);
  BOOST_TEST(c->rotation_sig.period.count() == 86400);
  BOOST_TEST(c->rotation_sig.prepublish.count() == 5400);
  BOOST_TEST(c->rotation_enc.alg == "RSA1_5");
  BOOST_TEST(c->rotation_enc.content == "A256GCM");
  BOOST_TEST(c->cache.entries == 10u);
  BOOST_TEST(c->access.issue == (std::vector<std::string>{"canvas", "group:www-data"}));
  BOOST_TEST(c->access.read == (std::vector<std::string>{"*"}));
  BOOST_TEST(c->limits.max_body == 32768u);
  BOOST_TEST(c->limits.max_connections == 50u);
  BOOST_TEST(c->limits.max_connections_per_uid == 8u);
  BOOST_TEST(c->limits.idle_timeout.count() == 5);
}

BOOST_AUTO_TEST_CASE(rotation_can_be_switched_off_per_purpose) {
  auto c =
      ParseConfig("[rotation.enc]\nperiod = \"off\"\nprepublish = \"2h\"\n", "test.toml", true);
  BOOST_REQUIRE_MESSAGE(c.has_value(), c.status().ToString());
  BOOST_TEST(c->rotation_enc.period.count() == keystore::kRotationOff);
  BOOST_TEST(c->rotation_sig.period.count() == 24 * 3600);
  keystore::SchedulePolicy p = SchedulePolicyFrom(*c);
  BOOST_TEST(p.enc.period == keystore::kRotationOff);
  BOOST_TEST(p.Validate().ok());
  BOOST_TEST(ErrorOf("[rotation.sig]\nperiod = \"of\"\n").find("'rotation.sig.period'") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(store_backend_postgresql_needs_a_url) {
  auto c = ParseConfig(
      "[store]\nbackend = \"postgresql\"\nurl = \"postgresql:///k?host=/run/postgresql\"\n"
      "password_file = \"/etc/instaccessd/pg-password\"\npoll = \"5s\"\n",
      "test.toml", true);
  BOOST_REQUIRE(c.has_value());
  BOOST_TEST(c->store.backend == "postgresql");
  BOOST_TEST(c->store.url == "postgresql:///k?host=/run/postgresql");
  BOOST_TEST(c->store.password_file == "/etc/instaccessd/pg-password");
  BOOST_TEST(c->store.poll.count() == 5);
  BOOST_TEST(ParseConfig("", "test.toml", true)->store.backend == "sqlite");
  BOOST_TEST(ParseConfig("", "test.toml", true)->store.poll.count() == 30);
  BOOST_TEST(ErrorOf("[store]\nbackend = \"postgresql\"\n").find("store.url is required") !=
             std::string::npos);
  BOOST_TEST(ErrorOf("[store]\nbackend = \"mysql\"\n").find("store.backend") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_key_is_named_with_its_line) {
  BOOST_TEST(ErrorOf("[daemon]\nworkers = 1\nsokcet = \"x\"\n") ==
             "test.toml:3: unknown key 'daemon.sokcet'");
  BOOST_TEST(ErrorOf("\n[deamon]\n") == "test.toml:2: unknown key 'deamon'");
  BOOST_TEST(ErrorOf("[rotation.sig]\nalgo = \"RS256\"\n") ==
             "test.toml:2: unknown key 'rotation.sig.algo'");
}

BOOST_AUTO_TEST_CASE(wrong_type_is_named_with_its_line) {
  BOOST_TEST(ErrorOf("[daemon]\nworkers = \"4\"\n") ==
             "test.toml:2: 'daemon.workers' must be an integer, not a string");
  BOOST_TEST(ErrorOf("[tokens]\ninclude_kid = 1\n") ==
             "test.toml:2: 'tokens.include_kid' must be a boolean, not an integer");
  BOOST_TEST(ErrorOf("[access]\nissue = [\"a\", 2]\n") ==
             "test.toml:2: 'access.issue' must be an array of strings, but holds an integer");
  BOOST_TEST(ErrorOf("daemon = 3\n") == "test.toml:1: 'daemon' must be a table, not an integer");
}

BOOST_AUTO_TEST_CASE(bad_values_are_named_with_their_line) {
  BOOST_TEST(ErrorOf("[tokens]\nclock_skew = \"60\"\n")
                 .starts_with("test.toml:2: 'tokens.clock_skew' must be a duration"));
  BOOST_TEST(ErrorOf("[rotation.sig]\nalg = \"HS256\"\n") ==
             "test.toml:2: 'rotation.sig.alg' must be one of \"RS256\", \"PS256\", not \"HS256\"");
  BOOST_TEST(ErrorOf("[rotation.enc]\nbits = 1024\n") ==
             "test.toml:2: 'rotation.enc.bits' must be between 2048 and 4096");
  BOOST_TEST(ErrorOf("[rotation.enc]\nbits = 2049\n") ==
             "test.toml:2: 'rotation.enc.bits' must be 2048, 3072 or 4096");
  BOOST_TEST(ErrorOf("[daemon]\nsocket_mode = \"0999\"\n")
                 .starts_with("test.toml:2: 'daemon.socket_mode' must be an octal file mode"));
  BOOST_TEST(ErrorOf("[limits]\nmax_body = \"64kb\"\n")
                 .starts_with("test.toml:2: 'limits.max_body' must be a size"));
  BOOST_TEST(ErrorOf("[access]\nadmin = [\"bad name!\"]\n")
                 .starts_with("test.toml:2: 'access.admin' entries must be"));
  BOOST_TEST(ErrorOf("[rotation.sig]\nperiod = \"1h\"\nprepublish = \"2h\"\n") ==
             "test.toml:3: 'rotation.sig.prepublish' must be shorter than period");
  // Found by tests/fuzz/config_fuzzer: a period alone under the default prepublish (1h) loaded,
  // and the daemon then refused the schedule at start without naming the line.
  BOOST_TEST(ErrorOf("[rotation.sig]\nperiod = \"30m\"\n") ==
             "test.toml:2: 'rotation.sig.period' must be longer than prepublish (default 1h)");
  BOOST_TEST(ErrorOf("[tokens]\ndefault_ttl = \"2h\"\n") ==
             "test.toml:2: 'tokens.default_ttl' must not exceed tokens.max_lifetime");
}

BOOST_AUTO_TEST_CASE(default_ttl_not_set_follows_a_shorter_max_lifetime) {
  auto c = ParseConfig("[tokens]\nmax_lifetime = \"30m\"\n", "test.toml", true);
  BOOST_REQUIRE_MESSAGE(c.has_value(), c.status().message());
  BOOST_TEST(c->tokens.max_lifetime.count() == 1800);
  BOOST_TEST(c->tokens.default_ttl.count() == 1800);
  // A longer max_lifetime leaves the default alone.
  c = ParseConfig("[tokens]\nmax_lifetime = \"2h\"\n", "test.toml", true);
  BOOST_REQUIRE_MESSAGE(c.has_value(), c.status().message());
  BOOST_TEST(c->tokens.default_ttl.count() == 3600);
  // Set, it is kept when it fits.
  c = ParseConfig("[tokens]\nmax_lifetime = \"30m\"\ndefault_ttl = \"10m\"\n", "test.toml", true);
  BOOST_REQUIRE_MESSAGE(c.has_value(), c.status().message());
  BOOST_TEST(c->tokens.default_ttl.count() == 600);
  c = ParseConfig("[tokens]\nmax_lifetime = \"30m\"\ndefault_ttl = \"30m\"\n", "test.toml", true);
  BOOST_REQUIRE_MESSAGE(c.has_value(), c.status().message());
  BOOST_TEST(c->tokens.default_ttl.count() == 1800);
}

BOOST_AUTO_TEST_CASE(default_ttl_set_above_max_lifetime_stays_an_error) {
  BOOST_TEST(ErrorOf("[tokens]\nmax_lifetime = \"30m\"\ndefault_ttl = \"1h\"\n") ==
             "test.toml:3: 'tokens.default_ttl' must not exceed tokens.max_lifetime");
  BOOST_TEST(ErrorOf("[tokens]\ndefault_ttl = \"45m\"\nmax_lifetime = \"30m\"\n") ==
             "test.toml:2: 'tokens.default_ttl' must not exceed tokens.max_lifetime");
}

BOOST_AUTO_TEST_CASE(accepted_issuers_not_set_follows_issuer) {
  auto c = ParseConfig("[tokens]\nissuer = \"example:svc\"\n", "test.toml", true);
  BOOST_REQUIRE_MESSAGE(c.has_value(), c.status().message());
  BOOST_TEST(c->tokens.issuer == "example:svc");
  BOOST_TEST(c->tokens.accepted_issuers == (std::vector<std::string>{"example:svc"}));
  // What the request layer gets: the daemon accepts the tokens it issues.
  api::ServiceOptions o = ServiceOptionsFrom(*c);
  BOOST_TEST(o.tokens.accepted_issuers == (std::vector<std::string>{"example:svc"}));

  // Set, the list is taken as written, even without the issuer (a daemon that only issues).
  c = ParseConfig("[tokens]\nissuer = \"example:svc\"\naccepted_issuers = [\"other\"]\n",
                  "test.toml", true);
  BOOST_REQUIRE_MESSAGE(c.has_value(), c.status().message());
  BOOST_TEST(c->tokens.accepted_issuers == (std::vector<std::string>{"other"}));
  c = ParseConfig("[tokens]\naccepted_issuers = [\"a\", \"instructure:inst_access\"]\n",
                  "test.toml", true);
  BOOST_REQUIRE_MESSAGE(c.has_value(), c.status().message());
  BOOST_TEST(c->tokens.accepted_issuers ==
             (std::vector<std::string>{"a", "instructure:inst_access"}));

  // Neither set: Canvas's issuer.
  c = ParseConfig("", "test.toml", false);
  BOOST_REQUIRE(c.has_value());
  BOOST_TEST(c->tokens.accepted_issuers == (std::vector<std::string>{"instructure:inst_access"}));
  BOOST_TEST(DefaultConfig(true).tokens.accepted_issuers ==
             (std::vector<std::string>{"instructure:inst_access"}));
}

BOOST_AUTO_TEST_CASE(bad_toml_reports_line_and_reason) {
  std::string e = ErrorOf("[daemon]\nworkers = = 3\n");
  BOOST_TEST(e.starts_with("test.toml:2: TOML syntax error: "), e);
  e = ErrorOf("[daemon]\nworkers = 1\n[daemon]\n");
  BOOST_TEST(e.starts_with("test.toml:3: TOML syntax error: "), e);
}

BOOST_AUTO_TEST_CASE(missing_file_is_a_clear_error) {
  auto c = LoadConfigFile("/nonexistent/instaccessd.toml", false);
  BOOST_REQUIRE(!c.has_value());
  BOOST_TEST(c.error().message() == "cannot read config file /nonexistent/instaccessd.toml");
}

BOOST_AUTO_TEST_CASE(durations_and_sizes_parse_strictly) {
  BOOST_TEST(ParseDuration("90s")->count() == 90);
  BOOST_TEST(ParseDuration("7d")->count() == 7 * 86400);
  BOOST_TEST(ParseDuration("1h30m")->count() == 5400);
  for (const char* bad : {"", "s", "10", "-5s", "5x", "0s", "1h ", "99999999999d"}) {
    BOOST_TEST(!ParseDuration(bad).has_value(), bad);
  }
  BOOST_TEST(*ParseSize("64KiB") == 65536u);
  BOOST_TEST(*ParseSize("1MiB") == 1048576u);
  BOOST_TEST(*ParseSize("100") == 100u);
  for (const char* bad : {"", "KiB", "0", "64kb", "1TiB", "-1", "2048GiB", "17179869184GiB"}) {
    BOOST_TEST(!ParseSize(bad).has_value(), bad);  // the last wrapped to 0 before
  }
  BOOST_TEST(*ParseSize("1024GiB") == std::size_t{1} << 40);
}

BOOST_AUTO_TEST_CASE(request_limits_stay_in_their_ranges) {
  BOOST_TEST(ErrorOf("[limits]\nmax_header = \"2MiB\"\n")
                 .starts_with("test.toml:2: 'limits.max_header' must be between 1024 and 1048576"));
  BOOST_TEST(ErrorOf("[limits]\nmax_body = 100\n")
                 .starts_with("test.toml:2: 'limits.max_body' must be between 1024 and 67108864"));
  BOOST_TEST(ErrorOf("[limits]\nmax_token = \"4GiB\"\n")
                 .starts_with("test.toml:2: 'limits.max_token' must be between"));
  // The token core refuses longer tokens, so the limit may not promise more.
  BOOST_TEST(ErrorOf("[limits]\nmax_token = \"17KiB\"\n")
                 .starts_with("test.toml:2: 'limits.max_token' must be between"));
  auto at_max = ParseConfig("[limits]\nmax_body = \"64MiB\"\nmax_header = \"1MiB\"\n", "t", true);
  BOOST_REQUIRE(at_max.has_value());
  BOOST_TEST(at_max->limits.max_header == std::size_t{1} << 20);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::daemon
