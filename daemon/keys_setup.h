// Start-up of the key store: find the master key (in the order of docs/storage.md), open the
// store, apply what is due (the first keys of a new store, or the catch-up after downtime) and
// check that a usable active key exists for each purpose. Any failure here stops start-up and
// changes nothing that was there before.
#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "daemon/config.h"
#include "keystore/master_key.h"
#include "keystore/schedule.h"
#include "keystore/sqlite_keyring.h"

namespace instaccess::daemon {

struct OpenedKeyring {
  std::unique_ptr<keystore::SqliteKeyring> keyring;
  std::string master_key_source;   // for the log
  std::string master_key_warning;  // for status and the log; empty when none
};

keystore::MasterKeyOptions MasterKeyOptionsFrom(const Config& config);
// Routes the keystore's messages to spdlog.
keystore::LogFn KeystoreLog();

Result<OpenedKeyring> OpenKeyring(const Config& config, const Clock& clock);

}  // namespace instaccess::daemon
