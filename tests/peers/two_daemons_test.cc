// Two real daemons on one host, each following the other over its Unix socket: an issuer that
// encrypts to the gateway's keys and a gateway that verifies with the issuer's, both rotating
// on short schedules of their own. Every token the issuer makes must decrypt at the gateway.
// No sleeps: each wait is a deadline loop on a condition.
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tests/support/running_daemon.h"

namespace instaccess::testing {
namespace {

using Json = nlohmann::json;

constexpr const char* kIssuerIss = "issuer-a";

// Short rotations: a key is active for 20 s and published 10 s before its use, while each side
// refetches the other at least every 5 s (the shortest refresh).
constexpr const char* kFastRotation =
    "[rotation.sig]\nperiod = \"20s\"\nprepublish = \"10s\"\n"
    "[rotation.enc]\nperiod = \"20s\"\nprepublish = \"10s\"\n";

std::string GatewayToml(const TempDir& shared, const std::string& bound_issuer) {
  return "[daemon]\nsocket = \"" + (shared / "gateway.sock") + "\"\n" +
         "[tokens]\naccepted_issuers = [\"" + kIssuerIss + "\"]\n" + kFastRotation +
         "[[peers]]\nname = \"issuer\"\n"
         "jwks_url = \"http://localhost/.well-known/jwks.json\"\n"
         "unix_socket = \"" +
         (shared / "issuer.sock") +
         "\"\n"
         "use = \"sig\"\n"
         "issuers = [\"" +
         bound_issuer + "\"]\nrefresh = \"5s\"\n";
}

std::string IssuerToml(const TempDir& shared) {
  return "[daemon]\nsocket = \"" + (shared / "issuer.sock") + "\"\n" + "[tokens]\nissuer = \"" +
         kIssuerIss + "\"\n" + kFastRotation +
         "[[peers]]\nname = \"gateway\"\n"
         "jwks_url = \"http://localhost/.well-known/jwks.json\"\n"
         "unix_socket = \"" +
         (shared / "gateway.sock") + "\"\nuse = \"enc\"\nrefresh = \"5s\"\n";
}

// The kid of the active key of `purpose`, per /api/v1/keys.
std::string ActiveKid(const RunningDaemon& d, const std::string& purpose) {
  const Json keys = d.GetJson("/api/v1/keys");
  for (const Json& k : keys.at("keys")) {
    if (k.at("purpose") == purpose && k.at("state") == "active") {
      return k.at("kid").get<std::string>();
    }
  }
  return "";
}

BOOST_AUTO_TEST_SUITE(peers_two_daemons)

BOOST_AUTO_TEST_CASE(every_token_decrypts_at_the_gateway_through_rotations_on_both_sides) {
  TempDir shared;
  // The gateway first: the issuer makes no encryption key of its own and needs the gateway's.
  RunningDaemon gateway(GatewayToml(shared, kIssuerIss), shared / "gateway.sock");
  RunningDaemon issuer(IssuerToml(shared), shared / "issuer.sock");
  BOOST_TEST(ActiveKid(issuer, "enc") == ActiveKid(gateway, "enc"));

  // The gateway learns the issuer's signing keys on its next retry.
  const std::string first = issuer.Issue();
  BOOST_REQUIRE_MESSAGE(
      Eventually([&] { return gateway.Decrypt(first).status == 200; }, kStartTimeout),
      "the gateway never verified the issuer's token:\n"
          << gateway.process->Stderr());

  // Through at least two rotations of each side's keys, every token decrypts: one token, then
  // a wait of up to 300 ms for either of the issuer's keys to change, and again.
  std::set<std::string> enc_kids, sig_kids;
  int tokens = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while ((enc_kids.size() < 3 || sig_kids.size() < 3) && std::chrono::steady_clock::now() < until) {
    const std::string enc = ActiveKid(issuer, "enc"), sig = ActiveKid(issuer, "sig");
    enc_kids.insert(enc);
    sig_kids.insert(sig);
    const HttpReply r = gateway.Decrypt(issuer.Issue());
    BOOST_TEST_REQUIRE(r.status == 200, "token " << tokens << ": " << r.body << "\nissuer:\n"
                                                 << issuer.process->Stderr() << "\ngateway:\n"
                                                 << gateway.process->Stderr());
    ++tokens;
    (void)Eventually(
        [&] { return ActiveKid(issuer, "enc") != enc || ActiveKid(issuer, "sig") != sig; },
        std::chrono::milliseconds(300));
  }
  BOOST_TEST(enc_kids.size() >= 3u);
  BOOST_TEST(sig_kids.size() >= 3u);
  BOOST_TEST(tokens >= 50);

  // The issuer never made an encryption key: every one it holds is the gateway's.
  const Json keys = issuer.GetJson("/api/v1/keys");
  for (const Json& k : keys.at("keys")) {
    if (k.at("purpose") == "enc") BOOST_TEST(k.at("origin") == "peer", k.dump());
  }
}

BOOST_AUTO_TEST_CASE(the_issuer_restarts_while_the_gateway_is_down_and_keeps_issuing) {
  TempDir shared;
  RunningDaemon gateway(GatewayToml(shared, kIssuerIss), shared / "gateway.sock");
  RunningDaemon issuer(IssuerToml(shared), shared / "issuer.sock");
  const std::string enc = ActiveKid(issuer, "enc");

  gateway.Stop();
  issuer.Stop();
  issuer.Start();
  BOOST_TEST(ActiveKid(issuer, "enc") == enc);  // the stored key of the gateway, kept
  const std::string token = issuer.Issue();

  gateway.Start();
  BOOST_TEST_REQUIRE(
      Eventually([&] { return gateway.Decrypt(token).status == 200; }, kStartTimeout),
      gateway.process->Stderr());
}

BOOST_AUTO_TEST_CASE(the_gateway_refuses_a_peer_token_for_an_issuer_it_is_not_bound_to) {
  TempDir shared;
  // The gateway accepts issuer-a, but binds the peer's keys to another issuer.
  RunningDaemon gateway(GatewayToml(shared, "someone-else"), shared / "gateway.sock");
  RunningDaemon issuer(IssuerToml(shared), shared / "issuer.sock");
  const std::string kid = ActiveKid(issuer, "sig");
  BOOST_REQUIRE(
      Eventually([&] { return gateway.Get("/api/v1/keys/" + kid).status == 200; }, kStartTimeout));
  const HttpReply r = gateway.Decrypt(issuer.Issue());
  BOOST_TEST(r.status == 401, r.body);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing
