// Copying a whole store between backends (`instaccessd migrate`): SQLite to PostgreSQL and back.
// Rows, MACs, the seal and the audit trail travel as they are: the row images are the same on
// both (store.h), so what authenticated at the source authenticates at the destination.
//
// Thread-safety: free functions over stores the caller owns; offline (no daemon on either).
#pragma once

#include <string>

#include "common/secret_bytes.h"
#include "common/status.h"
#include "keystore/store.h"

namespace instaccess::keystore {

struct CopyReport {
  std::size_t keys = 0;
  std::size_t audit_rows = 0;
};

// Checks `from` under the master key (every row authenticates, the seal and the audit trail
// hold: a store that fails is not copied), copies every key row, audit row and the meta values
// (master key check, seal, clock high-water mark) into `to`, which must hold no keys and no
// audit rows, in one transaction on `to`, and checks `to` the same way before committing.
Result<CopyReport> CopyStore(Store& from, Store& to, const SecretBytes& master_key);

// Whether a --to target names a PostgreSQL database (a postgresql:// or postgres:// URI, or a
// libpq key=value string) rather than an SQLite file path.
bool IsDatabaseUrl(const std::string& target);

}  // namespace instaccess::keystore
