// A strict reader of the Prometheus text exposition format 0.0.4, for tests: what a scrape must
// look like for Prometheus to take it whole, plus the naming rules this project keeps. It is
// written from the format's description, apart from the daemon's writer (api/exposition.h), so
// that a mistake in one is not repeated in the other.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace instaccess::testing {

using PromLabels = std::map<std::string, std::string>;

struct PromSample {
  std::string name;   // as written, e.g. x_bucket
  PromLabels labels;  // unescaped values
  double value = 0;
};

struct PromFamily {
  std::string name;
  std::string type;  // counter, gauge, histogram, summary, untyped
  std::string help;  // unescaped
  std::vector<PromSample> samples;
};

struct PromExposition {
  std::vector<PromFamily> families;
  // Every way the text breaks the format or the naming rules, one line each ("line N: ...");
  // empty when it is valid.
  std::vector<std::string> problems;

  const PromFamily* Find(std::string_view family) const;
  // The value of the sample named `name` with exactly `labels`; NaN when there is none, which
  // compares equal to nothing, so a check of a missing sample fails.
  double Value(std::string_view name, const PromLabels& labels = {}) const;
};

// Checks, besides each line's syntax (names, label escapes `\\` `\"` `\n` only, values as Go's
// ParseFloat reads them, a final line feed): every family has one HELP and one TYPE before its
// samples, and its samples are together and named after it; no series twice; counters end in
// `_total`; a histogram's series each have increasing `le` bounds ending at +Inf, cumulative
// counts, `_count` equal to the +Inf bucket, and a `_sum`; every name starts with `prefix`.
PromExposition ParsePrometheusText(std::string_view text, std::string_view prefix = "");

// The problems joined, for a test's message.
std::string Describe(const std::vector<std::string>& problems);

}  // namespace instaccess::testing
