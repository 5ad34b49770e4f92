// JWKS, the key list, and the operator's key actions: rotate, import, revoke, backup, and
// accepting a clock jump that holds the schedule.
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/error_response.h"
#include "api/request_body.h"
#include "api/service.h"

namespace instaccess::api {

namespace {

using ipc::Response;
using keystore::KeyInfo;

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
  return j;
}

nlohmann::json TransitionJson(const keystore::Transition& t) {
  nlohmann::json j = {{"action", keystore::TransitionName(t.kind)},
                      {"purpose", keystore::PurposeName(t.purpose)},
                      {"at", Rfc3339(t.due_at)}};
  j["kid"] = t.kid.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.kid);
  if (!t.old_kid.empty()) j["replaces"] = t.old_kid;
  return j;
}

}  // namespace

Response Service::Jwks() { return ipc::JsonOk(keyring_.Snapshot()->jwks.dump()); }

Response Service::Keys() {
  auto set = keyring_.Snapshot();
  nlohmann::json keys = nlohmann::json::array();
  for (const KeyInfo& k : set->keys) keys.push_back(KeyJson(k));
  nlohmann::json next = nlohmann::json::array();
  for (const auto& t : set->planned) next.push_back(TransitionJson(t));
  return ipc::JsonOk(nlohmann::json{{"keys", keys}, {"next_transitions", next}}.dump());
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
  auto body = ReadJsonBody(req, {"purpose", "pem", "jwk", "alg", "activate"});
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
  if (auto activate = body->find("activate"); activate != body->end()) {
    if (!activate->is_boolean()) return BadRequest("activate must be a boolean");
    r.activate = activate->get<bool>();
  }
  auto info = keyring_.Import(r, clock_.NowUnix(), peer.Describe());
  if (!info) return ErrorResponse(info.error(), "import");
  if (hooks_.keys_changed) hooks_.keys_changed();
  spdlog::info("import of {} key {} by {}", keystore::PurposeName(r.purpose), info->kid,
               peer.Describe());
  return ipc::JsonOk(KeyJson(*info).dump(), 201);
}

Response Service::Revoke(const std::string& kid, const ipc::Request& req, const ipc::Peer& peer) {
  auto body = ReadJsonBody(req, {}, /*required_body=*/false);
  if (!body) return ErrorResponse(body.error());
  auto info = keyring_.Revoke(kid, clock_.NowUnix(), peer.Describe());
  if (!info) return ErrorResponse(info.error(), "revoke");
  std::size_t dropped = cache_.DropKid(kid);
  if (hooks_.keys_changed) hooks_.keys_changed();
  spdlog::warn("key {} revoked by {}; {} cached decryptions dropped", kid, peer.Describe(),
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
