// Key metadata shared by the store, the schedule and the keyring interface. No secrets here.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace instaccess::keystore {

// Unix seconds. Every function that needs "now" takes it as a parameter: there is no hidden
// clock anywhere in this library, so the schedule is tested with any clock the test likes.
using UnixTime = std::int64_t;

// What a key is for (one set of keys and one schedule per purpose: docs/design.md, "Keys and
// rotation"). Same names as JWK "use".
enum class Purpose { kSig, kEnc };
inline constexpr Purpose kAllPurposes[] = {Purpose::kSig, Purpose::kEnc};

enum class KeyState {
  kPending,    // generated or imported, published, not yet used
  kActive,     // exactly one per purpose: signs new tokens / is encrypted to
  kRetired,    // no new use; still verifies / decrypts until expire_at
  kDestroyed,  // private part wiped; row kept for audit
  kRevoked,    // operator's emergency exit: not published, not accepted, private part wiped
};

enum class KeyOrigin {
  kGenerated,  // made here
  kImported,   // private key brought in (e.g. Canvas's existing keys)
  kPeer,       // public key only: a peer's signing key or a gateway's encryption key
};

std::string_view PurposeName(Purpose p);   // "sig" / "enc"
std::string_view StateName(KeyState s);    // "pending", ...
std::string_view OriginName(KeyOrigin o);  // "generated", ...
Result<Purpose> ParsePurpose(std::string_view s);
Result<KeyState> ParseState(std::string_view s);
Result<KeyOrigin> ParseOrigin(std::string_view s);

// kids are [A-Za-z0-9._~-]{1,128}: URL-safe, so a kid is one path segment, and printable in logs.
inline constexpr std::size_t kMaxKidLength = 128;
bool IsValidKid(std::string_view kid);

// One row of the `keys` table without its key material.
struct KeyInfo {
  std::string kid;
  Purpose purpose = Purpose::kSig;
  std::string alg;  // JOSE name, e.g. "RS256"; the key is bound to it for life
  int bits = 0;
  KeyOrigin origin = KeyOrigin::kGenerated;
  KeyState state = KeyState::kPending;
  UnixTime created_at = 0;
  // Pending: when it is planned to become active. Active/retired: when it became active
  // (unset for keys that were never active, e.g. peer keys imported without activation).
  std::optional<UnixTime> activate_at;
  std::optional<UnixTime> retire_at;  // when it stopped being active
  // When a retired key is destroyed: retire_at + max_lifetime + clock_skew. Unset for keys
  // that are never destroyed by the schedule (peer keys imported without activation).
  std::optional<UnixTime> expire_at;
  std::optional<UnixTime> revoked_at;  // schema v2
  bool has_private = false;            // a sealed private part is stored (not wiped)
  // Schema v4 (docs/tokens.md, "Which keys vouch for what"). The issuers (`iss`) this signing
  // key may sign for; nullopt: our own issuer (tokens.issuer) only, as for every generated key
  // and every key imported with its private part. A peer's signing key names its own list, which
  // holds our issuer only when its import said so explicitly; a peer's key without one (imported
  // before schema v4) is bound to no issuer at all.
  std::optional<std::vector<std::string>> issuers;
  // The longest lifetime (exp - iat) of a token this key signs; nullopt: tokens.max_lifetime.
  std::optional<std::int64_t> max_lifetime;
  // Never rotated or destroyed by the schedule: only an admin's rotate or revoke ends it (keys a
  // stock Canvas holds in its static configuration).
  bool pin = false;

  friend bool operator==(const KeyInfo&, const KeyInfo&) = default;
};

}  // namespace instaccess::keystore
