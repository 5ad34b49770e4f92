// POST /api/v1/inst_access_tokens, POST /api/v1/inst_access_tokens/decrypt and GET /api/v1/auth.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "api/caller_claims.h"
#include "api/error_response.h"
#include "api/request_body.h"
#include "api/service.h"
#include "jose/base64url.h"
#include "jose/json_strict.h"

namespace instaccess::api {

namespace {

using ipc::Response;

DecryptOutcome OutcomeOf(const Status& status) {
  switch (jose::TokenErrorOf(status).value_or(jose::TokenError::kInvalidToken)) {
    case jose::TokenError::kTokenExpired:
      return DecryptOutcome::kExpired;
    case jose::TokenError::kTokenNotYetValid:
      return DecryptOutcome::kNotYetValid;
    case jose::TokenError::kInvalidToken:
      break;
  }
  return DecryptOutcome::kInvalid;
}

}  // namespace

Response Service::Issue(const ipc::Request& req, const ipc::Peer&) {
  auto body = ReadJsonBody(req, {"claims", "ttl", "encrypt"});
  if (!body) return ErrorResponse(body.error());
  auto claims = body->find("claims");
  if (claims == body->end()) return BadRequest("claims is required");
  if (Status s = CheckCallerClaims(*claims, options_.tokens); !s.ok()) return ErrorResponse(s);
  std::int64_t max_ttl = options_.tokens.max_lifetime.count();
  std::int64_t ttl = options_.tokens.default_ttl.count();
  if (auto it = body->find("ttl"); it != body->end()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1 ||
        it->get<std::int64_t>() > max_ttl) {
      return BadRequest("ttl must be an integer number of seconds from 1 to " +
                        std::to_string(max_ttl));
    }
    ttl = it->get<std::int64_t>();
  }
  jose::IssueOptions options = issue_options_;
  if (auto it = body->find("encrypt"); it != body->end()) {
    if (!it->is_boolean()) return BadRequest("encrypt must be a boolean");
    options.encrypt = it->get<bool>();
    if (!options.encrypt && !options_.tokens.allow_unencrypted) {
      return BadRequest("encrypt: false is not allowed here (tokens.allow_unencrypted is off)");
    }
  }

  auto keys = keyring_.Snapshot();
  if (!keys->active_sig || (options.encrypt && !keys->active_enc)) {
    return ErrorResponse(Unavailable("no active key to issue with"));
  }
  auto full =
      jose::BuildStandardClaims(std::move(*claims), options_.tokens.issuer, clock_.NowUnix(), ttl);
  if (!full) return BadRequest(full.error().message());
  // A public-only enc key (a gateway's) is fine: issuing only encrypts to it.
  auto token = jose::IssueToken(*full, *keys->active_sig,
                                keys->active_enc ? *keys->active_enc : *keys->active_sig, options);
  if (!token) {
    metrics_.CountIssueFailed();
    if (token.error().code() == Code::kInvalidArgument) {
      return BadRequest(token.error().message());
    }
    return ErrorResponse(Internal(token.error().ToString()), "issuing a token");
  }
  metrics_.CountIssued();
  // A compact token is base64url and dots: nothing in it needs escaping in a JSON string. One
  // allocation (operator+ made the string, then grew it for the closing quote).
  std::string answer;
  answer.reserve(token->size() + 12);
  answer += "{\"token\":\"";
  answer += *token;
  answer += "\"}";
  return ipc::JsonOk(std::move(answer), 201);
}

ipc::Reply Service::Decrypt(const ipc::Request& req) {
  std::string parsed_token;
  std::optional<std::string_view> plain;
  bool include_jws = false;
  if (req.content_type == "application/json") plain = PlainTokenBody(req.body);
  if (!plain) {
    auto body = ReadJsonBody(req, {"token", "include_jws"});
    if (!body) return ErrorResponse(body.error());
    auto it = body->find("token");
    if (it == body->end()) return BadRequest("token is required");
    if (!it->is_string()) return BadRequest("token must be a string");
    parsed_token = it->get<std::string>();
    if (auto jws = body->find("include_jws"); jws != body->end()) {
      if (!jws->is_boolean()) return BadRequest("include_jws must be a boolean");
      include_jws = jws->get<bool>();
    }
  }
  // `plain` points into the request's body, which outlives the job; parsed_token moves along.
  const std::string_view token = plain ? *plain : std::string_view();
  return Open(token, std::move(parsed_token),
              include_jws ? Answer::kClaimsWithJws : Answer::kClaims);
}

ipc::Reply Service::Auth(const ipc::Request& req) {
  // RFC 6750 §2.1: "Bearer" (any case) and the token. The header lives as long as the request.
  std::string_view header = req.authorization;
  constexpr std::string_view kScheme = "bearer ";
  const bool bearer =
      header.size() > kScheme.size() &&
      std::equal(kScheme.begin(), kScheme.end(), header.begin(),
                 [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); });
  if (!bearer) {
    metrics_.CountDecrypt(DecryptOutcome::kInvalid);
    ipc::Response r = ErrorResponse(Unauthenticated(std::string(jose::kInvalidTokenCode)));
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  std::string_view token = header.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return Open(token, std::string(), Answer::kAuthHeaders);
}

namespace {

// The WWW-Authenticate challenge of a refused GET /api/v1/auth (RFC 6750 §3.1).
void AddChallenge(ipc::Response* r) {
  r->headers.emplace_back("WWW-Authenticate", "Bearer error=\"invalid_token\"");
}

// A claim as an HTTP header value: a string as it is, a number or boolean as JSON; nullopt for
// anything else, or text that a header cannot carry unchanged (control bytes, non-ASCII).
std::optional<std::string> HeaderValue(const nlohmann::json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::nullopt;
  std::string v;
  if (it->is_string()) {
    v = it->get<std::string>();
  } else if (it->is_number() || it->is_boolean()) {
    v = it->dump();
  } else {
    return std::nullopt;
  }
  for (char c : v) {
    if (c < 0x20 || c > 0x7e) return std::nullopt;
  }
  return v;
}

// The cached form of an auth answer: three lines (sub, acct, base64url claims), a line empty
// when its header is left out. None of them can hold a newline.
std::string AuthLines(const jose::OpenedToken& opened) {
  return HeaderValue(opened.claims, "sub").value_or("") + "\n" +
         HeaderValue(opened.claims, "acct").value_or("") + "\n" +
         jose::Base64UrlEncode(opened.claims_json);
}

// The 204 from the cached lines, taken by value: the claims line becomes its header's value in
// place, so a hit allocates no copy of it (the decrypt answer is moved the same way).
ipc::Response AuthResponse(std::string lines) {
  ipc::Response r;
  r.status = 204;
  r.content_type.clear();
  r.headers.reserve(3);
  const std::size_t a = lines.find('\n'), b = lines.find('\n', a + 1);
  if (a > 0) r.headers.emplace_back("X-InstAccess-Sub", lines.substr(0, a));
  if (b > a + 1) r.headers.emplace_back("X-InstAccess-Acct", lines.substr(a + 1, b - a - 1));
  lines.erase(0, b + 1);
  r.headers.emplace_back("X-InstAccess-Claims", std::move(lines));
  return r;
}

}  // namespace

ipc::Reply Service::Open(std::string_view token, std::string owned, Answer answer) {
  if (token.data() == nullptr) token = owned;
  if (token.empty() || token.size() > options_.max_token) {
    metrics_.CountDecrypt(DecryptOutcome::kInvalid);
    ipc::Response r =
        ErrorResponse(Unauthenticated("token is empty or longer than limits.max_token"));
    if (answer == Answer::kAuthHeaders) AddChallenge(&r);
    return r;
  }
  const DecryptCache::Key key = cache_.KeyOf(token, static_cast<std::uint8_t>(answer));
  if (auto hit = cache_.Find(key, clock_.NowUnix())) {
    metrics_.CountDecrypt(DecryptOutcome::kCached);
    if (answer == Answer::kAuthHeaders) return AuthResponse(std::move(*hit));
    return ipc::JsonOk(std::move(*hit));
  }
  // The RSA work, queued. A view into the request stays valid; an owned token moves along.
  if (!owned.empty()) {
    return ipc::Deferred(
        [this, owned = std::move(owned), key, answer] { return OpenUncached(owned, key, answer); });
  }
  return ipc::Deferred([this, token, key, answer] { return OpenUncached(token, key, answer); });
}

Response Service::OpenUncached(std::string_view token, const DecryptCache::Key& key,
                               Answer answer) {
  // Before the snapshot: a revoke between the two is then seen by Insert (decrypt_cache.h).
  const std::uint64_t cache_generation = cache_.Generation();
  auto keys = keyring_.Snapshot();
  jose::KeyCandidates candidates{keys->verify, keys->decrypt, keys->verify_bounds,
                                 keys->decrypt_without_kid};
  std::string detail;
  auto opened = jose::OpenToken(token, candidates, claim_policy_, clock_.NowUnix(), &detail);
  if (!opened) {
    metrics_.CountDecrypt(OutcomeOf(opened.error()));
    spdlog::debug("decrypt refused: {}", detail);
    Response r = ErrorResponse(opened.error());
    if (answer == Answer::kAuthHeaders) AddChallenge(&r);
    return r;
  }
  std::string text;
  if (answer == Answer::kAuthHeaders) {
    text = AuthLines(*opened);
  } else {
    // {"claims":…,"enc_kid":…,"sig_kid":…} with the claims as the issuer wrote them (validated
    // strict JSON, see jose::OpenedToken): writing the parsed tree again cost 1.4 us a token,
    // and nlohmann's dump() of the two kids 2.8 us (a serializer and its buffers for each).
    text.reserve(opened->claims_json.size() + opened->enc_kid.size() + opened->sig_kid.size() +
                 (answer == Answer::kClaimsWithJws ? opened->jws.size() + 10 : 0) + 40);
    text += "{\"claims\":";
    text += opened->claims_json;
    text += ",\"enc_kid\":";
    jose::AppendJsonString(opened->enc_kid, &text);
    if (answer == Answer::kClaimsWithJws) {
      // A compact JWS is base64url and dots: nothing to escape.
      text += ",\"jws\":\"";
      text += opened->jws;
      text += '"';
    }
    text += ",\"sig_kid\":";
    jose::AppendJsonString(opened->sig_kid, &text);
    text += '}';
  }
  cache_.Insert(key, {text, opened->sig_kid, opened->enc_kid, opened->keep_until},
                cache_generation);
  metrics_.CountDecrypt(DecryptOutcome::kOk);
  if (answer == Answer::kAuthHeaders) return AuthResponse(std::move(text));
  return ipc::JsonOk(std::move(text));
}

}  // namespace instaccess::api
