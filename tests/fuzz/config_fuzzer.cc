// libFuzzer target over the configuration: TOML text read by the daemon's loader (ParseConfig)
// over both sets of defaults, and the duration and size parsers on their own.
//
// Invariants beyond "no crash, no sanitizer report" (and no exception: the loader turns every
// TOML error into a Status):
//   - a configuration that loads is one the daemon can start with: its schedule is valid
//     (what SqliteKeyring::Open checks), default_ttl is within max_lifetime, and every limit is
//     in its documented range;
//   - a duration that parses is positive and at most ten years.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "daemon/config.h"

namespace {

namespace daemon = instaccess::daemon;

void CheckConfig(const daemon::Config& c) {
  if (!daemon::SchedulePolicyFrom(c).Validate().ok()) std::abort();
  if (c.tokens.default_ttl > c.tokens.max_lifetime) std::abort();
  if (c.tokens.accepted_issuers.empty() || c.tokens.issuer.empty()) std::abort();
  if (c.limits.max_header < 1024 || c.limits.max_body < 1024 || c.limits.max_token < 1024 ||
      c.limits.max_token > 16 * 1024 || c.limits.max_connections < 1) {
    std::abort();
  }
  (void)daemon::ServiceOptionsFrom(c);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (bool embedded : {true, false}) {
    auto config = daemon::ParseConfig(text, "fuzz.toml", embedded);
    if (config) CheckConfig(*config);
  }
  constexpr std::int64_t kTenYears = 10LL * 365 * 24 * 3600;
  if (auto d = daemon::ParseDuration(text); d && (d->count() <= 0 || d->count() > kTenYears)) {
    std::abort();
  }
  (void)daemon::ParseSize(text);
  return 0;
}
