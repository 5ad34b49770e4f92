// JWKS, the key list, and the operator's key actions: rotate, import, revoke, backup, and
// accepting a clock jump that holds the schedule.
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/error_response.h"
#include "api/request_body.h"
#include "api/service.h"
#include "common/log_text.h"

namespace instaccess::api {

namespace {

using ipc::Response;
using keystore::KeyInfo;

// Issuers one peer signing key may sign for: a handful in practice; the list is in every key set.
constexpr std::size_t kMaxIssuersPerKey = 16;

void PutTime(nlohmann::json& j, const char* name, const std::optional<std::int64_t>& t) {
  j[name] = t ? nlohmann::json(Rfc3339(*t)) : nlohmann::json(nullptr);
}

nlohmann::json KeyJson(const KeyInfo& k) {
  nlohmann::json j = {{"kid", k.kid},
                      {"purpose", keystore::PurposeName(k.purpose)},
                      {"alg", k.alg},
                      {"bits", k.bits},
                      {"origin", keystore::OriginName(k.origin)},
                      {"state", keystore::StateName(k.state)},
                      {"has_private", k.has_private},
                      {"created_at", Rfc3339(k.created_at)}};
  PutTime(j, "activate_at", k.activate_at);
  PutTime(j, "retire_at", k.retire_at);
  PutTime(j, "expire_at", k.expire_at);
  PutTime(j, "revoked_at", k.revoked_at);
  // What the key vouches for (null: tokens.issuer / tokens.max_lifetime).
  j["issuers"] = k.issuers ? nlohmann::json(*k.issuers) : nlohmann::json(nullptr);
  j["max_lifetime"] = k.max_lifetime ? nlohmann::json(*k.max_lifetime) : nlohmann::json(nullptr);
  j["pin"] = k.pin;
  return j;
}

// If-None-Match (RFC 9110 §13.1.2): "*" or a comma-separated list of entity tags, compared
// weakly (a W/ prefix is ignored).
bool EtagMatches(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    std::size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == "*" || item == etag) return true;
  }
  return false;
}

nlohmann::json TransitionJson(const keystore::Transition& t) {
  nlohmann::json j = {{"action", keystore::TransitionName(t.kind)},
                      {"purpose", keystore::PurposeName(t.purpose)},
                      {"at", Rfc3339(t.due_at)}};
  j["kid"] = t.kid.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.kid);
  if (!t.old_kid.empty()) j["replaces"] = t.old_kid;
  return j;
}

// Whether an Accept header asks for `media_type` (ASCII case-insensitive, anywhere in the list).
bool Accepts(std::string_view accept, std::string_view media_type) {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  auto it = std::search(accept.begin(), accept.end(), media_type.begin(), media_type.end(),
                        [&](char a, char b) { return lower(a) == lower(b); });
  return it != accept.end();
}

// The public key of `kid` among the keys the set holds loaded: verification keys, decryption
// keys, the active keys, and the published JWKs. nullopt when the set has none of that kid
// (destroyed and revoked keys, peer encryption keys never made active).
std::optional<jose::RsaKey> LoadedPublicKey(const keystore::KeySet& set, const KeyInfo& info) {
  if (const jose::RsaKey* k = set.FindVerify(info.kid)) return *k;
  if (const jose::RsaKey* k = set.FindDecrypt(info.kid)) return *k;
  for (const auto* active : {&set.active_sig, &set.active_enc}) {
    if (*active && (*active)->kid() == info.kid) return **active;
  }
  auto alg = jose::ParseAlg(info.alg);
  if (!alg) return std::nullopt;
  for (const nlohmann::json& jwk : set.jwks.at("keys")) {
    if (jwk.value("kid", std::string()) != info.kid) continue;
    if (auto key = jose::RsaKey::FromJwk(jwk, *alg)) return std::move(*key);
  }
  return std::nullopt;
}

}  // namespace

Response Service::Jwks(const ipc::Request& req) {
  auto set = keyring_.Snapshot();
  Response r;
  // A tenth of the shorter prepublish: a verifier that honours it has fetched a pending key long
  // before the key is used (docs/api.md).
  const std::int64_t prepublish =
      std::min(options_.schedule.sig.prepublish, options_.schedule.enc.prepublish);
  r.headers.emplace_back(
      "Cache-Control",
      "public, max-age=" + std::to_string(std::max<std::int64_t>(0, prepublish / 10)));
  if (!set->jwks_etag.empty()) {
    r.headers.emplace_back("ETag", set->jwks_etag);
    if (EtagMatches(req.if_none_match, set->jwks_etag)) {
      r.status = 304;
      return r;
    }
  }
  r.body = set->jwks_text;
  return r;
}

Response Service::Keys() {
  auto set = keyring_.Snapshot();
  nlohmann::json keys = nlohmann::json::array();
  for (const KeyInfo& k : set->keys) keys.push_back(KeyJson(k));
  nlohmann::json next = nlohmann::json::array();
  for (const auto& t : set->planned) next.push_back(TransitionJson(t));
  return ipc::JsonOk(nlohmann::json{{"keys", keys}, {"next_transitions", next}}.dump());
}

Response Service::KeyByKid(const std::string& kid, const ipc::Request& req) {
  auto set = keyring_.Snapshot();
  const KeyInfo* info = set->FindInfo(kid);
  if (info == nullptr) return ErrorResponse(NotFound("no key with kid " + LogText(kid)));
  const bool pem = Accepts(req.accept, "application/x-pem-file");
  const bool jwk = !pem && Accepts(req.accept, "application/jwk+json");
  if (!pem && !jwk) return ipc::JsonOk(KeyJson(*info).dump());
  std::optional<jose::RsaKey> key = LoadedPublicKey(*set, *info);
  if (!key) {
    return ErrorResponse(NotFound("the public key of " + LogText(kid) + " (" +
                                  std::string(keystore::StateName(info->state)) +
                                  ") is not loaded: the daemon holds only the keys it verifies, "
                                  "decrypts or encrypts with; GET without Accept shows its row"));
  }
  Response r;
  if (pem) {
    r.content_type = "application/x-pem-file";
    r.body = key->PublicPem();
  } else {
    nlohmann::json public_jwk = key->PublicJwk();
    public_jwk["kid"] = info->kid;
    r.content_type = "application/jwk+json";
    r.body = public_jwk.dump();
  }
  return r;
}

Response Service::Rotate(const ipc::Request& req, const ipc::Peer& peer) {
  auto body = ReadJsonBody(req, {"purpose"});
  if (!body) return ErrorResponse(body.error());
  auto it = body->find("purpose");
  std::string purpose_name = it != body->end() && it->is_string() ? it->get<std::string>() : "";
  std::optional<keystore::Purpose> purpose;
  if (purpose_name == "sig" || purpose_name == "enc") {
    purpose = *keystore::ParsePurpose(purpose_name);
  } else if (purpose_name != "both") {
    return BadRequest("purpose must be \"sig\", \"enc\" or \"both\"");
  }
  auto kids = keyring_.Rotate(purpose, clock_.NowUnix(), peer.Describe());
  if (!kids) return ErrorResponse(kids.error(), "rotate");
  metrics_.CountRotation();
  if (hooks_.keys_changed) hooks_.keys_changed();
  auto set = keyring_.Snapshot();
  nlohmann::json active = nlohmann::json::object();
  if (set->active_sig) active["sig"] = set->active_sig->kid();
  if (set->active_enc) active["enc"] = set->active_enc->kid();
  spdlog::info("rotate ({}) by {}: now active {}", purpose_name, peer.Describe(), active.dump());
  return ipc::JsonOk(nlohmann::json{{"rotated", *kids}, {"active", active}}.dump());
}

Response Service::Import(const ipc::Request& req, const ipc::Peer& peer) {
  auto body = ReadJsonBody(req, {"purpose", "pem", "jwk", "alg", "activate", "kid", "issuers",
                                 "allow_own_issuer", "max_lifetime", "pin"});
  if (!body) return ErrorResponse(body.error());
  keystore::ImportRequest r;
  auto purpose = body->find("purpose");
  if (purpose == body->end() || !purpose->is_string() ||
      !keystore::ParsePurpose(purpose->get<std::string>())) {
    return BadRequest("purpose must be \"sig\" or \"enc\"");
  }
  r.purpose = *keystore::ParsePurpose(purpose->get<std::string>());
  auto pem = body->find("pem");
  auto jwk = body->find("jwk");
  if ((pem == body->end()) == (jwk == body->end())) {
    return BadRequest("exactly one of pem or jwk is required");
  }
  if (pem != body->end()) {
    if (!pem->is_string()) return BadRequest("pem must be a string");
    r.pem = pem->get<std::string>();
  } else {
    if (!jwk->is_object()) return BadRequest("jwk must be a JSON object");
    r.jwk = *jwk;
  }
  if (auto alg = body->find("alg"); alg != body->end()) {
    auto parsed = alg->is_string() ? jose::ParseAlg(alg->get<std::string>())
                                   : Result<jose::Alg>(InvalidArgument(""));
    if (!parsed) return BadRequest("alg is not an accepted algorithm");
    r.alg = *parsed;
  } else if (!r.jwk || !r.jwk->contains("alg")) {
    // The purpose's configured alg (docs/api.md, POST /api/v1/keys/import).
    const std::string& configured = options_.schedule.For(r.purpose).alg;
    r.alg = *jose::ParseAlg(configured);
  }
  for (auto [name, flag] : {std::pair{"activate", &r.activate}, std::pair{"pin", &r.pin},
                            std::pair{"allow_own_issuer", &r.allow_own_issuer}}) {
    if (auto it = body->find(name); it != body->end()) {
      if (!it->is_boolean()) return BadRequest(std::string(name) + " must be a boolean");
      *flag = it->get<bool>();
    }
  }
  if (auto kid = body->find("kid"); kid != body->end()) {
    if (!kid->is_string()) return BadRequest("kid must be a string");
    r.kid = kid->get<std::string>();
  }
  if (auto issuers = body->find("issuers"); issuers != body->end()) {
    if (!issuers->is_array() || issuers->size() > kMaxIssuersPerKey) {
      return BadRequest("issuers must be an array of at most 16 strings");
    }
    r.issuers.emplace();
    for (const auto& issuer : *issuers) {
      if (!issuer.is_string()) return BadRequest("issuers must be an array of strings");
      r.issuers->push_back(issuer.get<std::string>());
    }
  }
  if (auto lifetime = body->find("max_lifetime"); lifetime != body->end()) {
    if (!lifetime->is_number_integer()) {
      return BadRequest("max_lifetime must be an integer number of seconds");
    }
    r.max_lifetime = lifetime->get<std::int64_t>();
  }
  auto info = keyring_.Import(r, clock_.NowUnix(), peer.Describe());
  if (!info) return ErrorResponse(info.error(), "import");
  if (hooks_.keys_changed) hooks_.keys_changed();
  spdlog::info("import of {} key {} by {}", keystore::PurposeName(r.purpose), LogText(info->kid),
               peer.Describe());
  if (info->alg == "RSA1_5") spdlog::warn("{}", Rsa1_5Warning(LogText(info->kid)));
  return ipc::JsonOk(KeyJson(*info).dump(), 201);
}

Response Service::Revoke(const std::string& kid, const ipc::Request& req, const ipc::Peer& peer) {
  auto body = ReadJsonBody(req, {}, /*required_body=*/false);
  if (!body) return ErrorResponse(body.error());
  auto info = keyring_.Revoke(kid, clock_.NowUnix(), peer.Describe());
  if (!info) return ErrorResponse(info.error(), "revoke");
  std::size_t dropped = cache_.DropKid(kid);
  if (hooks_.keys_changed) hooks_.keys_changed();
  spdlog::warn("key {} revoked by {}; {} cached decryptions dropped", LogText(kid), peer.Describe(),
               dropped);
  return ipc::JsonOk(KeyJson(*info).dump());
}

Response Service::AcceptClock(const ipc::Request& req, const ipc::Peer& peer) {
  auto body = ReadJsonBody(req, {}, /*required_body=*/false);
  if (!body) return ErrorResponse(body.error());
  auto accepted = keyring_.AcceptClock(clock_.NowUnix(), peer.Describe());
  if (!accepted) return ErrorResponse(accepted.error(), "accept-clock");
  if (hooks_.keys_changed) hooks_.keys_changed();
  spdlog::warn("clock jump accepted by {}: the schedule resumes from {}", peer.Describe(),
               Rfc3339(*accepted));
  return ipc::JsonOk(nlohmann::json{{"accepted_at", Rfc3339(*accepted)}}.dump());
}

Response Service::Backup(const ipc::Peer& peer) {
  // A snapshot file beside the store (same filesystem, same 0700 directory), read back and
  // removed: the content stays sealed, so it may travel.
  std::filesystem::path store(options_.store_path);
  auto unique = jose::RandomUuidV4();
  if (!unique) return ErrorResponse(unique.error(), "backup");
  std::string tmp =
      (store.parent_path() / (store.filename().string() + ".backup-" + *unique)).string();
  Status s = keyring_.Backup(tmp, clock_.NowUnix(), peer.Describe());
  if (!s.ok()) {
    std::filesystem::remove(tmp);
    return ErrorResponse(s, "backup");
  }
  std::ifstream in(tmp, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  std::filesystem::remove(tmp);
  if (!in.good() && !in.eof())
    return ErrorResponse(Internal("cannot read the backup " + tmp), "backup");
  spdlog::info("backup taken by {}", peer.Describe());
  Response r;
  r.content_type = "application/vnd.sqlite3";
  r.body = bytes.str();
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"instaccessd-backup.db\"");
  return r;
}

Response Service::AuditVerify() {
  auto v = keyring_.VerifyAuditChain();
  if (!v) return ErrorResponse(v.error(), "audit verify");
  nlohmann::json j = {{"entries", v->entries}, {"ok", v->ok()}};
  j["first_broken_seq"] =
      v->first_broken_seq ? nlohmann::json(*v->first_broken_seq) : nlohmann::json(nullptr);
  j["reason"] = v->reason;
  return ipc::JsonOk(j.dump());
}

}  // namespace instaccess::api
