#include "peers/keyring_sync.h"

#include <algorithm>

#include "keystore/schedule.h"

namespace instaccess::peers {
namespace {

using keystore::KeyInfo;
using keystore::KeyOrigin;
using keystore::Purpose;

bool Listed(const PeerKeySet& set, const std::string& kid) {
  return std::any_of(set.keys.begin(), set.keys.end(),
                     [&](const jose::RsaKey& k) { return k.kid() == kid; });
}

const KeyInfo* Find(std::span<const KeyInfo> keys, const std::string& kid) {
  for (const KeyInfo& k : keys) {
    if (k.kid == kid) return &k;
  }
  return nullptr;
}

// The keyring's keys that this peer's follower owns: live peer keys of its purpose (for "sig",
// bound to exactly its issuers; another issuer's keys belong to someone else).
bool FollowedBy(const KeyInfo& k, const PeerConfig& config) {
  if (k.origin != KeyOrigin::kPeer || !keystore::IsLive(k)) return false;
  if (config.use == PeerUse::kEnc) return k.purpose == Purpose::kEnc;
  return k.purpose == Purpose::kSig && k.issuers == config.issuers;
}

SyncAction Import(const jose::RsaKey& key, bool activate) {
  SyncAction a;
  a.kind = SyncAction::Kind::kImport;
  a.key = key;
  a.activate = activate;
  a.kid = key.kid();
  return a;
}

SyncAction Revoke(const std::string& kid) {
  SyncAction a;
  a.kind = SyncAction::Kind::kRevoke;
  a.kid = kid;
  return a;
}

}  // namespace

bool operator==(const SyncAction& a, const SyncAction& b) {
  return a.kind == b.kind && a.activate == b.activate && a.kid == b.kid;
}

std::vector<SyncAction> PlanPeerSync(const PeerConfig& config, const PeerKeySet& set,
                                     std::span<const KeyInfo> keys,
                                     const std::optional<std::string>& active_enc,
                                     keystore::UnixTime now, std::int64_t max_lifetime,
                                     std::int64_t clock_skew, SyncMemory* memory) {
  std::vector<SyncAction> plan;
  if (set.keys.empty()) return plan;  // never: ParsePeerJwks refuses an empty set
  if (config.use == PeerUse::kEnc) {
    const jose::RsaKey& newest = set.keys.front();
    if (active_enc != newest.kid() && Find(keys, newest.kid()) == nullptr) {
      plan.push_back(Import(newest, true));
    }
    for (const KeyInfo& k : keys) {
      if (FollowedBy(k, config) && !Listed(set, k.kid)) plan.push_back(Revoke(k.kid));
    }
    return plan;
  }
  for (const jose::RsaKey& key : set.keys) {
    memory->gone_since.erase(key.kid());
    if (Find(keys, key.kid()) == nullptr) plan.push_back(Import(key, false));
  }
  for (const KeyInfo& k : keys) {
    if (!FollowedBy(k, config) || Listed(set, k.kid)) continue;
    auto [it, first_seen] = memory->gone_since.emplace(k.kid, now);
    const std::int64_t lifetime = std::max(max_lifetime, k.max_lifetime.value_or(0));
    if (now >= it->second + lifetime + clock_skew) {
      plan.push_back(Revoke(k.kid));
      memory->gone_since.erase(it);
    }
  }
  return plan;
}

SyncReport SyncPeer(keystore::Keyring& keyring, const PeerConfig& config, const PeerKeySet& set,
                    keystore::UnixTime now, std::int64_t max_lifetime, std::int64_t clock_skew,
                    SyncMemory* memory) {
  auto snapshot = keyring.Snapshot();
  std::optional<std::string> active_enc;
  if (snapshot->active_enc) active_enc = snapshot->active_enc->kid();
  const std::string actor = "peer:" + config.name;
  SyncReport report;
  for (const SyncAction& a : PlanPeerSync(config, set, snapshot->keys, active_enc, now,
                                          max_lifetime, clock_skew, memory)) {
    if (a.kind == SyncAction::Kind::kImport) {
      keystore::ImportRequest request;
      request.purpose = config.use == PeerUse::kEnc ? Purpose::kEnc : Purpose::kSig;
      request.pem = a.key->PublicPem();
      request.alg = a.key->alg();
      request.kid = a.key->kid();
      request.activate = a.activate;
      if (config.use == PeerUse::kSig) request.issuers = config.issuers;
      auto imported = keyring.Import(request, now, actor);
      if (imported) {
        report.imported.push_back(a.kid);
      } else {
        report.problems.push_back("import of " + a.kid + ": " + imported.error().message());
      }
    } else {
      auto revoked = keyring.Revoke(a.kid, now, actor);
      if (revoked) {
        report.revoked.push_back(a.kid);
      } else {
        report.problems.push_back("revoke of " + a.kid + ": " + revoked.error().message());
      }
    }
  }
  return report;
}

}  // namespace instaccess::peers
