// POST /api/v1/inst_access_tokens and POST /api/v1/inst_access_tokens/decrypt.
#include <spdlog/spdlog.h>

#include <cstdint>

#include "api/caller_claims.h"
#include "api/error_response.h"
#include "api/request_body.h"
#include "api/service.h"
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
  if (req.content_type == "application/json") plain = PlainTokenBody(req.body);
  if (!plain) {
    auto body = ReadJsonBody(req, {"token"});
    if (!body) return ErrorResponse(body.error());
    auto it = body->find("token");
    if (it == body->end()) return BadRequest("token is required");
    if (!it->is_string()) return BadRequest("token must be a string");
    parsed_token = it->get<std::string>();
  }
  const std::string_view token = plain ? *plain : std::string_view(parsed_token);
  if (token.size() > options_.max_token) {
    metrics_.CountDecrypt(DecryptOutcome::kInvalid);
    return ErrorResponse(Unauthenticated("token is longer than limits.max_token"));
  }
  const DecryptCache::Key key = cache_.KeyOf(token);
  if (auto hit = cache_.Find(key, clock_.NowUnix())) {
    metrics_.CountDecrypt(DecryptOutcome::kCached);
    return ipc::JsonOk(std::move(*hit));
  }
  // The RSA work, queued. `plain` points into the request's body, which outlives the job.
  return ipc::Deferred([this, plain, parsed_token = std::move(parsed_token), key] {
    return DecryptUncached(plain ? *plain : std::string_view(parsed_token), key);
  });
}

Response Service::DecryptUncached(std::string_view token, const DecryptCache::Key& key) {
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
    return ErrorResponse(opened.error());
  }
  // {"claims":…,"enc_kid":…,"sig_kid":…} with the claims as the issuer wrote them (validated
  // strict JSON, see jose::OpenedToken): writing the parsed tree again cost 1.4 us a token, and
  // nlohmann's dump() of the two kids 2.8 us (a serializer and its buffers for each).
  std::string text;
  text.reserve(opened->claims_json.size() + opened->enc_kid.size() + opened->sig_kid.size() + 40);
  text += "{\"claims\":";
  text += opened->claims_json;
  text += ",\"enc_kid\":";
  jose::AppendJsonString(opened->enc_kid, &text);
  text += ",\"sig_kid\":";
  jose::AppendJsonString(opened->sig_kid, &text);
  text += '}';
  cache_.Insert(key, {text, opened->sig_kid, opened->enc_kid, opened->keep_until},
                cache_generation);
  metrics_.CountDecrypt(DecryptOutcome::kOk);
  return ipc::JsonOk(std::move(text));
}

}  // namespace instaccess::api
