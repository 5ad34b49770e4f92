// EME-OAEP (jose/oaep.h): PKCS #1 v2.1's own known answers; OpenSSL's OAEP (an implementation that
// is not ours) decoding what we encode and encoding what we decode, for both JOSE hashes; and the
// decoder refusing each field of a block that is wrong.
#include "jose/oaep.h"

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <optional>
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

// OpenSSL's RSA-OAEP encryption of `message` under `pkey`'s public half.
Bytes OpensslOaepEncrypt(EVP_PKEY* pkey, const EVP_MD* md, const Bytes& message) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  BOOST_REQUIRE(EVP_PKEY_encrypt_init(ctx.get()) == 1);
  BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) == 1);
  BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md) == 1);
  BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) == 1);
  std::size_t len = static_cast<std::size_t>(EVP_PKEY_get_size(pkey));
  Bytes out(len);
  BOOST_REQUIRE(EVP_PKEY_encrypt(ctx.get(), out.data(), &len, message.data(), message.size()) == 1);
  out.resize(len);
  return out;
}

// The RSA private operation alone (RSADP, no padding): the encoded block inside a ciphertext.
Bytes RawDecrypt(EVP_PKEY* pkey, const Bytes& ciphertext) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  BOOST_REQUIRE(EVP_PKEY_decrypt_init(ctx.get()) == 1);
  BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING) == 1);
  std::size_t len = ciphertext.size();
  Bytes out(len);
  BOOST_REQUIRE(
      EVP_PKEY_decrypt(ctx.get(), out.data(), &len, ciphertext.data(), ciphertext.size()) == 1);
  out.resize(len);
  return out;
}

// out ^= MGF1(seed), written apart from oaep.cc so the tests can mask a block by hand.
void XorMgf1(const EVP_MD* md, const Bytes& seed, std::uint8_t* out, std::size_t n) {
  const auto h = static_cast<std::size_t>(EVP_MD_get_size(md));
  for (std::uint32_t counter = 0; counter * h < n; ++counter) {
    Bytes input = seed;
    for (int shift : {24, 16, 8, 0}) input.push_back(static_cast<std::uint8_t>(counter >> shift));
    Bytes digest(h);
    BOOST_REQUIRE(EVP_Digest(input.data(), input.size(), digest.data(), nullptr, md, nullptr) == 1);
    for (std::size_t i = 0; i < h && counter * h + i < n; ++i) out[counter * h + i] ^= digest[i];
  }
}

// 0x00 || maskedSeed || maskedDB for a DB given whole (so a test can break any field of it).
Bytes MaskBlock(const EVP_MD* md, const Bytes& seed, const Bytes& db) {
  Bytes em(1);
  Bytes masked_db = db;
  XorMgf1(md, seed, masked_db.data(), masked_db.size());
  Bytes masked_seed = seed;
  XorMgf1(md, masked_db, masked_seed.data(), masked_seed.size());
  em.insert(em.end(), masked_seed.begin(), masked_seed.end());
  em.insert(em.end(), masked_db.begin(), masked_db.end());
  return em;
}

// DB = Hash("") || zeros || 0x01 || message, for a k-byte block.
Bytes GoodDb(const EVP_MD* md, std::size_t k, const Bytes& message) {
  const auto h = static_cast<std::size_t>(EVP_MD_get_size(md));
  Bytes db(k - h - 1, 0);
  BOOST_REQUIRE(EVP_Digest(nullptr, 0, db.data(), nullptr, md, nullptr) == 1);
  db[db.size() - message.size() - 1] = 0x01;
  std::copy(message.begin(), message.end(), db.end() - static_cast<std::ptrdiff_t>(message.size()));
  return db;
}

// Whether OaepDecodeMask accepts `em` for a `size`-byte message, and the message it leaves.
std::optional<Bytes> Decode(Bytes em, std::size_t size, const EVP_MD* md) {
  const std::uint32_t mask = internal::OaepDecodeMask(em, size, md);
  BOOST_REQUIRE(mask == 0 || mask == 0xFFFFFFFFu);
  if (mask == 0) return std::nullopt;
  return Bytes(em.end() - static_cast<std::ptrdiff_t>(size), em.end());
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
       "cc201035f7b6d8e69402de5451618c21a535fa9d7bfc5b8dd9fc243f8cf927db31322d6e881eaa91a996170e657"
       "a0"
       "5a266426d98c88003f8477c1227094a0d9fa1e8c4024309ce1ecccb5210035d47ac72e8a"},
      {"1.2", "750c4047f547e8e41411856523298ac9bae245efaf1397fbe56f9dd5",
       "0cc742ce4a9b7f32f951bcb251efd925fe4fe35f",
       "640db1acc58e0568fe5407e5f9b701dff8c3c91e716c536fc7fcec6cb5b71c1165988d4a279e1577d730fc7a299"
       "3"
       "2e3f00c81515236d8d8e31017a7a09df4352d904cdeb79aa583adcc31ea698a4c05283daba9089be5491f67c1a4"
       "e"
       "e48dc74bbbe6643aef846679b4cb395a352d5ed115912df696ffe0702932946d71492b44"},
  };
  for (const Example& ex : examples) {
    BOOST_TEST_CONTEXT("example " << ex.name) {
      Bytes em(128);
      BOOST_REQUIRE(internal::OaepEncode(BytesOf(FromHex(ex.message)), BytesOf(FromHex(ex.seed)),
                                         internal::Sha1(), em));
      BOOST_TEST(em[0] == 0);
      BOOST_TEST(Hex(RawEncrypt(key.get(), em)) == ex.encryption);
      // And the block, whose every byte the known ciphertext pins down, decodes to the message.
      const auto back = Decode(em, FromHex(ex.message).size(), internal::Sha1());
      BOOST_REQUIRE(back.has_value());
      BOOST_TEST(Hex(*back) == ex.message);
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

BOOST_AUTO_TEST_CASE(decodes_what_openssl_encodes_for_both_hashes) {
  EVP_PKEY* pkey = Keys().oaep.pkey();  // 2048 bits: k = 256
  for (const EVP_MD* md : {internal::Sha1(), internal::Sha256()}) {
    const auto h = static_cast<std::size_t>(EVP_MD_get_size(md));
    for (std::size_t len : {std::size_t{0}, std::size_t{1}, std::size_t{16}, std::size_t{32},
                            std::size_t{64}, 256 - 2 * h - 2}) {
      BOOST_TEST_CONTEXT(EVP_MD_get0_name(md) << ", " << len << "-byte message") {
        Bytes message(len);
        for (std::size_t i = 0; i < len; ++i) message[i] = static_cast<std::uint8_t>(i * 5 + 3);
        const Bytes em = RawDecrypt(pkey, OpensslOaepEncrypt(pkey, md, message));
        const auto back = Decode(em, len, md);
        BOOST_REQUIRE(back.has_value());
        BOOST_TEST(*back == message);
        // The length is part of what is checked: one octet more or less is refused.
        if (len > 0) BOOST_TEST(!Decode(em, len - 1, md).has_value());
        if (len < 256 - 2 * h - 2) BOOST_TEST(!Decode(em, len + 1, md).has_value());
        // So is the hash.
        BOOST_TEST(!Decode(em, len, md == internal::Sha1() ? internal::Sha256() : internal::Sha1())
                        .has_value());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(decoding_refuses_each_wrong_field) {
  const EVP_MD* md = internal::Sha256();
  const std::size_t k = 256, h = 32, size = 32;
  Bytes seed(h), message(size);
  for (std::size_t i = 0; i < h; ++i) seed[i] = static_cast<std::uint8_t>(0x3C + i);
  for (std::size_t i = 0; i < size; ++i) message[i] = static_cast<std::uint8_t>(0xC3 - i);
  const Bytes good_db = GoodDb(md, k, message);
  const std::size_t separator = good_db.size() - size - 1;
  // The hand-masked good block decodes: the cases below differ from it in one field only.
  BOOST_REQUIRE(Decode(MaskBlock(md, seed, good_db), size, md) == message);

  struct Case {
    const char* what;
    std::size_t at;  // index into DB
    std::uint8_t value;
  };
  const Case cases[] = {
      {"first byte of lHash", 0, static_cast<std::uint8_t>(good_db[0] ^ 0x01)},
      {"last byte of lHash", h - 1, static_cast<std::uint8_t>(good_db[h - 1] ^ 0x80)},
      {"first byte of PS", h, 0x01},
      {"last byte of PS", separator - 1, 0x01},
      {"separator 0x00", separator, 0x00},
      {"separator 0x02", separator, 0x02},
      {"separator 0x81", separator, 0x81},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.what) {
      Bytes db = good_db;
      db[c.at] = c.value;
      BOOST_TEST(!Decode(MaskBlock(md, seed, db), size, md).has_value());
    }
  }
  // The leading octet Y must be zero (the check Manger's attack targets).
  for (int y : {0x01, 0x80, 0xFF}) {
    BOOST_TEST_CONTEXT("Y = " << y) {
      Bytes em = MaskBlock(md, seed, good_db);
      em[0] = static_cast<std::uint8_t>(y);
      BOOST_TEST(!Decode(em, size, md).has_value());
    }
  }
  // A flipped bit anywhere in the masked seed or DB spoils the unmasking.
  for (std::size_t at : {std::size_t{1}, 1 + h - 1, 1 + h, k / 2, k - 1}) {
    BOOST_TEST_CONTEXT("bit flipped at " << at) {
      Bytes em = MaskBlock(md, seed, good_db);
      em[at] ^= 0x10;
      BOOST_TEST(!Decode(em, size, md).has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(decoding_refuses_sizes_that_do_not_fit) {
  const EVP_MD* md = internal::Sha256();
  Bytes k256(256), tiny(2 * 32 + 1), empty;
  BOOST_TEST(internal::OaepDecodeMask(k256, 32, nullptr) == 0u);
  BOOST_TEST(internal::OaepDecodeMask(k256, 256 - 2 * 32 - 1, md) == 0u);  // one octet too many
  BOOST_TEST(internal::OaepDecodeMask(tiny, 0, md) == 0u);  // no room even for an empty message
  BOOST_TEST(internal::OaepDecodeMask(empty, 0, md) == 0u);
}

// The whole key wrap: WrapCek's output opens with OpenSSL's OAEP, and two wraps of one CEK differ
// (a fresh seed each time).
BOOST_AUTO_TEST_CASE(wrapped_ceks_open_with_openssl_and_never_repeat) {
  const Bytes cek =
      BytesOf(FromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));
  struct Case {
    const RsaKey& key;
    const EVP_MD* md;
  };
  for (const Case& c :
       {Case{Keys().oaep, internal::Sha1()}, Case{Keys().oaep256, internal::Sha256()}}) {
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
