// The [[peers]] followers: one thread per peer that fetches the peer's JWKS when due
// (peers::PeerFollower), brings the set into the keyring (peers::SyncPeer) and sleeps until the
// next attempt. A failure keeps the keyring as it is and is logged with the peer's name.
//
// Thread-safety: Start/Stop from the owner. on_change runs on a peer's thread after the keyring
// changed.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "daemon/config.h"
#include "keystore/keyring.h"
#include "peers/keyring_sync.h"
#include "peers/peer_follower.h"

namespace instaccess::daemon {

class PeerThreads {
 public:
  PeerThreads(const Config& config, keystore::Keyring& keyring, const Clock& clock,
              std::function<void()> on_change);
  ~PeerThreads();  // Stop()

  void Start();
  void Stop();

 private:
  struct Peer {
    explicit Peer(peers::PeerConfig c) : follower(std::move(c)) {}
    peers::PeerFollower follower;
    peers::SyncMemory memory;  // this peer's thread only
    std::thread thread;
  };
  void Run(Peer& peer);

  keystore::Keyring& keyring_;
  const Clock& clock_;
  const std::int64_t max_lifetime_;
  const std::int64_t clock_skew_;
  const std::function<void()> on_change_;
  std::vector<std::unique_ptr<Peer>> peers_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // Guarded by mu_.
};

// One fetch and sync of the gateway (the peer with use "enc"), before serving, when the keyring
// holds no active encryption key yet: a daemon that follows a gateway makes none of its own.
// FailedPrecondition when there is still none afterwards. OK at once when there is no such
// peer or a key is held (a restart while the gateway is away keeps working).
Status FollowGatewayAtStart(const Config& config, keystore::Keyring& keyring, const Clock& clock);

}  // namespace instaccess::daemon
