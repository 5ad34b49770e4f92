#include "daemon/peer_threads.h"

#include <spdlog/spdlog.h>

#include <random>

#include "common/log_text.h"

namespace instaccess::daemon {
namespace {

// A draw in [0, 1) for the refresh jitter.
double Jitter() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

// One attempt: fetch, and on a good (or confirmed) set, sync it into the keyring. Returns the
// follower's state and whether the keyring changed.
std::pair<peers::PeerState, bool> Attempt(peers::PeerFollower& follower, peers::SyncMemory* memory,
                                          keystore::Keyring& keyring, std::int64_t now,
                                          std::int64_t max_lifetime, std::int64_t clock_skew) {
  const peers::PeerConfig& config = follower.config();
  const peers::PeerState state = follower.Refresh(now, Jitter());
  if (state.consecutive_failures > 0) {
    spdlog::warn("peer {}: fetch {} failed ({} in a row), keeping {}: {}", LogText(config.name),
                 LogText(config.jwks_url), state.consecutive_failures,
                 state.keys ? "the last good set" : "the keys already stored",
                 LogText(state.last_error));
    return {state, false};
  }
  const peers::SyncReport report =
      peers::SyncPeer(keyring, config, *state.keys, now, max_lifetime, clock_skew, memory);
  for (const std::string& kid : report.imported) {
    spdlog::info("peer {}: imported {} key {}", LogText(config.name),
                 peers::PeerUseName(config.use), LogText(kid));
  }
  for (const std::string& kid : report.revoked) {
    spdlog::info("peer {}: revoked {} key {}, gone from its set", LogText(config.name),
                 peers::PeerUseName(config.use), LogText(kid));
  }
  for (const std::string& problem : report.problems) {
    spdlog::warn("peer {}: {}", LogText(config.name), LogText(problem));
  }
  return {state, !report.imported.empty() || !report.revoked.empty()};
}

}  // namespace

PeerThreads::PeerThreads(const Config& config, keystore::Keyring& keyring, const Clock& clock,
                         std::function<void()> on_change)
    : keyring_(keyring),
      clock_(clock),
      max_lifetime_(config.tokens.max_lifetime.count()),
      clock_skew_(config.tokens.clock_skew.count()),
      on_change_(std::move(on_change)) {
  for (const peers::PeerConfig& p : config.peers) peers_.push_back(std::make_unique<Peer>(p));
}

PeerThreads::~PeerThreads() { Stop(); }

void PeerThreads::Start() {
  for (auto& peer : peers_) peer->thread = std::thread([this, p = peer.get()] { Run(*p); });
}

void PeerThreads::Stop() {
  {
    std::scoped_lock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  // A thread in a fetch ends it within about a second.
  for (auto& peer : peers_) peer->follower.Cancel();
  for (auto& peer : peers_) {
    if (peer->thread.joinable()) peer->thread.join();
  }
}

void PeerThreads::Run(Peer& peer) {
  while (true) {
    const std::int64_t now = clock_.NowUnix();
    auto [state, changed] =
        Attempt(peer.follower, &peer.memory, keyring_, now, max_lifetime_, clock_skew_);
    if (changed && on_change_) on_change_();
    const auto wait = std::chrono::seconds(std::max<std::int64_t>(1, state.next_attempt - now));
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, wait, [this] { return stopping_; })) return;
  }
}

Status FollowGatewayAtStart(const Config& config, keystore::Keyring& keyring, const Clock& clock) {
  if (keyring.Snapshot()->active_enc) return Status::Ok();
  for (const peers::PeerConfig& p : config.peers) {
    if (p.use != peers::PeerUse::kEnc) continue;
    peers::PeerFollower follower(p);
    peers::SyncMemory memory;
    auto [state, changed] =
        Attempt(follower, &memory, keyring, clock.NowUnix(), config.tokens.max_lifetime.count(),
                config.tokens.clock_skew.count());
    if (!keyring.Snapshot()->active_enc) {
      return FailedPrecondition("no encryption key: this daemon encrypts to peer " + p.name +
                                "'s keys and has none stored; its fetch said: " +
                                (state.last_error.empty() ? "no usable key" : state.last_error));
    }
  }
  return Status::Ok();
}

}  // namespace instaccess::daemon
