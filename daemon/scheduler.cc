#include "daemon/scheduler.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace instaccess::daemon {

namespace {
// After a failed transition (disk full, say), try again this much later rather than spin.
constexpr std::chrono::seconds kRetryAfterFailure{30};
}  // namespace

Scheduler::Scheduler(keystore::Keyring& keyring, const Clock& clock,
                     std::function<void(int)> on_applied, std::function<Status()> refresh,
                     std::chrono::seconds poll)
    : keyring_(keyring),
      clock_(clock),
      on_applied_(std::move(on_applied)),
      refresh_(std::move(refresh)),
      poll_(poll) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Scheduler::Kick() {
  {
    std::scoped_lock lock(mu_);
    kicked_ = true;
  }
  cv_.notify_one();
}

void Scheduler::Stop() {
  {
    std::scoped_lock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Run() {
  for (;;) {
    std::chrono::system_clock::time_point wake = std::chrono::system_clock::time_point::max();
    if (refresh_) {
      // Other hosts' changes first, so that what is due is judged on the fleet's keys. While
      // the store is away the keys held keep serving, and ApplyDue changes nothing.
      Status fresh = refresh_();
      if (!fresh.ok() && !store_lost_) {
        spdlog::error(
            "lost the key database; serving with the keys held, no rotation until it "
            "is back: {}",
            fresh.ToString());
      } else if (fresh.ok() && store_lost_) {
        spdlog::info("the key database is back; keys re-read");
      }
      const bool changed = store_lost_ != !fresh.ok();
      store_lost_ = !fresh.ok();
      if (changed && on_applied_) on_applied_(0);
      wake = std::chrono::system_clock::now() + poll_;
    }
    auto applied = keyring_.ApplyDue(clock_.NowUnix(), "scheduler");
    if (!applied) {
      spdlog::error("key rotation failed, retrying in {}s: {}", kRetryAfterFailure.count(),
                    applied.error().ToString());
      wake = std::min(wake, std::chrono::system_clock::now() + kRetryAfterFailure);
    } else {
      if (*applied > 0 && on_applied_) on_applied_(*applied);
      std::int64_t now = clock_.NowUnix();
      if (auto next = keyring_.NextDueTime(now)) {
        // Due times are whole seconds; a due time not after now was just applied, or could not
        // be (logged above): look again in a second rather than spin.
        wake = std::min(wake, std::chrono::system_clock::time_point(
                                  std::chrono::seconds(std::max(*next, now + 1))));
      }
    }
    std::unique_lock lock(mu_);
    auto woken = [this] { return stopping_ || kicked_; };
    if (wake == std::chrono::system_clock::time_point::max()) {
      cv_.wait(lock, woken);  // nothing planned: only a kick or stop wakes us
    } else {
      cv_.wait_until(lock, wake, woken);
    }
    if (stopping_) return;
    kicked_ = false;
  }
}

}  // namespace instaccess::daemon
