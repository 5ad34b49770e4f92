// The daemon's only source of "now": a seam so handlers and the scheduler can be tested with a
// fixed or stepped clock. The libraries below take time as a parameter.
#pragma once

#include <chrono>
#include <cstdint>

namespace instaccess {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t NowUnix() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t NowUnix() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace instaccess
