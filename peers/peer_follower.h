// PeerFollower: one peer's JWKS followed over time, and what is known about it.
//
// Refresh fetches the set (FetchJwks), checks it (ParsePeerJwks) and records the outcome in a
// PeerState. A failed fetch or a refused document never replaces the last good set: it counts
// a failure, keeps the error for status and schedules a retry with backoff. A 304 confirms the
// set held. AdvanceState is the pure step the follower is made of, for tests.
// It does not touch the keyring: the daemon applies state().keys to it.
//
// Thread-safety: Refresh, Cancel and state() may be called from different threads; Refresh calls
// are serialised (one fetch per peer at a time). state() returns a copy.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "peers/jwks_fetch.h"
#include "peers/jwks_parse.h"
#include "peers/peer_config.h"

namespace instaccess::peers {

using UnixTime = std::int64_t;  // seconds

struct PeerState {
  // The last good set (null until the first one), when it was last fetched or confirmed, and
  // the ETag it came with.
  std::shared_ptr<const PeerKeySet> keys;
  UnixTime fetched_at = 0;
  std::string etag;
  // Since the last good answer; 0 when the last attempt succeeded.
  int consecutive_failures = 0;
  std::string last_error;  // of the last failed attempt; kept after a success for status
  UnixTime last_failure_at = 0;
  UnixTime next_attempt = 0;  // 0: at once
};

// The state after one attempt at `now`: `fetched` is FetchJwks's answer, `jitter` a draw in
// [0, 1) for the next delay.
PeerState AdvanceState(const PeerState& before, const PeerConfig& config,
                       const Result<FetchReply>& fetched, UnixTime now, double jitter);

class PeerFollower {
 public:
  PeerFollower(PeerConfig config, FetchLimits limits = {});

  const PeerConfig& config() const { return config_; }
  PeerState state() const;

  // One attempt now (whatever next_attempt says); returns the new state. Blocks for the fetch
  // (at most limits.total_timeout).
  PeerState Refresh(UnixTime now, double jitter);

  // Ends a fetch under way within about a second, and every later one at once (it counts as a
  // failure). For shutdown; there is no way back.
  void Cancel() { cancelled_ = true; }

 private:
  const PeerConfig config_;
  const FetchLimits limits_;
  std::atomic<bool> cancelled_{false};
  std::mutex refresh_mu_;  // one fetch at a time
  mutable std::mutex mu_;
  PeerState state_;  // Guarded by mu_.
};

}  // namespace instaccess::peers
