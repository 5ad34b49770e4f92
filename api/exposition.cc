#include "api/exposition.h"

#include <charconv>
#include <cmath>

namespace instaccess::api {

namespace {

constexpr std::string_view TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kSummary:
      return "summary";
  }
  return "untyped";
}

// `s` with `\` and line feed escaped, and `"` too when `quote` (a label value is in quotes).
std::string Escape(std::string_view s, bool quote) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\' || (quote && c == '"')) {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

SampleValue::SampleValue(double v) {
  if (std::isnan(v)) {
    text_ = "NaN";
  } else if (std::isinf(v)) {
    text_ = v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general);
    text_.assign(buf, ec == std::errc() ? end : buf);
  }
}

std::string EscapeLabelValue(std::string_view value) { return Escape(value, true); }

std::string EscapeHelp(std::string_view text) { return Escape(text, false); }

void Exposition::Counter(std::string_view name, std::string_view help, const SampleValue& value) {
  Family(name, MetricType::kCounter, help);
  Sample(name, {}, value);
}

void Exposition::Gauge(std::string_view name, std::string_view help, const SampleValue& value) {
  Family(name, MetricType::kGauge, help);
  Sample(name, {}, value);
}

void Exposition::Family(std::string_view name, MetricType type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ").append(EscapeHelp(help)).append("\n");
  out_.append("# TYPE ").append(name).append(" ").append(TypeName(type)).append("\n");
}

void Exposition::Sample(std::string_view name, std::initializer_list<Label> labels,
                        const SampleValue& value) {
  Line(name, "", labels, nullptr, value.text());
}

void Exposition::HistogramSeries(std::string_view name, std::initializer_list<Label> labels,
                                 const HistogramData& data) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < data.bounds.size(); ++i) {
    cumulative += data.counts[i];
    const std::string le = SampleValue(data.bounds[i]).text();
    const Label bound{"le", le};
    Line(name, "_bucket", labels, &bound, std::to_string(cumulative));
  }
  cumulative += data.counts[data.bounds.size()];
  const Label inf{"le", "+Inf"};
  Line(name, "_bucket", labels, &inf, std::to_string(cumulative));
  Line(name, "_sum", labels, nullptr, SampleValue(data.sum).text());
  Line(name, "_count", labels, nullptr, std::to_string(cumulative));
}

void Exposition::Line(std::string_view name, std::string_view suffix,
                      std::initializer_list<Label> labels, const Label* extra,
                      std::string_view value) {
  out_.append(name).append(suffix);
  if (labels.size() > 0 || extra) {
    char sep = '{';
    auto label = [&](const Label& l) {
      out_ += sep;
      out_.append(l.first).append("=\"").append(EscapeLabelValue(l.second)).append("\"");
      sep = ',';
    };
    for (const Label& l : labels) label(l);
    if (extra) label(*extra);
    out_ += '}';
  }
  out_.append(" ").append(value).append("\n");
}

}  // namespace instaccess::api
