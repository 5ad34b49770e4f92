// EME-OAEP encoding (jose/oaep.h): PKCS #1 v2.1's own known answers, and OpenSSL's OAEP decoder
// (an implementation that is not ours) recovering what we encode, for both JOSE hashes.
#include "jose/oaep.h"

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "common/ssl_ptr.h"
#include "jose/jwe.h"
#include "jose/openssl_algs.h"
#include "tests/jose/test_util.h"

namespace instaccess::jose {
namespace {

using testing::FromHex;
using testing::Keys;
using testing::ToHex;
using Bytes = std::vector<std::uint8_t>;

Bytes BytesOf(const std::string& s) { return Bytes(s.begin(), s.end()); }
std::string Hex(const Bytes& b) { return ToHex(std::string(b.begin(), b.end())); }

// A public key from its modulus (hex) and e = 65537.
EvpPkeyPtr PublicKey(const std::string& n_hex) {
  BIGNUM* n = nullptr;
  BOOST_REQUIRE(BN_hex2bn(&n, n_hex.c_str()) > 0);
  BignumPtr n_owned(n), e(BN_new());
  BOOST_REQUIRE(BN_set_word(e.get(), 65537) == 1);
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  BOOST_REQUIRE(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n_owned.get()) == 1);
  BOOST_REQUIRE(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) == 1);
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* pkey = nullptr;
  BOOST_REQUIRE(EVP_PKEY_fromdata_init(ctx.get()) == 1);
  BOOST_REQUIRE(EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) == 1);
  return EvpPkeyPtr(pkey);
}

// The RSA operation alone (RSAEP, no padding) on a k-byte block.
Bytes RawEncrypt(EVP_PKEY* pkey, const Bytes& block) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  BOOST_REQUIRE(EVP_PKEY_encrypt_init(ctx.get()) == 1);
  BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING) == 1);
  std::size_t len = block.size();
  Bytes out(len);
  BOOST_REQUIRE(EVP_PKEY_encrypt(ctx.get(), out.data(), &len, block.data(), block.size()) == 1);
  out.resize(len);
  return out;
}

// OpenSSL's RSA-OAEP decryption with `md` for OAEP and MGF1; nullopt when it refuses.
std::optional<Bytes> OpensslOaepDecrypt(EVP_PKEY* pkey, const EVP_MD* md, const Bytes& in) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  BOOST_REQUIRE(EVP_PKEY_decrypt_init(ctx.get()) == 1);
  BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) == 1);
  BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md) == 1);
  BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) == 1);
  Bytes out(in.size());
  std::size_t len = out.size();
  if (EVP_PKEY_decrypt(ctx.get(), out.data(), &len, in.data(), in.size()) != 1) return std::nullopt;
  out.resize(len);
  return out;
}

BOOST_AUTO_TEST_SUITE(oaep)

// PKCS #1 v2.1 test vectors (oaep-vect.txt), Example 1: a 1024-bit key, SHA-1, empty label.
// The encoding is checked through the ciphertext, which the vector gives for the seed given.
BOOST_AUTO_TEST_CASE(pkcs1_v2_1_example_1_known_answers) {
  const std::string n =
      "a8b3b284af8eb50b387034a860f146c4919f318763cd6c5598c8ae4811a1e0abc4c7e0b082d693a5e7fced675cf4"
      "668512772c0cbc64a742c6c630f533c8cc72f62ae833c40bf25842e984bb78bdbf97c0107d55bdb662f5c4e0fab9"
      "845cb5148ef7392dd3aaff93ae1e6b667bb3d4247616d4f5ba10d4cfd226de88d39f16fb";
  const EvpPkeyPtr key = PublicKey(n);
  struct Example {
    const char* name;
    std::string message, seed, encryption;
  };
  const Example examples[] = {
      {"1.1", "6628194e12073db03ba94cda9ef9532397d50dba79b987004afefe34",
       "18b776ea21069d69776a33e96bad48e1dda0a5ef",
       "354fe67b4a126d5d35fe36c777791a3f7ba13def484e2d3908aff722fad468fb21696de95d0be911c2d3174f8af"
       "cc201035f7b6d8e69402de5451618c21a535fa9d7bfc5b8dd9fc243f8cf927db31322d6e881eaa91a996170e657a0"
       "5a266426d98c88003f8477c1227094a0d9fa1e8c4024309ce1ecccb5210035d47ac72e8a"},
      {"1.2", "750c4047f547e8e41411856523298ac9bae245efaf1397fbe56f9dd5",
       "0cc742ce4a9b7f32f951bcb251efd925fe4fe35f",
       "640db1acc58e0568fe5407e5f9b701dff8c3c91e716c536fc7fcec6cb5b71c1165988d4a279e1577d730fc7a2993"
       "2e3f00c81515236d8d8e31017a7a09df4352d904cdeb79aa583adcc31ea698a4c05283daba9089be5491f67c1a4e"
       "e48dc74bbbe6643aef846679b4cb395a352d5ed115912df696ffe0702932946d71492b44"},
  };
  for (const Example& ex : examples) {
    BOOST_TEST_CONTEXT("example " << ex.name) {
      Bytes em(128);
      BOOST_REQUIRE(internal::OaepEncode(BytesOf(FromHex(ex.message)), BytesOf(FromHex(ex.seed)),
                                         internal::Sha1(), em));
      BOOST_TEST(em[0] == 0);
      BOOST_TEST(Hex(RawEncrypt(key.get(), em)) == ex.encryption);
    }
  }
}

BOOST_AUTO_TEST_CASE(openssl_decodes_every_length_for_both_hashes) {
  EVP_PKEY* pkey = Keys().oaep.pkey();  // 2048 bits: k = 256
  const std::size_t k = 256;
  for (const EVP_MD* md : {internal::Sha1(), internal::Sha256()}) {
    const auto h = static_cast<std::size_t>(EVP_MD_get_size(md));
    for (std::size_t len : {std::size_t{0}, std::size_t{1}, std::size_t{16}, std::size_t{32},
                            std::size_t{64}, k - 2 * h - 2}) {
      BOOST_TEST_CONTEXT(EVP_MD_get0_name(md) << ", " << len << "-byte message") {
        Bytes message(len), seed(h), em(k);
        for (std::size_t i = 0; i < len; ++i) message[i] = static_cast<std::uint8_t>(i * 7 + 1);
        for (std::size_t i = 0; i < h; ++i) seed[i] = static_cast<std::uint8_t>(0xA5 ^ i);
        BOOST_REQUIRE(internal::OaepEncode(message, seed, md, em));
        const auto back = OpensslOaepDecrypt(pkey, md, RawEncrypt(pkey, em));
        BOOST_REQUIRE(back.has_value());
        BOOST_TEST(*back == message);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(sizes_that_do_not_fit_are_refused) {
  const EVP_MD* md = internal::Sha256();
  Bytes em(256), seed(32), message(256 - 2 * 32 - 1);  // one octet over the limit
  BOOST_TEST(!internal::OaepEncode(message, seed, md, em));
  message.pop_back();
  BOOST_TEST(internal::OaepEncode(message, seed, md, em));
  Bytes short_seed(20);
  BOOST_TEST(!internal::OaepEncode(message, short_seed, md, em));
  BOOST_TEST(!internal::OaepEncode(message, seed, nullptr, em));
  Bytes tiny(2 * 32 + 1);  // no room even for an empty message
  BOOST_TEST(!internal::OaepEncode({}, seed, md, tiny));
}

// The whole key wrap: WrapCek's output opens with OpenSSL's OAEP, and two wraps of one CEK differ
// (a fresh seed each time).
BOOST_AUTO_TEST_CASE(wrapped_ceks_open_with_openssl_and_never_repeat) {
  const Bytes cek = BytesOf(FromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));
  struct Case {
    const RsaKey& key;
    const EVP_MD* md;
  };
  for (const Case& c : {Case{Keys().oaep, internal::Sha1()}, Case{Keys().oaep256, internal::Sha256()}}) {
    BOOST_TEST_CONTEXT(AlgName(c.key.alg())) {
      auto first = WrapCek(c.key, cek);
      auto second = WrapCek(c.key, cek);
      BOOST_REQUIRE(first.has_value());
      BOOST_REQUIRE(second.has_value());
      BOOST_TEST(*first != *second);
      const auto back = OpensslOaepDecrypt(c.key.pkey(), c.md, BytesOf(*first));
      BOOST_REQUIRE(back.has_value());
      BOOST_TEST(*back == cek);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::jose
