// The store's schema and its migrations (docs/storage.md). The file is marked with an
// application_id so that another application's SQLite file is never mistaken for a store, and
// carries its schema version in user_version; each migration step runs in one transaction.
//
// Version history:
//   1  meta, keys, audit; at most one active key per purpose enforced by a partial unique index.
//   2  keys.revoked_at; index on (purpose, state) for loading the live keys.
//   3  keys.mac, meta seal: integrity (integrity.h).
//   4  keys.issuers, keys.max_lifetime, keys.pin: what a key vouches for (key_types.h).
#pragma once

#include <cstdint>

#include "common/status.h"
#include "keystore/sqlite.h"

namespace instaccess::keystore {

// "IAKS" (InstAccess Key Store) as a big-endian 32-bit integer.
inline constexpr std::int64_t kApplicationId = 0x49414B53;
inline constexpr int kSchemaVersion = 4;

// Checks application_id and user_version without writing: an empty/new database (version 0,
// no tables) passes; another application's file, or a version newer than kSchemaVersion, is
// refused with a message that says what to do. Returns the version found.
Result<int> CheckSchema(Db& db);

// Brings the schema up to `target` (default: the latest), one transaction per step. Never
// downgrades. Tests use an older `target` to make stores of a previous version.
Status Migrate(Db& db, int target = kSchemaVersion);

}  // namespace instaccess::keystore
