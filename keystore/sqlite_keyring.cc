#include "keystore/sqlite_keyring.h"

#include <utility>

namespace instaccess::keystore {

SqliteKeyring::SqliteKeyring(const SqliteKeyringOptions& options, SecretBytes master_key,
                             std::unique_ptr<SqliteStore> store)
    : StoreKeyring(options, std::move(master_key), std::move(store)) {}

Result<std::unique_ptr<SqliteKeyring>> SqliteKeyring::Open(const SqliteKeyringOptions& options,
                                                           SecretBytes master_key) {
  INSTACCESS_RETURN_IF_ERROR(ValidateOptions(options));
  if (options.log) SetSqliteLogHandler(options.log);
  Result<OpenedStore> opened = OpenStoreFile(options.path, master_key, options.create_if_missing);
  if (!opened) return opened.error();
  std::unique_ptr<SqliteKeyring> ring(new SqliteKeyring(
      options, std::move(master_key), std::make_unique<SqliteStore>(std::move(*opened))));
  INSTACCESS_RETURN_IF_ERROR(ring->Load());
  return ring;
}

Result<std::string> SqliteKeyring::IntegrityCheck() {
  std::unique_lock<std::mutex> lock = LockStore();
  // The only store this class is ever made with (Open).
  return static_cast<SqliteStore&>(store()).IntegrityCheck();
}

}  // namespace instaccess::keystore
