// SqliteKeyring: the single-host Keyring on an SQLite file (docs/storage.md): a StoreKeyring
// (store_keyring.h) over a SqliteStore. See keyring.h for what every Keyring guarantees and
// store_file.h for how the file is opened without touching it until the master key is known to
// be right.
//
// Thread-safety: as Keyring.
#pragma once

#include <memory>
#include <string>

#include "common/secret_bytes.h"
#include "keystore/sqlite_store.h"
#include "keystore/store_keyring.h"

namespace instaccess::keystore {

struct SqliteKeyringOptions : KeyringOptions {
  // [store] path. The directory must be writable (SQLite's -wal and -shm live beside it) and
  // should be 0700: the file holds sealed keys and the audit log.
  std::string path = "var/keys.db";
  // A new store is created when the file does not exist; false turns that into NotFound (for
  // commands that must not create one by mistake).
  bool create_if_missing = true;
  // (KeyringOptions::log) When set, it also becomes the handler of SQLite's process-wide error
  // log (SetSqliteLogHandler), so it must stay callable for the life of the process, or be
  // replaced with SetSqliteLogHandler({}) first.
};

class SqliteKeyring final : public StoreKeyring {
 public:
  // Opens (or creates) the store and loads the live keys. Does not generate keys: the daemon
  // calls ApplyDue(now) right after, which makes the first keys of a new store.
  static Result<std::unique_ptr<SqliteKeyring>> Open(const SqliteKeyringOptions& options,
                                                     SecretBytes master_key);

  // For tests and `instaccessd` diagnostics: runs `PRAGMA integrity_check` ("ok" when sound).
  Result<std::string> IntegrityCheck();

 private:
  SqliteKeyring(const SqliteKeyringOptions& options, SecretBytes master_key,
                std::unique_ptr<SqliteStore> store);
};

}  // namespace instaccess::keystore
