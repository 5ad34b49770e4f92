// ParsePeerJwks: a peer's JWKS document, checked strictly, reduced to the keys of one use.
//
// The document is hostile input: it is applied whole or not at all. Refused (InvalidArgument,
// the message says why; never applied):
//   - not strict JSON (jose::ParseStrictJsonObject: duplicate members, bad UTF-8, deep nesting),
//     no "keys" array, more than kMaxPeerJwksKeys keys, a key that is not an object;
//   - any key carrying private members (d, p, q, dp, dq, qi, oth): a peer that publishes a
//     private key has lost it;
//   - a key of the wanted use (its "use", else its "alg") that is not a 2048..4096-bit RSA key
//     with e = 65537, names no alg, names an alg not allowed for the use (enc: the configured
//     ones, RSA-OAEP by default; sig: RS256), or whose kid breaks the kid rule;
//   - two keys with one kid, or one modulus under two kids;
//   - no usable key at all (an empty set, or only keys of the other use).
// Keys of the other use are skipped: a daemon's JWKS lists both its signing and its encryption
// keys, and a follower wants one of them.
//
// Thread-safety: pure function. Never throws.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "jose/rsa_key.h"
#include "peers/peer_config.h"

namespace instaccess::peers {

// A JWKS rotates one key at a time (pending, active, retired): a handful of keys. Bounding the
// count bounds the RSA key parsing a hostile peer can make us do per fetch.
inline constexpr std::size_t kMaxPeerJwksKeys = 32;
// Larger moduli are refused by the keyring; refusing them here keeps the parse cheap.
inline constexpr int kMaxPeerKeyBits = 4096;

// The usable keys of a peer's set, in the document's order (a publisher lists newest first, so
// keys.front() is the newest).
struct PeerKeySet {
  std::vector<jose::RsaKey> keys;
};

struct PeerJwksRules {
  // Allowed algs for use "enc"; "sig" allows RS256 only (what Canvas signs with).
  std::vector<jose::Alg> enc_algs = {jose::Alg::kRsaOaep};
};

Result<PeerKeySet> ParsePeerJwks(std::string_view body, PeerUse use,
                                 const PeerJwksRules& rules = {});

}  // namespace instaccess::peers
