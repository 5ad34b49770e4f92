// Writes the Prometheus text exposition format, version 0.0.4: families one after another, each
// `# HELP` and `# TYPE` first, then its samples. HELP text is escaped (`\\`, `\n`), and so are
// label values (`\\`, `\"`, `\n`), so any string (a kid, a peer's name) may be a label value.
// Metric and label names are not checked here: they are the callers' constants, and the api
// tests check every family the daemon writes.
//
// Adding a metric is one line where its value is at hand:
//   e.Counter("instaccess_peer_fetches_total", "JWKS fetches from peers.", fetches);
//   e.Gauge("instaccess_store_connected", "1 while the store's connection is up.", up);
// A family with labels is Family() and then one Sample() per series.
//
// Thread-safety: none; one Exposition per scrape.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace instaccess::api {

enum class MetricType { kCounter, kGauge, kHistogram, kSummary };

// A sample's value, formatted when made: integers exactly (a uint64 counter keeps every digit,
// which a double would not past 2^53), bool as 1 or 0, other numbers in the shortest form that
// reads back as the same double (NaN, +Inf and -Inf as the format spells them).
class SampleValue {
 public:
  template <typename T>
  requires std::is_integral_v<T> SampleValue(T v)
      : text_(std::to_string(v)) {}  // NOLINT: implicit on purpose
  SampleValue(double v);             // NOLINT: implicit on purpose
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// A label's name and its (unescaped) value.
using Label = std::pair<std::string_view, std::string_view>;

// A histogram's state: `counts[i]` observations fell at or below `bounds[i]` and above the
// bound before it; the last count (counts has one more entry than bounds) is above them all.
struct HistogramData {
  std::span<const double> bounds;  // upper bounds, increasing, in the metric's unit
  std::span<const std::uint64_t> counts;
  double sum = 0;
};

class Exposition {
 public:
  // A family of one series without labels. A counter's name ends in `_total`.
  void Counter(std::string_view name, std::string_view help, const SampleValue& value);
  void Gauge(std::string_view name, std::string_view help, const SampleValue& value);

  // Starts a family; its series follow with Sample() or HistogramSeries().
  void Family(std::string_view name, MetricType type, std::string_view help);
  void Sample(std::string_view name, std::initializer_list<Label> labels, const SampleValue& value);
  // One series of a histogram family `name`: `name_bucket` per bound (cumulative, `le` last
  // among the labels) and for +Inf, then `name_sum` and `name_count`.
  void HistogramSeries(std::string_view name, std::initializer_list<Label> labels,
                       const HistogramData& data);

  const std::string& text() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Line(std::string_view name, std::string_view suffix, std::initializer_list<Label> labels,
            const Label* extra, std::string_view value);

  std::string out_;
};

// `value` with `\`, `"` and line feed escaped, as a label value must be.
std::string EscapeLabelValue(std::string_view value);
// `text` with `\` and line feed escaped, as HELP text must be.
std::string EscapeHelp(std::string_view text);

}  // namespace instaccess::api
