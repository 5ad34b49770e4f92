// Known-answer tests against the published RFC examples in tests/vectors (README.md there).
#include <boost/test/unit_test.hpp>

#include "jose/base64url.h"
#include "jose/content_cipher.h"
#include "jose/jwe.h"
#include "jose/jws.h"
#include "test_util.h"

namespace instaccess::jose {
namespace {

using testing::FromHex;
using testing::LoadVector;
using testing::ToHex;

std::span<const std::uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string S(const nlohmann::json& v, const char* name) { return v.at(name).get<std::string>(); }

BOOST_AUTO_TEST_SUITE(vectors)

BOOST_AUTO_TEST_CASE(rfc7515_a2_rs256_signature_is_reproduced_exactly) {
  auto v = LoadVector("rfc7515-a2-rs256.json");
  auto key = RsaKey::FromJwk(v["jwk"], Alg::kRS256);
  BOOST_REQUIRE_MESSAGE(key.has_value(), key.status().ToString());
  auto sig = SignRaw(*key, S(v, "signing_input"));
  BOOST_REQUIRE(sig.has_value());
  BOOST_CHECK_EQUAL(Base64UrlEncode(*sig), S(v, "signature_b64u"));
  BOOST_CHECK_EQUAL(S(v, "signing_input") + "." + Base64UrlEncode(*sig), S(v, "compact"));
}

BOOST_AUTO_TEST_CASE(rfc7515_a2_compact_verifies_with_public_key_only) {
  auto v = LoadVector("rfc7515-a2-rs256.json");
  auto priv = RsaKey::FromJwk(v["jwk"], Alg::kRS256);
  BOOST_REQUIRE(priv.has_value());
  auto pub = RsaKey::FromJwk(priv->PublicJwk(), std::nullopt);
  BOOST_REQUIRE(pub.has_value());
  std::vector<RsaKey> keys{*pub};
  auto verified = VerifyJws(S(v, "compact"), keys);
  BOOST_REQUIRE_MESSAGE(verified.has_value(), verified.status().ToString());
  BOOST_CHECK_EQUAL(verified->payload, S(v, "payload_utf8"));  // with its CR LF line breaks
  BOOST_CHECK_EQUAL(verified->kid, pub->kid());
  // The same key bound to PS256 must not accept an RS256 signature.
  nlohmann::json jwk = priv->PublicJwk();
  jwk.erase("alg");
  jwk.erase("use");
  auto as_ps = RsaKey::FromJwk(jwk, Alg::kPS256);
  BOOST_REQUIRE(as_ps.has_value());
  std::vector<RsaKey> ps_keys{*as_ps};
  BOOST_CHECK(!VerifyJws(S(v, "compact"), ps_keys).has_value());
}

// RFC 7516 A.1 and A.2 share a shape: decrypt the given compact JWE, unwrap the given key to the
// given CEK, and redo only the deterministic content step.
void CheckJweVector(const char* file, ContentEnc enc) {
  auto v = LoadVector(file);
  auto key = RsaKey::FromJwk(v["jwk"], ParseAlg(S(v, "alg")).value());
  BOOST_REQUIRE_MESSAGE(key.has_value(), key.status().ToString());
  std::vector<RsaKey> keys{*key};

  JweTrace trace;
  auto jwe = DecryptJwe(S(v, "compact"), keys, &trace);
  BOOST_REQUIRE_MESSAGE(jwe.has_value(), jwe.status().ToString());
  BOOST_CHECK_EQUAL(jwe->plaintext, S(v, "plaintext"));
  BOOST_CHECK(jwe->header.enc == enc);
  BOOST_CHECK_EQUAL(trace.implicit_rejections, 0);

  Cek cek;
  UnwrapCek(*key, Base64UrlDecode(S(v, "encrypted_key_b64u")).value(), 32, &cek);
  std::string cek_str(reinterpret_cast<const char*>(cek.bytes.data()), cek.size);
  BOOST_CHECK_EQUAL(ToHex(cek_str), S(v, "cek_hex"));

  std::string iv = FromHex(S(v, "iv_hex"));
  auto sealed = SealContentWithIv(enc, cek.span(), iv, S(v, "aad_ascii"), S(v, "plaintext"));
  BOOST_REQUIRE(sealed.has_value());
  BOOST_CHECK_EQUAL(ToHex(sealed->ciphertext), S(v, "ciphertext_hex"));
  BOOST_CHECK_EQUAL(ToHex(sealed->tag), S(v, "tag_hex"));

  // Encryption end to end cannot match the RFC (RSA padding is randomised): round-trip instead.
  auto mine = EncryptJwe(*key, enc, nlohmann::json::object(), S(v, "plaintext"));
  BOOST_REQUIRE(mine.has_value());
  BOOST_CHECK(*mine != S(v, "compact"));
  auto back = DecryptJwe(*mine, keys);
  BOOST_REQUIRE(back.has_value());
  BOOST_CHECK_EQUAL(back->plaintext, S(v, "plaintext"));
}

BOOST_AUTO_TEST_CASE(rfc7516_a1_rsa_oaep_a256gcm) {
  CheckJweVector("rfc7516-a1-rsa-oaep-a256gcm.json", ContentEnc::kA256Gcm);
}

BOOST_AUTO_TEST_CASE(rfc7516_a2_rsa1_5_a128cbc_hs256) {
  CheckJweVector("rfc7516-a2-rsa1_5-a128cbc-hs256.json", ContentEnc::kA128CbcHs256);
}

BOOST_AUTO_TEST_CASE(rfc7518_b1_a128cbc_hs256) {
  auto v = LoadVector("rfc7518-b1-a128cbc-hs256.json");
  std::string k = FromHex(S(v, "K_hex"));
  auto sealed = SealContentWithIv(ContentEnc::kA128CbcHs256, Bytes(k), FromHex(S(v, "IV_hex")),
                                  FromHex(S(v, "A_hex")), FromHex(S(v, "P_hex")));
  BOOST_REQUIRE(sealed.has_value());
  BOOST_CHECK_EQUAL(ToHex(sealed->ciphertext), S(v, "E_hex"));
  BOOST_CHECK_EQUAL(ToHex(sealed->tag), S(v, "T_hex"));

  auto opened =
      OpenContent(ContentEnc::kA128CbcHs256, Bytes(k), FromHex(S(v, "A_hex")),
                  FromHex(S(v, "IV_hex")), FromHex(S(v, "E_hex")), FromHex(S(v, "T_hex")));
  BOOST_REQUIRE(opened.has_value());
  BOOST_CHECK_EQUAL(*opened, FromHex(S(v, "P_hex")));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::jose
