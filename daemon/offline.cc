#include "daemon/offline.h"

#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "daemon/daemon.h"
#include "daemon/hardening.h"
#include "daemon/keys_setup.h"
#include "daemon/logging.h"
#include "keystore/master_key.h"
#include "keystore/pg_store.h"
#include "keystore/sqlite_store.h"
#include "keystore/store_copy.h"
#include "keystore/store_file.h"
#include "keystore/store_tools.h"

namespace instaccess::daemon {

namespace {

std::string Actor(const char* command) {
  return std::string("instaccessd ") + command + " (uid " + std::to_string(getuid()) + ")";
}

void Say(spdlog::level::level_enum level, const char* command, const std::string& text) {
  PrintLine(level, std::string("instaccessd ") + command + ": " + text);
}

int Fail(const char* command, const Status& s) {
  Say(spdlog::level::err, command, s.message());
  return kExitKeys;
}

// rekey and restore hold master keys and unseal every private key: hardened as the daemon is,
// before any key is read (no core file, not dumpable, OpenSSL's secure heap).
bool Harden(const char* command) {
  std::vector<std::string> warnings;
  if (Status s = HardenProcess(&warnings); !s.ok()) {
    Say(spdlog::level::err, command, s.message());
    return false;
  }
  for (const std::string& w : warnings) {
    Say(spdlog::level::warn, command, "warning: " + w);
  }
  return true;
}

// The copies restores have kept of the store ("<store>.replaced-<time>[-N]", without their -wal
// and -shm), named as the operator named the store. Listed before and after a restore, the new
// one is the name RestoreStore chose (it holds the store's lock meanwhile).
std::set<std::string> KeptCopies(const std::string& store_path) {
  namespace fs = std::filesystem;
  const fs::path store(store_path);
  const std::string prefix = store.filename().string() + ".replaced-";
  std::set<std::string> kept;
  std::error_code ec;
  fs::directory_iterator it(store.has_parent_path() ? store.parent_path() : fs::path("."), ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with(prefix) && !name.ends_with("-wal") && !name.ends_with("-shm")) {
      kept.insert(store.has_parent_path() ? (store.parent_path() / name).string() : name);
    }
  }
  return kept;
}

// Opens an existing PostgreSQL store, or creates one (`create`), at `url`.
Result<std::unique_ptr<keystore::Store>> OpenPg(const Config& config, const std::string& url,
                                                const SecretBytes& key, bool create) {
  Result<std::string> password = LoadPgPassword(config);
  if (!password) return password.error();
  keystore::PgStoreOptions o;
  o.url = url;
  o.password = std::move(*password);
  o.create_if_missing = create;
  auto store = keystore::PgStore::Open(o, key);
  if (!store) return store.error();
  return std::unique_ptr<keystore::Store>(std::move(*store));
}

// The SQLite store at `path`, existing or new.
Result<std::unique_ptr<keystore::Store>> OpenSqlite(const std::string& path, const SecretBytes& key,
                                                    bool create) {
  auto file = keystore::OpenStoreFile(path, key, create);
  if (!file) return file.error();
  return std::unique_ptr<keystore::Store>(
      std::make_unique<keystore::SqliteStore>(std::move(*file)));
}

}  // namespace

int RunMigrate(const Config& config, const std::string& target) {
  if (!Harden("migrate")) return kExitFailure;
  auto key = keystore::LoadMasterKey(MasterKeyOptionsFrom(config));
  if (!key) return Fail("migrate", key.error());
  const bool from_pg = config.store.backend == "postgresql";
  auto from = from_pg ? OpenPg(config, config.store.url, key->key, false)
                      : OpenSqlite(config.store.path, key->key, false);
  if (!from) return Fail("migrate", from.error());
  const bool to_pg = keystore::IsDatabaseUrl(target);
  if (!to_pg && std::filesystem::exists(target)) {
    return Fail("migrate", AlreadyExists(target + " exists; migrate only into a new store"));
  }
  auto to = to_pg ? OpenPg(config, target, key->key, true) : OpenSqlite(target, key->key, true);
  if (!to) return Fail("migrate", to.error());
  auto copied = keystore::CopyStore(**from, **to, key->key);
  if (!copied) {
    if (!to_pg) {
      to->reset();  // the new file, empty: nothing of it is worth keeping
      for (const char* suffix : {"", "-wal", "-shm", ".lock"}) {
        std::filesystem::remove(target + suffix);
      }
    }
    return Fail("migrate", copied.error());
  }
  Say(spdlog::level::info, "migrate",
      "copied " + std::to_string(copied->keys) + " keys and " + std::to_string(copied->audit_rows) +
          " audit rows from " + (*from)->Describe() + " to " + (*to)->Describe() +
          ", every MAC checked at both ends.\nPoint [store] at it (" +
          (to_pg ? "backend = \"postgresql\", url" : "path") +
          ") and start instaccessd; the old store is unchanged.");
  return kExitOk;
}

int RunRekey(const Config& config, const std::string& new_key_file) {
  if (!Harden("rekey")) return kExitFailure;
  auto old_key = keystore::LoadMasterKey(MasterKeyOptionsFrom(config));
  if (!old_key) return Fail("rekey", old_key.error());
  auto new_key = keystore::ReadMasterKeyFile(new_key_file);
  if (!new_key) return Fail("rekey", new_key.error());
  Status s = keystore::RekeyStore(config.store.path, old_key->key, *new_key,
                                  SystemClock().NowUnix(), Actor("rekey"));
  if (!s.ok()) return Fail("rekey", s);
  Say(spdlog::level::info, "rekey",
      "every key in " + config.store.path + " is now sealed under " + new_key_file +
          ".\nPut the new key where instaccessd reads it (it was reading " + old_key->source +
          ") before starting the daemon.");
  return kExitOk;
}

int RunRestore(const Config& config, const std::string& backup_file, bool allow_unrevoke) {
  if (!Harden("restore")) return kExitFailure;
  auto key = keystore::LoadMasterKey(MasterKeyOptionsFrom(config));
  if (!key) return Fail("restore", key.error());
  const std::set<std::string> kept_before = KeptCopies(config.store.path);
  keystore::RestoreOptions options;
  options.allow_unrevoke = allow_unrevoke;
  std::vector<std::string> changes;
  Status s = keystore::RestoreStore(backup_file, config.store.path, key->key,
                                    SystemClock().NowUnix(), Actor("restore"), options, &changes);
  // What the backup changes, key by key: also when it was refused, so the operator sees why.
  for (const std::string& c : changes) Say(spdlog::level::info, "restore", c);
  if (!s.ok()) return Fail("restore", s);
  std::string kept;
  for (const std::string& name : KeptCopies(config.store.path)) {
    if (kept_before.count(name) == 0) kept += (kept.empty() ? "" : ", ") + name;
  }
  Say(spdlog::level::info, "restore",
      config.store.path + " restored from " + backup_file +
          (kept.empty() ? "; there was no store to replace."
                        : "; the store it replaced was kept beside it as " + kept + "."));
  return kExitOk;
}

}  // namespace instaccess::daemon
