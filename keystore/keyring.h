// Keyring: the keys of both purposes, their schedule and the operator's actions on them
// (docs/design.md, "Keys and rotation"). An interface so that a shared backend (PostgreSQL, say)
// can replace the single-host SQLite one (SqliteKeyring, sqlite_keyring.h) without the daemon
// changing.
//
// Guarantees every implementation gives:
//   - Snapshot() is cheap and lock-free for readers: an immutable KeySet, replaced atomically
//     after each committed change. A reader keeps the set it holds for as long as it likes.
//   - Each change (a scheduled transition, rotate, import, revoke) is one transaction together
//     with its audit rows: after a crash the store holds the old or the new state, never a mix,
//     and never zero active keys for a purpose once it had one.
//   - Times are parameters. No method reads a clock.
// Key generation happens inside the mutating calls, and the call returns once the key is made
// (tens of milliseconds to seconds, RSA-4096 the slowest): ApplyDue when a new key is due or a
// pending key that cannot be promoted needs a stand-in; Rotate, and Revoke of an active key,
// only when no usable pending key exists. The caller waits that long and other mutating calls
// wait behind it; readers do not. The schedule keeps a pending key ahead of every activation, so
// Rotate and Revoke normally promote it and generate nothing. (StoreKeyring runs the generation
// on a short-lived worker thread and waits for it, holding its mutex.)
// What it does not do: authenticate callers (the socket's peer check does), or decide when to
// call ApplyDue (the daemon's scheduler does, sleeping until NextDueTime).
//
// How the daemon uses it (times are unix seconds from its own clock):
//   auto mk = LoadMasterKey({getenv("CREDENTIALS_DIRECTORY") ?: "", cfg.master_key_file, ...});
//   auto ring = SqliteKeyring::Open(opts, std::move(mk->key));   // wrong key: nothing touched
//   ring->ApplyDue(now, "startup");                      // first keys / catch-up, then READY=1
//   scheduler thread: sleep until NextDueTime(now), then ApplyDue(now, "scheduler")
//   request threads:  auto ks = ring->Snapshot(); sign with ks->active_sig, ...
//
// Thread-safety: all methods may be called from any thread. Mutating calls are serialised with
// each other (one waits while another generates a key); Snapshot() and NextDueTime() never wait.
// Ownership: a KeySet is shared (shared_ptr) and lives as long as its last reader.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "jose/rsa_key.h"
#include "jose/token.h"
#include "keystore/audit.h"
#include "keystore/key_types.h"
#include "keystore/schedule.h"

namespace instaccess::keystore {

// The live keys at one moment. Immutable once published.
struct KeySet {
  // Increases with every change, so caches keyed on it can tell sets apart.
  std::int64_t generation = 0;
  // Signs new tokens; always with its private part. Absent: the store has no usable active
  // signing key (see problems); the daemon then reports unhealthy.
  std::optional<jose::RsaKey> active_sig;
  // New tokens are encrypted to it. Has a private part unless it is a peer's (gateway's) key.
  std::optional<jose::RsaKey> active_enc;
  // Keys that may verify a signature: sig keys pending, active or retired (peer keys included),
  // public parts, newest first; verify_bounds[i] is what verify[i] may vouch for (its issuers and
  // the longest token lifetime it signs), resolved against tokens.issuer / max_lifetime.
  std::vector<jose::RsaKey> verify;
  std::vector<jose::SignerBounds> verify_bounds;
  // Keys that may decrypt: enc keys pending, active or retired with a private part. The first
  // decrypt_without_kid of them (at most kMaxKidlessDecryptKeys) are the ones a token without a
  // kid is tried against, in this order: the active key, then pending keys, then retired keys
  // still within their lifetime, newest first. Imported keys that were never activated (retired,
  // no expiry) follow them and decrypt only tokens that name them by kid (docs/tokens.md).
  std::vector<jose::RsaKey> decrypt;
  std::size_t decrypt_without_kid = 0;
  // {"keys": [...]}: public JWKs (kid, alg, use) of our own keys only (origin generated or
  // imported): signing keys pending, active and retired, then encryption keys pending and
  // active, each newest first. Never a peer's key.
  nlohmann::json jwks = nlohmann::json::object({{"keys", nlohmann::json::array()}});
  // jwks serialised once, and a strong validator of it (a hash of those bytes) for ETag.
  std::string jwks_text = R"({"keys":[]})";
  std::string jwks_etag;
  // Every key row, oldest first, with its state and times (GET /api/v1/keys).
  std::vector<KeyInfo> keys;
  // The coming transitions, earliest first (the first is certain, later ones may move).
  std::vector<Transition> planned;
  // Keys refused while loading (a sealed row that does not authenticate, ...), one line each.
  // They are left out of every set above; the other keys work.
  std::vector<std::string> problems;
  // Integrity (docs/storage.md): rows refused because they do not authenticate or do not match
  // the store's seal (also named in problems), and whether health must fail for it: an active
  // key's row was refused, or the seal cannot vouch for the rows.
  std::size_t tampered_rows = 0;
  bool integrity_alarm = false;
  // Hash of the newest audit row (lower-case hex): what an operator compares with a record kept
  // elsewhere to see that the trail was not cut.
  std::string audit_head;
  // Set while transitions are held because the clock jumped forward by more than max_lifetime
  // past the previous pass (see Keyring::ApplyDue): the `now` of that pass. Also in problems.
  std::optional<UnixTime> clock_held_since;
  // False while a shared store (a fleet's database) cannot be reached: the keys above keep
  // working, no change is made until it is back. Also a line in problems. Always true on a
  // store of one host.
  bool store_reachable = true;

  const jose::RsaKey* FindVerify(std::string_view kid) const;
  const jose::RsaKey* FindDecrypt(std::string_view kid) const;
  const KeyInfo* FindInfo(std::string_view kid) const;
};

// A token without a kid costs one RSA decryption per key it is tried against; this bounds it.
inline constexpr std::size_t kMaxKidlessDecryptKeys = 4;

struct ImportRequest {
  Purpose purpose = Purpose::kSig;
  // Exactly one of pem / jwk. A private key becomes origin `imported`; a public one `peer`.
  std::string pem;
  std::optional<nlohmann::json> jwk;
  // Default: the JWK's "alg" if it has one, else the purpose's configured alg.
  std::optional<jose::Alg> alg;
  // Make it the active key at once (the current active key is retired). A public-only key can
  // be active for enc only (tokens are then encrypted to a gateway's key). Without activate,
  // the key is accepted (verifies / decrypts) until revoked but never used for new tokens: it
  // is stored as retired without an expiry.
  bool activate = false;
  // Names the key (IsValidKid); default: the JWK's kid, else the key's RFC 7638 thumbprint.
  std::optional<std::string> kid;
  // Issuers a public signing key may sign for: required for one (InvalidArgument without),
  // refused for every other key (theirs is our own issuer). Our own issuer is refused in it
  // unless allow_own_issuer.
  std::optional<std::vector<std::string>> issuers;
  bool allow_own_issuer = false;
  // The longest token lifetime (exp - iat) the key signs; default tokens.max_lifetime.
  std::optional<std::int64_t> max_lifetime;
  // Never rotated or destroyed by the schedule (KeyInfo::pin).
  bool pin = false;
};

struct Health {
  bool store_open = false;
  bool active_sig = false;  // an active signing key with its private part is loaded
  bool active_enc = false;  // an active encryption key is loaded
  bool integrity = true;    // false: the store shows tampering that health must report
  std::string message;      // why not healthy, for /healthz and status
  bool ok() const { return store_open && active_sig && active_enc && integrity; }
};

class Keyring {
 public:
  virtual ~Keyring() = default;

  virtual std::shared_ptr<const KeySet> Snapshot() const = 0;

  // When the scheduler should next call ApplyDue: the earliest planned transition, or `now` if
  // one is already due; never later than now + max_lifetime / 2 (so a running scheduler passes
  // at least that often, and a larger gap between passes is a clock jump or a frozen host), and
  // while a clock jump is held never later than now + 60 (so the clock's return is noticed).
  virtual std::optional<UnixTime> NextDueTime(UnixTime now) const = 0;

  // Applies every transition due at `now`, earliest first, one transaction each (also the
  // catch-up after downtime, and the first keys of a new store). Returns how many were applied.
  // A `now` earlier than times already stored undoes nothing.
  // Clock faults: the `now` of the previous pass in this process is remembered (in memory; the
  // first pass after opening has none, so it catches up on downtime). When `now` is more than
  // max_lifetime past it, nothing is applied and the keyring is held: KeySet::clock_held_since
  // and a line in problems say so (health stays ok; the live keys keep working), and the
  // remembered time stays. A later pass within max_lifetime of it ends the hold by itself;
  // AcceptClock ends it for good.
  virtual Result<int> ApplyDue(UnixTime now, std::string_view actor) = 0;

  // An operator accepts the clock as it is (`instaccessctl schedule accept-clock`): ends a held
  // clock jump and takes `now` as the previous pass, so the next ApplyDue applies what is due
  // then. Audited ("accept-clock"). FailedPrecondition when no jump is held. Returns `now`.
  virtual Result<UnixTime> AcceptClock(UnixTime now, std::string_view actor) = 0;

  // Manual rotation: promotes the oldest usable pending key of each named purpose, or, with
  // none, generates one (the caller waits; see above) and activates it, at once. Returns the new
  // active kids. nullopt purpose = both.
  virtual Result<std::vector<std::string>> Rotate(std::optional<Purpose> purpose, UnixTime now,
                                                  std::string_view actor) = 0;

  // Adds a key (ImportRequest). InvalidArgument: not an RSA key of the purpose's algorithms,
  // larger than 4096 bits, a kid outside the kid rule (IsValidKid), issuers missing or not
  // allowed. AlreadyExists: the kid, or the key's modulus under any kid (revoked and destroyed
  // rows included), is already in the store.
  virtual Result<KeyInfo> Import(const ImportRequest& request, UnixTime now,
                                 std::string_view actor) = 0;

  // Revokes `kid`. If it is the active key, a replacement (the oldest usable pending key, or a
  // freshly generated one: the caller waits) is made active in the same transaction first.
  // Returns the revoked key's row.
  virtual Result<KeyInfo> Revoke(const std::string& kid, UnixTime now, std::string_view actor) = 0;

  // A consistent copy of the store at `dest_path` (which must not exist). Content stays sealed.
  virtual Status Backup(const std::string& dest_path, UnixTime now, std::string_view actor) = 0;

  virtual Result<AuditVerification> VerifyAuditChain() = 0;
  virtual Result<std::vector<AuditEntry>> ReadAuditLog(std::int64_t after_seq,
                                                       std::int64_t limit) = 0;

  virtual Health GetHealth() const = 0;
};

}  // namespace instaccess::keystore
