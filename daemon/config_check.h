// What instaccessd checks about its configuration beyond the TOML itself: that the file may be
// trusted (start-up, --check-config and every SIGHUP), and, for --check-config, that what the
// file names exists on this host and is usable by the user running the check.
//
// Thread-safety: free functions; safe from any thread. They log nothing (messages are returned),
// so the reload thread may call them.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "daemon/config.h"

namespace instaccess::daemon {

// Reads and parses a configuration file that only root or the user running the daemon can
// change: the file must be a regular file, not writable by group or others (mode & 022 == 0),
// and owned by root or by the effective user. Anything else is refused with a message naming
// the file and the fix (chmod go-w / chown), because whoever can write the file decides who may
// issue and decrypt tokens. Errors of the TOML are those of ParseConfig.
Result<Config> LoadTrustedConfigFile(const std::string& path, bool embedded);

// --check-config's checks of the host, for the user running the command (run it as the
// daemon's user, with its credentials, to check what the daemon will meet):
//   - every user and group named in [access] exists (NSS);
//   - the master key the daemon would use ($CREDENTIALS_DIRECTORY/master-key, else
//     store.master_key_file, else the embedded default's development key) is readable and
//     exactly 32 bytes; a development key not yet made is fine while no store exists;
//   - the store's directory exists and is writable (the embedded default's ./var may instead be
//     creatable), and an existing store file is readable and writable.
// One line per problem, each naming the configuration key and what to do; empty when all is
// well. `credentials_directory` is $CREDENTIALS_DIRECTORY (empty when unset).
std::vector<std::string> CheckHost(const Config& config, const std::string& credentials_directory);

}  // namespace instaccess::daemon
