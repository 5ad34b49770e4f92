#include "instaccess/client.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "client/http_transport.h"

namespace instaccess::client {

namespace {

using internal::HttpAnswer;
using nlohmann::json;

// The daemon's error codes (docs/api.md, "Errors") and what kind of failure each one is.
struct CodeKind {
  std::string_view code;
  ErrorKind kind;
};
constexpr CodeKind kCodeKinds[] = {
    {"bad_request", ErrorKind::kBadRequest},
    {"method_not_allowed", ErrorKind::kBadRequest},
    {"payload_too_large", ErrorKind::kBadRequest},
    {"unsupported_media_type", ErrorKind::kBadRequest},
    {"request_header_fields_too_large", ErrorKind::kBadRequest},
    {"request_timeout", ErrorKind::kBadRequest},
    {"invalid_token", ErrorKind::kInvalidToken},
    {"token_expired", ErrorKind::kTokenExpired},
    {"token_not_yet_valid", ErrorKind::kTokenNotYetValid},
    {"forbidden", ErrorKind::kForbidden},
    {"not_found", ErrorKind::kNotFound},
    {"conflict", ErrorKind::kConflict},
    {"overloaded", ErrorKind::kOverloaded},
    {"unavailable", ErrorKind::kUnavailable},
    {"internal", ErrorKind::kInternal},
};

// A code this client does not know yet (a newer daemon): judged by the status alone.
ErrorKind KindOfStatus(int status) {
  switch (status) {
    case 401:
      return ErrorKind::kInvalidToken;
    case 403:
      return ErrorKind::kForbidden;
    case 404:
      return ErrorKind::kNotFound;
    case 409:
      return ErrorKind::kConflict;
    case 503:
      return ErrorKind::kUnavailable;
    default:
      break;
  }
  if (status >= 400 && status < 500) return ErrorKind::kBadRequest;
  if (status >= 500 && status < 600) return ErrorKind::kInternal;
  return ErrorKind::kProtocol;
}

Error ErrorFromAnswer(const HttpAnswer& a) {
  std::string code;
  std::string message;
  json j = json::parse(a.body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_object()) {
    const json& e = j["error"];
    if (e.contains("code") && e["code"].is_string()) code = e["code"].get<std::string>();
    if (e.contains("message") && e["message"].is_string())
      message = e["message"].get<std::string>();
  }
  ErrorKind kind = KindOfStatus(a.status);
  for (const CodeKind& ck : kCodeKinds) {
    if (ck.code == code) kind = ck.kind;
  }
  if (message.empty()) {
    message = "instaccessd answered HTTP " + std::to_string(a.status) +
              (code.empty() ? "" : " (" + code + ")");
  }
  return Error(kind, std::move(message), std::move(code), a.status, a.retry_after);
}

Error Unexpected(const std::string& what) {
  return Error(ErrorKind::kProtocol, "unexpected answer from instaccessd: " + what);
}

// The daemon's JSON answer, or the error it stands for. `expected` is the success status.
Result<json> JsonAnswer(Result<HttpAnswer> a, int expected = 200) {
  if (!a) return a.error();
  if (a->status != expected) return ErrorFromAnswer(*a);
  json j = json::parse(a->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Unexpected("not a JSON object");
  return j;
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

Time ParseTime(const json& j) {
  // RFC 3339 UTC as the daemon writes it: "2026-11-23T14:05:00Z".
  std::tm tm{};
  const std::string& s = j.get_ref<const std::string&>();
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    throw std::runtime_error("bad time '" + s + "'");
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::optional<Time> OptionalTime(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return ParseTime(*it);
}

std::string StringOr(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

KeyInfo ParseKey(const json& j) {
  KeyInfo k;
  k.kid = j.at("kid").get<std::string>();
  k.purpose = j.at("purpose").get<std::string>();
  k.alg = j.at("alg").get<std::string>();
  k.bits = j.at("bits").get<int>();
  k.origin = j.at("origin").get<std::string>();
  k.state = j.at("state").get<std::string>();
  k.has_private = j.value("has_private", false);
  k.created_at = ParseTime(j.at("created_at"));
  k.activate_at = OptionalTime(j, "activate_at");
  k.retire_at = OptionalTime(j, "retire_at");
  k.expire_at = OptionalTime(j, "expire_at");
  k.revoked_at = OptionalTime(j, "revoked_at");
  if (auto it = j.find("issuers"); it != j.end() && !it->is_null()) {
    k.issuers = it->get<std::vector<std::string>>();
  }
  if (auto it = j.find("max_lifetime"); it != j.end() && !it->is_null()) {
    k.max_lifetime = std::chrono::seconds(it->get<std::int64_t>());
  }
  k.pin = j.value("pin", false);
  k.json = Dump(j);
  return k;
}

// Runs `parse` over a well-formed answer; a shape this client does not expect is kProtocol.
template <typename T, typename Parse>
Result<T> Parsed(Result<json> j, Parse parse) {
  if (!j) return j.error();
  try {
    return parse(*j);
  } catch (const std::exception& e) {
    return Unexpected(e.what());
  }
}

// The library's boundary: whatever escapes `f` (std::bad_alloc, a JSON library throw this code
// did not foresee) becomes an Error instead of crossing into the caller.
template <typename F>
auto Safely(F f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Error(ErrorKind::kInternal, std::string("instaccess client failure: ") + e.what());
  }
}

std::string PurposeName(Purpose p) {
  switch (p) {
    case Purpose::kSig:
      return "sig";
    case Purpose::kEnc:
      return "enc";
    case Purpose::kBoth:
      return "both";
  }
  return "";
}

// Percent-encodes a path segment: a kid is the daemon's own base64url text, but a caller's typo
// must not turn into another path.
std::string PathSegment(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Error LocalError(const std::string& what, int errno_value) {
  return Error(ErrorKind::kLocal, what + ": " + std::strerror(errno_value));
}

// Writes `bytes` to `path` as 0600 through a temporary file in the same directory.
Result<std::uint64_t> WriteFileAtomically(const std::string& path, const std::string& bytes) {
  std::filesystem::path target(path);
  std::filesystem::path dir = target.parent_path().empty() ? "." : target.parent_path();
  // Appended rather than `"." + name + ...`: g++ 12 at -O3 sees a false -Wrestrict overlap in
  // operator+(const char*, string&&) (GCC bug 105329).
  std::string name = ".";
  name += target.filename().string();
  name += ".XXXXXX";
  std::string tmp = (dir / name).string();
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return LocalError("cannot create a file in " + dir.string(), errno);
  auto fail = [&](const std::string& what) {
    int e = errno;
    close(fd);
    unlink(tmp.c_str());
    return LocalError(what, e);
  };
  if (fchmod(fd, 0600) != 0) return fail("cannot set the mode of " + tmp);
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot write " + tmp);
    done += static_cast<std::size_t>(n);
  }
  if (fsync(fd) != 0) return fail("cannot write " + tmp);
  if (close(fd) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    return LocalError("cannot write " + tmp, e);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    return LocalError("cannot write " + path, e);
  }
  return static_cast<std::uint64_t>(bytes.size());
}

}  // namespace

struct Client::Impl {
  Impl(std::string path, ClientOptions options) : transport(std::move(path), options) {}
  internal::Transport transport;

  Result<HttpAnswer> Get(std::string_view target, std::string_view accept = {}) {
    return transport.Call("GET", target, {}, accept);
  }
  Result<HttpAnswer> Post(std::string_view target, const json& body) {
    return transport.Call("POST", target, Dump(body));
  }
};

Client::Client(std::string socket_path, ClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(socket_path), options)) {}

Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

const std::string& Client::socket_path() const { return impl_->transport.socket_path(); }

Result<std::string> Client::Issue(const Claims& claims, const IssueOptions& options) {
  return Safely([&]() -> Result<std::string> {
    json body = {{"claims", json::parse(claims.ToJson())}};
    if (options.ttl) body["ttl"] = options.ttl->count();
    if (!options.encrypt) body["encrypt"] = false;
    return Parsed<std::string>(JsonAnswer(impl_->Post("/api/v1/inst_access_tokens", body), 201),
                               [](const json& j) { return j.at("token").get<std::string>(); });
  });
}

Result<DecryptedToken> Client::Decrypt(const std::string& token) {
  return Safely([&]() -> Result<DecryptedToken> {
    if (token.empty()) return Error(ErrorKind::kInvalidArgument, "the token is empty");
    json body = {{"token", token}};
    return Parsed<DecryptedToken>(
        JsonAnswer(impl_->Post("/api/v1/inst_access_tokens/decrypt", body)), [](const json& j) {
          DecryptedToken t;
          auto claims = Claims::FromJson(Dump(j.at("claims")));
          if (!claims) throw std::runtime_error("claims is not an object");
          t.claims = std::move(*claims);
          t.sig_kid = StringOr(j, "sig_kid");
          t.enc_kid = StringOr(j, "enc_kid");
          t.json = Dump(j);
          return t;
        });
  });
}

Result<JwkSet> Client::Jwks() {
  return Safely([&]() -> Result<JwkSet> {
    return Parsed<JwkSet>(JsonAnswer(impl_->Get("/.well-known/jwks.json")), [](const json& j) {
      JwkSet set;
      for (const json& k : j.at("keys")) {
        set.keys.push_back(
            {StringOr(k, "kid"), StringOr(k, "kty"), StringOr(k, "use"), StringOr(k, "alg")});
      }
      set.json = Dump(j);
      return set;
    });
  });
}

Result<KeyList> Client::Keys() {
  return Safely([&]() -> Result<KeyList> {
    return Parsed<KeyList>(JsonAnswer(impl_->Get("/api/v1/keys")), [](const json& j) {
      KeyList list;
      for (const json& k : j.at("keys")) list.keys.push_back(ParseKey(k));
      for (const json& t : j.at("next_transitions")) {
        Transition tr;
        tr.action = t.at("action").get<std::string>();
        tr.purpose = t.at("purpose").get<std::string>();
        tr.at = ParseTime(t.at("at"));
        tr.kid = StringOr(t, "kid");
        tr.replaces = StringOr(t, "replaces");
        list.next_transitions.push_back(std::move(tr));
      }
      list.json = Dump(j);
      return list;
    });
  });
}

Result<RotateResult> Client::Rotate(Purpose purpose) {
  return Safely([&]() -> Result<RotateResult> {
    json body = {{"purpose", PurposeName(purpose)}};
    return Parsed<RotateResult>(JsonAnswer(impl_->Post("/api/v1/keys/rotate", body)),
                                [](const json& j) {
                                  RotateResult r;
                                  for (const json& kid : j.at("rotated"))
                                    r.rotated.push_back(kid.get<std::string>());
                                  const json& active = j.at("active");
                                  r.active_sig = StringOr(active, "sig");
                                  r.active_enc = StringOr(active, "enc");
                                  r.json = Dump(j);
                                  return r;
                                });
  });
}

Result<KeyInfo> Client::ImportKey(const ImportRequest& request) {
  return Safely([&]() -> Result<KeyInfo> {
    if (request.purpose == Purpose::kBoth) {
      return Error(ErrorKind::kInvalidArgument, "an imported key has one purpose: sig or enc");
    }
    if (request.pem.empty() == request.jwk_json.empty()) {
      return Error(ErrorKind::kInvalidArgument, "give exactly one of a PEM or a JWK");
    }
    json body = {{"purpose", PurposeName(request.purpose)}};
    if (!request.pem.empty()) {
      body["pem"] = request.pem;
    } else {
      json jwk = json::parse(request.jwk_json, nullptr, false);
      if (jwk.is_discarded() || !jwk.is_object()) {
        return Error(ErrorKind::kInvalidArgument, "the JWK is not a JSON object");
      }
      body["jwk"] = std::move(jwk);
    }
    if (!request.alg.empty()) body["alg"] = request.alg;
    if (request.activate) body["activate"] = *request.activate;
    if (!request.kid.empty()) body["kid"] = request.kid;
    if (!request.issuers.empty()) body["issuers"] = request.issuers;
    if (request.allow_own_issuer) body["allow_own_issuer"] = true;
    if (request.max_lifetime) body["max_lifetime"] = request.max_lifetime->count();
    if (request.pin) body["pin"] = true;
    return Parsed<KeyInfo>(JsonAnswer(impl_->Post("/api/v1/keys/import", body), 201), ParseKey);
  });
}

Result<KeyInfo> Client::Key(const std::string& kid) {
  return Safely([&]() -> Result<KeyInfo> {
    if (kid.empty()) return Error(ErrorKind::kInvalidArgument, "the kid is empty");
    return Parsed<KeyInfo>(JsonAnswer(impl_->Get("/api/v1/keys/" + PathSegment(kid))), ParseKey);
  });
}

Result<std::string> Client::ExportPublicKey(const std::string& kid, KeyFormat format) {
  return Safely([&]() -> Result<std::string> {
    if (kid.empty()) return Error(ErrorKind::kInvalidArgument, "the kid is empty");
    const std::string_view media_type =
        format == KeyFormat::kPem ? "application/x-pem-file" : "application/jwk+json";
    auto a = impl_->Get("/api/v1/keys/" + PathSegment(kid), media_type);
    if (!a) return a.error();
    if (a->status != 200) return ErrorFromAnswer(*a);
    const std::string_view sent =
        std::string_view(a->content_type).substr(0, a->content_type.find(';'));
    if (sent != media_type) {
      return Unexpected("the key is " + a->content_type + ", not " + std::string(media_type));
    }
    if (format == KeyFormat::kJwk) {
      json j = json::parse(a->body, nullptr, false);
      if (j.is_discarded() || !j.is_object()) return Unexpected("the JWK is not a JSON object");
    }
    return std::move(a->body);
  });
}

Result<KeyInfo> Client::Revoke(const std::string& kid) {
  return Safely([&]() -> Result<KeyInfo> {
    if (kid.empty()) return Error(ErrorKind::kInvalidArgument, "the kid is empty");
    auto answer = impl_->transport.Call("POST", "/api/v1/keys/" + PathSegment(kid) + "/revoke", {});
    return Parsed<KeyInfo>(JsonAnswer(std::move(answer)), ParseKey);
  });
}

Result<StatusInfo> Client::Status() {
  return Safely([&]() -> Result<StatusInfo> {
    return Parsed<StatusInfo>(JsonAnswer(impl_->Get("/api/v1/status")), [](const json& j) {
      StatusInfo s;
      s.version = j.at("version").get<std::string>();
      s.uptime_seconds = j.at("uptime_seconds").get<std::int64_t>();
      const json& store = j.at("store");
      s.store_path = StringOr(store, "path");
      s.store_healthy = store.at("healthy").get<bool>();
      s.store_message = StringOr(store, "message");
      s.active_sig = StringOr(j.at("active_kids"), "sig");
      s.active_enc = StringOr(j.at("active_kids"), "enc");
      s.next_rotation_sig = OptionalTime(j.at("next_rotation"), "sig");
      s.next_rotation_enc = OptionalTime(j.at("next_rotation"), "enc");
      const json& algs = j.at("algorithms");
      s.sig_alg = StringOr(algs, "sig");
      s.enc_alg = StringOr(algs, "enc");
      s.content_alg = StringOr(algs, "content");
      const json& cache = j.at("cache");
      s.cache_entries = cache.at("entries").get<std::uint64_t>();
      s.cache_capacity = cache.at("capacity").get<std::uint64_t>();
      s.cache_hits = cache.at("hits").get<std::uint64_t>();
      s.cache_misses = cache.at("misses").get<std::uint64_t>();
      const json& load = j.at("load");
      s.connections = load.at("connections").get<std::uint64_t>();
      s.queued = load.at("queued").get<std::uint64_t>();
      s.tokens_issued = load.at("tokens_issued").get<std::uint64_t>();
      for (const json& w : j.at("warnings")) s.warnings.push_back(w.get<std::string>());
      s.json = Dump(j);
      return s;
    });
  });
}

Result<std::uint64_t> Client::Backup(const std::string& path) {
  return Safely([&]() -> Result<std::uint64_t> {
    if (path.empty()) return Error(ErrorKind::kInvalidArgument, "the backup file name is empty");
    auto a = impl_->Get("/api/v1/backup");
    if (!a) return a.error();
    if (a->status != 200) return ErrorFromAnswer(*a);
    if (a->content_type != "application/vnd.sqlite3") {
      return Unexpected("backup is " + a->content_type + ", not application/vnd.sqlite3");
    }
    return WriteFileAtomically(path, a->body);
  });
}

Result<AuditReport> Client::AuditVerify() {
  return Safely([&]() -> Result<AuditReport> {
    return Parsed<AuditReport>(JsonAnswer(impl_->Get("/api/v1/audit/verify")), [](const json& j) {
      AuditReport r;
      r.entries = j.at("entries").get<std::int64_t>();
      r.ok = j.at("ok").get<bool>();
      if (auto it = j.find("first_broken_seq"); it != j.end() && !it->is_null()) {
        r.first_broken_seq = it->get<std::int64_t>();
      }
      r.reason = StringOr(j, "reason");
      r.json = Dump(j);
      return r;
    });
  });
}

Result<std::string> Client::AcceptClock() {
  return Safely([&]() -> Result<std::string> {
    return Parsed<std::string>(
        JsonAnswer(impl_->Post("/api/v1/schedule/accept-clock", json::object())),
        [](const json& j) { return j.at("accepted_at").get<std::string>(); });
  });
}

Result<std::string> Client::Health() {
  return Safely([&]() -> Result<std::string> {
    auto a = impl_->Get("/healthz");
    if (!a) return a.error();
    if (a->status != 200) return ErrorFromAnswer(*a);
    std::string body = a->body;
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
    return body;
  });
}

Result<std::string> Client::Metrics() {
  return Safely([&]() -> Result<std::string> {
    auto a = impl_->Get("/metrics");
    if (!a) return a.error();
    if (a->status != 200) return ErrorFromAnswer(*a);
    return std::move(a->body);
  });
}

}  // namespace instaccess::client
