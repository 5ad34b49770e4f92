// RsaKey: one RSA key (public, or public + private) bound to exactly one JOSE algorithm.
//
// The binding is the "one algorithm per key" rule of docs/tokens.md: a key made for RS256 can
// never be used for RSA-OAEP, and a token header naming another alg is rejected by jws/jwe.
// Keys under 2048 bits and public exponents other than 65537 are refused at every entry point.
//
// An RsaKey's key material, algorithm and kid never change once made. Copies share the EVP_PKEY
// and one table of prepared operation contexts (a copy costs two reference counts and the kid's
// string). That table is the only part written after construction: each thread that holds a context
// slot fills its own entries (its own copy of the key and its contexts, made at its first use of an
// operation; key_context.h), and threads without a slot share a context prepared once under a
// mutex.
//
// Thread-safety: every const member may be called from many threads at once, on one RsaKey or
// on copies. A KeyOpContext from ContextFor belongs to the calling thread and must not outlive
// the key. Private parts live in OpenSSL's secure heap when there is one (secure_heap.h).
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/secret_bytes.h"
#include "common/ssl_ptr.h"
#include "common/status.h"

namespace instaccess::jose {

// The whitelist. Anything else in a header is rejected before any key is touched.
enum class Alg {
  kRS256,       // RSASSA-PKCS1-v1_5 with SHA-256 (what Canvas signs with)
  kPS256,       // RSASSA-PSS with SHA-256, MGF1 SHA-256, salt 32
  kRsaOaep,     // RSAES-OAEP with SHA-1 and MGF1 SHA-1 (what Canvas encrypts with)
  kRsaOaep256,  // RSAES-OAEP with SHA-256 and MGF1 SHA-256
  kRsa1_5,      // RSAES-PKCS1-v1_5 (Canvas's API doc; deprecated, constant-time unwrap)
};

enum class Use { kSig, kEnc };

// The RSA operations a key may be prepared for.
enum class KeyOp { kSign, kVerify, kEncrypt, kDecrypt };

// The context for one operation (RsaKey::ContextFor): this thread's own, which the key keeps, or
// a copy made for this operation. Use it on this thread only, and only while the key lives.
class KeyOpContext {
 public:
  KeyOpContext() = default;
  explicit KeyOpContext(EVP_PKEY_CTX* kept) : ctx_(kept) {}
  explicit KeyOpContext(EvpPkeyCtxPtr copy) : copy_(std::move(copy)), ctx_(copy_.get()) {}
  EVP_PKEY_CTX* get() const { return ctx_; }
  explicit operator bool() const { return ctx_ != nullptr; }

 private:
  EvpPkeyCtxPtr copy_;  // null when ctx_ is kept by the key
  EVP_PKEY_CTX* ctx_ = nullptr;
};

std::string_view AlgName(Alg alg);            // "RS256", "RSA-OAEP", ...
Result<Alg> ParseAlg(std::string_view name);  // exact, case-sensitive; not in whitelist -> error
Use UseOf(Alg alg);                           // RS256/PS256 -> kSig, the rest -> kEnc
std::string_view UseName(Use use);            // "sig" / "enc"

class RsaKey {
 public:
  // bits: 2048, 3072 or 4096. Slow (tens of ms for 2048 bits, up to seconds for 4096): keep it
  // off request paths (the keyring makes pending keys ahead of use).
  static Result<RsaKey> Generate(int bits, Alg alg);
  // PEM: PKCS#1 ("RSA PRIVATE KEY" / "RSA PUBLIC KEY"), PKCS#8 ("PRIVATE KEY"), SPKI ("PUBLIC
  // KEY").
  static Result<RsaKey> FromPem(std::string_view pem, Alg alg);
  // RSA JWK (kty "RSA"; n, e and optionally d, p, q, dp, dq, qi). When the JWK carries "alg" it
  // must equal `alg` if given; when `alg` is empty the JWK's "alg" is used and must be present.
  // "kid" in the JWK is kept; otherwise the RFC 7638 thumbprint is the kid.
  static Result<RsaKey> FromJwk(const nlohmann::json& jwk, std::optional<Alg> alg);
  // DER forms used by the keystore: PKCS#8 PrivateKeyInfo and SubjectPublicKeyInfo.
  static Result<RsaKey> FromPrivateDer(std::span<const std::uint8_t> pkcs8_der, Alg alg);
  // `kid`, when given, is used as is (the keystore knows it; computing the thumbprint again would
  // cost 9 us per key on every open); otherwise the thumbprint is the kid.
  static Result<RsaKey> FromPublicDer(std::span<const std::uint8_t> spki_der, Alg alg,
                                      std::string kid = {});

  Alg alg() const { return alg_; }
  Use use() const { return UseOf(alg_); }
  int bits() const;
  bool has_private() const { return has_private_; }
  // The key id: the RFC 7638 SHA-256 thumbprint (base64url) unless one was given.
  const std::string& kid() const { return kid_; }
  RsaKey WithKid(std::string kid) const;
  // RFC 7638 thumbprint of the public part, base64url without padding.
  std::string Thumbprint() const;

  // Public JWK: kty, n, e, kid, alg, use. Never private members.
  nlohmann::json PublicJwk() const;
  std::vector<std::uint8_t> PublicSpkiDer() const;
  std::string PublicPem() const;  // SPKI "PUBLIC KEY"
  // PKCS#8 DER of the private key, only in secure memory. FailedPrecondition if public-only.
  Result<SecretBytes> PrivatePkcs8Der() const;
  // Same public key (n, e)?
  bool SamePublicKey(const RsaKey& other) const;
  // The modulus n, big-endian without leading zeros ("one modulus, one key"); empty on failure.
  std::vector<std::uint8_t> Modulus() const;

  // For jws/jwe inside this library.
  EVP_PKEY* pkey() const { return pkey_.get(); }
  // A context for `op`, set up for alg(); null if the key cannot do `op` (a public-only key
  // cannot sign or decrypt; a signing key cannot encrypt) or OpenSSL is out of memory (the next
  // call tries again).
  KeyOpContext ContextFor(KeyOp op) const;

 private:
  struct PreparedContexts;
  RsaKey(std::shared_ptr<EVP_PKEY> pkey, Alg alg, bool has_private, std::string kid);

  std::shared_ptr<EVP_PKEY> pkey_;
  std::shared_ptr<PreparedContexts> contexts_;  // Shared by copies; thread-safe.
  Alg alg_;
  bool has_private_;
  std::string kid_;
};

}  // namespace instaccess::jose
