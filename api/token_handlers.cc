// POST /api/v1/inst_access_tokens and POST /api/v1/inst_access_tokens/decrypt.
#include <spdlog/spdlog.h>

#include <cstdint>

#include "api/request_body.h"
#include "api/service.h"
#include "jose/json_strict.h"

namespace instaccess::api {

namespace {

using ipc::JsonError;
using ipc::Response;

// Canvas's claims with a fixed type (DESIGN.md §2); anything else the caller sends is passed on.
enum class ClaimType { kString, kInteger, kBoolean, kDecimalString };
struct KnownClaim {
  std::string_view name;
  ClaimType type;
};
constexpr KnownClaim kKnownClaims[] = {
    {"sub", ClaimType::kString},
    {"acct", ClaimType::kString},
    {"canvas_domain", ClaimType::kString},
    {"masq_sub", ClaimType::kString},
    {"masq_shard", ClaimType::kInteger},
    {"debug_user_global_id", ClaimType::kDecimalString},
    {"debug_masq_global_id", ClaimType::kDecimalString},
    {"region", ClaimType::kString},
    {"client_id", ClaimType::kString},
    {"instructure_service", ClaimType::kBoolean},
    {"canvas_shard_id", ClaimType::kInteger},
};

std::string CheckClaimType(const nlohmann::json& v, ClaimType type) {
  switch (type) {
    case ClaimType::kString:
      return v.is_string() ? "" : "must be a string";
    case ClaimType::kInteger:
      return v.is_number_integer() ? "" : "must be an integer";
    case ClaimType::kBoolean:
      return v.is_boolean() ? "" : "must be a boolean";
    case ClaimType::kDecimalString: {
      bool ok =
          v.is_string() && !v.get_ref<const std::string&>().empty() &&
          v.get_ref<const std::string&>().find_first_not_of("0123456789") == std::string::npos;
      return ok ? "" : "must be a string of decimal digits";
    }
  }
  return "has an unknown type";
}

// What is wrong with the caller's claims, naming the field; empty when they may be signed.
std::string ClaimsProblem(const nlohmann::json& claims, const TokenSettings& tokens) {
  if (!claims.is_object()) return "claims must be a JSON object";
  for (std::string_view reserved : jose::kReservedClaims) {
    if (claims.contains(reserved)) {
      return "claims." + std::string(reserved) + " is set by instaccessd and may not be given";
    }
  }
  for (const std::string& name : tokens.required_claims) {
    auto it = claims.find(name);
    if (it == claims.end() || it->is_null()) return "claims." + name + " is required";
  }
  for (const KnownClaim& k : kKnownClaims) {
    auto it = claims.find(k.name);
    if (it == claims.end()) continue;
    if (std::string p = CheckClaimType(*it, k.type); !p.empty()) {
      return "claims." + std::string(k.name) + " " + p;
    }
  }
  return {};
}

Response TokenErrorResponse(const Status& status) {
  auto e = jose::TokenErrorOf(status);
  jose::TokenError error = e.value_or(jose::TokenError::kInvalidToken);
  switch (error) {
    case jose::TokenError::kTokenExpired:
      return JsonError(401, "token_expired", "token has expired");
    case jose::TokenError::kTokenNotYetValid:
      return JsonError(401, "token_not_yet_valid", "token is not valid yet");
    case jose::TokenError::kInvalidToken:
      break;
  }
  return JsonError(401, "invalid_token", "token is invalid");
}

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
  if (!body) return BodyErrorResponse(body.error());
  auto claims = body->find("claims");
  if (claims == body->end()) return JsonError(400, "bad_request", "claims is required");
  if (std::string p = ClaimsProblem(*claims, options_.tokens); !p.empty()) {
    return JsonError(400, "bad_request", p);
  }
  std::int64_t max_ttl = options_.tokens.max_lifetime.count();
  std::int64_t ttl = options_.tokens.default_ttl.count();
  if (auto it = body->find("ttl"); it != body->end()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1 ||
        it->get<std::int64_t>() > max_ttl) {
      return JsonError(
          400, "bad_request",
          "ttl must be an integer number of seconds from 1 to " + std::to_string(max_ttl));
    }
    ttl = it->get<std::int64_t>();
  }
  jose::IssueOptions options = issue_options_;
  if (auto it = body->find("encrypt"); it != body->end()) {
    if (!it->is_boolean()) return JsonError(400, "bad_request", "encrypt must be a boolean");
    options.encrypt = it->get<bool>();
    if (!options.encrypt && !options_.tokens.allow_unencrypted) {
      return JsonError(400, "bad_request",
                       "encrypt: false is not allowed here (tokens.allow_unencrypted is off)");
    }
  }

  auto keys = keyring_.Snapshot();
  if (!keys->active_sig || (options.encrypt && !keys->active_enc)) {
    return JsonError(503, "unavailable", "no active key to issue with");
  }
  auto full =
      jose::BuildStandardClaims(std::move(*claims), options_.tokens.issuer, clock_.NowUnix(), ttl);
  if (!full) return JsonError(400, "bad_request", full.error().message());
  // A public-only enc key (a gateway's) is fine: issuing only encrypts to it.
  auto token = jose::IssueToken(*full, *keys->active_sig,
                                keys->active_enc ? *keys->active_enc : *keys->active_sig, options);
  if (!token) {
    metrics_.CountIssueFailed();
    if (token.error().code() == Code::kInvalidArgument) {
      return JsonError(400, "bad_request", token.error().message());
    }
    spdlog::error("issuing a token failed: {}", token.error().ToString());
    return JsonError(500, "internal", "internal error");
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
    if (!body) return BodyErrorResponse(body.error());
    auto it = body->find("token");
    if (it == body->end()) return JsonError(400, "bad_request", "token is required");
    if (!it->is_string()) return JsonError(400, "bad_request", "token must be a string");
    parsed_token = it->get<std::string>();
  }
  const std::string_view token = plain ? *plain : std::string_view(parsed_token);
  if (token.size() > options_.max_token) {
    metrics_.CountDecrypt(DecryptOutcome::kInvalid);
    return JsonError(401, "invalid_token", "token is invalid");
  }
  const std::int64_t skew = options_.tokens.clock_skew.count();
  const DecryptCache::Key key = cache_.KeyOf(token);
  if (auto hit = cache_.Find(key, clock_.NowUnix(), skew)) {
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
  jose::KeyCandidates candidates{keys->verify, keys->decrypt};
  std::string detail;
  auto opened = jose::OpenToken(token, candidates, claim_policy_, clock_.NowUnix(), &detail);
  if (!opened) {
    metrics_.CountDecrypt(OutcomeOf(opened.error()));
    spdlog::debug("decrypt refused: {}", detail);
    return TokenErrorResponse(opened.error());
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
  cache_.Insert(key, {text, opened->sig_kid, opened->enc_kid, opened->expires_at},
                cache_generation);
  metrics_.CountDecrypt(DecryptOutcome::kOk);
  return ipc::JsonOk(std::move(text));
}

}  // namespace instaccess::api
