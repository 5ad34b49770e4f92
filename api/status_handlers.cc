// GET /healthz, /api/v1/status and /metrics.
#include <algorithm>

#include "api/error_response.h"
#include "api/service.h"
#include "jose/secure_heap.h"

namespace instaccess::api {

using ipc::Response;

namespace {

constexpr keystore::KeyState kAllStates[] = {
    keystore::KeyState::kPending, keystore::KeyState::kActive, keystore::KeyState::kRetired,
    keystore::KeyState::kDestroyed, keystore::KeyState::kRevoked};

// The next promotion of purpose `p`, as the keyring plans it: the planned promote if the pending
// key exists, else the promote that will follow the planned generation (the keystore promotes a
// key no earlier than prepublish after it was made, so after downtime it is later than
// activate_at + period). nullopt when nothing is planned.
std::optional<std::int64_t> NextRotation(const keystore::KeySet& set,
                                         const keystore::SchedulePolicy& schedule,
                                         keystore::Purpose p) {
  std::optional<std::int64_t> at;
  for (const auto& t : set.planned) {
    if (t.purpose != p) continue;
    if (t.kind == keystore::TransitionKind::kPromote) return t.due_at;
    if (t.kind == keystore::TransitionKind::kGenerate && !at) {
      const keystore::RotationPolicy& r = schedule.For(p);
      std::int64_t period_end = 0;
      for (const auto& k : set.keys) {
        if (k.purpose == p && k.state == keystore::KeyState::kActive && k.activate_at) {
          period_end = *k.activate_at + r.period;
        }
      }
      at = std::max(period_end, t.due_at + r.prepublish);
    }
  }
  return at;
}

// The earliest planned transition of purpose `p` (the plan is earliest first).
std::optional<std::int64_t> NextTransition(const keystore::KeySet& set, keystore::Purpose p) {
  for (const auto& t : set.planned) {
    if (t.purpose == p) return t.due_at;
  }
  return std::nullopt;
}

// The store's health, its keys and their schedule, as of `now`.
void WriteKeyFamilies(Exposition& e, const keystore::KeySet& set, const keystore::Health& h,
                      const keystore::SchedulePolicy& schedule, std::int64_t now) {
  e.Gauge("instaccess_healthy",
          "1 while GET /healthz answers 200: store open, an active key per purpose, no "
          "tampering that touches them.",
          h.ok());
  e.Gauge("instaccess_store_open", "1 while the key store is open.", h.store_open);
  e.Gauge("instaccess_store_integrity_ok",
          "1 while every key row authenticates and matches the store's seal.",
          !set.integrity_alarm && set.tampered_rows == 0);
  e.Gauge("instaccess_integrity_refused_rows",
          "Key rows refused because they do not authenticate or do not match the store's seal.",
          set.tampered_rows);
  e.Gauge("instaccess_key_transitions_held",
          "1 while key transitions are held because the clock jumped forward.",
          set.clock_held_since.has_value());
  e.Family("instaccess_active_key_present", MetricType::kGauge,
           "1 while the purpose has a usable active key (for sig: with its private part).");
  e.Sample("instaccess_active_key_present", {{"purpose", "sig"}}, h.active_sig);
  e.Sample("instaccess_active_key_present", {{"purpose", "enc"}}, h.active_enc);
  e.Family("instaccess_keys", MetricType::kGauge, "Key rows in the store by purpose and state.");
  for (keystore::Purpose p : keystore::kAllPurposes) {
    for (keystore::KeyState s : kAllStates) {
      const auto n = std::count_if(set.keys.begin(), set.keys.end(),
                                   [&](const auto& k) { return k.purpose == p && k.state == s; });
      e.Sample("instaccess_keys",
               {{"purpose", keystore::PurposeName(p)}, {"state", keystore::StateName(s)}}, n);
    }
  }
  e.Family("instaccess_active_key_age_seconds", MetricType::kGauge,
           "Seconds since the purpose's active key became active; absent without one.");
  for (const auto& k : set.keys) {
    if (k.state != keystore::KeyState::kActive || !k.activate_at) continue;
    e.Sample("instaccess_active_key_age_seconds", {{"purpose", keystore::PurposeName(k.purpose)}},
             now - *k.activate_at);
  }
  e.Family("instaccess_next_transition_timestamp_seconds", MetricType::kGauge,
           "When the purpose's next planned key transition is due (unix time; 0: at once); "
           "absent when none is planned.");
  for (keystore::Purpose p : keystore::kAllPurposes) {
    if (auto at = NextTransition(set, p)) {
      e.Sample("instaccess_next_transition_timestamp_seconds",
               {{"purpose", keystore::PurposeName(p)}}, *at);
    }
  }
  e.Family("instaccess_next_rotation_timestamp_seconds", MetricType::kGauge,
           "When the purpose's next key is planned to become active (unix time); absent when "
           "none is planned.");
  for (keystore::Purpose p : keystore::kAllPurposes) {
    if (auto at = NextRotation(set, schedule, p)) {
      e.Sample("instaccess_next_rotation_timestamp_seconds",
               {{"purpose", keystore::PurposeName(p)}}, *at);
    }
  }
}

}  // namespace

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
  nlohmann::json next = nlohmann::json::object();
  for (keystore::Purpose p : keystore::kAllPurposes) {
    std::optional<std::int64_t> at = NextRotation(*set, options_.schedule, p);
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
  Exposition e;
  e.Family("instaccess_build_info", MetricType::kGauge,
           "Always 1; the labels say which build is running.");
  e.Sample("instaccess_build_info", {{"version", INSTACCESS_VERSION}}, 1);
  metrics_.Render(e);

  WriteKeyFamilies(e, *keyring_.Snapshot(), keyring_.GetHealth(), options_.schedule,
                   clock_.NowUnix());
  e.Gauge("instaccess_store_reachable",
          "1 while the key store answers; 0 while a fleet's database is lost (keys held serve).",
          keyring_.Snapshot()->store_reachable ? 1 : 0);

  // The decrypt cache, the secure heap and the server's load.
  e.Gauge("instaccess_cache_entries", "Entries in the decrypt cache.", cache_.size());
  e.Family("instaccess_cache_lookups_total", MetricType::kCounter,
           "Decrypt cache lookups by result.");
  e.Sample("instaccess_cache_lookups_total", {{"result", "hit"}}, cache_.hits());
  e.Sample("instaccess_cache_lookups_total", {{"result", "miss"}}, cache_.misses());
  const jose::SecureHeapUse heap = jose::SecureHeapInUse();
  e.Gauge("instaccess_secure_heap_used_bytes",
          "Bytes of OpenSSL's secure heap in use: private keys, worker threads' copies, RNG state.",
          heap.used);
  e.Gauge("instaccess_secure_heap_size_bytes",
          "Size of OpenSSL's secure heap; 0 when there is none.", heap.size);
  e.Gauge("instaccess_connections", "Open client connections.",
          hooks_.connections ? hooks_.connections() : 0);
  e.Gauge("instaccess_queued_requests", "Expensive requests waiting for a worker.",
          hooks_.queued ? hooks_.queued() : 0);
  e.Family("instaccess_overloaded_total", MetricType::kCounter,
           "Refusals for overload (503 overloaded): connections past a connection bound, "
           "expensive requests past the work queue's bounds.");
  e.Sample("instaccess_overloaded_total", {{"reason", "connections"}},
           hooks_.refused_connections ? hooks_.refused_connections() : 0);
  e.Sample("instaccess_overloaded_total", {{"reason", "queue"}},
           hooks_.refused_requests ? hooks_.refused_requests() : 0);
  const RotationHealth rotation = Rotation();
  e.Counter("instaccess_rotation_failures_total",
            "Scheduler passes that failed (disk full, I/O error, ...); each is retried.",
            rotation.failures_total);
  e.Gauge("instaccess_rotation_failing", "1 while the latest scheduler pass failed, else 0.",
          rotation.failing_since ? 1 : 0);

  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = e.Take();
  return r;
}

}  // namespace instaccess::api
