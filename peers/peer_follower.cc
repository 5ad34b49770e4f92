#include "peers/peer_follower.h"

#include <utility>

#include "peers/refresh_policy.h"

namespace instaccess::peers {
namespace {

PeerState Failed(PeerState state, const PeerConfig& config, std::string error, UnixTime now,
                 double jitter) {
  state.consecutive_failures += 1;
  state.last_error = std::move(error);
  state.last_failure_at = now;
  state.next_attempt = now + RetryDelay(config.refresh, state.consecutive_failures, jitter).count();
  return state;
}

}  // namespace

PeerState AdvanceState(const PeerState& before, const PeerConfig& config,
                       const Result<FetchReply>& fetched, UnixTime now, double jitter) {
  if (!fetched) return Failed(before, config, fetched.error().message(), now, jitter);
  PeerState after = before;
  if (fetched->not_modified) {
    if (!before.keys) {
      return Failed(before, config, "peer answered 304 but no set is held", now, jitter);
    }
  } else {
    auto parsed = ParsePeerJwks(fetched->body, config.use, PeerJwksRules{config.enc_algs});
    if (!parsed) return Failed(before, config, parsed.error().message(), now, jitter);
    after.keys = std::make_shared<const PeerKeySet>(std::move(*parsed));
    after.etag = fetched->etag;
  }
  after.fetched_at = now;
  after.consecutive_failures = 0;
  after.next_attempt = now + RefreshDelay(config.refresh, fetched->max_age, jitter).count();
  return after;
}

PeerFollower::PeerFollower(PeerConfig config, FetchLimits limits)
    : config_(std::move(config)), limits_(limits) {}

PeerState PeerFollower::state() const {
  std::scoped_lock lock(mu_);
  return state_;
}

PeerState PeerFollower::Refresh(UnixTime now, double jitter) {
  std::scoped_lock refreshing(refresh_mu_);
  FetchRequest request;
  request.url = config_.jwks_url;
  request.unix_socket = config_.unix_socket;
  request.ca_file = config_.ca_file;
  request.limits = limits_;
  request.cancelled = &cancelled_;
  PeerState before = state();
  if (before.keys) request.if_none_match = before.etag;
  const Result<FetchReply> fetched = FetchJwks(request);
  PeerState after = AdvanceState(before, config_, fetched, now, jitter);
  std::scoped_lock lock(mu_);
  state_ = after;
  return after;
}

}  // namespace instaccess::peers
