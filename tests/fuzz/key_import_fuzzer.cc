// libFuzzer target over key import: RSA keys as PEM and as JWK (jose::RsaKey), and the keystore's
// import rules (SqliteKeyring::Import on a real store, service_harness.h).
//
// Input: [flags][text...]. flags bit 0: the text is a JWK (JSON) rather than PEM; bits 1-3: the
// alg asked for (0-4 in Alg's order, otherwise none: the JWK's own or the purpose's); bit 4: an
// encryption key rather than a signing key; bit 5: import into the keyring rather than parse only;
// bit 6: name an issuer (a peer signing key needs one); bit 7: activate.
//
// Invariants beyond "no crash, no sanitizer report", for every key accepted:
//   - it is bound to the alg asked for, and has 2048 to 8192 bits (jose's bounds; the keyring
//     stores at most 4096);
//   - its public JWK and PEM read back as the same key, with the same kid and thumbprint;
//   - a private part reads back from PKCS#8 and works: what it signs verifies with the public
//     part, what the public part encrypts it decrypts;
//   - the keyring stores it under a purpose its alg belongs to, with at most 4096 bits.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "jose/json_strict.h"
#include "jose/jwe.h"
#include "jose/jws.h"
#include "tests/fuzz/service_harness.h"

namespace {

namespace jose = instaccess::jose;
namespace fuzz = instaccess::fuzz;
namespace keystore = instaccess::keystore;

constexpr jose::Alg kAlgs[] = {jose::Alg::kRS256, jose::Alg::kPS256, jose::Alg::kRsaOaep,
                               jose::Alg::kRsaOaep256, jose::Alg::kRsa1_5};

void CheckPrivatePart(const jose::RsaKey& key, const jose::RsaKey& public_key) {
  auto der = key.PrivatePkcs8Der();
  if (!der) std::abort();
  auto again = jose::RsaKey::FromPrivateDer(der->reveal_secret(), key.alg());
  if (!again || !again->SamePublicKey(key) || !again->has_private()) std::abort();
  if (key.use() == jose::Use::kSig) {
    constexpr std::string_view kInput = "header.payload";
    auto signature = jose::SignRaw(key, kInput);
    if (!signature || !jose::VerifyRaw(public_key, kInput, *signature)) std::abort();
    return;
  }
  const std::uint8_t cek[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
  auto wrapped = jose::WrapCek(public_key, cek);
  if (!wrapped) std::abort();
  jose::Cek out;
  jose::UnwrapCek(key, *wrapped, sizeof(cek), &out);
  if (out.size != sizeof(cek) || !std::equal(cek, cek + sizeof(cek), out.bytes.begin())) {
    std::abort();
  }
}

void CheckKey(const jose::RsaKey& key, std::optional<jose::Alg> asked) {
  if (asked && key.alg() != *asked) std::abort();
  if (key.bits() < 2048 || key.bits() > 8192) std::abort();
  auto from_jwk = jose::RsaKey::FromJwk(key.PublicJwk(), key.alg());
  if (!from_jwk || !from_jwk->SamePublicKey(key) || from_jwk->kid() != key.kid() ||
      from_jwk->has_private()) {
    std::abort();
  }
  auto from_pem = jose::RsaKey::FromPem(key.PublicPem(), key.alg());
  if (!from_pem || !from_pem->SamePublicKey(key) || from_pem->Thumbprint() != key.Thumbprint()) {
    std::abort();
  }
  if (key.has_private()) CheckPrivatePart(key, *from_pem);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::ServiceHarness::Get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return -1;
  const std::uint8_t flags = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool is_jwk = flags & 1;
  const std::size_t alg_index = (flags >> 1) & 7;
  const std::optional<jose::Alg> alg =
      alg_index < std::size(kAlgs) ? std::optional(kAlgs[alg_index]) : std::nullopt;
  std::optional<nlohmann::json> jwk;
  if (is_jwk) {
    auto parsed = jose::ParseStrictJsonObject(text);
    if (!parsed) return 0;
    jwk = std::move(*parsed);
  }

  if (!(flags & 0x20)) {
    instaccess::Result<jose::RsaKey> key = instaccess::InvalidArgument("no alg");
    if (jwk) {
      key = jose::RsaKey::FromJwk(*jwk, alg);
    } else if (alg) {
      key = jose::RsaKey::FromPem(text, *alg);
    }
    if (key) CheckKey(*key, alg);
    return 0;
  }

  keystore::ImportRequest request;
  request.purpose = (flags & 0x10) ? keystore::Purpose::kEnc : keystore::Purpose::kSig;
  if (jwk) {
    request.jwk = std::move(jwk);
  } else {
    request.pem = std::string(text);
  }
  request.alg = alg;
  if (flags & 0x40) request.issuers = std::vector<std::string>{"https://partner.example"};
  request.activate = flags & 0x80;
  fuzz::ServiceHarness& harness = fuzz::ServiceHarness::Get();
  auto info = harness.keyring().Import(request, fuzz::kFuzzNow, "fuzz");
  if (info) {
    auto stored = jose::ParseAlg(info->alg);
    if (!stored || info->purpose != request.purpose ||
        (jose::UseOf(*stored) == jose::Use::kSig) != (request.purpose == keystore::Purpose::kSig) ||
        info->bits < 2048 || info->bits > 4096) {
      std::abort();
    }
  }
  harness.ResetIfChanged();
  return 0;
}
