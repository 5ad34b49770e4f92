// Bringing a peer's current set into the keyring, through the Keyring interface only.
//
// use "enc" (a gateway; this daemon's only encryption keys, SchedulePolicy::enc_from_peer):
//   - the newest key of the set (listed first) becomes the active encryption key at once
//     (imported with activate; the key it replaces is retired), since the gateway decrypts with
//     its pending keys too;
//   - every live peer encryption key in the keyring that the set no longer lists is revoked at
//     once: nothing is encrypted to it any more.
// use "sig" (an issuer):
//   - every key of the set not yet in the keyring is imported, bound to the peer's issuers,
//     without activation (it verifies until revoked);
//   - a live peer signing key bound to exactly those issuers that the set no longer lists is
//     revoked once it has been gone for its longest token lifetime (the key's max_lifetime, else
//     tokens.max_lifetime) plus clock_skew: every token it signed has expired by then. It counts
//     from when this process first saw it gone (SyncMemory, in memory), so a restart only delays
//     the revocation.
// A key the keyring refuses (a kid or modulus it holds already, revoked or destroyed included)
// is reported and skipped; the rest of the plan still applies.
//
// Thread-safety: PlanPeerSync is pure. ApplyPeerSync calls the keyring (which is thread-safe);
// a SyncMemory belongs to one peer's thread.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "keystore/keyring.h"
#include "peers/jwks_parse.h"
#include "peers/peer_config.h"

namespace instaccess::peers {

struct SyncMemory {
  // Peer signing keys seen missing from the set, and since when.
  std::map<std::string, keystore::UnixTime> gone_since;
};

struct SyncAction {
  enum class Kind { kImport, kRevoke };
  Kind kind = Kind::kImport;
  std::optional<jose::RsaKey> key;  // kImport
  bool activate = false;            // kImport
  std::string kid;                  // kRevoke
  friend bool operator==(const SyncAction&, const SyncAction&);
};

// What to do now. `keys`: the keyring's rows; `active_enc`: the kid of its active encryption
// key, if any; `max_lifetime` and `clock_skew`: [tokens]. Updates `memory`.
std::vector<SyncAction> PlanPeerSync(const PeerConfig& config, const PeerKeySet& set,
                                     std::span<const keystore::KeyInfo> keys,
                                     const std::optional<std::string>& active_enc,
                                     keystore::UnixTime now, std::int64_t max_lifetime,
                                     std::int64_t clock_skew, SyncMemory* memory);

struct SyncReport {
  std::vector<std::string> imported;  // kids
  std::vector<std::string> revoked;   // kids
  std::vector<std::string> problems;  // one line per refused action
};

// Plans and applies against `keyring` at `now`; `actor` names the change in the audit trail.
SyncReport SyncPeer(keystore::Keyring& keyring, const PeerConfig& config, const PeerKeySet& set,
                    keystore::UnixTime now, std::int64_t max_lifetime, std::int64_t clock_skew,
                    SyncMemory* memory);

}  // namespace instaccess::peers
