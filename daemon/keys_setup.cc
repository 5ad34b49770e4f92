#include "daemon/keys_setup.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>

#include "daemon/peer_threads.h"

namespace instaccess::daemon {

keystore::LogFn KeystoreLog() {
  return [](keystore::LogLevel level, std::string_view message) {
    switch (level) {
      case keystore::LogLevel::kDebug:
        spdlog::debug("{}", message);
        break;
      case keystore::LogLevel::kInfo:
        spdlog::info("{}", message);
        break;
      case keystore::LogLevel::kWarning:
        spdlog::warn("{}", message);
        break;
      case keystore::LogLevel::kError:
        spdlog::error("{}", message);
        break;
    }
  };
}

keystore::MasterKeyOptions MasterKeyOptionsFrom(const Config& c) {
  keystore::MasterKeyOptions o;
  if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY")) o.credentials_directory = dir;
  o.configured_file = c.store.master_key_file;
  o.embedded_default = c.embedded;
  // The development key lives beside the store, in the embedded default's ./var.
  o.dev_key_file = (std::filesystem::path(c.store.path).parent_path() / "master.key").string();
  o.store_path = c.store.path;
  o.log = KeystoreLog();
  return o;
}

Result<OpenedKeyring> OpenKeyring(const Config& config, const Clock& clock) {
  auto master = keystore::LoadMasterKey(MasterKeyOptionsFrom(config));
  if (!master) return master.error();

  keystore::SqliteKeyringOptions options;
  options.path = config.store.path;
  options.schedule = SchedulePolicyFrom(config);
  options.issuer = config.tokens.issuer;
  options.log = KeystoreLog();
  auto keyring = keystore::SqliteKeyring::Open(options, std::move(master->key));
  if (!keyring) return keyring.error();

  auto applied = (*keyring)->ApplyDue(clock.NowUnix(), "startup");
  if (!applied) return applied.error();
  if (*applied > 0) spdlog::info("applied {} key transition(s) due at start-up", *applied);
  if (Status s = FollowGatewayAtStart(config, **keyring, clock); !s.ok()) return s;
  keystore::Health health = (*keyring)->GetHealth();
  if (!health.ok()) return FailedPrecondition("the key store is not usable: " + health.message);
  return OpenedKeyring{std::move(*keyring), master->source, master->warning};
}

}  // namespace instaccess::daemon
