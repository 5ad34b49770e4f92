// The rotation scheduler: one thread that sleeps until the keyring's next due transition (not a
// one-second poll), applies what is due (catch-up included) and goes back to sleep. Operator
// actions Kick() it, since they move the plan. Key generation happens inside ApplyDue on the
// keyring's worker, never on a request thread.
//
// A pass that fails (disk full, read-only store, I/O error) changes nothing: the keys in use
// keep working. It is logged, counted in health() and retried after 1 s, then 2, 4, ... up to
// `max_retry`; the first pass that succeeds again ends it, with one line in the log.
//
// On a shared store (a fleet on PostgreSQL) it also re-reads the keyring every `poll`, so that
// other hosts' changes reach this host's snapshot (and JWKS) within that time.
//
// Thread-safety: Start/Stop from the owner; Kick and health from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "api/service.h"
#include "common/clock.h"
#include "common/status.h"
#include "keystore/keyring.h"

namespace instaccess::daemon {

class Scheduler {
 public:
  // on_applied(n) runs on the scheduler thread after n > 0 transitions were applied, and with
  // n = 0 when the shared store was lost or came back (the status line changes).
  // `max_retry`: the longest wait before retrying a failed pass. Keep it under half of
  // tokens.max_lifetime: a longer gap between passes looks like a clock jump (keyring.h).
  // refresh (empty on a store of one host) runs at least every `poll`.
  Scheduler(keystore::Keyring& keyring, const Clock& clock, std::chrono::seconds max_retry,
            std::function<void(int)> on_applied, std::function<Status()> refresh = {},
            std::chrono::seconds poll = std::chrono::seconds(0));
  ~Scheduler();  // Stop()

  void Start();
  void Kick();
  void Stop();
  api::RotationHealth health() const;

 private:
  void Run();
  // Records a pass's outcome; returns how long to wait before retrying a failure.
  std::chrono::seconds Record(const Status& outcome);

  keystore::Keyring& keyring_;
  const Clock& clock_;
  const std::chrono::seconds max_retry_;
  const std::function<void(int)> on_applied_;
  const std::function<Status()> refresh_;
  const std::chrono::seconds poll_;
  bool store_lost_ = false;  // Used by the scheduler thread only: the outage was logged.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool kicked_ = false;                  // Guarded by mu_.
  bool stopping_ = false;                // Guarded by mu_.
  api::RotationHealth health_;           // Guarded by mu_.
  std::uint64_t failures_in_a_row_ = 0;  // Guarded by mu_.
  std::thread thread_;
};

}  // namespace instaccess::daemon
