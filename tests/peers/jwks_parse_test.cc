#include "peers/jwks_parse.h"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "jose/base64url.h"
#include "tests/peers/peer_keys.h"

namespace instaccess::peers {
namespace {

using jose::Alg;
using Json = nlohmann::json;
using testkeys::Jwks;
using testkeys::PoolJwk;

// The message of a refusal, which must be one.
std::string Refusal(std::string_view body, PeerUse use, const PeerJwksRules& rules = {}) {
  auto parsed = ParsePeerJwks(body, use, rules);
  BOOST_REQUIRE_MESSAGE(!parsed.has_value(), "accepted: " << body);
  BOOST_TEST((parsed.error().code() == Code::kInvalidArgument));
  return parsed.error().message();
}

BOOST_AUTO_TEST_SUITE(jwks_parse)

BOOST_AUTO_TEST_CASE(keeps_the_keys_of_its_use_in_document_order) {
  // What a daemon publishes: signing keys, then encryption keys, each newest first.
  const std::string body = Jwks({PoolJwk(0, Alg::kRS256), PoolJwk(1, Alg::kRS256),
                                 PoolJwk(2, Alg::kRsaOaep), PoolJwk(3, Alg::kRsaOaep)});
  auto enc = ParsePeerJwks(body, PeerUse::kEnc);
  BOOST_REQUIRE_MESSAGE(enc.has_value(), enc.status().message());
  BOOST_REQUIRE_EQUAL(enc->keys.size(), 2u);
  BOOST_TEST(enc->keys[0].kid() == "kid-2");
  BOOST_TEST(enc->keys[1].kid() == "kid-3");
  BOOST_TEST((enc->keys[0].alg() == Alg::kRsaOaep));
  BOOST_TEST(!enc->keys[0].has_private());

  auto sig = ParsePeerJwks(body, PeerUse::kSig);
  BOOST_REQUIRE_MESSAGE(sig.has_value(), sig.status().message());
  BOOST_REQUIRE_EQUAL(sig->keys.size(), 2u);
  BOOST_TEST(sig->keys[0].kid() == "kid-0");
  BOOST_TEST((sig->keys[1].alg() == Alg::kRS256));
}

BOOST_AUTO_TEST_CASE(a_key_without_use_counts_for_its_algs_use) {
  Json jwk = PoolJwk(0, Alg::kRsaOaep);
  jwk.erase("use");
  auto enc = ParsePeerJwks(Jwks({jwk}), PeerUse::kEnc);
  BOOST_REQUIRE_MESSAGE(enc.has_value(), enc.status().message());
  BOOST_TEST(enc->keys.size() == 1u);
  BOOST_TEST(Refusal(Jwks({jwk}), PeerUse::kSig).find("no usable key") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(refuses_what_is_not_a_strict_jwks) {
  const Json good = PoolJwk(0, Alg::kRsaOaep);
  for (const std::string& body :
       {std::string(""), std::string("garbage"), std::string("[]"), std::string("{}"),
        std::string(R"({"keys":{}})"), std::string(R"({"keys":[1]})"),
        std::string(R"({"keys":[], "keys":[]})"), Jwks({good}) + "x",
        std::string("{\"keys\":[],\"x\":\"\xff\"}")}) {
    Refusal(body, PeerUse::kEnc);
  }
  // A duplicate member inside a key, which a lenient parser would resolve one way or another.
  std::string dup = Jwks({good});
  dup.insert(dup.find("\"kty\""), "\"alg\":\"RSA1_5\",");
  Refusal(dup, PeerUse::kEnc);
}

BOOST_AUTO_TEST_CASE(refuses_a_set_with_no_usable_key) {
  BOOST_TEST(Refusal(R"({"keys":[]})", PeerUse::kEnc).find("no usable key") != std::string::npos);
  // Only keys of the other use: a gateway that publishes only signing keys.
  BOOST_TEST(Refusal(Jwks({PoolJwk(0, Alg::kRS256)}), PeerUse::kEnc).find("no usable key") !=
             std::string::npos);
  BOOST_TEST(Refusal(Jwks({PoolJwk(0, Alg::kRsaOaep)}), PeerUse::kSig).find("no usable key") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(refuses_an_alg_not_allowed_for_the_use) {
  // RSA1_5 only when configured; RSA-OAEP-256 not unless configured either.
  BOOST_TEST(Refusal(Jwks({PoolJwk(0, Alg::kRsa1_5)}), PeerUse::kEnc).find("not allowed") !=
             std::string::npos);
  Refusal(Jwks({PoolJwk(0, Alg::kRsaOaep256)}), PeerUse::kEnc);
  auto allowed =
      ParsePeerJwks(Jwks({PoolJwk(0, Alg::kRsa1_5)}), PeerUse::kEnc, PeerJwksRules{{Alg::kRsa1_5}});
  BOOST_TEST(allowed.has_value());
  // Signing: RS256 only.
  Refusal(Jwks({PoolJwk(0, Alg::kPS256)}), PeerUse::kSig);
  // One bad key spoils the whole set, even beside a good one.
  Refusal(Jwks({PoolJwk(0, Alg::kRsaOaep), PoolJwk(1, Alg::kRsa1_5)}), PeerUse::kEnc);
  // An alg we do not know at all, or none.
  Json unknown = PoolJwk(0, Alg::kRsaOaep);
  unknown["alg"] = "RSA-OAEP-384";
  Refusal(Jwks({unknown}), PeerUse::kEnc);
  Json none = PoolJwk(0, Alg::kRsaOaep);
  none.erase("alg");
  BOOST_TEST(Refusal(Jwks({none}), PeerUse::kEnc).find("no alg") != std::string::npos);
  // use and alg that disagree.
  Json mixed = PoolJwk(0, Alg::kRS256);
  mixed["use"] = "enc";
  Refusal(Jwks({mixed}), PeerUse::kEnc);
  Json bad_use = PoolJwk(0, Alg::kRsaOaep);
  bad_use["use"] = "wrap";
  Refusal(Jwks({bad_use}), PeerUse::kEnc);
}

BOOST_AUTO_TEST_CASE(refuses_private_parts_even_in_a_key_of_the_other_use) {
  auto priv = jose::RsaKey::Generate(2048, Alg::kRS256);
  BOOST_REQUIRE(priv.has_value());
  Json leaked = PoolJwk(0, Alg::kRS256);
  leaked["d"] = "AQAB";
  BOOST_TEST(
      Refusal(Jwks({leaked, PoolJwk(1, Alg::kRsaOaep)}), PeerUse::kEnc).find("private part") !=
      std::string::npos);
  for (const char* member : {"p", "q", "dp", "dq", "qi", "oth"}) {
    Json jwk = PoolJwk(1, Alg::kRsaOaep);
    jwk[member] = "AQAB";
    Refusal(Jwks({jwk}), PeerUse::kEnc);
  }
}

BOOST_AUTO_TEST_CASE(refuses_oversize_and_undersize_moduli) {
  Json big = PoolJwk(0, Alg::kRsaOaep);
  big["n"] = jose::Base64UrlEncode(std::string(513, '\xff'));  // 4104 bits
  BOOST_TEST(Refusal(Jwks({big}), PeerUse::kEnc).find("over 4096") != std::string::npos);
  Json huge = PoolJwk(0, Alg::kRsaOaep);
  huge["n"] = std::string(100000, 'A');
  Refusal(Jwks({huge}), PeerUse::kEnc);
  Json small = PoolJwk(0, Alg::kRsaOaep);
  small["n"] = jose::Base64UrlEncode(std::string(128, '\xc1'));  // 1024 bits
  Refusal(Jwks({small}), PeerUse::kEnc);
  Json odd_e = PoolJwk(0, Alg::kRsaOaep);
  odd_e["e"] = "Aw";  // 3
  Refusal(Jwks({odd_e}), PeerUse::kEnc);
}

BOOST_AUTO_TEST_CASE(refuses_duplicate_kids_and_moduli_and_bad_kids) {
  Json a = PoolJwk(0, Alg::kRsaOaep);
  Json b = PoolJwk(1, Alg::kRsaOaep);
  b["kid"] = a["kid"];
  BOOST_TEST(Refusal(Jwks({a, b}), PeerUse::kEnc).find("appears twice") != std::string::npos);
  Json same_modulus = PoolJwk(0, Alg::kRsaOaep);
  same_modulus["kid"] = "other";
  BOOST_TEST(Refusal(Jwks({a, same_modulus}), PeerUse::kEnc).find("two kids") != std::string::npos);
  for (const std::string& kid : {std::string("a/b"), std::string(129, 'k'), std::string("")}) {
    Json k = PoolJwk(0, Alg::kRsaOaep);
    k["kid"] = kid;
    Refusal(Jwks({k}), PeerUse::kEnc);
  }
  // Without a kid, the RFC 7638 thumbprint names the key.
  Json unnamed = PoolJwk(0, Alg::kRsaOaep);
  unnamed.erase("kid");
  auto parsed = ParsePeerJwks(Jwks({unnamed}), PeerUse::kEnc);
  BOOST_REQUIRE(parsed.has_value());
  BOOST_TEST(parsed->keys[0].kid() == testkeys::PoolKey(0, Alg::kRsaOaep).Thumbprint());
}

BOOST_AUTO_TEST_CASE(refuses_more_keys_than_a_rotating_set_holds) {
  std::vector<Json> keys;
  for (std::size_t i = 0; i <= kMaxPeerJwksKeys; ++i) keys.push_back(Json{{"kty", "EC"}});
  BOOST_TEST(Refusal(Jwks(keys), PeerUse::kEnc).find("more than") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::peers
