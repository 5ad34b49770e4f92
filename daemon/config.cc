#include "daemon/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

#include "jose/compact.h"

namespace instaccess::daemon {

namespace {

std::string_view TypeName(toml::node_type t) {
  switch (t) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// Collects the first error, with "SOURCE:LINE: " in front.
struct Errors {
  std::string source;
  Status first;

  void At(const toml::source_region& where, const std::string& message) {
    if (!first.ok()) return;
    std::string loc = source;
    if (where.begin.line != 0) loc += ":" + std::to_string(where.begin.line);
    first = InvalidArgument(loc + ": " + message);
  }
};

// One TOML table read against the keys it may hold. Every getter marks its key as known;
// Finish() reports the first key nobody asked for.
class Section {
 public:
  Section(const toml::table* table, std::string prefix, Errors* errors)
      : table_(table), prefix_(std::move(prefix)), errors_(errors) {}

  void String(std::string_view key, std::string* out,
              const std::function<std::string(const std::string&)>& check = nullptr) {
    const toml::node* n = Get(key, toml::node_type::string);
    if (n == nullptr) return;
    std::string v = **n->as_string();
    if (check) {
      if (std::string problem = check(v); !problem.empty()) return Fail(n, key, problem);
    }
    *out = std::move(v);
  }

  void Bool(std::string_view key, bool* out) {
    if (const toml::node* n = Get(key, toml::node_type::boolean)) *out = **n->as_boolean();
  }

  template <typename T>
  void Int(std::string_view key, T* out, std::int64_t min, std::int64_t max) {
    const toml::node* n = Get(key, toml::node_type::integer);
    if (n == nullptr) return;
    std::int64_t v = **n->as_integer();
    if (v < min || v > max) {
      return Fail(n, key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    *out = static_cast<T>(v);
  }

  void Duration(std::string_view key, Seconds* out) {
    const toml::node* n = Get(key, toml::node_type::string);
    if (n == nullptr) return;
    auto d = ParseDuration(**n->as_string());
    if (!d) return Fail(n, key, d.error().message());
    *out = *d;
  }

  // A size in [min, max] bytes: a byte count, or a string like "64KiB".
  void Size(std::string_view key, std::size_t* out, std::size_t min, std::size_t max) {
    const toml::node* n = Find(key);
    if (n == nullptr) return;
    std::size_t v = 0;
    if (n->is_integer() && **n->as_integer() > 0) {
      v = static_cast<std::size_t>(**n->as_integer());
    } else if (n->is_string()) {
      auto s = ParseSize(**n->as_string());
      if (!s) return Fail(n, key, s.error().message());
      v = *s;
    } else {
      return Fail(n, key, "must be a size like \"64KiB\"");
    }
    if (v < min || v > max) {
      return Fail(
          n, key,
          "must be between " + std::to_string(min) + " and " + std::to_string(max) + " bytes");
    }
    *out = v;
  }

  // A file mode: "0660" as a string, or a TOML octal integer 0o660.
  void Mode(std::string_view key, mode_t* out) {
    const toml::node* n = Find(key);
    if (n == nullptr) return;
    std::int64_t v = -1;
    if (n->is_integer()) {
      v = **n->as_integer();
    } else if (n->is_string()) {
      const std::string& s = **n->as_string();
      bool octal = !s.empty() && s.size() <= 4 &&
                   std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '7'; });
      if (octal) v = std::stoll(s, nullptr, 8);
    }
    if (v < 0 || v > 0777) return Fail(n, key, "must be an octal file mode like \"0660\"");
    *out = static_cast<mode_t>(v);
  }

  void StringList(std::string_view key, std::vector<std::string>* out,
                  const std::function<std::string(const std::string&)>& check = nullptr) {
    const toml::node* n = Get(key, toml::node_type::array);
    if (n == nullptr) return;
    std::vector<std::string> values;
    for (const toml::node& item : *n->as_array()) {
      if (!item.is_string()) {
        return Fail(&item, key,
                    "must be an array of strings, but holds " + std::string(TypeName(item.type())));
      }
      const std::string& v = **item.as_string();
      if (check) {
        if (std::string problem = check(v); !problem.empty()) return Fail(&item, key, problem);
      }
      values.push_back(v);
    }
    *out = std::move(values);
  }

  // A nested table; an absent one reads as empty.
  Section Table(std::string_view key) {
    const toml::node* n = Get(key, toml::node_type::table);
    return Section(n != nullptr ? n->as_table() : nullptr, Name(key) + ".", errors_);
  }

  void Finish() {
    if (table_ == nullptr) return;
    for (auto&& [k, v] : *table_) {
      if (!known_.contains(std::string(k.str()))) {
        errors_->At(k.source(), "unknown key '" + Name(k.str()) + "'");
        return;
      }
    }
  }

  void Fail(const toml::node* n, std::string_view key, const std::string& problem) {
    errors_->At(n->source(), "'" + Name(key) + "' " + problem);
  }
  const toml::node* Find(std::string_view key) {
    known_.insert(std::string(key));
    return table_ != nullptr ? table_->get(key) : nullptr;
  }

 private:
  std::string Name(std::string_view key) const { return prefix_ + std::string(key); }

  const toml::node* Get(std::string_view key, toml::node_type want) {
    const toml::node* n = Find(key);
    if (n == nullptr) return nullptr;
    if (n->type() != want) {
      Fail(n, key,
           "must be " + std::string(TypeName(want)) + ", not " + std::string(TypeName(n->type())));
      return nullptr;
    }
    return n;
  }

  const toml::table* table_;
  std::string prefix_;
  Errors* errors_;
  std::set<std::string> known_;
};

std::function<std::string(const std::string&)> OneOf(std::vector<std::string> allowed) {
  return [allowed = std::move(allowed)](const std::string& v) -> std::string {
    if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return {};
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + ("\"" + a + "\"");
    return "must be one of " + list + ", not \"" + v + "\"";
  };
}

std::string NonEmpty(const std::string& v) { return v.empty() ? "must not be empty" : ""; }

// "alice", "group:www-data" or "*".
std::string AccessEntry(const std::string& v) {
  if (v == "*") return {};
  std::string_view name = v;
  if (name.starts_with("group:")) name.remove_prefix(6);
  bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '$';
  });
  return ok ? "" : "entries must be a user name, \"group:NAME\" or \"*\", not \"" + v + "\"";
}

void ReadRotation(Section s, RotationConfig* r, bool sig, Errors* errors) {
  if (sig) {
    s.String("alg", &r->alg, OneOf({"RS256", "PS256"}));
  } else {
    s.String("alg", &r->alg, OneOf({"RSA-OAEP", "RSA-OAEP-256", "RSA1_5"}));
    s.String("content", &r->content, OneOf({"A128CBC-HS256", "A256GCM"}));
  }
  const toml::node* bits = s.Find("bits");
  s.Int("bits", &r->bits, 2048, 4096);
  if (bits != nullptr && bits->is_integer() && r->bits != 2048 && r->bits != 3072 &&
      r->bits != 4096) {
    s.Fail(bits, "bits", "must be 2048, 3072 or 4096");
  }
  // "off": no scheduled rotation of this purpose (pinned keys a stock Canvas holds; an admin's
  // rotate still works). Stored as keystore::kRotationOff.
  const toml::node* period = s.Find("period");
  if (period != nullptr && period->is_string() && **period->as_string() == "off") {
    r->period = Seconds(keystore::kRotationOff);
  } else {
    s.Duration("period", &r->period);
  }
  const toml::node* prepublish = s.Find("prepublish");
  s.Duration("prepublish", &r->prepublish);
  // Checked whichever of the two the file sets: a period alone under the default prepublish is
  // as unusable as the two set together (the keyring refuses the schedule at start).
  if ((prepublish != nullptr || period != nullptr) && errors->first.ok() &&
      r->period.count() != keystore::kRotationOff && r->prepublish >= r->period) {
    if (prepublish != nullptr) {
      s.Fail(prepublish, "prepublish", "must be shorter than period");
    } else {
      s.Fail(period, "period", "must be longer than prepublish (default 1h)");
    }
  }
  s.Finish();
}

// [[peers]]: an array of tables, each checked by peers::ValidatePeerConfig once read. `enc_alg`
// is [rotation.enc] alg: a gateway's keys may carry it besides RSA-OAEP (Canvas's).
void ReadPeers(Section& top, const std::string& enc_alg, std::vector<peers::PeerConfig>* out,
               Errors* errors) {
  const toml::node* n = top.Find("peers");
  if (n == nullptr) return;
  if (!n->is_array_of_tables()) {
    return top.Fail(n, "peers", "must be an array of tables ([[peers]])");
  }
  std::vector<jose::Alg> enc_algs = {jose::Alg::kRsaOaep};
  if (auto alg = jose::ParseAlg(enc_alg); alg && *alg != jose::Alg::kRsaOaep) {
    enc_algs.push_back(*alg);
  }
  std::size_t index = 0;
  for (const toml::node& item : *n->as_array()) {
    const std::string name = "peers[" + std::to_string(index++) + "]";
    Section s(item.as_table(), name + ".", errors);
    peers::PeerConfig peer;
    peer.enc_algs = enc_algs;
    std::string use = "enc";
    s.String("name", &peer.name);
    s.String("jwks_url", &peer.jwks_url);
    s.String("unix_socket", &peer.unix_socket);
    s.String("ca_file", &peer.ca_file);
    s.String("use", &use, OneOf({"enc", "sig"}));
    s.StringList("issuers", &peer.issuers);
    s.Duration("refresh", &peer.refresh);
    s.Finish();
    if (!errors->first.ok()) return;
    peer.use = use == "sig" ? peers::PeerUse::kSig : peers::PeerUse::kEnc;
    if (Status valid = peers::ValidatePeerConfig(peer); !valid.ok()) {
      return errors->At(item.source(), name + ": " + valid.message());
    }
    for (const peers::PeerConfig& other : *out) {
      if (other.name == peer.name) {
        return errors->At(item.source(), name + ": a second peer named '" + peer.name + "'");
      }
      if (other.use == peers::PeerUse::kEnc && peer.use == peers::PeerUse::kEnc) {
        return errors->At(item.source(), name + ": a second peer with use = \"enc\" ('" +
                                             other.name +
                                             "' has it): tokens are encrypted to one party's key");
      }
    }
    out->push_back(std::move(peer));
  }
}

}  // namespace

Result<Seconds> ParseDuration(std::string_view text) {
  const std::string_view original = text;
  auto bad = [&] {
    return InvalidArgument("must be a duration like \"90s\", \"15m\", \"24h\" or \"7d\", not \"" +
                           std::string(original) + "\"");
  };
  if (text.empty()) return bad();
  std::int64_t total = 0;
  constexpr std::int64_t kMax = 10LL * 365 * 24 * 3600;  // nothing here should be longer
  while (!text.empty()) {
    std::int64_t n = 0;
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
      n = n * 10 + (text[digits] - '0');
      if (n > kMax) return bad();
      ++digits;
    }
    if (digits == 0 || digits == text.size()) return bad();
    std::int64_t unit = 0;
    switch (text[digits]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return bad();
    }
    total += n * unit;
    if (total > kMax) return bad();
    text.remove_prefix(digits + 1);
  }
  if (total <= 0) return bad();
  return Seconds(total);
}

Result<std::size_t> ParseSize(std::string_view text) {
  const std::string_view original = text;
  auto bad = [&] {
    return InvalidArgument("must be a size like \"64KiB\", \"1MiB\" or a byte count, not \"" +
                           std::string(original) + "\"");
  };
  std::size_t digits = 0;
  std::uint64_t n = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    n = n * 10 + static_cast<std::uint64_t>(text[digits] - '0');
    if (n > (1ULL << 40)) return bad();
    ++digits;
  }
  if (digits == 0) return bad();
  std::string_view unit = text.substr(digits);
  std::uint64_t mult = 0;
  if (unit.empty() || unit == "B")
    mult = 1;
  else if (unit == "KiB")
    mult = 1ULL << 10;
  else if (unit == "MiB")
    mult = 1ULL << 20;
  else if (unit == "GiB")
    mult = 1ULL << 30;
  else
    return bad();
  if (n == 0 || n > (1ULL << 40) / mult) return bad();  // 1 TiB at most, and no overflow
  return static_cast<std::size_t>(n * mult);
}

Config DefaultConfig(bool embedded) {
  Config c;
  c.embedded = embedded;
  if (embedded) {
    c.daemon.socket = "var/instaccessd.sock";
    c.store.path = "var/keys.db";
  } else {
    c.daemon.socket = "/run/instaccessd/instaccessd.sock";
    c.store.path = "/var/lib/instaccessd/keys.db";
  }
  return c;
}

Result<Config> ParseConfig(std::string_view toml_text, std::string_view source, bool embedded) {
  Config c = DefaultConfig(embedded);
  Errors errors{std::string(source), {}};
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    errors.At(e.source(), "TOML syntax error: " + std::string(e.description()));
    return errors.first;
  }

  Section top(&root, "", &errors);
  {
    Section s = top.Table("daemon");
    s.String("socket", &c.daemon.socket, NonEmpty);
    s.Mode("socket_mode", &c.daemon.socket_mode);
    s.String("socket_group", &c.daemon.socket_group);
    s.Int("workers", &c.daemon.workers, 0, 256);
    s.String("log_level", &c.daemon.log_level,
             OneOf({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    s.Finish();
  }
  {
    Section s = top.Table("store");
    s.String("backend", &c.store.backend, OneOf({"sqlite", "postgresql"}));
    s.String("path", &c.store.path, NonEmpty);
    s.String("master_key_file", &c.store.master_key_file);
    s.String("url", &c.store.url);
    s.String("password_file", &c.store.password_file);
    s.Duration("poll", &c.store.poll);
    s.Finish();
  }
  {
    Section s = top.Table("tokens");
    s.String("issuer", &c.tokens.issuer, NonEmpty);
    // Not set: the daemon accepts the tokens it issues itself, whatever `issuer` says.
    if (s.Find("accepted_issuers") == nullptr) c.tokens.accepted_issuers = {c.tokens.issuer};
    s.StringList("accepted_issuers", &c.tokens.accepted_issuers, NonEmpty);
    s.StringList("required_claims", &c.tokens.required_claims, NonEmpty);
    s.Duration("default_ttl", &c.tokens.default_ttl);
    s.Duration("max_lifetime", &c.tokens.max_lifetime);
    s.Duration("clock_skew", &c.tokens.clock_skew);
    s.Bool("include_kid", &c.tokens.include_kid);
    s.Bool("allow_unencrypted", &c.tokens.allow_unencrypted);
    s.Bool("accept_unencrypted", &c.tokens.accept_unencrypted);
    // Not set, default_ttl is the shorter of its default and max_lifetime; set, it may not
    // exceed max_lifetime.
    if (errors.first.ok() && c.tokens.default_ttl > c.tokens.max_lifetime) {
      if (const toml::node* ttl = s.Find("default_ttl"); ttl != nullptr) {
        s.Fail(ttl, "default_ttl", "must not exceed tokens.max_lifetime");
      } else {
        c.tokens.default_ttl = c.tokens.max_lifetime;
      }
    }
    s.Finish();
  }
  {
    Section rotation = top.Table("rotation");
    ReadRotation(rotation.Table("sig"), &c.rotation_sig, true, &errors);
    ReadRotation(rotation.Table("enc"), &c.rotation_enc, false, &errors);
    rotation.Finish();
  }
  {
    Section s = top.Table("cache");
    s.Int("entries", &c.cache.entries, 0, 10'000'000);
    s.Finish();
  }
  {
    Section s = top.Table("access");
    s.StringList("issue", &c.access.issue, AccessEntry);
    s.StringList("decrypt", &c.access.decrypt, AccessEntry);
    s.StringList("admin", &c.access.admin, AccessEntry);
    s.StringList("read", &c.access.read, AccessEntry);
    s.Finish();
  }
  {
    Section s = top.Table("limits");
    // Bounded: each is memory a client may make the daemon hold per connection (the read
    // buffer is capped at max_header + max_body + 64 KiB), and the HTTP parser takes the header
    // limit as 32 bits.
    s.Size("max_body", &c.limits.max_body, 1024, 64 << 20);
    s.Size("max_header", &c.limits.max_header, 1024, 1 << 20);
    // The token core refuses anything longer than jose::kMaxTokenSize whatever this says.
    s.Size("max_token", &c.limits.max_token, 1024, jose::kMaxTokenSize);
    s.Int("max_connections", &c.limits.max_connections, 1, 1'000'000);
    s.Int("max_connections_per_uid", &c.limits.max_connections_per_uid, 1, 1'000'000);
    s.Duration("read_timeout", &c.limits.read_timeout);
    s.Duration("idle_timeout", &c.limits.idle_timeout);
    s.Finish();
  }
  ReadPeers(top, c.rotation_enc.alg, &c.peers, &errors);
  top.Finish();
  if (!errors.first.ok()) return errors.first;
  if (c.store.backend == "postgresql" && c.store.url.empty()) {
    return InvalidArgument(std::string(source) +
                           ": store.url is required with store.backend = \"postgresql\"");
  }
  if (c.store.poll.count() < 1) {
    return InvalidArgument(std::string(source) + ": store.poll must be at least 1s");
  }
  return c;
}

Result<Config> LoadConfigFile(const std::string& path, bool embedded) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read config file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path, embedded);
}

keystore::SchedulePolicy SchedulePolicyFrom(const Config& c) {
  keystore::SchedulePolicy p;
  p.sig = {c.rotation_sig.alg, c.rotation_sig.bits, c.rotation_sig.period.count(),
           c.rotation_sig.prepublish.count()};
  p.enc = {c.rotation_enc.alg, c.rotation_enc.bits, c.rotation_enc.period.count(),
           c.rotation_enc.prepublish.count()};
  p.enc_from_peer = std::any_of(c.peers.begin(), c.peers.end(), [](const peers::PeerConfig& peer) {
    return peer.use == peers::PeerUse::kEnc;
  });
  p.max_lifetime = c.tokens.max_lifetime.count();
  p.clock_skew = c.tokens.clock_skew.count();
  return p;
}

api::ServiceOptions ServiceOptionsFrom(const Config& c) {
  api::ServiceOptions o;
  o.tokens = c.tokens;
  o.schedule = SchedulePolicyFrom(c);
  o.content_enc = c.rotation_enc.content;
  o.cache_entries = c.cache.entries;
  o.max_token = c.limits.max_token;
  o.store_path = c.store.path;
  return o;
}

}  // namespace instaccess::daemon
