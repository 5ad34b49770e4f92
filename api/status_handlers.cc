// GET /healthz, /api/v1/status and /metrics.
#include <algorithm>

#include "api/error_response.h"
#include "api/service.h"
#include "jose/secure_heap.h"

namespace instaccess::api {

using ipc::Response;

Response Service::Healthz() {
  // Anyone may ask (no role), so the answer carries no detail: why is in /api/v1/status.
  keystore::Health h = keyring_.GetHealth();
  if (!h.ok()) return ErrorResponse(Unavailable("unhealthy; see GET /api/v1/status"));
  Response r;
  r.content_type = "text/plain";
  r.body = "ok\n";
  return r;
}

Response Service::StatusReport() {
  auto set = keyring_.Snapshot();
  keystore::Health h = keyring_.GetHealth();
  std::int64_t now = clock_.NowUnix();
  const jose::SecureHeapUse heap = jose::SecureHeapInUse();
  nlohmann::json active = nlohmann::json::object();
  active["sig"] =
      set->active_sig ? nlohmann::json(set->active_sig->kid()) : nlohmann::json(nullptr);
  active["enc"] =
      set->active_enc ? nlohmann::json(set->active_enc->kid()) : nlohmann::json(nullptr);
  // The next promotion per purpose, as the keyring plans it: the planned promote if the pending
  // key exists, else the promote that will follow the planned generation (the keystore promotes
  // a key no earlier than prepublish after it was made, so after downtime it is later than
  // activate_at + period).
  nlohmann::json next = nlohmann::json::object();
  for (keystore::Purpose p : keystore::kAllPurposes) {
    std::optional<std::int64_t> at;
    for (const auto& t : set->planned) {
      if (t.purpose != p) continue;
      if (t.kind == keystore::TransitionKind::kPromote) {
        at = t.due_at;
        break;
      }
      if (t.kind == keystore::TransitionKind::kGenerate && !at) {
        const keystore::RotationPolicy& r = options_.schedule.For(p);
        std::int64_t period_end = 0;
        for (const auto& k : set->keys) {
          if (k.purpose == p && k.state == keystore::KeyState::kActive && k.activate_at) {
            period_end = *k.activate_at + r.period;
          }
        }
        at = std::max(period_end, t.due_at + r.prepublish);
      }
    }
    next[std::string(keystore::PurposeName(p))] =
        at ? nlohmann::json(Rfc3339(*at)) : nlohmann::json(nullptr);
  }
  const RotationHealth rotation = Rotation();
  nlohmann::json status = {
      {"version", INSTACCESS_VERSION},
      {"uptime_seconds", now - started_at_},
      {"store", {{"path", options_.store_path}, {"healthy", h.ok()}, {"message", h.message}}},
      {"active_kids", active},
      {"next_rotation", next},
      {"algorithms",
       {{"sig", options_.schedule.sig.alg},
        {"enc", options_.schedule.enc.alg},
        {"content", options_.content_enc}}},
      {"cache",
       {{"entries", cache_.size()},
        {"capacity", cache_.capacity()},
        {"hits", cache_.hits()},
        {"misses", cache_.misses()}}},
      {"secure_heap", {{"used_bytes", heap.used}, {"size_bytes", heap.size}}},
      {"integrity",
       {{"ok", !set->integrity_alarm && set->tampered_rows == 0},
        {"refused_rows", set->tampered_rows},
        {"audit_head", set->audit_head}}},
      {"load",
       {{"connections", hooks_.connections ? hooks_.connections() : 0},
        {"queued", hooks_.queued ? hooks_.queued() : 0},
        {"tokens_issued", metrics_.issued()}}},
      {"rotation",
       {{"failing_since", rotation.failing_since ? nlohmann::json(Rfc3339(*rotation.failing_since))
                                                 : nlohmann::json(nullptr)},
        {"last_error",
         rotation.failing_since ? nlohmann::json(rotation.last_error) : nlohmann::json(nullptr)},
        {"failures_total", rotation.failures_total}}},
      {"clock_held_since", set->clock_held_since ? nlohmann::json(Rfc3339(*set->clock_held_since))
                                                 : nlohmann::json(nullptr)},
      {"warnings", Warnings()}};
  return ipc::JsonOk(status.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Response Service::MetricsText() {
  std::string out = metrics_.Render();
  auto gauge = [&out](const std::string& name, const std::string& help, const std::string& value) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + value + "\n";
  };
  auto set = keyring_.Snapshot();
  std::int64_t now = clock_.NowUnix();
  std::string ages;
  for (const auto& k : set->keys) {
    if (k.state != keystore::KeyState::kActive || !k.activate_at) continue;
    if (!ages.empty()) ages += "\ninstaccess_active_key_age_seconds";
    ages += "{purpose=\"" + std::string(keystore::PurposeName(k.purpose)) + "\"} " +
            std::to_string(now - *k.activate_at);
  }
  if (!ages.empty()) {
    gauge("instaccess_active_key_age_seconds", "Seconds since the active key became active.", ages);
  }
  gauge("instaccess_cache_entries", "Entries in the decrypt cache.",
        " " + std::to_string(cache_.size()));
  out +=
      "# HELP instaccess_cache_lookups_total Decrypt cache lookups by result.\n"
      "# TYPE instaccess_cache_lookups_total counter\n"
      "instaccess_cache_lookups_total{result=\"hit\"} " +
      std::to_string(cache_.hits()) +
      "\n"
      "instaccess_cache_lookups_total{result=\"miss\"} " +
      std::to_string(cache_.misses()) + "\n";
  const jose::SecureHeapUse heap = jose::SecureHeapInUse();
  gauge("instaccess_secure_heap_used_bytes",
        "Bytes of OpenSSL's secure heap in use: private keys, worker threads' copies, RNG state.",
        " " + std::to_string(heap.used));
  gauge("instaccess_secure_heap_size_bytes", "Size of OpenSSL's secure heap; 0 when there is none.",
        " " + std::to_string(heap.size));
  gauge("instaccess_integrity_refused_rows",
        "Key rows refused because they do not authenticate or do not match the store's seal.",
        " " + std::to_string(set->tampered_rows));
  const RotationHealth rotation = Rotation();
  out +=
      "# HELP instaccess_rotation_failures_total Scheduler passes that failed (disk full, I/O "
      "error, ...); each is retried.\n"
      "# TYPE instaccess_rotation_failures_total counter\n"
      "instaccess_rotation_failures_total " +
      std::to_string(rotation.failures_total) + "\n";
  gauge("instaccess_rotation_failing", "1 while the latest scheduler pass failed, else 0.",
        rotation.failing_since ? " 1" : " 0");
  gauge("instaccess_connections", "Open client connections.",
        " " + std::to_string(hooks_.connections ? hooks_.connections() : 0));
  gauge("instaccess_work_queue", "Expensive requests waiting for a worker.",
        " " + std::to_string(hooks_.queued ? hooks_.queued() : 0));
  Response r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = std::move(out);
  return r;
}

}  // namespace instaccess::api
