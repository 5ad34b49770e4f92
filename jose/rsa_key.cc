#include "jose/rsa_key.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <array>
#include <mutex>
#include <utility>

#include "common/ssl_error.h"
#include "common/ssl_ptr.h"
#include "jose/base64url.h"
#include "jose/key_context.h"

namespace instaccess::jose {

namespace {

// RSA under 2048 bits is below every current recommendation (NIST SP 800-57, BSI TR-02102).
constexpr int kMinBits = 2048;
// Keys come from peers too (JWK import); an absurd modulus would make every verification slow.
constexpr int kMaxBits = 8192;
// Fermat F4. Other exponents are legal RSA but no JOSE deployment we talk to uses them, and e = 3
// keys are the ones that make padding mistakes exploitable; refusing them costs nothing.
constexpr unsigned long kPublicExponent = 65537;

using DecoderCtxPtr =
    std::unique_ptr<OSSL_DECODER_CTX, instaccess::internal::SslDeleter<OSSL_DECODER_CTX_free>>;
using EncoderCtxPtr =
    std::unique_ptr<OSSL_ENCODER_CTX, instaccess::internal::SslDeleter<OSSL_ENCODER_CTX_free>>;

std::shared_ptr<EVP_PKEY> Share(EvpPkeyPtr pkey) {
  return std::shared_ptr<EVP_PKEY>(pkey.release(), EVP_PKEY_free);
}

BignumPtr GetPublicBn(const EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) {
    ClearSslErrors();
    return nullptr;
  }
  return BignumPtr(bn);
}

bool HasPrivatePart(const EVP_PKEY* pkey) {
  BIGNUM* d = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_D, &d) != 1) {
    ClearSslErrors();
    return false;
  }
  BN_clear_free(d);
  return true;
}

// The size and exponent rules of the header, for every entry point.
Status CheckRsaPolicy(const EVP_PKEY* pkey) {
  // "RSA" only: an id-RSASSA-PSS key carries its own parameter restrictions that would fight the
  // JOSE alg binding.
  if (!EVP_PKEY_is_a(pkey, "RSA")) return InvalidArgument("not an RSA key");
  int bits = EVP_PKEY_get_bits(pkey);
  if (bits < kMinBits) return InvalidArgument("RSA key under 2048 bits refused");
  if (bits > kMaxBits) return InvalidArgument("RSA key over 8192 bits refused");
  BignumPtr e = GetPublicBn(pkey, OSSL_PKEY_PARAM_RSA_E);
  if (!e) return InvalidArgument("RSA key without public exponent");
  if (!BN_is_word(e.get(), kPublicExponent)) {
    return InvalidArgument("RSA public exponent other than 65537 refused");
  }
  return Status::Ok();
}

// For keys from outside (PEM, JWK): the private part must belong to the public part, or a signature
// made with it would verify under nobody's key and a decryption would silently fail.
Status CheckPairwise(EVP_PKEY* pkey) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx) return SslError("EVP_PKEY_CTX_new_from_pkey");
  if (EVP_PKEY_pairwise_check(ctx.get()) != 1) {
    ClearSslErrors();
    return InvalidArgument("RSA private key is inconsistent");
  }
  return Status::Ok();
}

// Runs `dctx`, made to write its result to `*out`, over `data`; *out is null again afterwards.
Result<EvpPkeyPtr> RunDecoder(OSSL_DECODER_CTX* dctx, EVP_PKEY** out,
                              std::span<const std::uint8_t> data) {
  *out = nullptr;
  const unsigned char* p = data.data();
  std::size_t len = data.size();
  const bool ok = OSSL_DECODER_from_data(dctx, &p, &len) == 1 && *out != nullptr;
  EvpPkeyPtr pkey(std::exchange(*out, nullptr));
  if (!ok) {
    ClearSslErrors();
    return InvalidArgument("cannot decode RSA key");
  }
  return pkey;
}

Result<EvpPkeyPtr> Decode(const char* input_type, const char* structure, int selection,
                          std::span<const std::uint8_t> data) {
  EVP_PKEY* raw = nullptr;
  DecoderCtxPtr dctx(OSSL_DECODER_CTX_new_for_pkey(&raw, input_type, structure, "RSA", selection,
                                                   nullptr, nullptr));
  if (!dctx) return SslError("OSSL_DECODER_CTX_new_for_pkey");
  return RunDecoder(dctx.get(), &raw, data);
}

// Creating a decoder context costs ~100 us in OpenSSL 3.0 (it walks every decoder of every
// provider); decoding with an existing one costs ~6 us. A store opening decodes public keys by
// the thousand, so each thread keeps one context for SubjectPublicKeyInfo and reuses it. Public
// keys only: nothing secret ever passes through it.
Result<EvpPkeyPtr> DecodePublicSpki(std::span<const std::uint8_t> data) {
  struct Reusable {
    EVP_PKEY* out = nullptr;  // where the context writes each result (its address is fixed)
    DecoderCtxPtr ctx;
  };
  thread_local Reusable r;
  if (!r.ctx) {
    r.ctx.reset(OSSL_DECODER_CTX_new_for_pkey(&r.out, "DER", "SubjectPublicKeyInfo", "RSA",
                                              EVP_PKEY_PUBLIC_KEY, nullptr, nullptr));
    if (!r.ctx) return SslError("OSSL_DECODER_CTX_new_for_pkey");
  }
  return RunDecoder(r.ctx.get(), &r.out, data);
}

std::string BnToB64u(const BIGNUM* bn) {
  std::vector<std::uint8_t> buf(static_cast<std::size_t>(BN_num_bytes(bn)));
  BN_bn2bin(bn, buf.data());
  return Base64UrlEncode(buf);
}

// A JWK member decoded into a BIGNUM. Private members go through secure memory both ways.
Result<SecretBignumPtr> JwkBn(const nlohmann::json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return InvalidArgument(std::string("JWK member missing or not a string: ") + name);
  }
  auto bytes = Base64UrlDecodeSecret(it->get_ref<const std::string&>());
  if (!bytes) return InvalidArgument(std::string("JWK member is not base64url: ") + name);
  if (bytes->empty()) return InvalidArgument(std::string("JWK member is empty: ") + name);
  auto span = bytes->reveal_secret();
  SecretBignumPtr bn(BN_secure_new());
  if (!bn || BN_bin2bn(span.data(), static_cast<int>(span.size()), bn.get()) == nullptr) {
    return SslError("BN_bin2bn");
  }
  return bn;
}

}  // namespace

std::string_view AlgName(Alg alg) {
  switch (alg) {
    case Alg::kRS256:
      return "RS256";
    case Alg::kPS256:
      return "PS256";
    case Alg::kRsaOaep:
      return "RSA-OAEP";
    case Alg::kRsaOaep256:
      return "RSA-OAEP-256";
    case Alg::kRsa1_5:
      return "RSA1_5";
  }
  return "";
}

Result<Alg> ParseAlg(std::string_view name) {
  for (Alg a : {Alg::kRS256, Alg::kPS256, Alg::kRsaOaep, Alg::kRsaOaep256, Alg::kRsa1_5}) {
    if (AlgName(a) == name) return a;
  }
  return InvalidArgument("algorithm not accepted: " + std::string(name.substr(0, 32)));
}

Use UseOf(Alg alg) { return (alg == Alg::kRS256 || alg == Alg::kPS256) ? Use::kSig : Use::kEnc; }

std::string_view UseName(Use use) { return use == Use::kSig ? "sig" : "enc"; }

// Contexts are indexed by KeyOp and prepared on first use (most keys a process loads, e.g. old
// verification keys, never do most operations).
struct RsaKey::PreparedContexts {
  // Written and read only by the thread holding the slot (key_context.h).
  struct ThreadOwn {
    EvpPkeyPtr key;  // this thread's copy: its own blinding, Montgomery values and locks
    // Operations left on the shared context before a copy is tried again, after one was not
    // made (no room in the secure heap: the room may come back when old keys are destroyed).
    std::uint32_t copy_retry_in = 0;
    std::array<EvpPkeyCtxPtr, 4> by_op;
  };
  std::array<ThreadOwn, internal::kContextSlots> threads;
  // For threads without a slot: prepared once, then only read (EVP_PKEY_CTX_dup reads its source).
  std::mutex shared_mu;
  std::array<EvpPkeyCtxPtr, 4> shared;
};

RsaKey::RsaKey(std::shared_ptr<EVP_PKEY> pkey, Alg alg, bool has_private, std::string kid)
    : pkey_(std::move(pkey)),
      contexts_(std::make_shared<PreparedContexts>()),
      alg_(alg),
      has_private_(has_private),
      kid_(std::move(kid)) {
  if (kid_.empty()) kid_ = Thumbprint();
}

KeyOpContext RsaKey::ContextFor(KeyOp op) const {
  const bool for_use = (use() == Use::kSig) == (op == KeyOp::kSign || op == KeyOp::kVerify);
  const bool needs_private = op == KeyOp::kSign || op == KeyOp::kDecrypt;
  if (!for_use || (needs_private && !has_private_)) return KeyOpContext();
  const auto i = static_cast<std::size_t>(op);
  const int slot = internal::ThisThreadContextSlot();
  PreparedContexts::ThreadOwn* own =
      slot >= 0 ? &contexts_->threads[static_cast<std::size_t>(slot)] : nullptr;
  if (own != nullptr && own->by_op[i]) return KeyOpContext(own->by_op[i].get());
  if (own != nullptr) {
    if (!own->key && own->copy_retry_in > 0) {
      --own->copy_retry_in;
    } else {
      // What a failed copy or preparation raises must not stay in this thread's error queue,
      // where a later failure's message would pick it up; what was there before stays.
      ERR_set_mark();
      if (!own->key) {
        own->key.reset(internal::RoomForKeyCopy() ? EVP_PKEY_dup(pkey_.get()) : nullptr);
        if (!own->key) own->copy_retry_in = internal::kCopyRetryAfter;
      }
      if (own->key) own->by_op[i] = internal::PrepareContext(own->key.get(), alg_, op);
      ERR_pop_to_mark();
      if (own->by_op[i]) return KeyOpContext(own->by_op[i].get());
    }
    // No copy (the secure heap is short of room, key_context.h): the shared context serves.
  }
  const std::lock_guard lock(contexts_->shared_mu);
  EvpPkeyCtxPtr& prepared = contexts_->shared[i];
  if (!prepared) prepared = internal::PrepareContext(pkey_.get(), alg_, op);
  return KeyOpContext(EvpPkeyCtxPtr(prepared ? EVP_PKEY_CTX_dup(prepared.get()) : nullptr));
}

Result<RsaKey> RsaKey::Generate(int bits, Alg alg) {
  if (bits != 2048 && bits != 3072 && bits != 4096) {
    return InvalidArgument("RSA key size must be 2048, 3072 or 4096");
  }
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) != 1) {
    return SslError("RSA keygen setup");
  }
  BignumPtr e(BN_new());
  if (!e || BN_set_word(e.get(), kPublicExponent) != 1 ||
      EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx.get(), e.get()) != 1) {
    return SslError("RSA keygen exponent");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_keygen(ctx.get(), &raw) != 1) return SslError("EVP_PKEY_keygen");
  EvpPkeyPtr pkey(raw);
  INSTACCESS_RETURN_IF_ERROR(CheckRsaPolicy(pkey.get()));
  return RsaKey(Share(std::move(pkey)), alg, true, "");
}

Result<RsaKey> RsaKey::FromPem(std::string_view pem, Alg alg) {
  constexpr std::string_view kBegin = "-----BEGIN ";
  std::size_t b = pem.find(kBegin);
  if (b == std::string_view::npos) return InvalidArgument("no PEM block found");
  std::size_t label_start = b + kBegin.size();
  std::size_t label_end = pem.find("-----", label_start);
  if (label_end == std::string_view::npos) return InvalidArgument("malformed PEM block");
  std::string_view label = pem.substr(label_start, label_end - label_start);
  // We never take passphrases (the keystore seals keys itself): refuse PKCS#8 "ENCRYPTED PRIVATE
  // KEY" and the legacy "Proc-Type: 4,ENCRYPTED" header rather than let OpenSSL ask for one.
  if (label.find("ENCRYPTED") != std::string_view::npos ||
      pem.find("Proc-Type:") != std::string_view::npos) {
    return InvalidArgument("encrypted PEM keys are not accepted");
  }
  int selection = 0;
  if (label == "RSA PRIVATE KEY" || label == "PRIVATE KEY") {
    selection = EVP_PKEY_KEYPAIR;
  } else if (label == "RSA PUBLIC KEY" || label == "PUBLIC KEY") {
    selection = EVP_PKEY_PUBLIC_KEY;
  } else {
    return InvalidArgument("unsupported PEM block: " + std::string(label.substr(0, 40)));
  }
  auto pkey = Decode("PEM", nullptr, selection,
                     {reinterpret_cast<const std::uint8_t*>(pem.data()), pem.size()});
  if (!pkey) return pkey.error();
  INSTACCESS_RETURN_IF_ERROR(CheckRsaPolicy(pkey->get()));
  bool priv = HasPrivatePart(pkey->get());
  if ((selection == EVP_PKEY_KEYPAIR) != priv) return InvalidArgument("PEM key part mismatch");
  if (priv) INSTACCESS_RETURN_IF_ERROR(CheckPairwise(pkey->get()));
  return RsaKey(Share(std::move(*pkey)), alg, priv, "");
}

Result<RsaKey> RsaKey::FromJwk(const nlohmann::json& jwk, std::optional<Alg> alg) {
  if (!jwk.is_object()) return InvalidArgument("JWK is not a JSON object");
  auto kty = jwk.find("kty");
  if (kty == jwk.end() || !kty->is_string() || *kty != "RSA") {
    return InvalidArgument("JWK kty must be \"RSA\"");
  }
  if (auto a = jwk.find("alg"); a != jwk.end()) {
    if (!a->is_string()) return InvalidArgument("JWK alg is not a string");
    auto parsed = ParseAlg(a->get_ref<const std::string&>());
    if (!parsed) return parsed.error();
    if (alg && *alg != *parsed) return InvalidArgument("JWK alg differs from the requested alg");
    alg = *parsed;
  }
  if (!alg) return InvalidArgument("JWK has no alg and none was given");
  if (auto u = jwk.find("use"); u != jwk.end()) {
    if (!u->is_string() || *u != UseName(UseOf(*alg))) {
      return InvalidArgument("JWK use does not match its alg");
    }
  }
  std::string kid;
  if (auto k = jwk.find("kid"); k != jwk.end()) {
    if (!k->is_string() || k->get_ref<const std::string&>().empty()) {
      return InvalidArgument("JWK kid must be a non-empty string");
    }
    kid = k->get<std::string>();
  }
  // Multi-prime keys ("oth") are not supported by the rest of the JOSE world either.
  if (jwk.contains("oth")) return InvalidArgument("multi-prime RSA JWK not supported");

  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld) return SslError("OSSL_PARAM_BLD_new");
  // The builder references the BIGNUMs until OSSL_PARAM_BLD_to_param, so they live here.
  std::vector<SecretBignumPtr> bns;
  auto push = [&](const char* member, const char* param) -> Status {
    auto bn = JwkBn(jwk, member);
    if (!bn) return bn.error();
    if (OSSL_PARAM_BLD_push_BN(bld.get(), param, bn->get()) != 1) return SslError("push BN");
    bns.push_back(std::move(*bn));
    return Status::Ok();
  };
  INSTACCESS_RETURN_IF_ERROR(push("n", OSSL_PKEY_PARAM_RSA_N));
  INSTACCESS_RETURN_IF_ERROR(push("e", OSSL_PKEY_PARAM_RSA_E));
  const bool priv = jwk.contains("d");
  if (priv) {
    // OpenSSL can run on n, e, d alone, but without the CRT values it is ~3x slower and the
    // JOSE libraries we exchange keys with always write them; insist on the full set.
    INSTACCESS_RETURN_IF_ERROR(push("d", OSSL_PKEY_PARAM_RSA_D));
    INSTACCESS_RETURN_IF_ERROR(push("p", OSSL_PKEY_PARAM_RSA_FACTOR1));
    INSTACCESS_RETURN_IF_ERROR(push("q", OSSL_PKEY_PARAM_RSA_FACTOR2));
    INSTACCESS_RETURN_IF_ERROR(push("dp", OSSL_PKEY_PARAM_RSA_EXPONENT1));
    INSTACCESS_RETURN_IF_ERROR(push("dq", OSSL_PKEY_PARAM_RSA_EXPONENT2));
    INSTACCESS_RETURN_IF_ERROR(push("qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1));
  } else {
    for (const char* m : {"p", "q", "dp", "dq", "qi"}) {
      if (jwk.contains(m)) return InvalidArgument("JWK has CRT members but no d");
    }
  }
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return SslError("OSSL_PARAM_BLD_to_param");
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return SslError("EVP_PKEY_fromdata_init");
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.get()) != 1) {
    ClearSslErrors();
    return InvalidArgument("JWK is not a valid RSA key");
  }
  EvpPkeyPtr pkey(raw);
  INSTACCESS_RETURN_IF_ERROR(CheckRsaPolicy(pkey.get()));
  if (priv) INSTACCESS_RETURN_IF_ERROR(CheckPairwise(pkey.get()));
  return RsaKey(Share(std::move(pkey)), *alg, priv, std::move(kid));
}

Result<RsaKey> RsaKey::FromPrivateDer(std::span<const std::uint8_t> pkcs8_der, Alg alg) {
  // No pairwise check here: this comes from our own sealed store (authenticated on unseal), and
  // the check costs tens of milliseconds per key.
  auto pkey = Decode("DER", "PrivateKeyInfo", EVP_PKEY_KEYPAIR, pkcs8_der);
  if (!pkey) return pkey.error();
  INSTACCESS_RETURN_IF_ERROR(CheckRsaPolicy(pkey->get()));
  if (!HasPrivatePart(pkey->get())) return InvalidArgument("DER key has no private part");
  return RsaKey(Share(std::move(*pkey)), alg, true, "");
}

Result<RsaKey> RsaKey::FromPublicDer(std::span<const std::uint8_t> spki_der, Alg alg,
                                     std::string kid) {
  auto pkey = DecodePublicSpki(spki_der);
  if (!pkey) return pkey.error();
  INSTACCESS_RETURN_IF_ERROR(CheckRsaPolicy(pkey->get()));
  return RsaKey(Share(std::move(*pkey)), alg, false, std::move(kid));
}

int RsaKey::bits() const { return EVP_PKEY_get_bits(pkey_.get()); }

RsaKey RsaKey::WithKid(std::string kid) const {
  return RsaKey(pkey_, alg_, has_private_, std::move(kid));
}

std::string RsaKey::Thumbprint() const {
  BignumPtr n = GetPublicBn(pkey_.get(), OSSL_PKEY_PARAM_RSA_N);
  BignumPtr e = GetPublicBn(pkey_.get(), OSSL_PKEY_PARAM_RSA_E);
  if (!n || !e) return "";
  // RFC 7638 §3.2: required members only, lexicographic order, no whitespace.
  std::string canonical =
      R"({"e":")" + BnToB64u(e.get()) + R"(","kty":"RSA","n":")" + BnToB64u(n.get()) + R"("})";
  std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest{};
  unsigned int len = 0;
  if (EVP_Digest(canonical.data(), canonical.size(), digest.data(), &len, EVP_sha256(), nullptr) !=
      1) {
    ClearSslErrors();
    return "";
  }
  return Base64UrlEncode(digest);
}

std::vector<std::uint8_t> RsaKey::Modulus() const {
  BignumPtr n = GetPublicBn(pkey_.get(), OSSL_PKEY_PARAM_RSA_N);
  if (!n) return {};
  std::vector<std::uint8_t> out(static_cast<std::size_t>(BN_num_bytes(n.get())));
  BN_bn2bin(n.get(), out.data());
  return out;
}

nlohmann::json RsaKey::PublicJwk() const {
  BignumPtr n = GetPublicBn(pkey_.get(), OSSL_PKEY_PARAM_RSA_N);
  BignumPtr e = GetPublicBn(pkey_.get(), OSSL_PKEY_PARAM_RSA_E);
  nlohmann::json jwk = nlohmann::json::object();
  jwk["kty"] = "RSA";
  jwk["n"] = n ? BnToB64u(n.get()) : "";
  jwk["e"] = e ? BnToB64u(e.get()) : "";
  jwk["kid"] = kid_;
  jwk["alg"] = std::string(AlgName(alg_));
  jwk["use"] = std::string(UseName(use()));
  return jwk;
}

std::vector<std::uint8_t> RsaKey::PublicSpkiDer() const {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(pkey_.get(), &der);
  if (len <= 0) {
    ClearSslErrors();
    return {};
  }
  std::vector<std::uint8_t> out(der, der + len);
  OPENSSL_free(der);
  return out;
}

std::string RsaKey::PublicPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey_.get()) != 1) {
    ClearSslErrors();
    return "";
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

Result<SecretBytes> RsaKey::PrivatePkcs8Der() const {
  if (!has_private_) return FailedPrecondition("public key only");
  EncoderCtxPtr ectx(OSSL_ENCODER_CTX_new_for_pkey(pkey_.get(), EVP_PKEY_KEYPAIR, "DER",
                                                   "PrivateKeyInfo", nullptr));
  if (!ectx) return SslError("OSSL_ENCODER_CTX_new_for_pkey");
  unsigned char* data = nullptr;
  std::size_t len = 0;
  if (OSSL_ENCODER_to_data(ectx.get(), &data, &len) != 1) return SslError("OSSL_ENCODER_to_data");
  SecretBytes out = SecretBytes::CopyFrom({data, len});
  OPENSSL_clear_free(data, len);
  return out;
}

bool RsaKey::SamePublicKey(const RsaKey& other) const {
  bool same = EVP_PKEY_eq(pkey_.get(), other.pkey_.get()) == 1;
  ClearSslErrors();
  return same;
}

}  // namespace instaccess::jose
