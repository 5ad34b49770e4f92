// instaccessctl: the operator's command line over instaccess::client (docs/cli.md).
//
// The subcommands are one table (kTools: name, help, examples, options, handler) so that --help
// and dispatch cannot drift apart; a command of a group ("keys show") makes its group. The
// global options (--socket, --json, --quiet, --timeout) are accepted before or after the
// command. Human output by default, --json for scripts (the daemon's answer, pretty-printed),
// --quiet for the exit code alone. Exit codes: kExitCodes below, shown in --help and
// docs/cli.md.
//
// Secrets never come from the command line, which every local user can read
// (/proc/PID/cmdline): a token is read from stdin or --file, a key from a file or stdin.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>

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
  // decrypt: `token` may only be "-" (stdin, also when empty), `token_file` a file or "-"
  std::string token, token_file;
  // keys
  std::string purpose, pem_file, jwk_file, alg, kid, max_lifetime;
  std::vector<std::string> issuers;
  // keys list: filters (empty: all)
  std::string list_purpose;
  std::vector<std::string> list_states;
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

// The daemon takes no request body above 64 KiB (a token above 16 KiB), so nothing larger is
// worth reading: a bound keeps `instaccessctl decrypt < /dev/zero` from eating memory.
constexpr std::size_t kMaxInputBytes = 64 * 1024;

// The contents of `file`, or of stdin for "-"; at most kMaxInputBytes. `what` names the
// contents in errors ("the token").
client::Result<std::string> ReadInput(const std::string& file, const std::string& what) {
  std::ifstream in_file;
  std::istream* in = &std::cin;
  const std::string from = file == "-" ? std::string("stdin") : file;
  if (file != "-") {
    in_file.open(file, std::ios::binary);
    if (!in_file) {
      return Error(ErrorKind::kLocal,
                   "cannot read " + what + " from " + file + ": " + std::strerror(errno));
    }
    in = &in_file;
  }
  std::string out(kMaxInputBytes + 1, '\0');
  in->read(out.data(), static_cast<std::streamsize>(out.size()));
  if (in->bad()) return Error(ErrorKind::kLocal, "cannot read " + what + " from " + from);
  out.resize(static_cast<std::size_t>(in->gcount()));
  if (out.size() > kMaxInputBytes) {
    return Error(ErrorKind::kLocal, what + " in " + from + " is larger than " +
                                        std::to_string(kMaxInputBytes / 1024) + " KiB");
  }
  return out;
}

// Whether a --pem or --jwk argument is key material pasted in place of a file name: it is then
// refused without being repeated in an error message.
bool LooksLikeKeyMaterial(const std::string& arg) {
  return arg.find("-----BEGIN") != std::string::npos || arg.find('{') != std::string::npos ||
         arg.find('\n') != std::string::npos;
}

std::string Trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

// ---- issue

void IssueOptions(CLI::App& c, Args& a) {
  c.add_option("--sub", a.sub, "the user (claim sub)")->type_name("SUB")->required();
  c.add_option("--acct", a.acct, "the account (claim acct)")->type_name("ACCT");
  c.add_option("--claim", a.claims,
               "another claim, name=value (masq_shard, canvas_shard_id: integers; "
               "instructure_service: true|false) or name:=JSON; repeatable")
      ->type_name("NAME=VALUE");
  c.add_option("--ttl", a.ttl,
               "lifetime, e.g. 90s, 15m, 1h (default: the daemon's tokens.default_ttl)")
      ->type_name("DURATION");
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
  c.add_option("token", a.token,
               "- (the default): read the token from stdin. A token itself is refused here: "
               "every local user can read a command line");
  c.add_option("--file", a.token_file, "read the token from this file (- for stdin)")
      ->type_name("PATH");
}

int DecryptRun(Env& env) {
  const Args& a = env.args;
  if (!a.token.empty() && a.token != "-") {
    // Not echoed: it is most likely the token.
    return UsageError(
        "decrypt: the token is read from stdin or --file PATH, not from the command line (every "
        "local user can read a process's arguments in /proc/PID/cmdline); e.g. "
        "`printf '%s' \"$TOKEN\" | instaccessctl decrypt` or `instaccessctl decrypt --file "
        "token.txt`");
  }
  if (!a.token.empty() && !a.token_file.empty())
    return UsageError("decrypt: give - or --file PATH, not both");
  std::string source = a.token_file.empty() ? "-" : a.token_file;
  // Typing a token in needs an explicit "-"; an accidental bare `decrypt` should not hang.
  if (a.token.empty() && a.token_file.empty() && isatty(STDIN_FILENO)) {
    return UsageError(
        "decrypt: pipe the token in (`... | instaccessctl decrypt`), redirect it (`< FILE`), or "
        "give --file PATH; `instaccessctl decrypt -` reads it from the terminal");
  }
  auto in = ReadInput(source, "the token");
  if (!in) return Fail(env, in.error());
  std::string token = Trim(*in);
  if (token.empty())
    return UsageError("decrypt: no token in " + (source == "-" ? std::string("stdin") : source));
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

constexpr const char* kPurposes[] = {"sig", "enc"};
constexpr const char* kStates[] = {"pending", "active", "retired", "destroyed", "revoked"};

void ListOptions(CLI::App& c, Args& a) {
  c.add_option("--purpose", a.list_purpose, "only keys of this purpose: sig or enc")
      ->type_name("PURPOSE")
      ->check(CLI::IsMember(std::vector<std::string>(std::begin(kPurposes), std::end(kPurposes))));
  c.add_option("--state", a.list_states,
               "only keys in this state: pending, active, retired, destroyed or revoked; "
               "repeatable, or comma-separated")
      ->type_name("STATE")
      ->delimiter(',')
      ->check(CLI::IsMember(std::vector<std::string>(std::begin(kStates), std::end(kStates))));
}

// Whether `--purpose` and `--state` of `keys list` let a key with `purpose` and `state` through.
bool Wanted(const Args& a, const std::string& purpose, const std::string& state) {
  if (!a.list_purpose.empty() && purpose != a.list_purpose) return false;
  if (a.list_states.empty()) return true;
  return std::find(a.list_states.begin(), a.list_states.end(), state) != a.list_states.end();
}

// The daemon's answer to GET /api/v1/keys with only the keys (and, for --purpose, the planned
// transitions) that the filters let through.
std::string FilteredJson(const Args& a, const std::string& json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object()) return json;
  auto keep = [&](const char* member, auto wanted) {
    auto it = j.find(member);
    if (it == j.end() || !it->is_array()) return;
    nlohmann::json kept = nlohmann::json::array();
    for (const auto& e : *it) {
      if (e.is_object() && wanted(e)) kept.push_back(e);
    }
    *it = std::move(kept);
  };
  keep("keys", [&](const nlohmann::json& k) {
    return Wanted(a, k.value("purpose", std::string()), k.value("state", std::string()));
  });
  keep("next_transitions", [&](const nlohmann::json& t) {
    return a.list_purpose.empty() || t.value("purpose", std::string()) == a.list_purpose;
  });
  return j.dump();
}

int KeysListRun(Env& env) {
  const Args& a = env.args;
  auto list = env.client.Keys();
  if (!list) return Fail(env, list.error());
  return Print(env, FilteredJson(a, list->json), [&] {
    Time now = Now();
    // The next rotation of each active key is in the status (best effort: the list stands alone).
    std::optional<client::StatusInfo> status;
    if (auto s = env.client.Status()) status = std::move(*s);
    std::vector<const client::KeyInfo*> keys;
    for (const auto& k : list->keys) {
      if (Wanted(a, k.purpose, k.state)) keys.push_back(&k);
    }
    // NOTES only when some key has any: what it vouches for beyond the defaults, and pins.
    bool notes = false;
    for (const auto* k : keys) notes = notes || !KeyNotes(*k).empty();
    std::vector<std::string> header = {"KID", "PURPOSE", "ALG", "BITS", "ORIGIN", "STATE", "NEXT"};
    if (notes) header.push_back("NOTES");
    Table t(header);
    for (const auto* k : keys) {
      std::vector<std::string> row = {k->kid,
                                      k->purpose,
                                      k->alg,
                                      std::to_string(k->bits),
                                      k->origin,
                                      k->state,
                                      NextFor(*k, *list, status, now)};
      if (notes) row.push_back(KeyNotes(*k));
      t.Add(std::move(row));
    }
    std::cout << t.Render();
    // The plan is about purposes, not states: shown unless the list is narrowed to states.
    if (!a.list_states.empty()) return;
    Table planned({"PLANNED", "AT", "ACTION"});
    bool any = false;
    for (const auto& tr : list->next_transitions) {
      if (!a.list_purpose.empty() && tr.purpose != a.list_purpose) continue;
      std::string what = tr.action + " " + tr.purpose;
      if (!tr.kid.empty()) what += " " + tr.kid;
      if (!tr.replaces.empty()) what += " (replaces " + tr.replaces + ")";
      planned.Add({Relative(tr.at, now), Absolute(tr.at), what});
      any = true;
    }
    if (any) std::cout << "\n" << planned.Render();
  });
}

// keys show and keys revoke: the key, by its kid.
void KidOption(CLI::App& c, Args& a) {
  c.add_option("kid", a.kid, "the key's kid (keys list shows them)")->required();
}

int KeysShowRun(Env& env) {
  auto k = env.client.Key(env.args.kid);
  if (!k) return Fail(env, k.error());
  return Print(env, k->json, [&] {
    Time now = Now();
    // What happens next comes from the list's plan and the status (best effort).
    client::KeyList plan;
    if (auto l = env.client.Keys()) plan = std::move(*l);
    std::optional<client::StatusInfo> status;
    if (auto s = env.client.Status()) status = std::move(*s);
    auto line = [](const std::string& label, const std::string& value) {
      std::cout << Labeled(label, value, 14);
    };
    // The label in the tense of the time: "retired" (past) or "retires" (to come).
    auto time = [&](const char* past, const char* future, const std::optional<Time>& at) {
      if (at) line(*at <= now ? past : future, When(*at, now));
    };
    line("kid", k->kid);
    line("purpose", k->purpose);
    line("alg", k->alg + ", " + std::to_string(k->bits) + " bits");
    line("origin",
         k->origin + (k->has_private ? " (private part held, sealed)" : " (public part only)"));
    line("state", k->state);
    if (std::string next = NextFor(*k, plan, status, now); !next.empty()) line("next", next);
    time("created", "created", k->created_at);
    time("activated", "activates", k->activate_at);
    time("retired", "retires", k->retire_at);
    time("destroyed", "destroyed", k->expire_at);
    time("revoked", "revoked", k->revoked_at);
    if (k->purpose == "sig") {
      std::string issuers = "the daemon's tokens.issuer";
      if (k->issuers) {
        issuers.clear();
        for (const std::string& iss : *k->issuers) issuers += (issuers.empty() ? "" : ", ") + iss;
        if (issuers.empty()) issuers = "(none)";
      }
      line("issuers", issuers);
      line("max lifetime",
           k->max_lifetime ? FormatDuration(*k->max_lifetime) : "the daemon's tokens.max_lifetime");
    }
    line("pinned", k->pin ? "yes: only keys rotate or keys revoke ends it" : "no");
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
  auto* pem = c.add_option("--pem", a.pem_file, "a PEM file (private or public key; - for stdin)")
                  ->type_name("FILE");
  auto* jwk = c.add_option("--jwk", a.jwk_file, "a JWK file (- for stdin)")->type_name("FILE");
  pem->excludes(jwk);
  c.add_option("--alg", a.alg,
               "the key's algorithm (default: the purpose's configured one, or the JWK's)")
      ->type_name("ALG");
  c.add_flag("--activate", a.activate, "make it the active key at once");
  c.add_option("--kid", a.kid, "the key's name (default: the JWK's kid, else its thumbprint)")
      ->type_name("NAME");
  c.add_option("--issuer", a.issuers,
               "an iss its tokens may carry; required for a peer's public signing key; "
               "repeatable")
      ->type_name("ISS");
  c.add_flag("--allow-own-issuer", a.allow_own_issuer,
             "let --issuer name the daemon's own tokens.issuer (a stock Canvas signing as us)");
  c.add_option("--max-lifetime", a.max_lifetime,
               "signing keys: the longest token lifetime it signs, e.g. 1h (default: "
               "tokens.max_lifetime)")
      ->type_name("DURATION");
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
  const std::string& file = a.pem_file.empty() ? a.jwk_file : a.pem_file;
  if (LooksLikeKeyMaterial(file)) {
    return UsageError(
        "keys import: --pem and --jwk take a file name (or - for stdin), not the "
        "key itself: every local user can read a command line");
  }
  auto content = ReadInput(file, "the key");
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
      std::cout << Labeled(label, value, 10);
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
  const char* examples;  // shown by the command's --help
  void (*options)(CLI::App&, Args&);
  int (*run)(Env&);
};

// A new command is a row here (a new group also a row in kGroups) and its lines in
// instaccessctl.bash-completion and instaccessctl.zsh-completion: client_completion_test fails
// until both offer every command and option that --help lists.
constexpr Tool kTools[] = {
    {"issue", "issue a token for --sub (and --acct, --claim ...)",
     "  instaccessctl issue --sub 42 --acct 1 --ttl 15m\n"
     "  instaccessctl issue --sub 42 --acct 1 --claim masq_shard=3 --claim 'roles:=[\"admin\"]'\n"
     "  TOKEN=$(instaccessctl issue --sub 42 --acct 1)   # the token alone on stdout",
     IssueOptions, IssueRun},
    {"decrypt", "decrypt and verify a token read from stdin or --file, print its claims",
     "  instaccessctl issue --sub 42 --acct 1 | instaccessctl decrypt\n"
     "  printf '%s' \"$TOKEN\" | instaccessctl decrypt --json   # printf: a shell builtin\n"
     "  instaccessctl decrypt --file token.txt\n"
     "  instaccessctl -q decrypt < token.txt && echo valid\n"
     "The token is never taken from the command line: every local user can read a process's\n"
     "arguments (/proc/PID/cmdline).",
     DecryptOptions, DecryptRun},
    {"jwks", "the published public keys (JWKS)", "  instaccessctl jwks --json > jwks.json",
     NoOptions, JwksRun},
    {"keys list", "every key with its state and what happens to it next",
     "  instaccessctl keys list\n"
     "  instaccessctl keys list --purpose sig --state active,pending\n"
     "  instaccessctl keys list --state retired --json | jq -r '.keys[].kid'",
     ListOptions, KeysListRun},
    {"keys show", "one key in full: state, times, origin, issuers, max lifetime, pin",
     "  instaccessctl keys show canvas-2026\n"
     "  instaccessctl keys show \"$(instaccessctl status --json | jq -r .active_kids.sig)\" --json",
     KidOption, KeysShowRun},
    {"keys rotate", "make a new key active now (sig, enc or both)",
     "  instaccessctl keys rotate enc", RotateOptions, KeysRotateRun},
    {"keys import", "import a key (PEM or JWK), e.g. Canvas's existing keys or a peer's",
     "  instaccessctl keys import --purpose enc --pem canvas-encryption-private.pem --activate\n"
     "  instaccessctl keys import --purpose sig --pem canvas-signing-public.pem \\\n"
     "      --kid canvas-2026 --issuer canvas.example.edu --pin\n"
     "  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 |\n"
     "      instaccessctl keys import --purpose enc --alg RSA-OAEP --pem -\n"
     "The key comes from a file or stdin, never from the command line.",
     ImportOptions, KeysImportRun},
    {"keys export", "print a key's public part as PEM (for Canvas's config) or JWK",
     "  instaccessctl keys export gateway-enc > instaccess-enc.pem\n"
     "  instaccessctl keys export gateway-enc --jwk",
     ExportOptions, KeysExportRun},
    {"keys revoke", "revoke a key at once: not published, not accepted",
     "  instaccessctl keys revoke canvas-2026", KidOption, KeysRevokeRun},
    {"status", "version, store health, active keys and next rotations, cache and load",
     "  instaccessctl status\n"
     "  instaccessctl status --json | jq -r .active_kids.enc\n"
     "Exit 6 when the store is unhealthy or a purpose has no active key.",
     NoOptions, StatusRun},
    {"backup", "write a consistent snapshot of the key store to FILE",
     "  instaccessctl backup /var/backups/instaccessd/keys-$(date +%F).db", BackupOptions,
     BackupRun},
    {"audit verify", "check the store's keyed audit chain (every key event and admin action)",
     "  instaccessctl audit verify   # exit 7 when the chain is broken", NoOptions, AuditVerifyRun},
    {"schedule accept-clock",
     "accept the daemon's clock after a forward jump held the key schedule",
     "  instaccessctl status | grep warning   # first: is a jump held, and is the clock right?\n"
     "  instaccessctl schedule accept-clock",
     NoOptions, AcceptClockRun},
};

// Groups of commands: their help (the list of their commands is added from kTools).
struct Group {
  const char* name;
  const char* help;
};
constexpr Group kGroups[] = {{"keys", "list and manage keys"},
                             {"audit", "the store's audit chain"},
                             {"schedule", "the key schedule"}};

constexpr char kGlobalOptions[] =
    "Global options, before or after the command: --socket PATH, --json, --quiet, "
    "--timeout DURATION\n(instaccessctl --help lists them and the exit codes).";

// Adds the commands of kTools to `app`, each with its group ("keys") made on first use.
std::vector<std::pair<CLI::App*, const Tool*>> AddCommands(CLI::App& app, Args& args) {
  std::vector<std::pair<CLI::App*, const Tool*>> commands;
  std::map<std::string, CLI::App*> groups;
  for (const Tool& tool : kTools) {
    std::string name = tool.name;
    CLI::App* parent = &app;
    if (auto space = name.find(' '); space != std::string::npos) {
      std::string group = name.substr(0, space);
      name = name.substr(space + 1);
      CLI::App*& g = groups[group];
      if (g == nullptr) {
        std::string help;
        for (const Group& known : kGroups) {
          if (group == known.name) help = known.help;
        }
        g = app.add_subcommand(group, help);
        g->require_subcommand(1);
        g->footer(kGlobalOptions);
      }
      parent = g;
    }
    CLI::App* sub = parent->add_subcommand(name, tool.help);
    sub->footer("Examples:\n" + std::string(tool.examples) + "\n\n" + kGlobalOptions);
    tool.options(*sub, args);
    commands.emplace_back(sub, &tool);
  }
  // A group's help names its commands: "list and manage keys (list, show, rotate, ...)".
  for (auto& [name, group] : groups) {
    std::string names;
    for (const CLI::App* sub : group->get_subcommands({}))
      names += (names.empty() ? "" : ", ") + sub->get_name();
    group->description(group->get_description() + " (" + names + ")");
  }
  return commands;
}

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
  app.add_option("--socket", args.socket, "the daemon's socket (see below)")->type_name("PATH");
  app.add_flag("--json", args.json,
               "print the daemon's JSON answer (errors too: {\"error\": ...})");
  app.add_flag("--quiet,-q", args.quiet, "print nothing on success (errors still go to stderr)");
  app.add_option("--timeout", args.timeout, "give up after this long (default 30s)")
      ->type_name("DURATION");

  // Subcommands inherit fallthrough: an option a command does not know goes to its parent, so
  // the global options may also follow the command (`instaccessctl status --json`).
  app.fallthrough();
  const auto commands = AddCommands(app, args);

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
