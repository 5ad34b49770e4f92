#include "peers/jwks_parse.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "jose/json_strict.h"
#include "keystore/key_types.h"

namespace instaccess::peers {
namespace {

using Json = nlohmann::json;

// base64url of a 4096-bit modulus without padding: ceil(512 * 4 / 3) characters. A leading
// zero octet some encoders add makes 513 octets, 684 characters.
constexpr std::size_t kMaxModulusChars = 684;

constexpr const char* kPrivateMembers[] = {"d", "p", "q", "dp", "dq", "qi", "oth"};

Status Refuse(std::size_t index, const std::string& why) {
  return InvalidArgument("JWKS key " + std::to_string(index) + ": " + why);
}

// The use a key declares: its "use" member, else its alg's. nullopt when it names neither.
Result<std::optional<jose::Use>> DeclaredUse(const Json& jwk, std::size_t index) {
  if (auto u = jwk.find("use"); u != jwk.end()) {
    if (!u->is_string()) return Refuse(index, "use is not a string");
    if (*u == "sig") return std::optional<jose::Use>(jose::Use::kSig);
    if (*u == "enc") return std::optional<jose::Use>(jose::Use::kEnc);
    return Refuse(index, "use is neither \"sig\" nor \"enc\"");
  }
  if (auto a = jwk.find("alg"); a != jwk.end() && a->is_string()) {
    auto alg = jose::ParseAlg(a->get_ref<const std::string&>());
    if (alg) return std::optional<jose::Use>(jose::UseOf(*alg));
  }
  return std::optional<jose::Use>();
}

Result<jose::RsaKey> UsableKey(const Json& jwk, std::size_t index, PeerUse use,
                               const PeerJwksRules& rules) {
  auto kty = jwk.find("kty");
  if (kty == jwk.end() || !kty->is_string() || *kty != "RSA") {
    return Refuse(index, "kty is not \"RSA\"");
  }
  auto a = jwk.find("alg");
  if (a == jwk.end() || !a->is_string()) return Refuse(index, "no alg");
  auto alg = jose::ParseAlg(a->get_ref<const std::string&>());
  if (!alg) return Refuse(index, "alg is not one we accept");
  const bool allowed =
      use == PeerUse::kSig
          ? *alg == jose::Alg::kRS256
          : std::find(rules.enc_algs.begin(), rules.enc_algs.end(), *alg) != rules.enc_algs.end();
  if (!allowed) {
    return Refuse(index, "alg " + std::string(jose::AlgName(*alg)) + " is not allowed for use " +
                             std::string(PeerUseName(use)));
  }
  auto n = jwk.find("n");
  if (n == jwk.end() || !n->is_string()) return Refuse(index, "no modulus");
  if (n->get_ref<const std::string&>().size() > kMaxModulusChars) {
    return Refuse(index, "modulus over 4096 bits");
  }
  auto key = jose::RsaKey::FromJwk(jwk, *alg);
  if (!key) return Refuse(index, key.error().message());
  if (key->bits() > kMaxPeerKeyBits) return Refuse(index, "modulus over 4096 bits");
  if (!keystore::IsValidKid(key->kid())) {
    return Refuse(index, "kid is not 1 to 128 characters of [A-Za-z0-9._~-]");
  }
  return std::move(*key);
}

}  // namespace

Result<PeerKeySet> ParsePeerJwks(std::string_view body, PeerUse use, const PeerJwksRules& rules) {
  auto doc = jose::ParseStrictJsonObject(body);
  if (!doc) return InvalidArgument("JWKS is not a strict JSON object: " + doc.error().message());
  auto keys = doc->find("keys");
  if (keys == doc->end() || !keys->is_array()) return InvalidArgument("JWKS has no \"keys\" array");
  if (keys->size() > kMaxPeerJwksKeys) {
    return InvalidArgument("JWKS holds more than " + std::to_string(kMaxPeerJwksKeys) + " keys");
  }
  const jose::Use wanted = use == PeerUse::kEnc ? jose::Use::kEnc : jose::Use::kSig;
  PeerKeySet set;
  std::vector<std::vector<std::uint8_t>> moduli;
  for (std::size_t i = 0; i < keys->size(); ++i) {
    const Json& jwk = (*keys)[i];
    if (!jwk.is_object()) return Refuse(i, "not a JSON object");
    for (const char* member : kPrivateMembers) {
      if (jwk.contains(member)) return Refuse(i, "carries a private part");
    }
    auto declared = DeclaredUse(jwk, i);
    if (!declared) return declared.error();
    if (!declared->has_value()) return Refuse(i, "names neither use nor a known alg");
    if (**declared != wanted) continue;
    auto key = UsableKey(jwk, i, use, rules);
    if (!key) return key.error();
    for (const jose::RsaKey& seen : set.keys) {
      if (seen.kid() == key->kid()) return Refuse(i, "kid " + key->kid() + " appears twice");
    }
    std::vector<std::uint8_t> modulus = key->Modulus();
    if (modulus.empty()) return Internal("JWKS key " + std::to_string(i) + ": no modulus");
    if (std::find(moduli.begin(), moduli.end(), modulus) != moduli.end()) {
      return Refuse(i, "one modulus under two kids");
    }
    moduli.push_back(std::move(modulus));
    set.keys.push_back(std::move(*key));
  }
  if (set.keys.empty()) {
    return InvalidArgument("JWKS has no usable key for use " + std::string(PeerUseName(use)));
  }
  return set;
}

}  // namespace instaccess::peers
