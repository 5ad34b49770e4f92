#include <boost/test/unit_test.hpp>
#include <chrono>

#include "peers/peer_config.h"
#include "peers/peer_follower.h"
#include "peers/refresh_policy.h"
#include "tests/peers/peer_keys.h"

namespace instaccess::peers {
namespace {

using namespace std::chrono_literals;
using jose::Alg;
using testkeys::Jwks;
using testkeys::PoolJwk;

BOOST_AUTO_TEST_SUITE(refresh_policy)

BOOST_AUTO_TEST_CASE(reads_max_age_and_refuses_what_is_unclear) {
  BOOST_TEST(ParseMaxAge("public, max-age=360").value() == 360s);
  BOOST_TEST(ParseMaxAge("Max-Age=\"60\"").value() == 60s);
  BOOST_TEST(ParseMaxAge("no-store").value() == 0s);
  BOOST_TEST(ParseMaxAge("public, no-cache").value() == 0s);
  BOOST_TEST(!ParseMaxAge("").has_value());
  BOOST_TEST(!ParseMaxAge("public").has_value());
  BOOST_TEST(!ParseMaxAge("max-age=").has_value());
  BOOST_TEST(!ParseMaxAge("max-age=-1").has_value());
  BOOST_TEST(!ParseMaxAge("max-age=1e3").has_value());
  BOOST_TEST(!ParseMaxAge("max-age=99999999999").has_value());
  BOOST_TEST(!ParseMaxAge("max-age=10, max-age=20").has_value());
  BOOST_TEST(ParseMaxAge("s-maxage=5, max-age=20").value() == 20s);
}

BOOST_AUTO_TEST_CASE(max_age_shortens_the_refresh_within_bounds) {
  BOOST_TEST(RefreshDelay(300s, std::nullopt, 0.0) == 300s);
  BOOST_TEST(RefreshDelay(300s, 60s, 0.0) == 60s);
  BOOST_TEST(RefreshDelay(300s, 3600s, 0.0) == 300s);  // never longer than configured
  BOOST_TEST(RefreshDelay(300s, 0s, 0.0) == kMinRefresh);
  // Jitter takes up to a tenth off, never under the floor.
  BOOST_TEST(RefreshDelay(300s, std::nullopt, 0.999) == 271s);
  BOOST_TEST(RefreshDelay(300s, std::nullopt, 0.5) == 285s);
  BOOST_TEST(RefreshDelay(300s, 0s, 0.999) == kMinRefresh);
}

BOOST_AUTO_TEST_CASE(failures_back_off_exponentially_up_to_the_refresh) {
  BOOST_TEST(RetryDelay(300s, 1, 0.0) == 5s);
  BOOST_TEST(RetryDelay(300s, 2, 0.0) == 10s);
  BOOST_TEST(RetryDelay(300s, 3, 0.0) == 20s);
  BOOST_TEST(RetryDelay(300s, 7, 0.0) == 300s);
  BOOST_TEST(RetryDelay(300s, 1000000, 0.0) == 300s);
  BOOST_TEST(RetryDelay(300s, 7, 0.999) == 271s);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(peer_config)

PeerConfig Valid() {
  PeerConfig c;
  c.name = "gateway";
  c.jwks_url = "https://gateway.example.edu/.well-known/jwks.json";
  return c;
}

BOOST_AUTO_TEST_CASE(accepts_https_and_local_http_over_a_socket) {
  BOOST_TEST(ValidatePeerConfig(Valid()).ok());
  PeerConfig local = Valid();
  local.jwks_url = "http://localhost/.well-known/jwks.json";
  local.unix_socket = "/run/instaccessd/instaccessd.sock";
  BOOST_TEST(ValidatePeerConfig(local).ok());
  PeerConfig sig = Valid();
  sig.use = PeerUse::kSig;
  sig.issuers = {"instructure:inst_access"};
  BOOST_TEST(ValidatePeerConfig(sig).ok());
}

BOOST_AUTO_TEST_CASE(refuses_every_other_url) {
  for (const char* url :
       {"http://gateway.example.edu/jwks.json", "ftp://gateway.example.edu/jwks.json",
        "file:///etc/passwd", "https://user:pw@gateway.example.edu/jwks.json", "gateway/jwks", "",
        "https://gateway.example.edu/a b"}) {
    PeerConfig c = Valid();
    c.jwks_url = url;
    BOOST_TEST(!ValidatePeerConfig(c).ok(), url);
  }
  // http to anything but localhost even with a socket; a socket with https; http without one.
  PeerConfig c = Valid();
  c.jwks_url = "http://gateway.example.edu/jwks.json";
  c.unix_socket = "/run/x.sock";
  BOOST_TEST(!ValidatePeerConfig(c).ok());
  c.jwks_url = "https://gateway.example.edu/jwks.json";
  BOOST_TEST(!ValidatePeerConfig(c).ok());
  c.jwks_url = "http://localhost/jwks.json";
  c.unix_socket.clear();
  BOOST_TEST(!ValidatePeerConfig(c).ok());
}

BOOST_AUTO_TEST_CASE(refuses_bad_names_issuers_and_refresh) {
  PeerConfig c = Valid();
  c.name = "a peer";
  BOOST_TEST(!ValidatePeerConfig(c).ok());
  c = Valid();
  c.use = PeerUse::kSig;
  BOOST_TEST(ValidatePeerConfig(c).message().find("issuers") != std::string::npos);
  c.issuers = {""};
  BOOST_TEST(!ValidatePeerConfig(c).ok());
  c = Valid();
  c.issuers = {"x"};  // enc keys vouch for nobody
  BOOST_TEST(!ValidatePeerConfig(c).ok());
  c = Valid();
  c.refresh = 1s;
  BOOST_TEST(!ValidatePeerConfig(c).ok());
  c.refresh = 48h;
  BOOST_TEST(!ValidatePeerConfig(c).ok());
  c = Valid();
  c.enc_algs = {Alg::kRS256};
  BOOST_TEST(!ValidatePeerConfig(c).ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(peer_state)

PeerConfig Gateway() { return peer_config::Valid(); }  // refresh 300s

Result<FetchReply> Body(std::string body, std::string etag = "\"v1\"",
                        std::optional<std::chrono::seconds> max_age = std::nullopt) {
  FetchReply r;
  r.body = std::move(body);
  r.etag = std::move(etag);
  r.max_age = max_age;
  return r;
}

BOOST_AUTO_TEST_CASE(a_good_set_replaces_the_held_one_and_schedules_the_refresh) {
  PeerState s = AdvanceState({}, Gateway(), Body(Jwks({PoolJwk(0, Alg::kRsaOaep)}), "\"v1\"", 60s),
                             1000, 0.0);
  BOOST_REQUIRE(s.keys != nullptr);
  BOOST_TEST(s.keys->keys.front().kid() == "kid-0");
  BOOST_TEST(s.etag == "\"v1\"");
  BOOST_TEST(s.fetched_at == 1000);
  BOOST_TEST(s.next_attempt == 1060);
  BOOST_TEST(s.consecutive_failures == 0);

  s = AdvanceState(s, Gateway(),
                   Body(Jwks({PoolJwk(1, Alg::kRsaOaep), PoolJwk(0, Alg::kRsaOaep)}), "\"v2\""),
                   1100, 0.0);
  BOOST_TEST(s.keys->keys.front().kid() == "kid-1");
  BOOST_TEST(s.etag == "\"v2\"");
  BOOST_TEST(s.next_attempt == 1400);
}

BOOST_AUTO_TEST_CASE(failures_keep_the_last_good_set_and_back_off) {
  PeerState good = AdvanceState({}, Gateway(), Body(Jwks({PoolJwk(0, Alg::kRsaOaep)})), 1000, 0.0);
  PeerState s = AdvanceState(good, Gateway(), Body("garbage"), 2000, 0.0);
  BOOST_TEST(s.keys == good.keys);  // the same set, untouched
  BOOST_TEST(s.etag == good.etag);
  BOOST_TEST(s.fetched_at == 1000);
  BOOST_TEST(s.consecutive_failures == 1);
  BOOST_TEST(s.last_failure_at == 2000);
  BOOST_TEST(s.next_attempt == 2005);
  BOOST_TEST(s.last_error.find("strict JSON") != std::string::npos, s.last_error);

  s = AdvanceState(s, Gateway(), Result<FetchReply>(Unavailable("connection refused")), 2005, 0.0);
  BOOST_TEST(s.consecutive_failures == 2);
  BOOST_TEST(s.next_attempt == 2015);
  BOOST_TEST(s.last_error == "connection refused");
  s = AdvanceState(s, Gateway(), Body(Jwks({})), 2015, 0.0);
  BOOST_TEST(s.consecutive_failures == 3);
  BOOST_TEST(s.keys == good.keys);

  // A 304 confirms the set held and ends the failures; the last error stays for status.
  FetchReply not_modified;
  not_modified.not_modified = true;
  s = AdvanceState(s, Gateway(), not_modified, 2100, 0.0);
  BOOST_TEST(s.keys == good.keys);
  BOOST_TEST(s.consecutive_failures == 0);
  BOOST_TEST(s.fetched_at == 2100);
  BOOST_TEST(s.next_attempt == 2400);
  BOOST_TEST(!s.last_error.empty());
}

BOOST_AUTO_TEST_CASE(a_304_without_a_held_set_is_a_failure) {
  FetchReply not_modified;
  not_modified.not_modified = true;
  PeerState s = AdvanceState({}, Gateway(), not_modified, 1000, 0.0);
  BOOST_TEST(s.keys == nullptr);
  BOOST_TEST(s.consecutive_failures == 1);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::peers
