// Start-up of the key store: find the master key (in the order of docs/storage.md), open the
// store, apply what is due (the first keys of a new store, or the catch-up after downtime) and
// check that a usable active key exists for each purpose. Any failure here stops start-up and
// changes nothing that was there before. A fleet's database that cannot be reached is waited
// for (logged, retried with backoff): a host never makes keys of its own.
#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "daemon/config.h"
#include "keystore/master_key.h"
#include "keystore/schedule.h"
#include "keystore/store_keyring.h"

namespace instaccess::daemon {

struct OpenedKeyring {
  std::unique_ptr<keystore::StoreKeyring> keyring;
  std::string master_key_source;   // for the log
  std::string master_key_warning;  // for status and the log; empty when none
};

keystore::MasterKeyOptions MasterKeyOptionsFrom(const Config& config);
// Routes the keystore's messages to spdlog.
keystore::LogFn KeystoreLog();

Result<OpenedKeyring> OpenKeyring(const Config& config, const Clock& clock);

// The PostgreSQL password: $CREDENTIALS_DIRECTORY/pg-password, else store.password_file, else
// none (""). A file others may read is refused; one trailing newline is dropped.
Result<std::string> LoadPgPassword(const Config& config);

}  // namespace instaccess::daemon
