// The audit chain (docs/storage.md): every key event and admin action is a row of `audit`, and
// hash = HMAC-SHA256(audit key, prev_hash || canonical row), prev_hash of the first row being 32
// zero bytes; the audit key is derived from the master key (integrity.h), so nobody without it
// can write a chain that verifies. Editing, reordering or deleting a row breaks the chain at that
// row; removing the newest rows is seen against the store's seal (integrity.h). The canonical
// row is length-prefixed so that no two different rows encode the same. Stores from before
// schema 3 used SHA-256 without a key (`key` null below); they are re-chained when upgraded.
//
// Thread-safety: functions over a Store the caller owns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret_bytes.h"
#include "common/status.h"
#include "keystore/key_types.h"
#include "keystore/store.h"

namespace instaccess::keystore {

// HMAC-SHA256(*key, prev_hash || canonical(seq, at, actor, action, kid, detail)); with a null
// key, the unkeyed SHA-256 of stores before schema 3.
std::vector<std::uint8_t> AuditHash(const SecretBytes* key, const AuditEntry& e);

// Appends one row; call inside the transaction that makes the change it records.
Status AppendAudit(Store& store, const SecretBytes& key, UnixTime at, std::string_view actor,
                   std::string_view action, std::optional<std::string_view> kid,
                   std::string_view detail);

// Rows with seq > after_seq, oldest first, at most `limit`.
Result<std::vector<AuditEntry>> ReadAudit(Store& store, std::int64_t after_seq, std::int64_t limit);

struct AuditVerification {
  std::int64_t entries = 0;
  // The first row whose link does not hold (seq gap, prev_hash mismatch or hash mismatch).
  std::optional<std::int64_t> first_broken_seq;
  std::string reason;
  bool ok() const { return !first_broken_seq.has_value(); }
};
// `key` null: the unkeyed chain of a store before schema 3.
Result<AuditVerification> VerifyAudit(Store& store, const SecretBytes* key);

// Recomputes every row's links under `key`, oldest first (upgrade to schema 3, rekey). Call
// inside a transaction; the caller has verified the chain under its old key first.
Status RechainAudit(Store& store, const SecretBytes& key);

}  // namespace instaccess::keystore
