#include "daemon/offline.h"

#include <unistd.h>

#include <iostream>

#include "daemon/clock.h"
#include "daemon/daemon.h"
#include "daemon/keys_setup.h"
#include "keystore/master_key.h"
#include "keystore/store_tools.h"

namespace instaccess::daemon {

namespace {

std::string Actor(const char* command) {
  return std::string("instaccessd ") + command + " (uid " + std::to_string(getuid()) + ")";
}

int Fail(const char* command, const Status& s) {
  std::cerr << "instaccessd " << command << ": " << s.message() << "\n";
  return kExitKeys;
}

}  // namespace

int RunRekey(const Config& config, const std::string& new_key_file) {
  auto old_key = keystore::LoadMasterKey(MasterKeyOptionsFrom(config));
  if (!old_key) return Fail("rekey", old_key.error());
  auto new_key = keystore::ReadMasterKeyFile(new_key_file);
  if (!new_key) return Fail("rekey", new_key.error());
  Status s = keystore::RekeyStore(config.store.path, old_key->key, *new_key,
                                  SystemClock().NowUnix(), Actor("rekey"));
  if (!s.ok()) return Fail("rekey", s);
  std::cerr << "instaccessd rekey: every key in " << config.store.path
            << " is now sealed under " << new_key_file << ".\n"
            << "Put the new key where instaccessd reads it (it was reading "
            << old_key->source << ") before starting the daemon.\n";
  return kExitOk;
}

int RunRestore(const Config& config, const std::string& backup_file) {
  auto key = keystore::LoadMasterKey(MasterKeyOptionsFrom(config));
  if (!key) return Fail("restore", key.error());
  Status s = keystore::RestoreStore(backup_file, config.store.path, key->key,
                                    SystemClock().NowUnix(), Actor("restore"));
  if (!s.ok()) return Fail("restore", s);
  std::cerr << "instaccessd restore: " << config.store.path << " restored from " << backup_file
            << "; the store it replaced was kept beside it as " << config.store.path
            << ".replaced-<time>.\n";
  return kExitOk;
}

}  // namespace instaccess::daemon
