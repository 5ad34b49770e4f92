#include "jose/rsa_key.h"

#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/rsa.h>

#include <boost/test/unit_test.hpp>

#include "common/ssl_ptr.h"
#include "test_util.h"

namespace instaccess::jose {
namespace {

using testing::LoadVector;

// PEM of `pkey` in a given structure: "PrivateKeyInfo" (PKCS#8), "type-specific" (PKCS#1),
// "SubjectPublicKeyInfo".
std::string ToPem(EVP_PKEY* pkey, int selection, const char* structure) {
  OSSL_ENCODER_CTX* ctx = OSSL_ENCODER_CTX_new_for_pkey(pkey, selection, "PEM", structure, nullptr);
  BOOST_REQUIRE(ctx != nullptr);
  unsigned char* data = nullptr;
  std::size_t len = 0;
  BOOST_REQUIRE_EQUAL(OSSL_ENCODER_to_data(ctx, &data, &len), 1);
  OSSL_ENCODER_CTX_free(ctx);
  std::string out(reinterpret_cast<char*>(data), len);
  OPENSSL_free(data);
  return out;
}

EvpPkeyPtr RawRsa(int bits, unsigned long e) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  BOOST_REQUIRE(ctx);
  BOOST_REQUIRE_EQUAL(EVP_PKEY_keygen_init(ctx.get()), 1);
  BOOST_REQUIRE_EQUAL(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits), 1);
  BignumPtr bn(BN_new());
  BN_set_word(bn.get(), e);
  BOOST_REQUIRE_EQUAL(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx.get(), bn.get()), 1);
  EVP_PKEY* raw = nullptr;
  BOOST_REQUIRE_EQUAL(EVP_PKEY_keygen(ctx.get(), &raw), 1);
  return EvpPkeyPtr(raw);
}

// One generated key for the whole suite: generation is the slow part.
const RsaKey& SharedKey() {
  static const RsaKey key = *RsaKey::Generate(2048, Alg::kRsaOaep);
  return key;
}

BOOST_AUTO_TEST_SUITE(rsa_key)

BOOST_AUTO_TEST_CASE(alg_names_are_an_exact_whitelist) {
  for (Alg a : {Alg::kRS256, Alg::kPS256, Alg::kRsaOaep, Alg::kRsaOaep256, Alg::kRsa1_5}) {
    auto parsed = ParseAlg(AlgName(a));
    BOOST_REQUIRE(parsed.has_value());
    BOOST_CHECK(*parsed == a);
  }
  for (const char* bad : {"none", "HS256", "rs256", "RS384", "ES256", "RSA-OAEP ", "", "dir"}) {
    BOOST_CHECK_MESSAGE(!ParseAlg(bad).has_value(), bad);
  }
  BOOST_CHECK(UseOf(Alg::kRS256) == Use::kSig);
  BOOST_CHECK(UseOf(Alg::kPS256) == Use::kSig);
  BOOST_CHECK(UseOf(Alg::kRsa1_5) == Use::kEnc);
  BOOST_CHECK_EQUAL(UseName(Use::kEnc), "enc");
}

BOOST_AUTO_TEST_CASE(rfc7638_thumbprint_matches_vector) {
  auto v = LoadVector("rfc7638-3-1-thumbprint.json");
  nlohmann::json jwk = v["jwk"];
  jwk.erase("kid");
  auto key = RsaKey::FromJwk(jwk, std::nullopt);  // alg RS256 comes from the JWK
  BOOST_REQUIRE_MESSAGE(key.has_value(), key.status().ToString());
  BOOST_CHECK_EQUAL(key->Thumbprint(), v["thumbprint_b64u"].get<std::string>());
  BOOST_CHECK_EQUAL(key->kid(), v["thumbprint_b64u"].get<std::string>());  // default kid
  BOOST_CHECK(key->alg() == Alg::kRS256);
  BOOST_CHECK(!key->has_private());
}

BOOST_AUTO_TEST_CASE(jwk_kid_is_kept) {
  auto v = LoadVector("rfc7638-3-1-thumbprint.json");
  auto key = RsaKey::FromJwk(v["jwk"], Alg::kRS256);
  BOOST_REQUIRE(key.has_value());
  BOOST_CHECK_EQUAL(key->kid(), v["jwk"]["kid"].get<std::string>());
  BOOST_CHECK_EQUAL(key->WithKid("other").kid(), "other");
  BOOST_CHECK_EQUAL(key->WithKid("").kid(), v["thumbprint_b64u"].get<std::string>());
}

BOOST_AUTO_TEST_CASE(private_jwk_round_trips_through_every_form) {
  auto v = LoadVector("rfc7515-a2-rs256.json");
  auto key = RsaKey::FromJwk(v["jwk"], Alg::kRS256);
  BOOST_REQUIRE_MESSAGE(key.has_value(), key.status().ToString());
  BOOST_CHECK(key->has_private());
  BOOST_CHECK_EQUAL(key->bits(), 2048);

  nlohmann::json pub = key->PublicJwk();
  for (const char* m : {"d", "p", "q", "dp", "dq", "qi"}) BOOST_CHECK(!pub.contains(m));
  BOOST_CHECK_EQUAL(pub["n"], v["jwk"]["n"]);
  BOOST_CHECK_EQUAL(pub["e"], "AQAB");
  BOOST_CHECK_EQUAL(pub["alg"], "RS256");
  BOOST_CHECK_EQUAL(pub["use"], "sig");
  BOOST_CHECK_EQUAL(pub["kid"], key->kid());

  auto from_pub = RsaKey::FromJwk(pub, std::nullopt);
  BOOST_REQUIRE(from_pub.has_value());
  BOOST_CHECK(from_pub->SamePublicKey(*key));
  BOOST_CHECK(!from_pub->has_private());

  auto der = key->PrivatePkcs8Der();
  BOOST_REQUIRE(der.has_value());
  auto from_der = RsaKey::FromPrivateDer(der->reveal_secret(), Alg::kRS256);
  BOOST_REQUIRE(from_der.has_value());
  BOOST_CHECK(from_der->has_private());
  BOOST_CHECK(from_der->SamePublicKey(*key));
  BOOST_CHECK_EQUAL(from_der->kid(), key->kid());

  auto from_spki = RsaKey::FromPublicDer(key->PublicSpkiDer(), Alg::kRS256);
  BOOST_REQUIRE(from_spki.has_value());
  BOOST_CHECK(from_spki->SamePublicKey(*key));
  BOOST_CHECK(!from_spki->PrivatePkcs8Der().has_value());

  auto from_pem = RsaKey::FromPem(key->PublicPem(), Alg::kRS256);
  BOOST_REQUIRE(from_pem.has_value());
  BOOST_CHECK(from_pem->SamePublicKey(*key));
}

BOOST_AUTO_TEST_CASE(reads_pkcs1_pkcs8_and_spki_pem) {
  const RsaKey& key = SharedKey();
  struct Form {
    int selection;
    const char* structure;
    const char* label;
    bool priv;
  };
  for (Form f :
       {Form{EVP_PKEY_KEYPAIR, "PrivateKeyInfo", "-----BEGIN PRIVATE KEY-----", true},
        Form{EVP_PKEY_KEYPAIR, "type-specific", "-----BEGIN RSA PRIVATE KEY-----", true},
        Form{EVP_PKEY_PUBLIC_KEY, "SubjectPublicKeyInfo", "-----BEGIN PUBLIC KEY-----", false},
        Form{EVP_PKEY_PUBLIC_KEY, "type-specific", "-----BEGIN RSA PUBLIC KEY-----", false}}) {
    std::string pem = ToPem(key.pkey(), f.selection, f.structure);
    BOOST_REQUIRE_MESSAGE(pem.find(f.label) == 0, pem.substr(0, 40));
    auto read = RsaKey::FromPem(pem, Alg::kRsaOaep);
    BOOST_REQUIRE_MESSAGE(read.has_value(), f.label << ": " << read.status().ToString());
    BOOST_CHECK_EQUAL(read->has_private(), f.priv);
    BOOST_CHECK(read->SamePublicKey(key));
    BOOST_CHECK_EQUAL(read->kid(), key.kid());
  }
}

BOOST_AUTO_TEST_CASE(generated_key_has_thumbprint_kid_and_its_alg) {
  const RsaKey& key = SharedKey();
  BOOST_CHECK_EQUAL(key.bits(), 2048);
  BOOST_CHECK(key.has_private());
  BOOST_CHECK(key.alg() == Alg::kRsaOaep);
  BOOST_CHECK(key.use() == Use::kEnc);
  BOOST_CHECK_EQUAL(key.kid(), key.Thumbprint());
  BOOST_CHECK_EQUAL(key.kid().size(), 43u);  // 32 bytes, base64url
  BOOST_CHECK_EQUAL(key.PublicJwk()["use"], "enc");
  BOOST_CHECK(!RsaKey::Generate(1024, Alg::kRS256).has_value());
  BOOST_CHECK(!RsaKey::Generate(2047, Alg::kRS256).has_value());
}

BOOST_AUTO_TEST_CASE(rejects_small_keys_and_odd_exponents) {
  EvpPkeyPtr small = RawRsa(1024, 65537);
  BOOST_CHECK(!RsaKey::FromPem(ToPem(small.get(), EVP_PKEY_KEYPAIR, "PrivateKeyInfo"), Alg::kRS256)
                   .has_value());
  BOOST_CHECK(
      !RsaKey::FromPem(ToPem(small.get(), EVP_PKEY_PUBLIC_KEY, "SubjectPublicKeyInfo"), Alg::kRS256)
           .has_value());
  EvpPkeyPtr e3 = RawRsa(2048, 3);
  auto r =
      RsaKey::FromPem(ToPem(e3.get(), EVP_PKEY_PUBLIC_KEY, "SubjectPublicKeyInfo"), Alg::kRS256);
  BOOST_REQUIRE(!r.has_value());
  BOOST_CHECK(r.error().code() == Code::kInvalidArgument);
  BOOST_CHECK(r.error().message().find("65537") != std::string::npos);

  // The same refusals through JWK.
  auto v = LoadVector("rfc7638-3-1-thumbprint.json");
  nlohmann::json jwk = v["jwk"];
  jwk["e"] = "Aw";  // 3
  BOOST_CHECK(!RsaKey::FromJwk(jwk, Alg::kRS256).has_value());
  jwk = v["jwk"];
  jwk["n"] = jwk["n"].get<std::string>().substr(0, 171);  // 1024-bit modulus
  BOOST_CHECK(!RsaKey::FromJwk(jwk, Alg::kRS256).has_value());
}

BOOST_AUTO_TEST_CASE(jwk_alg_and_use_must_agree) {
  auto v = LoadVector("rfc7638-3-1-thumbprint.json");
  nlohmann::json jwk = v["jwk"];  // alg RS256
  BOOST_CHECK(!RsaKey::FromJwk(jwk, Alg::kRsaOaep).has_value());
  jwk.erase("alg");
  BOOST_CHECK(!RsaKey::FromJwk(jwk, std::nullopt).has_value());
  BOOST_CHECK(RsaKey::FromJwk(jwk, Alg::kPS256).has_value());
  jwk["use"] = "enc";
  BOOST_CHECK(!RsaKey::FromJwk(jwk, Alg::kPS256).has_value());
  BOOST_CHECK(RsaKey::FromJwk(jwk, Alg::kRsaOaep256).has_value());
  jwk["alg"] = "HS256";
  BOOST_CHECK(!RsaKey::FromJwk(jwk, std::nullopt).has_value());
  jwk = v["jwk"];
  jwk["kty"] = "EC";
  BOOST_CHECK(!RsaKey::FromJwk(jwk, Alg::kRS256).has_value());
  jwk = v["jwk"];
  jwk["n"] = "not base64url!";
  BOOST_CHECK(!RsaKey::FromJwk(jwk, Alg::kRS256).has_value());
  BOOST_CHECK(!RsaKey::FromJwk(nlohmann::json::array(), Alg::kRS256).has_value());
}

BOOST_AUTO_TEST_CASE(rejects_private_jwk_whose_parts_do_not_match) {
  auto a = LoadVector("rfc7515-a2-rs256.json")["jwk"];
  auto b = LoadVector("rfc7516-a2-rsa1_5-a128cbc-hs256.json")["jwk"];
  BOOST_REQUIRE(RsaKey::FromJwk(a, Alg::kRS256).has_value());
  nlohmann::json mixed = a;
  mixed["d"] = b["d"];
  BOOST_CHECK(!RsaKey::FromJwk(mixed, Alg::kRS256).has_value());
  nlohmann::json partial = a;
  partial.erase("qi");
  BOOST_CHECK(!RsaKey::FromJwk(partial, Alg::kRS256).has_value());
}

BOOST_AUTO_TEST_CASE(rejects_encrypted_and_foreign_pem) {
  BOOST_CHECK(!RsaKey::FromPem("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END "
                               "ENCRYPTED PRIVATE KEY-----\n",
                               Alg::kRS256)
                   .has_value());
  BOOST_CHECK(!RsaKey::FromPem("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                               Alg::kRS256)
                   .has_value());
  BOOST_CHECK(!RsaKey::FromPem("garbage", Alg::kRS256).has_value());
  // Legacy OpenSSL encryption headers inside an otherwise readable PKCS#1 block.
  std::string pkcs1 = ToPem(SharedKey().pkey(), EVP_PKEY_KEYPAIR, "type-specific");
  BOOST_REQUIRE(RsaKey::FromPem(pkcs1, Alg::kRsaOaep).has_value());
  std::string legacy = pkcs1;
  legacy.insert(
      legacy.find('\n') + 1,
      "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n");
  auto r = RsaKey::FromPem(legacy, Alg::kRsaOaep);
  BOOST_REQUIRE(!r.has_value());
  BOOST_CHECK(r.error().message().find("encrypted") != std::string::npos);
  // A public PEM block under a private label.
  std::string pub = SharedKey().PublicPem();
  std::string relabelled = pub;
  for (auto [from, to] : {std::pair<std::string, std::string>{"BEGIN PUBLIC", "BEGIN PRIVATE"},
                          {"END PUBLIC", "END PRIVATE"}}) {
    relabelled.replace(relabelled.find(from), from.size(), to);
  }
  BOOST_CHECK(!RsaKey::FromPem(relabelled, Alg::kRS256).has_value());
  BOOST_CHECK(
      !RsaKey::FromPublicDer(std::vector<std::uint8_t>{0x30, 0x00}, Alg::kRS256).has_value());
}

BOOST_AUTO_TEST_CASE(public_der_decodes_alternate_with_refusals_on_one_thread) {
  // Each thread reuses one decoder for SubjectPublicKeyInfo: a refusal must not spoil it, and
  // every answer must be the key just given, not one decoded before.
  const RsaKey a = SharedKey();
  const RsaKey b = *RsaKey::Generate(2048, Alg::kRS256);
  std::vector<std::uint8_t> truncated = a.PublicSpkiDer();
  truncated.resize(truncated.size() / 2);
  for (int round = 0; round < 3; ++round) {
    auto ka = RsaKey::FromPublicDer(a.PublicSpkiDer(), Alg::kRsaOaep);
    BOOST_REQUIRE(ka.has_value());
    BOOST_CHECK(ka->SamePublicKey(a));
    BOOST_CHECK(!RsaKey::FromPublicDer(truncated, Alg::kRsaOaep).has_value());
    auto kb = RsaKey::FromPublicDer(b.PublicSpkiDer(), Alg::kRS256);
    BOOST_REQUIRE(kb.has_value());
    BOOST_CHECK(kb->SamePublicKey(b));
    BOOST_CHECK(!kb->SamePublicKey(a));
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::jose
