// A keyring shared by a fleet of hosts in PostgreSQL: a StoreKeyring (store_keyring.h) over a
// PgStore (pg_store.h, which says how hosts share it). Every host opens it with the same master
// key; each change is made once for the fleet, whichever host makes it.
//
// Thread-safety: as Keyring.
#pragma once

#include <memory>

#include "common/secret_bytes.h"
#include "keystore/pg_store.h"
#include "keystore/store_keyring.h"

namespace instaccess::keystore {

struct PgKeyringOptions : KeyringOptions {
  PgStoreOptions store;
};

// Connects, brings the schema up to date, checks the master key and loads the live keys. Does
// not generate keys (ApplyDue does, once for the fleet). Unavailable when the database cannot be
// reached: the caller waits and tries again, never making keys of its own.
Result<std::unique_ptr<StoreKeyring>> OpenPgKeyring(const PgKeyringOptions& options,
                                                    SecretBytes master_key);

}  // namespace instaccess::keystore
