#include "daemon/scheduler.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace instaccess::daemon {

Scheduler::Scheduler(keystore::Keyring& keyring, const Clock& clock, std::chrono::seconds max_retry,
                     std::function<void(int)> on_applied, std::function<Status()> refresh,
                     std::chrono::seconds poll)
    : keyring_(keyring),
      clock_(clock),
      max_retry_(std::max(max_retry, std::chrono::seconds(1))),
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

api::RotationHealth Scheduler::health() const {
  std::scoped_lock lock(mu_);
  return health_;
}

std::chrono::seconds Scheduler::Record(const Status& outcome) {
  std::scoped_lock lock(mu_);
  if (outcome.ok()) {
    if (failures_in_a_row_ > 0) {
      spdlog::info("key rotation works again after {} failed attempt(s)", failures_in_a_row_);
    }
    failures_in_a_row_ = 0;
    health_.failing_since.reset();
    health_.last_error.clear();
    return std::chrono::seconds(0);
  }
  ++health_.failures_total;
  if (failures_in_a_row_++ == 0) health_.failing_since = clock_.NowUnix();
  health_.last_error = outcome.ToString();
  // 1 s, 2 s, 4 s, ... up to max_retry_: a short outage is over quickly, a long one is not
  // hammered. The shift is bounded so it cannot overflow.
  const auto retry = std::min(
      max_retry_,
      std::chrono::seconds(std::int64_t{1} << std::min<std::uint64_t>(failures_in_a_row_ - 1, 16)));
  spdlog::error(
      "key rotation failed ({} in a row), retrying in {}s; the keys in use keep working: {}",
      failures_in_a_row_, retry.count(), health_.last_error);
  return retry;
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
    const std::chrono::seconds retry = Record(applied ? Status::Ok() : applied.error());
    if (!applied) {
      wake = std::min(wake, std::chrono::system_clock::now() + retry);
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
