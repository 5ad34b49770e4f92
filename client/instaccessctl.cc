// instaccessctl: the operator's command line over instaccess::client (docs/cli.md).
//
// The subcommands are one table (kTools: name, help, options, handler) so that --help and
// dispatch cannot drift apart. Human output by default, --json for scripts (the daemon's answer,
// pretty-printed), --quiet for the exit code alone. Exit codes: kExitCodes below, shown in --help
// and docs/cli.md.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "client/ctl_format.h"
#include "instaccess/client.h"

namespace instaccess::ctl {
namespace {

using client::Client;
using client::Error;
using client::ErrorKind;

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;      // the daemon refused the request, or a local failure
constexpr int kExitUsage = 2;        // bad command line
constexpr int kExitUnreachable = 3;  // no answer: not running, no permission on the socket, timeout
constexpr int kExitForbidden = 4;    // the caller lacks the role
constexpr int kExitBadToken = 5;     // invalid, expired or not yet valid token
constexpr int kExitServer = 6;       // the daemon failed: internal, unavailable, overloaded
constexpr int kExitAuditBroken = 7;  // audit verify: the chain does not link up

constexpr char kExitCodes[] =
    "Exit codes:\n"
    "  0  success\n"
    "  1  the daemon refused the request (bad_request, not_found) or a local failure\n"
    "  2  usage error (bad arguments)\n"
    "  3  daemon unreachable (not running, socket permission, timeout)\n"
    "  4  forbidden (your uid/groups lack the role)\n"
    "  5  invalid token (invalid_token, token_expired, token_not_yet_valid)\n"
    "  6  server error (internal, unavailable, overloaded, unexpected answer)\n"
    "  7  audit verify: the audit chain is broken\n"
    "\n"
    "Socket: --socket, else $INSTACCESS_SOCKET, else /run/instaccessd/instaccessd.sock if it\n"
    "exists, else ./var/instaccessd.sock (the daemon's embedded default).";

constexpr char kSystemSocket[] = "/run/instaccessd/instaccessd.sock";
constexpr char kLocalSocket[] = "./var/instaccessd.sock";

// Every command's arguments; each tool binds the ones it uses.
struct Args {
  std::string socket;
  bool json = false;
  bool quiet = false;
  std::string timeout = "30s";
  // issue
  std::string sub, acct, ttl;
  std::vector<std::string> claims;
  bool unencrypted = false;
  // decrypt: empty reads stdin, like "-"
  std::string token;
  // keys
  std::string purpose, pem_file, jwk_file, alg, kid, max_lifetime;
  std::vector<std::string> issuers;
  bool activate = false, pin = false, allow_own_issuer = false;
  // keys export: the JWK instead of the PEM
  bool pem = false, jwk = false;
  // backup
  std::string file;
  bool force = false;
};

// What a handler works with: the arguments, the client, and where output goes.
struct Env {
  const Args& args;
  Client& client;
  bool socket_defaulted = false;
};

int ExitCodeOf(const Error& e) {
  switch (e.kind()) {
    case ErrorKind::kUnreachable:
    case ErrorKind::kTimeout:
      return kExitUnreachable;
    case ErrorKind::kForbidden:
      return kExitForbidden;
    case ErrorKind::kInvalidToken:
    case ErrorKind::kTokenExpired:
    case ErrorKind::kTokenNotYetValid:
      return kExitBadToken;
    case ErrorKind::kProtocol:
    case ErrorKind::kOverloaded:
    case ErrorKind::kUnavailable:
    case ErrorKind::kInternal:
      return kExitServer;
    case ErrorKind::kBadRequest:
    case ErrorKind::kNotFound:
    case ErrorKind::kConflict:
    case ErrorKind::kInvalidArgument:
    case ErrorKind::kLocal:
      break;
  }
  return kExitRefused;
}

int Fail(const Env& env, const Error& e) {
  std::string message = e.message();
  if (e.kind() == ErrorKind::kTokenExpired || e.kind() == ErrorKind::kTokenNotYetValid ||
      e.kind() == ErrorKind::kInvalidToken) {
    message = e.code() + ": " + message;
  }
  if (e.retry_after_seconds())
    message += " (retry after " + std::to_string(*e.retry_after_seconds()) + "s)";
  if (e.kind() == ErrorKind::kUnreachable && env.socket_defaulted &&
      env.client.socket_path() == kLocalSocket) {
    message += "; there is no " + std::string(kSystemSocket) +
               " either: name the socket with --socket or INSTACCESS_SOCKET";
  }
  if (env.args.json) {
    nlohmann::json j = {{"error", {{"code", e.code()}, {"message", e.message()}}}};
    std::cout << j.dump(2) << "\n";
  }
  std::cerr << "instaccessctl: " << message << "\n";
  return ExitCodeOf(e);
}

int UsageError(const std::string& message) {
  std::cerr << "instaccessctl: " << message << "\n";
  return kExitUsage;
}

// Prints the daemon's JSON answer for --json (pretty), else `human`. --quiet prints nothing.
template <typename Human>
int Print(const Env& env, const std::string& json, Human human) {
  if (env.args.quiet) return kExitOk;
  if (env.args.json) {
    std::cout << nlohmann::json::parse(json, nullptr, false).dump(2) << "\n";
  } else {
    human();
  }
  return kExitOk;
}

Time Now() { return std::chrono::system_clock::now(); }

client::Result<std::string> ReadInput(const std::string& file) {
  std::ostringstream out;
  if (file == "-") {
    out << std::cin.rdbuf();
    return out.str();
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return Error(ErrorKind::kLocal, "cannot read " + file + ": " + std::strerror(errno));
  out << in.rdbuf();
  return out.str();
}

std::string Trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

// ---- issue

void IssueOptions(CLI::App& c, Args& a) {
  c.add_option("--sub", a.sub, "the user (claim sub)")->required();
  c.add_option("--acct", a.acct, "the account (claim acct)");
  c.add_option("--claim", a.claims,
               "another claim, name=value (masq_shard, canvas_shard_id: integers; "
               "instructure_service: true|false) or name:=JSON; repeatable");
  c.add_option("--ttl", a.ttl,
               "lifetime, e.g. 90s, 15m, 1h (default: the daemon's tokens.default_ttl)");
  c.add_flag("--unencrypted", a.unencrypted,
             "a bare signed JWS (only if tokens.allow_unencrypted)");
}

int IssueRun(Env& env) {
  const Args& a = env.args;
  client::Claims claims;
  claims.SetString("sub", a.sub);
  if (!a.acct.empty()) claims.SetString("acct", a.acct);
  for (const std::string& c : a.claims) {
    if (std::string problem = ApplyClaim(c, &claims); !problem.empty()) return UsageError(problem);
  }
  client::IssueOptions o;
  if (!a.ttl.empty()) {
    o.ttl = ParseCliDuration(a.ttl);
    if (!o.ttl) return UsageError("--ttl '" + a.ttl + "' is not a duration such as 90s, 15m or 1h");
  }
  o.encrypt = !a.unencrypted;
  auto token = env.client.Issue(claims, o);
  if (!token) return Fail(env, token.error());
  return Print(env, nlohmann::json{{"token", *token}}.dump(), [&] { std::cout << *token << "\n"; });
}

// ---- decrypt

void DecryptOptions(CLI::App& c, Args& a) {
  c.add_option("token", a.token, "the token, or - to read it from stdin (also when absent)");
}

int DecryptRun(Env& env) {
  std::string token = env.args.token;
  if (token.empty() && isatty(STDIN_FILENO)) {
    return UsageError(
        "decrypt: give the token as an argument, or pipe it in (or name - to type it)");
  }
  if (token.empty() || token == "-") {
    auto in = ReadInput("-");
    if (!in) return Fail(env, in.error());
    token = Trim(*in);
    if (token.empty()) return UsageError("no token on stdin");
  }
  auto opened = env.client.Decrypt(token);
  if (!opened) return Fail(env, opened.error());
  return Print(env, opened->json, [&] {
    Table t({"CLAIM", "VALUE"});
    Time now = Now();
    for (const std::string& name : opened->claims.Names()) {
      std::string value = opened->claims.GetString(name).value_or(*opened->claims.GetJson(name));
      auto seconds = opened->claims.GetInt(name);
      if ((name == "iat" || name == "exp" || name == "nbf") && seconds) {
        value +=
            "  " +
            When(std::chrono::system_clock::from_time_t(static_cast<std::time_t>(*seconds)), now);
      }
      t.Add({name, value});
    }
    std::cout << t.Render() << "\nsigned with   " << opened->sig_kid << "\n";
    if (!opened->enc_kid.empty()) std::cout << "encrypted to  " << opened->enc_kid << "\n";
  });
}

// ---- jwks

void NoOptions(CLI::App&, Args&) {}

int JwksRun(Env& env) {
  auto jwks = env.client.Jwks();
  if (!jwks) return Fail(env, jwks.error());
  return Print(env, jwks->json, [&] {
    Table t({"KID", "USE", "ALG", "KTY"});
    for (const auto& k : jwks->keys) t.Add({k.kid, k.use, k.alg, k.kty});
    std::cout << t.Render();
  });
}

// ---- keys

// What happens next to a key, in words: "retires in 3h 12m (2026-11-23 17:17:00 UTC)".
// `next_rotation`: the status's next promotion per purpose, for an active key whose successor
// is not planned yet.
std::string NextFor(const client::KeyInfo& k, const client::KeyList& list,
                    const std::optional<client::StatusInfo>& status, Time now) {
  auto at = [&](Time t) { return Relative(t, now) + " (" + Absolute(t) + ")"; };
  if (k.state == "pending" || k.state == "active") {
    for (const auto& tr : list.next_transitions) {
      if (tr.action != "promote") continue;
      if (k.state == "pending" && tr.kid == k.kid) return "activates " + at(tr.at);
      if (k.state == "active" && tr.replaces == k.kid) return "retires " + at(tr.at);
    }
    if (k.state == "pending" && k.activate_at) return "activates " + at(*k.activate_at);
    if (k.state == "active" && status) {
      const auto& next = k.purpose == "sig" ? status->next_rotation_sig : status->next_rotation_enc;
      bool current = (k.purpose == "sig" ? status->active_sig : status->active_enc) == k.kid;
      if (next && current) return "retires " + at(*next);
    }
    return k.state == "active" ? "active until rotated" : "";
  }
  if (k.state == "retired") {
    if (k.expire_at) return "destroyed " + at(*k.expire_at);
    return "accepted until revoked";
  }
  if (k.state == "destroyed" && k.expire_at) return "destroyed " + at(*k.expire_at);
  if (k.state == "revoked" && k.revoked_at) return "revoked " + at(*k.revoked_at);
  return "";
}

// What a key vouches for beyond the daemon's defaults, and whether it is pinned:
// "pinned, issuers canvas.example.edu, max lifetime 1h"; empty when none of it is set.
std::string KeyNotes(const client::KeyInfo& k) {
  std::vector<std::string> parts;
  if (k.pin) parts.emplace_back("pinned");
  if (k.issuers) {
    std::string list;
    for (const std::string& iss : *k.issuers) list += (list.empty() ? "" : ",") + iss;
    parts.push_back("issuers " + (list.empty() ? std::string("(none)") : list));
  }
  if (k.max_lifetime) parts.push_back("max lifetime " + FormatDuration(*k.max_lifetime));
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

int KeysListRun(Env& env) {
  auto list = env.client.Keys();
  if (!list) return Fail(env, list.error());
  return Print(env, list->json, [&] {
    Time now = Now();
    // The next rotation of each active key is in the status (best effort: the list stands alone).
    std::optional<client::StatusInfo> status;
    if (auto s = env.client.Status()) status = std::move(*s);
    // NOTES only when some key has any: what it vouches for beyond the defaults, and pins.
    bool notes = false;
    for (const auto& k : list->keys) notes = notes || !KeyNotes(k).empty();
    std::vector<std::string> header = {"KID", "PURPOSE", "ALG", "BITS", "ORIGIN", "STATE", "NEXT"};
    if (notes) header.push_back("NOTES");
    Table t(header);
    for (const auto& k : list->keys) {
      std::vector<std::string> row = {k.kid,
                                      k.purpose,
                                      k.alg,
                                      std::to_string(k.bits),
                                      k.origin,
                                      k.state,
                                      NextFor(k, *list, status, now)};
      if (notes) row.push_back(KeyNotes(k));
      t.Add(std::move(row));
    }
    std::cout << t.Render();
    if (list->next_transitions.empty()) return;
    Table planned({"PLANNED", "AT", "ACTION"});
    for (const auto& tr : list->next_transitions) {
      std::string what = tr.action + " " + tr.purpose;
      if (!tr.kid.empty()) what += " " + tr.kid;
      if (!tr.replaces.empty()) what += " (replaces " + tr.replaces + ")";
      planned.Add({Relative(tr.at, now), Absolute(tr.at), what});
    }
    std::cout << "\n" << planned.Render();
  });
}

void RotateOptions(CLI::App& c, Args& a) {
  c.add_option("purpose", a.purpose, "sig, enc or both")
      ->required()
      ->check(CLI::IsMember({"sig", "enc", "both"}));
}

client::Purpose PurposeOf(const std::string& s) {
  if (s == "sig") return client::Purpose::kSig;
  if (s == "enc") return client::Purpose::kEnc;
  return client::Purpose::kBoth;
}

int KeysRotateRun(Env& env) {
  auto r = env.client.Rotate(PurposeOf(env.args.purpose));
  if (!r) return Fail(env, r.error());
  return Print(env, r->json, [&] {
    std::cout << "rotated " << env.args.purpose << "; active now:\n";
    if (!r->active_sig.empty()) std::cout << "  sig  " << r->active_sig << "\n";
    if (!r->active_enc.empty()) std::cout << "  enc  " << r->active_enc << "\n";
  });
}

void ImportOptions(CLI::App& c, Args& a) {
  c.add_option("--purpose", a.purpose, "sig or enc")
      ->required()
      ->check(CLI::IsMember({"sig", "enc"}));
  auto* pem = c.add_option("--pem", a.pem_file, "a PEM file (private or public key; - for stdin)");
  auto* jwk = c.add_option("--jwk", a.jwk_file, "a JWK file (- for stdin)");
  pem->excludes(jwk);
  c.add_option("--alg", a.alg,
               "the key's algorithm (default: the purpose's configured one, or the JWK's)");
  c.add_flag("--activate", a.activate, "make it the active key at once");
  c.add_option("--kid", a.kid, "the key's name (default: the JWK's kid, else its thumbprint)");
  c.add_option("--issuer", a.issuers,
               "an iss its tokens may carry; required for a peer's public signing key; "
               "repeatable");
  c.add_flag("--allow-own-issuer", a.allow_own_issuer,
             "let --issuer name the daemon's own tokens.issuer (a stock Canvas signing as us)");
  c.add_option("--max-lifetime", a.max_lifetime,
               "signing keys: the longest token lifetime it signs, e.g. 1h (default: "
               "tokens.max_lifetime)");
  c.add_flag("--pin", a.pin, "never rotated or destroyed by the schedule (Canvas's static keys)");
}

int KeysImportRun(Env& env) {
  const Args& a = env.args;
  if (a.pem_file.empty() == a.jwk_file.empty())
    return UsageError("keys import needs --pem FILE or --jwk FILE");
  client::ImportRequest r;
  if (!a.max_lifetime.empty()) {
    r.max_lifetime = ParseCliDuration(a.max_lifetime);
    if (!r.max_lifetime) {
      return UsageError("--max-lifetime '" + a.max_lifetime +
                        "' is not a duration such as 15m or 1h");
    }
  }
  r.purpose = PurposeOf(a.purpose);
  auto content = ReadInput(a.pem_file.empty() ? a.jwk_file : a.pem_file);
  if (!content) return Fail(env, content.error());
  (a.pem_file.empty() ? r.jwk_json : r.pem) = *content;
  r.alg = a.alg;
  if (a.activate) r.activate = true;
  r.kid = a.kid;
  r.issuers = a.issuers;
  r.allow_own_issuer = a.allow_own_issuer;
  r.pin = a.pin;
  auto k = env.client.ImportKey(r);
  if (!k) {
    const Error& e = k.error();
    // The daemon names its JSON members; say which options set them.
    std::string hint;
    if (e.message().find("needs \"issuers\"") != std::string::npos) hint = " (--issuer ISS)";
    if (e.message().find("\"issuers\" is only") != std::string::npos) hint = " (drop --issuer)";
    if (e.message().find("\"allow_own_issuer\"") != std::string::npos)
      hint = " (--allow-own-issuer)";
    if (e.message().find("give \"kid\"") != std::string::npos) hint = " (--kid NAME)";
    return Fail(env, Error(e.kind(), e.message() + hint, e.code(), e.http_status(),
                           e.retry_after_seconds()));
  }
  return Print(env, k->json, [&] {
    std::cout << "imported " << k->kid << ": " << k->purpose << " " << k->alg << " " << k->bits
              << " bits, " << k->origin << ", " << k->state;
    if (std::string notes = KeyNotes(*k); !notes.empty()) std::cout << ", " << notes;
    std::cout << "\n";
  });
}

void ExportOptions(CLI::App& c, Args& a) {
  c.add_option("kid", a.kid, "the key to export")->required();
  auto* pem =
      c.add_flag("--pem", a.pem, "the public key as PEM (SPKI \"PUBLIC KEY\"; the default)");
  auto* jwk = c.add_flag("--jwk", a.jwk, "the public key as a JWK");
  pem->excludes(jwk);
}

int KeysExportRun(Env& env) {
  const Args& a = env.args;
  const client::KeyFormat format = a.jwk ? client::KeyFormat::kJwk : client::KeyFormat::kPem;
  auto key = env.client.ExportPublicKey(a.kid, format);
  if (!key) return Fail(env, key.error());
  std::string json = format == client::KeyFormat::kJwk
                         ? *key
                         : nlohmann::json{{"kid", a.kid}, {"pem", *key}}.dump();
  return Print(env, json, [&] {
    if (format == client::KeyFormat::kJwk) {
      std::cout << nlohmann::json::parse(*key, nullptr, false).dump(2) << "\n";
    } else {
      std::cout << *key;
      if (!key->empty() && key->back() != '\n') std::cout << "\n";
    }
  });
}

void RevokeOptions(CLI::App& c, Args& a) {
  c.add_option("kid", a.kid, "the key to revoke")->required();
}

int KeysRevokeRun(Env& env) {
  auto k = env.client.Revoke(env.args.kid);
  if (!k) return Fail(env, k.error());
  return Print(env, k->json, [&] {
    std::cout << "revoked " << k->kid << " (" << k->purpose << " " << k->alg
              << "): no longer published or accepted\n";
  });
}

// ---- status

int StatusRun(Env& env) {
  auto s = env.client.Status();
  if (!s) return Fail(env, s.error());
  int rc = Print(env, s->json, [&] {
    Time now = Now();
    auto line = [](const std::string& label, const std::string& value) {
      std::cout << label << std::string(label.size() < 10 ? 10 - label.size() : 1, ' ') << value
                << "\n";
    };
    line("daemon", "instaccessd " + s->version + ", up " +
                       FormatDuration(std::chrono::seconds(s->uptime_seconds)) + " on " +
                       env.client.socket_path());
    line("store", s->store_path + (s->store_healthy ? " (healthy)"
                                                    : " (NOT HEALTHY: " + s->store_message + ")"));
    const nlohmann::json raw = nlohmann::json::parse(s->json, nullptr, false);
    if (raw.is_object() && raw.contains("integrity") && raw["integrity"].is_object()) {
      const nlohmann::json& i = raw["integrity"];
      const std::string head = i.value("audit_head", std::string());
      line("integrity", std::string(i.value("ok", false) ? "ok" : "PROBLEMS (see warnings)") +
                            ", audit head " + head.substr(0, 12));
    }
    auto active = [&](const char* label, const std::string& kid, const std::string& alg,
                      const std::optional<Time>& next) {
      std::string v = kid.empty() ? "none" : kid + " (" + alg + ")";
      if (next) v += ", rotates " + Relative(*next, now) + " (" + Absolute(*next) + ")";
      line(label, v);
    };
    active("sig", s->active_sig, s->sig_alg, s->next_rotation_sig);
    active("enc", s->active_enc, s->enc_alg + ", " + s->content_alg, s->next_rotation_enc);
    std::uint64_t lookups = s->cache_hits + s->cache_misses;
    line("cache",
         std::to_string(s->cache_entries) + " of " + std::to_string(s->cache_capacity) +
             " entries" +
             (lookups ? ", " + std::to_string(s->cache_hits * 100 / lookups) + "% hits" : ""));
    line("load", std::to_string(s->connections) + " connections, " + std::to_string(s->queued) +
                     " queued, " + std::to_string(s->tokens_issued) + " tokens issued");
    for (const auto& w : s->warnings) line("warning", w);
  });
  // A daemon that answers but cannot serve tokens is a failure for scripts and monitors.
  return s->store_healthy && !s->active_sig.empty() && !s->active_enc.empty() ? rc : kExitServer;
}

// ---- backup

void BackupOptions(CLI::App& c, Args& a) {
  c.add_option("file", a.file, "where to write the snapshot (mode 0600)")->required();
  c.add_flag("--force", a.force, "replace an existing file");
}

int BackupRun(Env& env) {
  const Args& a = env.args;
  if (!a.force && access(a.file.c_str(), F_OK) == 0) {
    return Fail(env, Error(ErrorKind::kLocal, a.file + " exists; use --force to replace it"));
  }
  auto bytes = env.client.Backup(a.file);
  if (!bytes) return Fail(env, bytes.error());
  std::string json = nlohmann::json{{"file", a.file}, {"bytes", *bytes}}.dump();
  return Print(env, json, [&] {
    std::cout << "wrote " << *bytes << " bytes to " << a.file
              << " (a snapshot of the key store; private keys stay sealed under the master key)\n";
  });
}

// ---- audit

int AuditVerifyRun(Env& env) {
  auto r = env.client.AuditVerify();
  if (!r) return Fail(env, r.error());
  int rc = Print(env, r->json, [&] {
    if (r->ok) {
      std::cout << "audit chain intact: " << r->entries
                << " entries, each linked to the one before\n";
    } else {
      std::cout << "AUDIT CHAIN BROKEN";
      if (r->first_broken_seq) std::cout << " at entry " << *r->first_broken_seq;
      std::cout << " of " << r->entries << ": " << r->reason << "\n";
    }
  });
  return r->ok ? rc : kExitAuditBroken;
}

// ---- schedule

int AcceptClockRun(Env& env) {
  auto at = env.client.AcceptClock();
  if (!at) return Fail(env, at.error());
  std::string json = nlohmann::json{{"accepted_at", *at}}.dump();
  return Print(env, json, [&] {
    std::cout << "clock accepted at " << *at << ": key transitions resume from this time\n";
  });
}

// ---- the table

struct Tool {
  const char* name;  // "keys rotate": a subcommand of "keys"
  const char* help;
  void (*options)(CLI::App&, Args&);
  int (*run)(Env&);
};

constexpr Tool kTools[] = {
    {"issue", "issue a token for --sub (and --acct, --claim ...)", IssueOptions, IssueRun},
    {"decrypt", "decrypt and verify a token (argument or stdin), print its claims", DecryptOptions,
     DecryptRun},
    {"jwks", "the published public keys (JWKS)", NoOptions, JwksRun},
    {"keys list", "every key with its state and what happens to it next", NoOptions, KeysListRun},
    {"keys rotate", "make a new key active now (sig, enc or both)", RotateOptions, KeysRotateRun},
    {"keys import", "import a key (PEM or JWK), e.g. Canvas's existing keys or a peer's",
     ImportOptions, KeysImportRun},
    {"keys export", "print a key's public part as PEM (for Canvas's config) or JWK", ExportOptions,
     KeysExportRun},
    {"keys revoke", "revoke a key at once: not published, not accepted", RevokeOptions,
     KeysRevokeRun},
    {"status", "version, store health, active keys and next rotations, cache and load", NoOptions,
     StatusRun},
    {"backup", "write a consistent snapshot of the key store to FILE", BackupOptions, BackupRun},
    {"audit verify", "check the store's keyed audit chain (every key event and admin action)",
     NoOptions, AuditVerifyRun},
    {"schedule accept-clock",
     "accept the daemon's clock after a forward jump held the key schedule", NoOptions,
     AcceptClockRun},
};

// Groups of subcommands: their help.
struct Group {
  const char* name;
  const char* help;
};
constexpr Group kGroups[] = {
    {"keys", "list and manage keys (list, rotate, import, export, revoke)"},
    {"audit", "the store's audit chain (verify)"},
    {"schedule", "the key schedule (accept-clock)"}};

std::string ResolveSocket(const std::string& flag, bool* defaulted) {
  *defaulted = false;
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("INSTACCESS_SOCKET"); env != nullptr && *env != '\0')
    return env;
  *defaulted = true;
  if (access(kSystemSocket, F_OK) == 0) return kSystemSocket;
  return kLocalSocket;
}

int Main(int argc, char** argv) {
  Args args;
  CLI::App app{"instaccessctl: issue and decrypt InstAccess tokens and manage instaccessd's keys"};
  app.footer(kExitCodes);
  app.set_version_flag("--version", "instaccessctl " INSTACCESS_VERSION);
  app.require_subcommand(1);
  app.add_option("--socket", args.socket, "the daemon's socket (see below)");
  app.add_flag("--json", args.json,
               "print the daemon's JSON answer (errors too: {\"error\": ...})");
  app.add_flag("--quiet,-q", args.quiet, "print nothing on success (errors still go to stderr)");
  app.add_option("--timeout", args.timeout, "give up after this long (default 30s)");

  std::vector<std::pair<CLI::App*, const Tool*>> commands;
  std::map<std::string, CLI::App*> groups;
  for (const Tool& tool : kTools) {
    std::string name = tool.name;
    CLI::App* parent = &app;
    if (auto space = name.find(' '); space != std::string::npos) {
      std::string group = name.substr(0, space);
      parent = groups[group];
      if (parent == nullptr) {
        const char* help = "";
        for (const Group& g : kGroups) {
          if (group == g.name) help = g.help;
        }
        parent = groups[group] = app.add_subcommand(group, help);
        parent->require_subcommand(1);
      }
      name = name.substr(space + 1);
    }
    CLI::App* sub = parent->add_subcommand(name, tool.help);
    tool.options(*sub, args);
    commands.emplace_back(sub, &tool);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help, the version, or the error with a hint
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (args.json && args.quiet) return UsageError("--json and --quiet exclude each other");
  auto timeout = ParseCliDuration(args.timeout);
  if (!timeout) return UsageError("--timeout '" + args.timeout + "' is not a duration such as 10s");

  client::ClientOptions options;
  options.request_timeout = *timeout;
  options.max_idle_connections = 1;
  bool defaulted = false;
  Client c(ResolveSocket(args.socket, &defaulted), options);
  Env env{args, c, defaulted};
  for (auto& [sub, tool] : commands) {
    if (sub->parsed()) return tool->run(env);
  }
  return UsageError("no command given; see --help");
}

}  // namespace
}  // namespace instaccess::ctl

int main(int argc, char** argv) {
  try {
    return instaccess::ctl::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "instaccessctl: " << e.what() << "\n";
    return 6;
  }
}
