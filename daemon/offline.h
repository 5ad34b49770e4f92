// The offline commands (docs/storage.md): run while the daemon is stopped. The store's lock makes
// them fail at once if a daemon has it open.
//   instaccessd rekey --new-key FILE   re-seal every private key under a new master key
//   instaccessd restore BACKUP         replace the store with a backup taken through the API
#pragma once

#include <string>

#include "daemon/config.h"

namespace instaccess::daemon {

// Both return an exit code (daemon.h) and print what happened, or why not, to stderr.
int RunRekey(const Config& config, const std::string& new_key_file);
// `allow_unrevoke`: restore even a backup that brings back keys the current store revoked.
int RunRestore(const Config& config, const std::string& backup_file, bool allow_unrevoke);

}  // namespace instaccess::daemon
