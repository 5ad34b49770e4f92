// Offline operations on a store file (`instaccessd rekey`, `instaccessd restore`). Both take
// the store's lock, so they fail at once while a daemon has the store open.
//
// Thread-safety: free functions; one call at a time per store (the lock enforces it).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/secret_bytes.h"
#include "common/status.h"
#include "keystore/key_types.h"

namespace instaccess::keystore {

// Re-seals every private key of the store under `new_key`, re-MACs every row, re-chains the audit
// trail and re-seals the store under the keys `new_key` derives, and replaces the master key
// check value, in ONE transaction: after a crash the store opens under the old key or the new one,
// never half of each. Every row is unsealed first; if any does not authenticate, nothing is
// changed. Write the new key where the daemon reads it only after this succeeds.
Status RekeyStore(const std::string& path, const SecretBytes& old_key, const SecretBytes& new_key,
                  UnixTime now, std::string_view actor);

// Replaces the store at `store_path` with the backup at `backup_path`. The backup is checked
// first without writing to it (SQLite header, schema, quick_check, the master key, every sealed
// row and the audit chain); then it is copied next to the store, synced, and renamed into place.
// An existing store is kept as "<store_path>.replaced-<now>" (then -2, -3, ... when that name
// is taken) rather than deleted. The restore is recorded in the restored store's audit log.
// The backup must pass every integrity check under the master key (integrity.h); a backup from
// before schema 3 is upgraded as it is restored. A backup that would bring back a key the current
// store has revoked is refused unless `allow_unrevoke`. `changes`, when given, receives what the
// restore changes, key by key (filled before anything is written).
struct RestoreOptions {
  bool allow_unrevoke = false;
};
Status RestoreStore(const std::string& backup_path, const std::string& store_path,
                    const SecretBytes& master_key, UnixTime now, std::string_view actor,
                    const RestoreOptions& options = {},
                    std::vector<std::string>* changes = nullptr);

}  // namespace instaccess::keystore
