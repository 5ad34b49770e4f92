// PeerConfig: one `[[peers]]` entry, a party whose JWKS this daemon follows (docs/config.md).
//
// use "enc": the peer is a gateway; new tokens are encrypted to the newest key it publishes.
// use "sig": the peer is an issuer; its signing keys verify its tokens, bound to `issuers`.
//
// Thread-safety: plain values; the functions are pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "jose/rsa_key.h"

namespace instaccess::peers {

enum class PeerUse { kEnc, kSig };

std::string_view PeerUseName(PeerUse use);         // "enc" / "sig"
Result<PeerUse> ParsePeerUse(std::string_view s);  // exact

// How often a peer is fetched at most, and how soon at the earliest.
// Below a few seconds a peer would be hammered by every follower; a JWKS changes at the
// peer's prepublish lead (an hour by default), so minutes are plenty.
inline constexpr std::chrono::seconds kMinRefresh{5};
inline constexpr std::chrono::seconds kMaxRefresh{24 * 3600};

struct PeerConfig {
  // Names the peer in logs, status and the keyring; the kid rule ([A-Za-z0-9._~-]{1,128}).
  std::string name;
  // https://..., or http://localhost/... together with unix_socket (a daemon on this host).
  std::string jwks_url;
  // Fetch over this Unix socket instead of the network (http://localhost/... only).
  std::string unix_socket;
  // A CA bundle (PEM) that verifies the peer's certificate in addition to the system's.
  // Certificates are always verified; there is no switch to turn that off.
  std::string ca_file;
  PeerUse use = PeerUse::kEnc;
  // use "sig": the iss values the peer's keys may sign for (required, non-empty). Refused for
  // "enc" (an encryption key vouches for nobody).
  std::vector<std::string> issuers;
  // Fetched at most this long apart; a shorter Cache-Control max-age from the peer wins.
  std::chrono::seconds refresh{300};
  // use "enc": the key-encryption algorithms a peer's key may carry. RSA-OAEP is what Canvas
  // encrypts with; RSA1_5 only when the operator configured it for tokens.
  std::vector<jose::Alg> enc_algs = {jose::Alg::kRsaOaep};

  bool operator==(const PeerConfig&) const = default;
};

// The URL rule: https://host/..., or http://localhost/... with a unix_socket; nothing else (no
// plain http over the network, no credentials in the URL, no other scheme).
Status ValidatePeerUrl(std::string_view url, std::string_view unix_socket);

// Every rule of a [[peers]] entry; the message names what is wrong.
Status ValidatePeerConfig(const PeerConfig& config);

}  // namespace instaccess::peers
