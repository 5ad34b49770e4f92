// The rotation schedule (docs/design.md, "Keys and rotation") as pure functions: given the key
// rows and a time, which transitions are due and what rows each one changes. No I/O, no clock,
// no key material, so the properties that keep live tokens working are tested over many random
// schedules in milliseconds (tests/keystore/schedule_test.cc); the SQLite keyring writes exactly
// the rows these functions compute, one transaction per transition.
//
// Per purpose, with A the active key and P the oldest pending key:
//   no active key         -> kPromote (P, or a freshly generated key) at once ("bootstrap")
//   A, no P               -> kGenerate at A.activate_at + period - prepublish
//   A and P               -> kPromote at max(A.activate_at + period, P.created_at + prepublish):
//                            a pending key is always published for `prepublish` before use, also
//                            when it was generated late (catch-up after downtime)
//   retired R             -> kDestroy at R.expire_at = retire_at + max_lifetime + clock_skew
// A peer (public-only) active key is not rotated by the schedule: only its owner can make the
// next one, so the operator imports it (with activate) when it changes. Nor is a pinned active
// key (KeyInfo::pin), nor any key of a purpose whose period is kRotationOff: an admin's rotate or
// revoke replaces them. Retired keys are destroyed at expire_at in every case.
//
// Transitions are stamped with the time they are applied, never the time they were due: a key
// stays active until it is actually replaced, so a late scheduler shortens nothing. Applying
// them earliest-first, re-planning after each, is the catch-up after downtime.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "keystore/key_types.h"

namespace instaccess::keystore {

// RotationPolicy::period of a purpose whose scheduled rotation is off (`period = "off"`).
inline constexpr std::int64_t kRotationOff = 0;

// One purpose's schedule. Defaults are those of [rotation.sig] (docs/config.md).
struct RotationPolicy {
  // The JOSE alg every key of this purpose is bound to (one alg per key, docs/tokens.md).
  std::string alg = "RS256";
  // RSA modulus size. 2048 is what Canvas uses and what RFC 7518 requires at minimum; 3072 and
  // 4096 are allowed for operators with longer-term requirements.
  int bits = 2048;
  // How long a key is the active one. Short enough that a leaked key is useful briefly, long
  // enough that verifiers refetching JWKS hourly always know the next key. kRotationOff: never
  // rotated by the schedule.
  std::int64_t period = 24 * 3600;
  // How long a new key is published (pending) before it is used, so that verifiers and
  // encrypting peers have fetched it before the first token made with it arrives.
  std::int64_t prepublish = 3600;
};

struct SchedulePolicy {
  RotationPolicy sig;  // [rotation.sig]: RS256, 2048 bits, 24h, 1h
  // [rotation.enc]: RSA-OAEP (what Canvas encrypts with), 2048 bits, rotated weekly because a
  // gateway must re-fetch our encryption key each time it changes.
  RotationPolicy enc{"RSA-OAEP", 2048, 7 * 24 * 3600, 3600};
  // [tokens] max_lifetime: no token lives longer, so a retired key is needed this long at most.
  std::int64_t max_lifetime = 3600;
  // [tokens] clock_skew: verifiers accept exp + clock_skew, so the key must outlive that too.
  std::int64_t clock_skew = 60;
  // A [[peers]] entry with use "enc" (a gateway) owns the encryption keys: the schedule never
  // makes, promotes or rotates one (no bootstrap either); the peer follower imports the
  // gateway's newest key as the active one, and an activation (rotate, or the replacement of a
  // revoked active key) of any other encryption key is refused. Retired keys are still
  // destroyed at expire_at.
  bool enc_from_peer = false;

  const RotationPolicy& For(Purpose p) const { return p == Purpose::kSig ? sig : enc; }
  // period > 0 (or kRotationOff), 0 <= prepublish < period, max_lifetime > 0, clock_skew >= 0, bits
  // in {2048, 3072, 4096}, alg non-empty. Names the offending field.
  Status Validate() const;
};

enum class TransitionKind {
  kPromote,   // make `kid` (a pending key; empty: a freshly generated key) active, retire old_kid
  kGenerate,  // generate the next key of `purpose` as pending
  kDestroy,   // wipe the private part of retired key `kid`
};
std::string_view TransitionName(TransitionKind k);  // "promote", "generate", "destroy"

struct Transition {
  TransitionKind kind = TransitionKind::kGenerate;
  Purpose purpose = Purpose::kSig;
  UnixTime due_at = 0;  // 0 for "at once" (no active key)
  std::string kid;      // kPromote: the pending key (empty: generate one); kDestroy: the key
  std::string old_kid;  // kPromote: the active key it replaces (empty when there is none)

  friend bool operator==(const Transition&, const Transition&) = default;
};

// Every transition the current rows call for, earliest first (ties: promote, generate,
// destroy; then purpose, kid). Only the first one is certain: applying it changes the plan.
std::vector<Transition> PlanTransitions(std::span<const KeyInfo> keys,
                                        const SchedulePolicy& policy);

// The earliest planned transition with due_at <= now, if any.
std::optional<Transition> NextDue(std::span<const KeyInfo> keys, const SchedulePolicy& policy,
                                  UnixTime now);

// When the next transition is due (may be <= now: apply at once); nullopt when nothing is
// planned (only peer keys, say).
std::optional<UnixTime> NextDueTime(std::span<const KeyInfo> keys, const SchedulePolicy& policy);

// The rows a change writes: existing rows with their new state and times, and at most one new
// row. The store writes exactly these in one transaction with one audit row per key.
struct RowChanges {
  std::vector<KeyInfo> updated;
  std::optional<KeyInfo> inserted;
};

// What applying `t` at time `at` changes. `fresh` is the newly generated key's row (kid, alg,
// bits, origin, has_private; state and times are set here) for kGenerate and for a kPromote
// without a pending kid; it must be absent otherwise.
Result<RowChanges> ComputeTransition(std::span<const KeyInfo> keys, const Transition& t,
                                     UnixTime at, const SchedulePolicy& policy,
                                     std::optional<KeyInfo> fresh);

// Operator actions, same shape. Activation makes `kid` (pending, or `fresh` when given as a new
// row) the active key of its purpose at `at` and retires the current active key.
Result<RowChanges> ComputeActivation(std::span<const KeyInfo> keys, Purpose purpose,
                                     const std::string& kid, UnixTime at,
                                     const SchedulePolicy& policy, std::optional<KeyInfo> fresh);
// Revocation of a key that is not the active one (callers activate a replacement first).
Result<RowChanges> ComputeRevocation(std::span<const KeyInfo> keys, const std::string& kid,
                                     UnixTime at);

// Applies changes to an in-memory copy of the rows (the model used by the property tests and
// by the store to keep its row cache in step with what it wrote).
void ApplyChanges(std::vector<KeyInfo>& keys, const RowChanges& changes);

// Which sets a key belongs to (docs/design.md, "Keys and rotation").
// Live (loaded, usable in some way): pending, active and retired keys.
bool IsLive(const KeyInfo& k);
// Published in our JWKS: our own keys only (origin generated or imported, never a peer's);
// signing keys pending, active or retired, encryption keys pending or active (an issuer must
// never pick a key about to be destroyed).
bool InJwks(const KeyInfo& k);
// May verify a signature: sig keys that are pending, active or retired (peer keys included).
bool MayVerify(const KeyInfo& k);
// May decrypt: enc keys with a private part that are live (pending, active, retired). A pending
// key is in JWKS, so an issuer may encrypt to it before it becomes active.
bool MayDecrypt(const KeyInfo& k);

}  // namespace instaccess::keystore
