// The rotation scheduler: one thread that sleeps until the keyring's next due transition (not a
// one-second poll), applies what is due (catch-up included) and goes back to sleep. Operator
// actions Kick() it, since they move the plan. Key generation happens inside ApplyDue on the
// keyring's worker, never on a request thread.
//
// On a shared store (a fleet on PostgreSQL) it also re-reads the keyring every `poll`, so that
// other hosts' changes reach this host's snapshot (and JWKS) within that time.
//
// Thread-safety: Start/Stop from the owner; Kick from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/status.h"
#include "keystore/keyring.h"

namespace instaccess::daemon {

class Scheduler {
 public:
  // on_applied(n) runs on the scheduler thread after n > 0 transitions were applied, and with
  // n = 0 when the shared store was lost or came back (the status line changes).
  // refresh (empty on a store of one host) runs at least every `poll`.
  Scheduler(keystore::Keyring& keyring, const Clock& clock, std::function<void(int)> on_applied,
            std::function<Status()> refresh = {},
            std::chrono::seconds poll = std::chrono::seconds(0));
  ~Scheduler();  // Stop()

  void Start();
  void Kick();
  void Stop();

 private:
  void Run();

  keystore::Keyring& keyring_;
  const Clock& clock_;
  const std::function<void(int)> on_applied_;
  const std::function<Status()> refresh_;
  const std::chrono::seconds poll_;
  bool store_lost_ = false;  // Used by the scheduler thread only: the outage was logged.
  std::mutex mu_;
  std::condition_variable cv_;
  bool kicked_ = false;    // Guarded by mu_.
  bool stopping_ = false;  // Guarded by mu_.
  std::thread thread_;
};

}  // namespace instaccess::daemon
