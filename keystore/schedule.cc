#include "keystore/schedule.h"

#include <algorithm>
#include <tuple>

namespace instaccess::keystore {

namespace {

const KeyInfo* Find(std::span<const KeyInfo> keys, const std::string& kid) {
  for (const KeyInfo& k : keys) {
    if (k.kid == kid) return &k;
  }
  return nullptr;
}

const KeyInfo* ActiveOf(std::span<const KeyInfo> keys, Purpose p) {
  for (const KeyInfo& k : keys) {
    if (k.purpose == p && k.state == KeyState::kActive) return &k;
  }
  return nullptr;
}

// The pending key promoted next: the one published longest (ties by kid, for determinism).
const KeyInfo* OldestPendingOf(std::span<const KeyInfo> keys, Purpose p) {
  const KeyInfo* best = nullptr;
  for (const KeyInfo& k : keys) {
    if (k.purpose != p || k.state != KeyState::kPending) continue;
    if (best == nullptr || std::tie(k.created_at, k.kid) < std::tie(best->created_at, best->kid)) {
      best = &k;
    }
  }
  return best;
}

UnixTime ActivatedAt(const KeyInfo& k) { return k.activate_at.value_or(k.created_at); }

Status CheckRotation(const RotationPolicy& r, std::string_view name) {
  std::string n(name);
  if (r.alg.empty()) return InvalidArgument(n + ".alg is empty");
  if (r.bits != 2048 && r.bits != 3072 && r.bits != 4096) {
    return InvalidArgument(n + ".bits must be 2048, 3072 or 4096, not " + std::to_string(r.bits));
  }
  if (r.period == kRotationOff) return Status::Ok();
  if (r.period <= 0) return InvalidArgument(n + ".period must be positive or \"off\"");
  if (r.prepublish < 0 || r.prepublish >= r.period) {
    return InvalidArgument(n + ".prepublish must be at least 0 and less than " + n + ".period");
  }
  return Status::Ok();
}

int KindRank(TransitionKind k) { return static_cast<int>(k); }

}  // namespace

Status SchedulePolicy::Validate() const {
  INSTACCESS_RETURN_IF_ERROR(CheckRotation(sig, "rotation.sig"));
  INSTACCESS_RETURN_IF_ERROR(CheckRotation(enc, "rotation.enc"));
  if (max_lifetime <= 0) return InvalidArgument("tokens.max_lifetime must be positive");
  if (clock_skew < 0) return InvalidArgument("tokens.clock_skew must not be negative");
  return Status::Ok();
}

std::string_view TransitionName(TransitionKind k) {
  switch (k) {
    case TransitionKind::kPromote:
      return "promote";
    case TransitionKind::kGenerate:
      return "generate";
    case TransitionKind::kDestroy:
      return "destroy";
  }
  return "unknown";
}

std::vector<Transition> PlanTransitions(std::span<const KeyInfo> keys,
                                        const SchedulePolicy& policy) {
  std::vector<Transition> plan;
  for (Purpose p : kAllPurposes) {
    const RotationPolicy& r = policy.For(p);
    const KeyInfo* active = ActiveOf(keys, p);
    const KeyInfo* pending = OldestPendingOf(keys, p);
    if (p == Purpose::kEnc && policy.enc_from_peer) {
      // Only the gateway makes encryption keys; its follower imports them.
    } else if (active == nullptr) {
      // Never zero active keys: promote the pending key or make one, at once.
      plan.push_back({TransitionKind::kPromote, p, 0, pending ? pending->kid : "", ""});
    } else if (active->origin == KeyOrigin::kPeer || active->pin || r.period == kRotationOff) {
      // Only the peer can make its next key; a pinned key and a purpose with rotation off are
      // replaced only by an admin's rotate or revoke.
    } else if (pending == nullptr) {
      plan.push_back(
          {TransitionKind::kGenerate, p, ActivatedAt(*active) + r.period - r.prepublish, "", ""});
    } else {
      UnixTime at = std::max(ActivatedAt(*active) + r.period, pending->created_at + r.prepublish);
      plan.push_back({TransitionKind::kPromote, p, at, pending->kid, active->kid});
    }
  }
  for (const KeyInfo& k : keys) {
    if (k.state == KeyState::kRetired && k.expire_at.has_value()) {
      plan.push_back({TransitionKind::kDestroy, k.purpose, *k.expire_at, k.kid, ""});
    }
  }
  std::sort(plan.begin(), plan.end(), [](const Transition& a, const Transition& b) {
    return std::make_tuple(a.due_at, KindRank(a.kind), a.purpose, a.kid) <
           std::make_tuple(b.due_at, KindRank(b.kind), b.purpose, b.kid);
  });
  return plan;
}

std::optional<Transition> NextDue(std::span<const KeyInfo> keys, const SchedulePolicy& policy,
                                  UnixTime now) {
  std::vector<Transition> plan = PlanTransitions(keys, policy);
  if (plan.empty() || plan.front().due_at > now) return std::nullopt;
  return plan.front();
}

std::optional<UnixTime> NextDueTime(std::span<const KeyInfo> keys, const SchedulePolicy& policy) {
  std::vector<Transition> plan = PlanTransitions(keys, policy);
  if (plan.empty()) return std::nullopt;
  return plan.front().due_at;
}

Result<RowChanges> ComputeActivation(std::span<const KeyInfo> keys, Purpose purpose,
                                     const std::string& kid, UnixTime at,
                                     const SchedulePolicy& policy, std::optional<KeyInfo> fresh) {
  RowChanges out;
  KeyInfo next;
  const bool is_new = fresh.has_value();
  if (is_new) {
    if (Find(keys, fresh->kid) != nullptr) {
      return AlreadyExists("key " + fresh->kid + " is already in the store");
    }
    next = std::move(*fresh);
    next.created_at = at;
  } else {
    const KeyInfo* k = Find(keys, kid);
    if (k == nullptr) return NotFound("no key with kid " + kid);
    if (k->state != KeyState::kPending) {
      return FailedPrecondition("key " + kid + " is " + std::string(StateName(k->state)) +
                                ", only a pending key can be made active");
    }
    next = *k;
  }
  if (next.purpose != purpose) {
    return InvalidArgument("key " + next.kid + " is a " + std::string(PurposeName(next.purpose)) +
                           " key, not " + std::string(PurposeName(purpose)));
  }
  if (purpose == Purpose::kEnc && policy.enc_from_peer && next.origin != KeyOrigin::kPeer) {
    return FailedPrecondition(
        "this daemon encrypts to the keys of the gateway it follows ([[peers]] use = \"enc\"): "
        "rotate or revoke at the gateway");
  }
  if (purpose == Purpose::kSig && !next.has_private) {
    return FailedPrecondition("key " + next.kid + " has no private part and cannot sign");
  }
  next.state = KeyState::kActive;
  next.activate_at = at;
  next.retire_at.reset();
  next.expire_at.reset();
  if (const KeyInfo* old = ActiveOf(keys, purpose); old != nullptr && old->kid != next.kid) {
    KeyInfo retired = *old;
    retired.state = KeyState::kRetired;
    retired.retire_at = at;
    // No token made with it can be valid after this (docs/design.md, "Keys and rotation"); a key
    // that vouches for longer-lived tokens (KeyInfo::max_lifetime) is kept as long as they live.
    const std::int64_t lifetime = std::max(policy.max_lifetime, old->max_lifetime.value_or(0));
    retired.expire_at = at + lifetime + policy.clock_skew;
    out.updated.push_back(std::move(retired));
  }
  if (is_new) {
    out.inserted = std::move(next);
  } else {
    out.updated.insert(out.updated.begin(), std::move(next));
  }
  return out;
}

Result<RowChanges> ComputeTransition(std::span<const KeyInfo> keys, const Transition& t,
                                     UnixTime at, const SchedulePolicy& policy,
                                     std::optional<KeyInfo> fresh) {
  switch (t.kind) {
    case TransitionKind::kPromote:
      if (t.kid.empty() != fresh.has_value()) {
        return Internal("promote needs exactly one of a pending kid or a fresh key");
      }
      return ComputeActivation(keys, t.purpose, t.kid, at, policy, std::move(fresh));
    case TransitionKind::kGenerate: {
      if (!fresh.has_value()) return Internal("generate needs a fresh key");
      if (Find(keys, fresh->kid) != nullptr) {
        return AlreadyExists("key " + fresh->kid + " is already in the store");
      }
      RowChanges out;
      KeyInfo k = std::move(*fresh);
      k.purpose = t.purpose;
      k.state = KeyState::kPending;
      k.created_at = at;
      const KeyInfo* active = ActiveOf(keys, t.purpose);
      const RotationPolicy& r = policy.For(t.purpose);
      UnixTime planned = active ? ActivatedAt(*active) + r.period : at;
      k.activate_at = std::max(planned, at + r.prepublish);
      k.retire_at.reset();
      k.expire_at.reset();
      out.inserted = std::move(k);
      return out;
    }
    case TransitionKind::kDestroy: {
      if (fresh.has_value()) return Internal("destroy takes no fresh key");
      const KeyInfo* k = Find(keys, t.kid);
      if (k == nullptr) return NotFound("no key with kid " + t.kid);
      if (k->state != KeyState::kRetired) {
        return FailedPrecondition("key " + t.kid + " is not retired");
      }
      RowChanges out;
      KeyInfo d = *k;
      d.state = KeyState::kDestroyed;
      d.has_private = false;
      out.updated.push_back(std::move(d));
      return out;
    }
  }
  return Internal("unknown transition");
}

Result<RowChanges> ComputeRevocation(std::span<const KeyInfo> keys, const std::string& kid,
                                     UnixTime at) {
  const KeyInfo* k = Find(keys, kid);
  if (k == nullptr) return NotFound("no key with kid " + kid);
  if (k->state == KeyState::kActive) {
    return FailedPrecondition("key " + kid + " is active; activate a replacement first");
  }
  if (k->state == KeyState::kRevoked) {
    return FailedPrecondition("key " + kid + " is already revoked");
  }
  RowChanges out;
  KeyInfo r = *k;
  r.state = KeyState::kRevoked;
  r.revoked_at = at;
  r.has_private = false;
  out.updated.push_back(std::move(r));
  return out;
}

void ApplyChanges(std::vector<KeyInfo>& keys, const RowChanges& changes) {
  for (const KeyInfo& u : changes.updated) {
    for (KeyInfo& k : keys) {
      if (k.kid == u.kid) k = u;
    }
  }
  if (changes.inserted.has_value()) keys.push_back(*changes.inserted);
}

bool IsLive(const KeyInfo& k) {
  return k.state == KeyState::kPending || k.state == KeyState::kActive ||
         k.state == KeyState::kRetired;
}

bool InJwks(const KeyInfo& k) {
  if (k.origin == KeyOrigin::kPeer || !IsLive(k)) return false;
  return k.purpose == Purpose::kSig || k.state != KeyState::kRetired;
}

bool MayVerify(const KeyInfo& k) { return k.purpose == Purpose::kSig && IsLive(k); }

bool MayDecrypt(const KeyInfo& k) {
  return k.purpose == Purpose::kEnc && k.has_private && IsLive(k);
}

}  // namespace instaccess::keystore
