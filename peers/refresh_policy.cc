#include "peers/refresh_policy.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "peers/peer_config.h"

namespace instaccess::peers {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

// Takes up to a tenth off `delay`, never going under kMinRefresh because of it.
std::chrono::seconds Jitter(std::chrono::seconds delay, double jitter) {
  jitter = std::clamp(jitter, 0.0, 1.0);
  const auto off = static_cast<std::int64_t>(static_cast<double>(delay.count()) * 0.1 * jitter);
  return std::max(delay - std::chrono::seconds(off), std::min(delay, kMinRefresh));
}

}  // namespace

std::optional<std::chrono::seconds> ParseMaxAge(std::string_view cache_control) {
  std::optional<std::chrono::seconds> found;
  while (!cache_control.empty()) {
    const std::size_t comma = cache_control.find(',');
    const std::string_view directive = Trim(cache_control.substr(0, comma));
    cache_control = comma == std::string_view::npos ? "" : cache_control.substr(comma + 1);
    if (StartsWithNoCase(directive, "no-cache") || StartsWithNoCase(directive, "no-store")) {
      return std::chrono::seconds(0);
    }
    if (!StartsWithNoCase(directive, "max-age=")) continue;
    std::string_view digits = directive.substr(8);
    if (digits.size() >= 2 && digits.front() == '"' && digits.back() == '"') {
      digits = digits.substr(1, digits.size() - 2);
    }
    // Anything past 10 digits is beyond any refresh we would honour anyway.
    if (digits.empty() || digits.size() > 10) return std::nullopt;
    std::int64_t value = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + (c - '0');
    }
    if (found) return std::nullopt;  // two max-age directives: which one did the peer mean?
    found = std::chrono::seconds(value);
  }
  return found;
}

std::chrono::seconds RefreshDelay(std::chrono::seconds refresh,
                                  std::optional<std::chrono::seconds> max_age, double jitter) {
  std::chrono::seconds delay = refresh;
  if (max_age) delay = std::min(delay, *max_age);
  return Jitter(std::max(delay, kMinRefresh), jitter);
}

std::chrono::seconds RetryDelay(std::chrono::seconds refresh, int consecutive_failures,
                                double jitter) {
  std::chrono::seconds delay = kFirstRetry;
  for (int i = 1; i < consecutive_failures && delay < refresh; ++i) delay *= 2;
  return Jitter(std::clamp(delay, kMinRefresh, std::max(refresh, kMinRefresh)), jitter);
}

}  // namespace instaccess::peers
