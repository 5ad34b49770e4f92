#include "keystore/pg_keyring.h"

#include <utility>

namespace instaccess::keystore {

Result<std::unique_ptr<StoreKeyring>> OpenPgKeyring(const PgKeyringOptions& options,
                                                    SecretBytes master_key) {
  Result<std::unique_ptr<PgStore>> store = PgStore::Open(options.store, master_key);
  if (!store) return store.error();
  return StoreKeyring::Open(options, std::move(master_key), std::move(*store));
}

}  // namespace instaccess::keystore
