#include "client/ctl_format.h"

#include <ctime>

namespace instaccess::ctl {

namespace {

constexpr std::int64_t kMinute = 60;
constexpr std::int64_t kHour = 60 * kMinute;
constexpr std::int64_t kDay = 24 * kHour;

std::string Two(std::int64_t big, const char* big_unit, std::int64_t small,
                const char* small_unit) {
  std::string out = std::to_string(big) + big_unit;
  if (small != 0) {
    // Appended piece by piece: `" " + std::to_string(...)` trips g++ 12's false -Wrestrict at
    // -O3 (GCC bug 105329).
    out += ' ';
    out += std::to_string(small);
    out += small_unit;
  }
  return out;
}

}  // namespace

std::string FormatDuration(std::chrono::seconds d) {
  std::int64_t s = d.count() < 0 ? -d.count() : d.count();
  if (s < kMinute) return std::to_string(s) + "s";
  if (s < kHour) return Two(s / kMinute, "m", s % kMinute, "s");
  if (s < kDay) return Two(s / kHour, "h", (s % kHour) / kMinute, "m");
  return Two(s / kDay, "d", (s % kDay) / kHour, "h");
}

std::string Relative(Time t, Time now) {
  auto d = std::chrono::duration_cast<std::chrono::seconds>(t - now);
  if (d.count() == 0) return "now";
  return d.count() > 0 ? "in " + FormatDuration(d) : FormatDuration(d) + " ago";
}

std::string Absolute(Time t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string When(Time t, Time now) { return Absolute(t) + " (" + Relative(t, now) + ")"; }

std::string Labeled(const std::string& label, const std::string& value, std::size_t width) {
  return label + std::string(label.size() < width ? width - label.size() : 1, ' ') + value + "\n";
}

std::optional<std::chrono::seconds> ParseCliDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t i = 0;
  bool bare = text.find_first_not_of("0123456789") == std::string_view::npos;
  while (i < text.size()) {
    std::int64_t n = 0;
    std::size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (++digits > 9) return std::nullopt;  // no lifetime needs more; no overflow
      n = n * 10 + (text[i++] - '0');
    }
    if (digits == 0) return std::nullopt;
    if (bare) {
      total = n;
      break;
    }
    if (i == text.size()) return std::nullopt;
    switch (text[i++]) {
      case 's':
        total += n;
        break;
      case 'm':
        total += n * kMinute;
        break;
      case 'h':
        total += n * kHour;
        break;
      case 'd':
        total += n * kDay;
        break;
      default:
        return std::nullopt;
    }
  }
  if (total <= 0) return std::nullopt;
  return std::chrono::seconds(total);
}

std::string ApplyClaim(std::string_view arg, client::Claims* claims) {
  std::size_t eq = arg.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return "--claim wants name=value or name:=JSON, not '" + std::string(arg) + "'";
  }
  bool raw = arg[eq - 1] == ':';
  std::string name(arg.substr(0, raw ? eq - 1 : eq));
  std::string_view value = arg.substr(eq + 1);
  if (name.empty()) return "--claim '" + std::string(arg) + "' has no name";
  if (raw) {
    if (!claims->SetJson(name, value)) return "--claim " + name + ":= is not valid JSON";
    return {};
  }
  if (name == "masq_shard" || name == "canvas_shard_id") {
    if (value.empty() || value.size() > 18 ||
        value.find_first_not_of("0123456789") != std::string_view::npos) {
      return "--claim " + name + " must be an integer";
    }
    claims->SetInt(name, std::stoll(std::string(value)));
    return {};
  }
  if (name == "instructure_service") {
    if (value != "true" && value != "false") return "--claim " + name + " must be true or false";
    claims->SetBool(name, value == "true");
    return {};
  }
  claims->SetString(name, value);
  return {};
}

std::string Table::Render() const {
  std::vector<std::size_t> width;
  for (const auto& row : rows_) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    // Empty last cells leave no trailing blanks.
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  return out;
}

}  // namespace instaccess::ctl
