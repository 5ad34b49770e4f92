// libFuzzer target over a peer's JWKS document as the follower fetched it (peers::ParsePeerJwks).
// The first byte chooses the use (bit 0: sig, else enc) and whether RSA1_5 is allowed for enc
// (bit 1); the rest is the document.
//
// Invariants beyond "no crash, no sanitizer report" (a set that parses is one the follower may
// apply whole, jwks_parse.h):
//   - it holds at least one key and at most kMaxPeerJwksKeys;
//   - every key is public only, 2048..4096 bits, of an alg allowed for the use, with a kid the
//     keystore accepts;
//   - no two keys share a kid or a modulus.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "jose/rsa_key.h"
#include "keystore/key_types.h"
#include "peers/jwks_parse.h"

namespace {

namespace peers = instaccess::peers;
namespace jose = instaccess::jose;

bool Allowed(jose::Alg alg, peers::PeerUse use, const peers::PeerJwksRules& rules) {
  if (use == peers::PeerUse::kSig) return alg == jose::Alg::kRS256;
  for (jose::Alg a : rules.enc_algs) {
    if (a == alg) return true;
  }
  return false;
}

void Check(const peers::PeerKeySet& set, peers::PeerUse use, const peers::PeerJwksRules& rules) {
  if (set.keys.empty() || set.keys.size() > peers::kMaxPeerJwksKeys) std::abort();
  std::set<std::string> kids;
  std::set<std::vector<std::uint8_t>> moduli;
  for (const jose::RsaKey& k : set.keys) {
    if (k.has_private()) std::abort();
    if (k.bits() < 2048 || k.bits() > peers::kMaxPeerKeyBits) std::abort();
    if (!Allowed(k.alg(), use, rules)) std::abort();
    if (!instaccess::keystore::IsValidKid(k.kid())) std::abort();
    if (!kids.insert(k.kid()).second) std::abort();
    if (!moduli.insert(k.Modulus()).second) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const peers::PeerUse use = (data[0] & 1) != 0 ? peers::PeerUse::kSig : peers::PeerUse::kEnc;
  peers::PeerJwksRules rules;
  if ((data[0] & 2) != 0) rules.enc_algs.push_back(jose::Alg::kRsa1_5);
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  auto set = peers::ParsePeerJwks(body, use, rules);
  if (set) Check(*set, use, rules);
  return 0;
}
