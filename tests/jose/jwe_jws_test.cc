// JWS and JWE round trips, key/alg binding, and the decryption side channels: CBC tag before
// decryption, RSA1_5 and RSA-OAEP implicit rejection.
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <boost/test/unit_test.hpp>

#include "common/ssl_ptr.h"
#include "jose/base64url.h"
#include "jose/compact.h"
#include "jose/content_cipher.h"
#include "jose/jwe.h"
#include "jose/jws.h"
#include "test_util.h"

namespace instaccess::jose {
namespace {

using testing::Keys;

std::span<const std::uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string RandomString(std::size_t n) {
  std::string s(n, '\0');
  BOOST_REQUIRE_EQUAL(RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(n)),
                      1);
  return s;
}

// RSA public operation on a raw k-byte block: lets a test choose the padding the victim sees.
std::string RawRsaEncrypt(const RsaKey& key, const std::string& block) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.pkey(), nullptr));
  BOOST_REQUIRE(ctx);
  BOOST_REQUIRE_EQUAL(EVP_PKEY_encrypt_init(ctx.get()), 1);
  BOOST_REQUIRE_EQUAL(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING), 1);
  std::size_t len = block.size();
  std::string out(len, '\0');
  BOOST_REQUIRE_EQUAL(EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()),
                                       &len, Bytes(block).data(), block.size()),
                      1);
  return out;
}

// PKCS#1 v1.5 encryption with the library's own padding, for a message of any length.
std::string Pkcs1Encrypt(const RsaKey& key, const std::string& msg) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.pkey(), nullptr));
  BOOST_REQUIRE(ctx);
  BOOST_REQUIRE_EQUAL(EVP_PKEY_encrypt_init(ctx.get()), 1);
  BOOST_REQUIRE_EQUAL(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING), 1);
  std::size_t len = 0;
  BOOST_REQUIRE_EQUAL(EVP_PKEY_encrypt(ctx.get(), nullptr, &len, Bytes(msg).data(), msg.size()), 1);
  std::string out(len, '\0');
  BOOST_REQUIRE_EQUAL(EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()),
                                       &len, Bytes(msg).data(), msg.size()),
                      1);
  return out;
}

// A JWE from its pieces, with the content sealed under `cek`.
std::string AssembleJwe(std::string_view header_json, const std::string& encrypted_key,
                        const std::string& cek, ContentEnc enc, std::string_view plaintext,
                        bool flip_tag = false) {
  std::string h = Base64UrlEncode(header_json);
  auto sealed = SealContent(enc, Bytes(cek), h, plaintext);
  BOOST_REQUIRE(sealed.has_value());
  if (flip_tag) sealed->tag[3] = static_cast<char>(sealed->tag[3] ^ 0x10);
  return h + "." + Base64UrlEncode(encrypted_key) + "." + Base64UrlEncode(sealed->iv) + "." +
         Base64UrlEncode(sealed->ciphertext) + "." + Base64UrlEncode(sealed->tag);
}

RsaKey Rebind(const RsaKey& key, Alg alg) {
  auto der = key.PrivatePkcs8Der();
  BOOST_REQUIRE(der.has_value());
  auto k = RsaKey::FromPrivateDer(der->reveal_secret(), alg);
  BOOST_REQUIRE(k.has_value());
  return *k;
}

BOOST_AUTO_TEST_SUITE(jwe_jws)

BOOST_AUTO_TEST_CASE(every_key_transport_and_content_alg_round_trips) {
  for (const RsaKey* key : {&Keys().oaep, &Keys().oaep256, &Keys().rsa1_5}) {
    for (ContentEnc enc : {ContentEnc::kA128CbcHs256, ContentEnc::kA256Gcm}) {
      for (std::size_t size : {0u, 1u, 15u, 16u, 17u, 600u}) {
        std::string pt = RandomString(size);
        auto jwe = EncryptJwe(*key, enc, {{"kid", key->kid()}}, pt);
        BOOST_REQUIRE(jwe.has_value());
        std::vector<RsaKey> keys{*key};
        JweTrace trace;
        auto back = DecryptJwe(*jwe, keys, &trace);
        BOOST_REQUIRE_MESSAGE(back.has_value(), AlgName(key->alg())
                                                    << "/" << ContentEncName(enc) << " " << size
                                                    << ": " << back.status().ToString());
        BOOST_CHECK(back->plaintext == pt);
        BOOST_CHECK_EQUAL(back->kid, key->kid());
        BOOST_CHECK_EQUAL(trace.implicit_rejections, 0);
        // Fresh CEK and IV: the same plaintext never gives the same encrypted key or IV.
        const std::string other = *EncryptJwe(*key, enc, {{"kid", key->kid()}}, pt);
        auto again = SplitCompact(other, 5);
        auto first = SplitCompact(*jwe, 5);
        BOOST_REQUIRE(again && first);
        BOOST_CHECK((*again)[1] != (*first)[1]);
        BOOST_CHECK((*again)[2] != (*first)[2]);
        BOOST_CHECK_EQUAL(Base64UrlDecode((*again)[2])->size(), IvSize(enc));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(rs256_and_ps256_sign_and_verify) {
  for (const RsaKey* key : {&Keys().rs256, &Keys().ps256}) {
    auto jws = SignJws(*key, {{"typ", "JWT"}}, "payload");
    BOOST_REQUIRE(jws.has_value());
    std::vector<RsaKey> keys{Keys().rs256_other, *key};
    auto v = VerifyJws(*jws, keys);
    BOOST_REQUIRE(v.has_value());
    BOOST_CHECK_EQUAL(v->payload, "payload");
    BOOST_CHECK_EQUAL(v->kid, key->kid());
    BOOST_CHECK(v->header.alg == key->alg());
  }
  // RS256 is deterministic, PS256 randomised.
  BOOST_CHECK(*SignJws(Keys().rs256, {}, "x") == *SignJws(Keys().rs256, {}, "x"));
  BOOST_CHECK(*SignJws(Keys().ps256, {}, "x") != *SignJws(Keys().ps256, {}, "x"));
}

BOOST_AUTO_TEST_CASE(a_key_is_used_only_for_its_own_alg) {
  // The same RSA key material bound to PS256 does not verify an RS256 signature by it, ...
  auto jws = SignJws(Keys().rs256, {}, "x");
  BOOST_REQUIRE(jws.has_value());
  std::vector<RsaKey> ps{Rebind(Keys().rs256, Alg::kPS256)};
  auto r = VerifyJws(*jws, ps);
  BOOST_REQUIRE(!r.has_value());
  // ... even when the header names the key by kid.
  jws = SignJws(Keys().rs256, {{"kid", ps[0].kid()}}, "x");
  BOOST_CHECK(!VerifyJws(*jws, ps).has_value());
  std::vector<RsaKey> rs{Keys().rs256};
  BOOST_CHECK(VerifyJws(*jws, rs).has_value());
  // Signing and encryption keys are not interchangeable.
  BOOST_CHECK(!SignRaw(Keys().oaep, "x").has_value());
  BOOST_CHECK(!WrapCek(Keys().rs256, Bytes(std::string(32, 'k'))).has_value());
  auto jwe = EncryptJwe(Keys().oaep, ContentEnc::kA256Gcm, nlohmann::json::object(), "x");
  std::vector<RsaKey> oaep256{Rebind(Keys().oaep, Alg::kRsaOaep256)};
  BOOST_CHECK(!DecryptJwe(*jwe, oaep256).has_value());
}

BOOST_AUTO_TEST_CASE(public_key_cannot_sign_or_decrypt) {
  auto pub = RsaKey::FromJwk(Keys().rs256.PublicJwk(), std::nullopt).value();
  BOOST_CHECK(SignRaw(pub, "x").error().code() == Code::kFailedPrecondition);
  auto enc_pub = RsaKey::FromJwk(Keys().oaep.PublicJwk(), std::nullopt).value();
  auto jwe = EncryptJwe(enc_pub, ContentEnc::kA128CbcHs256, nlohmann::json::object(), "x");
  BOOST_REQUIRE(jwe.has_value());  // encrypting needs only the public key
  std::vector<RsaKey> only_pub{enc_pub};
  BOOST_CHECK(!DecryptJwe(*jwe, only_pub).has_value());
  std::vector<RsaKey> priv{Keys().oaep};
  BOOST_CHECK(DecryptJwe(*jwe, priv).has_value());
}

BOOST_AUTO_TEST_CASE(cbc_tag_is_checked_before_any_decryption) {
  std::string cek = RandomString(32);
  std::string aad = "header";
  auto sealed = SealContent(ContentEnc::kA128CbcHs256, Bytes(cek), aad, "attack at dawn!!x");
  BOOST_REQUIRE(sealed.has_value());

  ContentTrace ok_trace;
  BOOST_REQUIRE(OpenContent(ContentEnc::kA128CbcHs256, Bytes(cek), aad, sealed->iv,
                            sealed->ciphertext, sealed->tag, &ok_trace)
                    .has_value());
  BOOST_CHECK_EQUAL(ok_trace.cbc_decryptions, 1);  // the counter does count when it happens

  // Wrong tag, and a last block that would also fail the CBC padding check if it were decrypted.
  std::string ct = sealed->ciphertext;
  ct.back() = static_cast<char>(ct.back() ^ 0x5a);
  std::string tag = sealed->tag;
  tag[0] = static_cast<char>(tag[0] ^ 1);
  for (const auto& [c, t] : {std::pair{sealed->ciphertext, tag}, std::pair{ct, sealed->tag}}) {
    ContentTrace trace;
    auto r = OpenContent(ContentEnc::kA128CbcHs256, Bytes(cek), aad, sealed->iv, c, t, &trace);
    BOOST_REQUIRE(!r.has_value());
    BOOST_CHECK_EQUAL(r.error().message(), "content authentication failed");
    BOOST_CHECK_EQUAL(trace.tag_checks, 1);
    BOOST_CHECK_EQUAL(trace.cbc_decryptions, 0);
  }
  // A different AAD (header) fails the same way.
  ContentTrace aad_trace;
  BOOST_CHECK(!OpenContent(ContentEnc::kA128CbcHs256, Bytes(cek), "headex", sealed->iv,
                           sealed->ciphertext, sealed->tag, &aad_trace)
                   .has_value());
  BOOST_CHECK_EQUAL(aad_trace.cbc_decryptions, 0);
}

BOOST_AUTO_TEST_CASE(cbc_tag_mismatch_in_a_jwe_attempts_no_decryption) {
  const RsaKey& key = Keys().oaep;
  std::string cek = RandomString(32);
  auto ek = WrapCek(key, Bytes(cek));
  BOOST_REQUIRE(ek.has_value());
  std::string header = R"({"alg":"RSA-OAEP","enc":"A128CBC-HS256"})";
  std::vector<RsaKey> keys{key};
  JweTrace good_trace;
  BOOST_REQUIRE(DecryptJwe(AssembleJwe(header, *ek, cek, ContentEnc::kA128CbcHs256, "hello"), keys,
                           &good_trace)
                    .has_value());
  BOOST_CHECK_EQUAL(good_trace.content.cbc_decryptions, 1);
  JweTrace trace;
  auto r = DecryptJwe(AssembleJwe(header, *ek, cek, ContentEnc::kA128CbcHs256, "hello", true), keys,
                      &trace);
  BOOST_REQUIRE(!r.has_value());
  BOOST_CHECK_EQUAL(trace.implicit_rejections, 0);  // the CEK was right; only the tag was wrong
  BOOST_CHECK_EQUAL(trace.content.tag_checks, 1);
  BOOST_CHECK_EQUAL(trace.content.cbc_decryptions, 0);
}

BOOST_AUTO_TEST_CASE(rsa1_5_failures_are_indistinguishable) {
  const RsaKey& key = Keys().rsa1_5;
  const std::size_t k = 256;
  const std::string header = R"({"alg":"RSA1_5","enc":"A128CBC-HS256"})";
  const std::string cek = RandomString(32);

  auto block = [&](std::uint8_t type, std::size_t msg_len, bool zero_in_ps) {
    std::string em(k, '\x5a');  // non-zero padding string
    em[0] = 0;
    em[1] = static_cast<char>(type);
    em[k - msg_len - 1] = 0;
    if (zero_in_ps) em[5] = 0;
    em.replace(k - msg_len, msg_len, cek.substr(0, msg_len));
    return em;
  };
  struct Case {
    const char* name;
    std::string encrypted_key;
    bool flip_tag;
    int rejections;  // what the trace must show: 1 = implicit rejection happened
  };
  std::vector<Case> cases = {
      {"well_formed", RawRsaEncrypt(key, block(2, 32, false)), false, 0},
      {"bad_padding_type_1", RawRsaEncrypt(key, block(1, 32, false)), false, 1},
      {"bad_padding_no_separator",
       RawRsaEncrypt(key, std::string(1, '\0') + '\x02' + std::string(k - 2, '\x11')), false, 1},
      {"bad_padding_short_ps", RawRsaEncrypt(key, block(2, 32, true)), false, 1},
      {"cek_too_short", Pkcs1Encrypt(key, cek.substr(0, 16)), false, 1},
      {"cek_too_long", Pkcs1Encrypt(key, cek + "xy"), false, 1},
      {"bad_tag", Pkcs1Encrypt(key, cek), true, 0},
  };
  std::vector<RsaKey> keys{key};
  std::optional<Status> first_error;
  for (const Case& c : cases) {
    std::string jwe =
        AssembleJwe(header, c.encrypted_key, cek, ContentEnc::kA128CbcHs256, "secret", c.flip_tag);
    JweTrace trace;
    auto r = DecryptJwe(jwe, keys, &trace);
    BOOST_TEST_CONTEXT(c.name) {
      BOOST_CHECK_EQUAL(trace.unwraps, 1);
      BOOST_CHECK_EQUAL(trace.implicit_rejections, c.rejections);
      BOOST_CHECK_EQUAL(trace.content.tag_checks, 1);  // same work on every path
      BOOST_CHECK_EQUAL(trace.content.cbc_decryptions, std::string_view(c.name) == "well_formed");
      if (std::string_view(c.name) == "well_formed") {
        BOOST_REQUIRE_MESSAGE(r.has_value(), r.status().ToString());
        BOOST_CHECK_EQUAL(r->plaintext, "secret");
        continue;
      }
      BOOST_REQUIRE(!r.has_value());
      if (!first_error) first_error = r.error();
      BOOST_CHECK(r.error().code() == first_error->code());
      BOOST_CHECK_EQUAL(r.error().message(), first_error->message());
    }
  }
  BOOST_CHECK_EQUAL(first_error->message(), "JWE does not decrypt");
}

BOOST_AUTO_TEST_CASE(rsa_oaep_failure_takes_the_tag_failure_path) {
  const RsaKey& key = Keys().oaep;
  const std::string header = R"({"alg":"RSA-OAEP","enc":"A256GCM"})";
  const std::string cek = RandomString(32);
  std::vector<RsaKey> keys{key};
  // A random k-byte value below n is almost surely not valid OAEP.
  std::string junk = RandomString(256);
  junk[0] = 0;
  JweTrace junk_trace, tag_trace;
  auto bad_key =
      DecryptJwe(AssembleJwe(header, junk, cek, ContentEnc::kA256Gcm, "m"), keys, &junk_trace);
  auto bad_tag = DecryptJwe(
      AssembleJwe(header, *WrapCek(key, Bytes(cek)), cek, ContentEnc::kA256Gcm, "m", true), keys,
      &tag_trace);
  BOOST_REQUIRE(!bad_key.has_value());
  BOOST_REQUIRE(!bad_tag.has_value());
  BOOST_CHECK_EQUAL(bad_key.error().message(), bad_tag.error().message());
  BOOST_CHECK_EQUAL(junk_trace.implicit_rejections, 1);
  BOOST_CHECK_EQUAL(tag_trace.implicit_rejections, 0);
  BOOST_CHECK_EQUAL(junk_trace.content.tag_checks, 1);
  BOOST_CHECK_EQUAL(tag_trace.content.tag_checks, 1);
  // A wrapped CEK of the wrong length is rejected the same way.
  JweTrace short_trace;
  BOOST_CHECK(!DecryptJwe(AssembleJwe(header, *WrapCek(key, Bytes(cek.substr(0, 16))), cek,
                                      ContentEnc::kA256Gcm, "m"),
                          keys, &short_trace)
                   .has_value());
  BOOST_CHECK_EQUAL(short_trace.implicit_rejections, 1);
}

BOOST_AUTO_TEST_CASE(kidless_jwe_tries_every_candidate_in_order) {
  auto jwe = EncryptJwe(Keys().oaep, ContentEnc::kA128CbcHs256, nlohmann::json::object(), "m");
  BOOST_REQUIRE(jwe.has_value());
  std::vector<RsaKey> keys{Keys().oaep_other, Keys().oaep256, Keys().oaep};
  JweTrace trace;
  auto r = DecryptJwe(*jwe, keys, &trace);
  BOOST_REQUIRE(r.has_value());
  BOOST_CHECK_EQUAL(r->kid, Keys().oaep.kid());
  BOOST_CHECK_EQUAL(trace.unwraps, 2);  // oaep256 is skipped: wrong alg
  BOOST_CHECK_EQUAL(trace.implicit_rejections, 1);
  // With a kid only that key is tried.
  auto with_kid =
      EncryptJwe(Keys().oaep, ContentEnc::kA128CbcHs256, {{"kid", Keys().oaep.kid()}}, "m");
  JweTrace kid_trace;
  BOOST_REQUIRE(DecryptJwe(*with_kid, keys, &kid_trace).has_value());
  BOOST_CHECK_EQUAL(kid_trace.unwraps, 1);
  auto unknown = EncryptJwe(Keys().oaep, ContentEnc::kA128CbcHs256, {{"kid", "nope"}}, "m");
  auto u = DecryptJwe(*unknown, keys);
  BOOST_REQUIRE(!u.has_value());
  BOOST_CHECK(u.error().message().find("kid") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::jose
