// instaccessctl's text: durations ("3h 12m"), times ("2026-11-23 14:05:00 UTC (in 3h 12m)"),
// aligned tables, and parsing of its arguments (durations, --claim k=v). Pure functions, so the
// CLI's tests can check them without a daemon.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "instaccess/claims.h"

namespace instaccess::ctl {

using Time = std::chrono::system_clock::time_point;

// The two largest units: "45s", "12m 5s", "3h 12m", "2d 4h", "3h" (no zero second unit).
std::string FormatDuration(std::chrono::seconds d);
// "in 3h 12m", "3h 12m ago", "now" (within a second).
std::string Relative(Time t, Time now);
// "2026-11-23 14:05:00 UTC".
std::string Absolute(Time t);
// "2026-11-23 14:05:00 UTC (in 3h 12m)".
std::string When(Time t, Time now);

// "label     value\n": the label padded to `width` (at least one space after it).
std::string Labeled(const std::string& label, const std::string& value, std::size_t width);

// A duration given on instaccessctl's command line (--ttl, --timeout): "90s", "15m", "24h",
// "7d", "1h30m", or a bare number of seconds ("600"); at most 9 digits per number; nullopt when
// malformed or 0. The daemon's config (daemon::ParseDuration) takes no bare numbers and caps
// durations at ten years.
std::optional<std::chrono::seconds> ParseCliDuration(std::string_view text);

// Applies one --claim: "name=value" sets a string, except Canvas's integer and boolean claims
// (masq_shard, canvas_shard_id; instructure_service), which are converted; "name:=JSON" sets
// any JSON value. An error message, or empty on success.
std::string ApplyClaim(std::string_view arg, client::Claims* claims);

// Columns separated by two spaces, each as wide as its widest cell; no line ends in blanks.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace instaccess::ctl
