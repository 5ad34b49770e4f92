// [[peers]] in the configuration: read strictly, checked whole, named with the line.
#include <boost/test/unit_test.hpp>
#include <string>

#include "daemon/config.h"
#include "daemon/reload.h"

namespace instaccess::daemon {
namespace {

using namespace std::chrono_literals;

constexpr const char* kGateway = R"([[peers]]
name = "gateway"
jwks_url = "https://gateway.example.edu/.well-known/jwks.json"
ca_file = "/etc/instaccessd/gateway-ca.pem"
use = "enc"
refresh = "2m"
)";

constexpr const char* kIssuer = R"([[peers]]
name = "canvas"
jwks_url = "http://localhost/.well-known/jwks.json"
unix_socket = "/run/canvas/instaccessd.sock"
use = "sig"
issuers = ["instructure:inst_access"]
)";

std::string ErrorOf(const std::string& toml) {
  auto c = ParseConfig(toml, "test.toml", true);
  BOOST_REQUIRE_MESSAGE(!c.has_value(), "expected an error for: " << toml);
  return c.error().message();
}

BOOST_AUTO_TEST_SUITE(peers_config)

BOOST_AUTO_TEST_CASE(reads_each_peer_with_its_defaults) {
  auto c = ParseConfig(std::string(kGateway) + kIssuer, "test.toml", true);
  BOOST_REQUIRE_MESSAGE(c.has_value(), c.status().message());
  BOOST_REQUIRE_EQUAL(c->peers.size(), 2u);
  const peers::PeerConfig& g = c->peers[0];
  BOOST_TEST(g.name == "gateway");
  BOOST_TEST(g.jwks_url == "https://gateway.example.edu/.well-known/jwks.json");
  BOOST_TEST(g.ca_file == "/etc/instaccessd/gateway-ca.pem");
  BOOST_TEST((g.use == peers::PeerUse::kEnc));
  BOOST_TEST(g.refresh == 120s);
  BOOST_TEST((g.enc_algs == std::vector<jose::Alg>{jose::Alg::kRsaOaep}));
  const peers::PeerConfig& i = c->peers[1];
  BOOST_TEST((i.use == peers::PeerUse::kSig));
  BOOST_TEST(i.unix_socket == "/run/canvas/instaccessd.sock");
  BOOST_TEST(i.issuers == (std::vector<std::string>{"instructure:inst_access"}));
  BOOST_TEST(i.refresh == 300s);

  BOOST_TEST(ParseConfig("", "test.toml", true)->peers.empty());
  // Following a gateway means making no encryption key of our own; an issuer changes nothing.
  BOOST_TEST(SchedulePolicyFrom(*c).enc_from_peer);
  auto only_issuer = ParseConfig(kIssuer, "test.toml", true);
  BOOST_REQUIRE(only_issuer.has_value());
  BOOST_TEST(!SchedulePolicyFrom(*only_issuer).enc_from_peer);
}

BOOST_AUTO_TEST_CASE(a_gateway_key_may_carry_the_configured_enc_alg) {
  auto c =
      ParseConfig(std::string("[rotation.enc]\nalg = \"RSA1_5\"\n") + kGateway, "test.toml", true);
  BOOST_REQUIRE_MESSAGE(c.has_value(), c.status().message());
  BOOST_TEST(
      (c->peers[0].enc_algs == std::vector<jose::Alg>{jose::Alg::kRsaOaep, jose::Alg::kRsa1_5}));
}

BOOST_AUTO_TEST_CASE(refuses_bad_peers_naming_the_entry_and_line) {
  std::string e = ErrorOf(std::string(kGateway) + "colour = \"blue\"\n");
  BOOST_TEST(e.find("test.toml:7: unknown key 'peers[0].colour'") != std::string::npos, e);
  e = ErrorOf(std::string(kGateway) + "[[peers]]\nname = \"x\"\njwks_url = \"http://x.edu/j\"\n");
  BOOST_TEST(e.find("test.toml:7: peers[1]: jwks_url must be https") != std::string::npos, e);
  e = ErrorOf(std::string(kIssuer).substr(0, std::string(kIssuer).find("issuers")));
  BOOST_TEST(e.find("peers[0]: a peer with use = \"sig\" needs issuers") != std::string::npos, e);
  e = ErrorOf(std::string(kGateway) + kGateway);
  BOOST_TEST(e.find("peers[1]: a second peer named 'gateway'") != std::string::npos, e);
  std::string second_enc = kGateway;
  second_enc.replace(second_enc.find("\"gateway\""), 9, "\"other\"");
  e = ErrorOf(std::string(kGateway) + second_enc);
  BOOST_TEST(e.find("a second peer with use = \"enc\"") != std::string::npos, e);
  e = ErrorOf("[[peers]]\nname = \"g\"\njwks_url = \"https://g.edu/j\"\nuse = \"both\"\n");
  BOOST_TEST(e.find("'peers[0].use'") != std::string::npos, e);
  e = ErrorOf("[[peers]]\nname = \"g\"\njwks_url = \"https://g.edu/j\"\nrefresh = \"1s\"\n");
  BOOST_TEST(e.find("refresh must be between 5s and 24h") != std::string::npos, e);
  e = ErrorOf("[[peers]]\nname = \"g\"\njwks_url = \"https://g.edu/j\"\nca_file = \"ca.pem\"\n");
  BOOST_TEST(e.find("ca_file must be an absolute path") != std::string::npos, e);
  e = ErrorOf("peers = [\"gateway\"]\n");
  BOOST_TEST(e.find("'peers' must be an array of tables") != std::string::npos, e);
  e = ErrorOf("[peers]\nname = \"g\"\n");
  BOOST_TEST(e.find("'peers' must be an array of tables") != std::string::npos, e);
}

BOOST_AUTO_TEST_CASE(a_changed_peer_needs_a_restart) {
  auto before = ParseConfig(kGateway, "test.toml", true);
  std::string changed = kGateway;
  changed.replace(changed.find("\"2m\""), 4, "\"3m\"");
  auto after = ParseConfig(changed, "test.toml", true);
  BOOST_REQUIRE(before.has_value());
  BOOST_REQUIRE(after.has_value());
  BOOST_TEST(RestartOnlyChanges(*before, *after) == (std::vector<std::string>{"peers"}));
  BOOST_TEST(RestartOnlyChanges(*before, *before).empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::daemon
