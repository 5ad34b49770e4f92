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

}  // namespace

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
