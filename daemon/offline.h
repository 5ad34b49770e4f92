// The offline commands (docs/storage.md): run while the daemon is stopped. The store's lock makes
// them fail at once if a daemon has it open.
//   instaccessd rekey --new-key FILE   re-seal every private key under a new master key
//   instaccessd restore BACKUP         replace the store with a backup taken through the API
//   instaccessd migrate --to URL|PATH  copy the store into a new PostgreSQL or SQLite store
#pragma once

#include <string>

#include "daemon/config.h"

namespace instaccess::daemon {

// Both return an exit code (daemon.h) and print what happened, or why not, to stderr.
int RunRekey(const Config& config, const std::string& new_key_file);
// `allow_unrevoke`: restore even a backup that brings back keys the current store revoked.
int RunRestore(const Config& config, const std::string& backup_file, bool allow_unrevoke);
// Copies the configured store (every key, audit row and MAC, checked at both ends) into a new
// store at `target`: a PostgreSQL URI (its database empty; the password as for store.url) or an
// SQLite path that must not exist. The configured store is left as it was.
int RunMigrate(const Config& config, const std::string& target);

}  // namespace instaccess::daemon
