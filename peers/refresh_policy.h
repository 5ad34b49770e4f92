// When to fetch a peer's JWKS next: pure functions over the peer's answer and a random draw, so
// tests pin them without a clock or a random source.
//
// After a good answer (200 or 304): the configured refresh, shortened by the peer's
// Cache-Control max-age, never under kMinRefresh; then up to a tenth taken off at random so that
// followers started together (a fleet after a deploy) do not fetch in step.
// After a failure: kFirstRetry, doubling with each consecutive failure, capped at the refresh,
// with the same jitter.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace instaccess::peers {

// A failing peer is tried again soon (a restart on its side takes seconds), then less and less.
inline constexpr std::chrono::seconds kFirstRetry{5};

// The max-age of a Cache-Control header value in seconds: "no-cache" / "no-store" give 0;
// nullopt when it names none or is malformed. Never throws.
std::optional<std::chrono::seconds> ParseMaxAge(std::string_view cache_control);

// `jitter` is a draw in [0, 1); 0 gives the full delay.
std::chrono::seconds RefreshDelay(std::chrono::seconds refresh,
                                  std::optional<std::chrono::seconds> max_age, double jitter);
std::chrono::seconds RetryDelay(std::chrono::seconds refresh, int consecutive_failures,
                                double jitter);

}  // namespace instaccess::peers
