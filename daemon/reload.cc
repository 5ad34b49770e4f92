#include "daemon/reload.h"

#include <unistd.h>

#include <thread>
#include <utility>

#include "daemon/config_check.h"

namespace instaccess::daemon {

ReloadResult ReadForReload(const std::string& path, bool embedded) {
  ReloadResult r{LoadTrustedConfigFile(path, embedded), nullptr, {}};
  if (r.config) {
    const Config::Access& a = r.config->access;
    r.policy = std::make_shared<const ipc::AccessPolicy>(ipc::AccessPolicy::Build(
        {a.issue, a.decrypt, a.admin, a.read}, geteuid(), &r.policy_problems));
  }
  return r;
}

std::vector<std::string> RestartOnlyChanges(const Config& running, const Config& fresh) {
  std::vector<std::string> changed;
  auto check = [&](const std::string& key, const auto& old_value, const auto& new_value) {
    if (!(old_value == new_value)) changed.push_back(key);
  };
  const Config& o = running;
  const Config& n = fresh;
  check("daemon.socket", o.daemon.socket, n.daemon.socket);
  check("daemon.socket_mode", o.daemon.socket_mode, n.daemon.socket_mode);
  check("daemon.socket_group", o.daemon.socket_group, n.daemon.socket_group);
  check("daemon.workers", o.daemon.workers, n.daemon.workers);
  check("store.backend", o.store.backend, n.store.backend);
  check("store.path", o.store.path, n.store.path);
  check("store.url", o.store.url, n.store.url);
  check("store.password_file", o.store.password_file, n.store.password_file);
  check("store.poll", o.store.poll, n.store.poll);
  check("store.master_key_file", o.store.master_key_file, n.store.master_key_file);
  check("tokens.issuer", o.tokens.issuer, n.tokens.issuer);
  check("tokens.accepted_issuers", o.tokens.accepted_issuers, n.tokens.accepted_issuers);
  check("tokens.required_claims", o.tokens.required_claims, n.tokens.required_claims);
  check("tokens.default_ttl", o.tokens.default_ttl, n.tokens.default_ttl);
  check("tokens.max_lifetime", o.tokens.max_lifetime, n.tokens.max_lifetime);
  check("tokens.clock_skew", o.tokens.clock_skew, n.tokens.clock_skew);
  check("tokens.include_kid", o.tokens.include_kid, n.tokens.include_kid);
  check("tokens.allow_unencrypted", o.tokens.allow_unencrypted, n.tokens.allow_unencrypted);
  check("tokens.accept_unencrypted", o.tokens.accept_unencrypted, n.tokens.accept_unencrypted);
  auto rotation = [&](const std::string& table, const RotationConfig& a, const RotationConfig& b) {
    check(table + ".alg", a.alg, b.alg);
    check(table + ".content", a.content, b.content);
    check(table + ".bits", a.bits, b.bits);
    check(table + ".period", a.period, b.period);
    check(table + ".prepublish", a.prepublish, b.prepublish);
  };
  rotation("rotation.sig", o.rotation_sig, n.rotation_sig);
  rotation("rotation.enc", o.rotation_enc, n.rotation_enc);
  check("cache.entries", o.cache.entries, n.cache.entries);
  check("limits.max_body", o.limits.max_body, n.limits.max_body);
  check("limits.max_header", o.limits.max_header, n.limits.max_header);
  check("limits.max_token", o.limits.max_token, n.limits.max_token);
  check("limits.max_connections", o.limits.max_connections, n.limits.max_connections);
  check("limits.max_connections_per_uid", o.limits.max_connections_per_uid,
        n.limits.max_connections_per_uid);
  check("limits.read_timeout", o.limits.read_timeout, n.limits.read_timeout);
  check("limits.idle_timeout", o.limits.idle_timeout, n.limits.idle_timeout);
  check("peers", o.peers, n.peers);
  return changed;
}

Reloader::Reloader(Deliver deliver) : channel_(std::make_shared<Channel>()) {
  channel_->deliver = std::move(deliver);
}

Reloader::~Reloader() {
  std::lock_guard lock(channel_->mu);
  channel_->deliver = nullptr;
}

void Reloader::Start(const std::string& path, bool embedded) {
  std::thread([channel = channel_, path, embedded] {
    ReloadResult result = ReadForReload(path, embedded);
    std::lock_guard lock(channel->mu);
    if (channel->deliver) channel->deliver(std::move(result));
  }).detach();
}

}  // namespace instaccess::daemon
