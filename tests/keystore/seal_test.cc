#include "keystore/seal.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

namespace instaccess::keystore {
namespace {

std::vector<std::uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

BOOST_AUTO_TEST_SUITE(keystore_seal)

BOOST_AUTO_TEST_CASE(round_trips_with_same_key_and_aad) {
  SecretBytes key = SecretBytes::Random(32);
  std::vector<std::uint8_t> plain = Bytes("private key bytes");
  std::string aad = SealAad("kid1", Purpose::kSig, "RS256");
  BOOST_TEST(aad == "kid1|sig|RS256");
  Result<Sealed> s = Seal(key, plain, aad);
  BOOST_REQUIRE(s.has_value());
  BOOST_TEST(s->nonce.size() == 24u);
  BOOST_TEST(s->ciphertext.size() == plain.size() + 16);
  Result<SecretBytes> back = Unseal(key, s->ciphertext, s->nonce, aad);
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(back->reveal_secret_as_string() == "private key bytes");
}

BOOST_AUTO_TEST_CASE(fresh_nonce_every_time) {
  SecretBytes key = SecretBytes::Random(32);
  Result<Sealed> a = Seal(key, Bytes("x"), "a");
  Result<Sealed> b = Seal(key, Bytes("x"), "a");
  BOOST_TEST(a->nonce != b->nonce);
  BOOST_TEST(a->ciphertext != b->ciphertext);
}

BOOST_AUTO_TEST_CASE(refuses_other_key_other_aad_flipped_byte) {
  SecretBytes key = SecretBytes::Random(32);
  std::string aad = SealAad("kid1", Purpose::kEnc, "RSA-OAEP");
  Result<Sealed> s = Seal(key, Bytes("secret"), aad);
  BOOST_REQUIRE(s.has_value());
  BOOST_TEST(!Unseal(SecretBytes::Random(32), s->ciphertext, s->nonce, aad).has_value());
  BOOST_TEST(!Unseal(key, s->ciphertext, s->nonce, SealAad("kid2", Purpose::kEnc, "RSA-OAEP"))
                  .has_value());
  BOOST_TEST(!Unseal(key, s->ciphertext, s->nonce, SealAad("kid1", Purpose::kSig, "RSA-OAEP"))
                  .has_value());
  BOOST_TEST(
      !Unseal(key, s->ciphertext, s->nonce, SealAad("kid1", Purpose::kEnc, "RSA1_5")).has_value());
  std::vector<std::uint8_t> flipped = s->ciphertext;
  flipped[2] ^= 1;
  Result<SecretBytes> r = Unseal(key, flipped, s->nonce, aad);
  BOOST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().code() == Code::kDataLoss);
  BOOST_TEST(!Unseal(key, std::vector<std::uint8_t>(5), s->nonce, aad).has_value());
}

BOOST_AUTO_TEST_CASE(check_value_tells_keys_apart) {
  SecretBytes a = SecretBytes::Random(32);
  SecretBytes b = SecretBytes::Random(32);
  std::vector<std::uint8_t> check = MasterKeyCheckValue(a);
  BOOST_TEST(check.size() == 32u);
  BOOST_TEST(MatchesMasterKeyCheck(a, check));
  BOOST_TEST(!MatchesMasterKeyCheck(b, check));
  BOOST_TEST(!MatchesMasterKeyCheck(a, std::vector<std::uint8_t>(31)));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::keystore
