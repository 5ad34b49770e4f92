#include "tests/support/prometheus_text.h"

#include <cmath>
#include <cstdlib>
#include <set>

namespace instaccess::testing {

namespace {

bool IsNameStart(char c, bool colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}
bool IsNameChar(char c, bool colon) { return IsNameStart(c, colon) || (c >= '0' && c <= '9'); }

// The metric (colon) or label name at `*i`, advancing past it; empty when there is none.
std::string_view TakeName(std::string_view line, std::size_t* i, bool colon) {
  const std::size_t start = *i;
  if (*i < line.size() && IsNameStart(line[*i], colon)) {
    while (*i < line.size() && IsNameChar(line[*i], colon)) ++*i;
  }
  return line.substr(start, *i - start);
}

bool IsValidName(std::string_view s, bool colon) {
  std::size_t i = 0;
  return !s.empty() && TakeName(s, &i, colon).size() == s.size();
}

// A value as Go's strconv.ParseFloat reads it (what Prometheus uses), decimal forms only.
std::optional<double> ParseValue(std::string_view s) {
  if (s == "NaN") return std::nan("");
  if (s == "+Inf" || s == "Inf") return HUGE_VAL;
  if (s == "-Inf") return -HUGE_VAL;
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) {
      return std::nullopt;
    }
  }
  const std::string owned(s);
  char* end = nullptr;
  const double v = std::strtod(owned.c_str(), &end);
  if (end != owned.c_str() + owned.size()) return std::nullopt;
  return v;
}

std::string SeriesKey(const PromLabels& labels, std::string_view without = "") {
  std::string key;
  for (const auto& [k, v] : labels) {
    if (k != without) key += k + "=" + v + "\x1f";
  }
  return key;
}

struct Reader {
  PromExposition out;
  std::set<std::string> seen_families;
  std::set<std::string> seen_series;
  PromFamily* current = nullptr;
  bool has_help = false, has_type = false;
  std::string prefix;
  int line_no = 0;

  void Problem(const std::string& what) {
    out.problems.push_back("line " + std::to_string(line_no) + ": " + what);
  }

  // The family named `name`, starting it if it is not the current one.
  void Enter(std::string_view name) {
    if (current && current->name == name) return;
    if (!seen_families.insert(std::string(name)).second) {
      Problem("family " + std::string(name) + " continues after another family began");
    }
    out.families.push_back({std::string(name), "", "", {}});
    current = &out.families.back();
    has_help = has_type = false;
  }

  void Comment(std::string_view line) {
    std::size_t i = 1;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::string_view rest = line.substr(i);
    const bool help = rest.rfind("HELP ", 0) == 0, type = rest.rfind("TYPE ", 0) == 0;
    if (!help && !type) return;  // a plain comment
    rest.remove_prefix(5);
    const std::size_t space = rest.find(' ');
    const std::string_view name = rest.substr(0, space);
    const std::string_view arg = space == std::string_view::npos ? "" : rest.substr(space + 1);
    if (!IsValidName(name, true)) return Problem("bad metric name '" + std::string(name) + "'");
    Enter(name);
    if (help) {
      if (has_help) Problem("second HELP for " + std::string(name));
      has_help = true;
      std::string text;
      for (std::size_t k = 0; k < arg.size(); ++k) {
        if (arg[k] != '\\') {
          text += arg[k];
        } else if (k + 1 < arg.size() && (arg[k + 1] == '\\' || arg[k + 1] == 'n')) {
          text += arg[++k] == 'n' ? '\n' : '\\';
        } else {
          Problem("bad escape in HELP of " + std::string(name));
        }
      }
      current->help = text;
      return;
    }
    if (has_type) Problem("second TYPE for " + std::string(name));
    if (!current->samples.empty()) Problem("TYPE after samples of " + std::string(name));
    has_type = true;
    static const std::set<std::string_view> kTypes = {"counter", "gauge", "histogram", "summary",
                                                      "untyped"};
    if (!kTypes.count(arg)) Problem("unknown type '" + std::string(arg) + "'");
    current->type = arg;
  }

  // The family a sample named `name` belongs to under the current family's type.
  bool BelongsToCurrent(std::string_view name) const {
    if (!current) return false;
    const std::string& f = current->name;
    if (name == f) return current->type != "histogram";
    std::vector<std::string> suffixes;
    if (current->type == "histogram") suffixes = {"_bucket", "_sum", "_count"};
    if (current->type == "summary") suffixes = {"_sum", "_count"};
    for (const std::string& s : suffixes) {
      if (name == f + s) return true;
    }
    return false;
  }

  void Sample(std::string_view line) {
    std::size_t i = 0;
    PromSample s;
    s.name = TakeName(line, &i, true);
    if (s.name.empty()) return Problem("no metric name: " + std::string(line));
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const std::string label(TakeName(line, &i, false));
        if (label.empty() || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') {
          return Problem("bad label in: " + std::string(line));
        }
        if (label.rfind("__", 0) == 0) Problem("reserved label name " + label);
        i += 2;
        std::string value;
        bool closed = false;
        while (i < line.size()) {
          const char c = line[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c != '\\') {
            value += c;
            continue;
          }
          const char e = i < line.size() ? line[i++] : '\0';
          if (e == '\\' || e == '"') {
            value += e;
          } else if (e == 'n') {
            value += '\n';
          } else {
            return Problem("bad escape in a label value: " + std::string(line));
          }
        }
        if (!closed) return Problem("unterminated label value: " + std::string(line));
        if (!s.labels.emplace(label, value).second) Problem("label " + label + " twice");
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return Problem("unterminated labels: " + std::string(line));
      ++i;  // '}'
    }
    if (i >= line.size() || (line[i] != ' ' && line[i] != '\t')) {
      return Problem("no space before the value: " + std::string(line));
    }
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::string_view rest = line.substr(i);
    const std::size_t space = rest.find_first_of(" \t");
    const std::optional<double> value = ParseValue(rest.substr(0, space));
    if (!value) return Problem("bad value: " + std::string(line));
    s.value = *value;
    if (space != std::string_view::npos) {
      std::string_view ts = rest.substr(space);
      while (!ts.empty() && (ts.front() == ' ' || ts.front() == '\t')) ts.remove_prefix(1);
      if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string_view::npos) {
        return Problem("bad timestamp: " + std::string(line));
      }
    }
    if (!BelongsToCurrent(s.name)) {
      return Problem("sample " + s.name + " outside a family of its own with HELP and TYPE");
    }
    if (!seen_series.insert(s.name + "\x1e" + SeriesKey(s.labels)).second) {
      Problem("series twice: " + std::string(line));
    }
    current->samples.push_back(std::move(s));
  }

  void CheckFamily(const PromFamily& f) {
    const auto problem = [&](const std::string& what) {
      out.problems.push_back("family " + f.name + ": " + what);
    };
    if (f.type.empty()) problem("no TYPE");
    if (f.help.empty()) problem("no HELP");
    if (f.name.rfind(prefix, 0) != 0) problem("name does not start with " + prefix);
    const bool total = f.name.size() > 6 && f.name.compare(f.name.size() - 6, 6, "_total") == 0;
    if ((f.type == "counter") != total) problem("a counter's name, and only its, ends in _total");
    if (f.type != "histogram") return;
    struct Series {
      std::vector<std::pair<double, double>> buckets;  // le, count
      std::optional<double> sum, count;
    };
    std::map<std::string, Series> series;
    for (const PromSample& s : f.samples) {
      Series& one = series[SeriesKey(s.labels, "le")];
      if (s.name == f.name + "_bucket") {
        auto le = s.labels.find("le");
        std::optional<double> bound = le == s.labels.end() ? std::nullopt : ParseValue(le->second);
        if (!bound) {
          problem("a bucket without a valid le");
          continue;
        }
        one.buckets.emplace_back(*bound, s.value);
      } else if (s.labels.count("le")) {
        problem("le on " + s.name);
      } else if (s.name == f.name + "_sum") {
        one.sum = s.value;
      } else {
        one.count = s.value;
      }
    }
    for (const auto& [key, one] : series) {
      for (std::size_t k = 1; k < one.buckets.size(); ++k) {
        if (!(one.buckets[k].first > one.buckets[k - 1].first)) problem("le not increasing");
        if (one.buckets[k].second < one.buckets[k - 1].second) problem("buckets not cumulative");
      }
      if (one.buckets.empty() || !std::isinf(one.buckets.back().first)) {
        problem("a series without a last bucket le=\"+Inf\"");
      } else if (!one.count || *one.count != one.buckets.back().second) {
        problem("_count missing or not the +Inf bucket's count");
      }
      if (!one.sum) problem("a series without _sum");
    }
  }
};

}  // namespace

const PromFamily* PromExposition::Find(std::string_view family) const {
  for (const PromFamily& f : families) {
    if (f.name == family) return &f;
  }
  return nullptr;
}

double PromExposition::Value(std::string_view name, const PromLabels& labels) const {
  for (const PromFamily& f : families) {
    for (const PromSample& s : f.samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
  }
  return std::nan("");
}

PromExposition ParsePrometheusText(std::string_view text, std::string_view prefix) {
  Reader r;
  r.prefix = prefix;
  if (text.empty() || text.back() != '\n') r.out.problems.push_back("does not end in a line feed");
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++r.line_no;
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (line.empty()) continue;
    if (line.front() == '#') {
      r.Comment(line);
    } else {
      r.Sample(line);
    }
  }
  for (const PromFamily& f : r.out.families) r.CheckFamily(f);
  return std::move(r.out);
}

std::string Describe(const std::vector<std::string>& problems) {
  std::string out;
  for (const std::string& p : problems) out += p + "\n";
  return out;
}

}  // namespace instaccess::testing
