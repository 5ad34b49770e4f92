// Integrity of a key store under its master key (docs/storage.md, "Integrity").
//
// Sealing keeps private keys secret; this keeps the rest of the store honest. The master key
// derives (libsodium crypto_kdf, one context each) a row key, a store key and an audit key; the
// sealing key is the master key itself, as it always was.
//   - Every key row carries mac = HMAC-SHA256(row key, every column as stored, each with its
//     kind (Value::Kind, SQLite's storage class) and length), so editing any column of a row, or
//     swapping parts between rows, is seen.
//   - meta holds the store seal: a change counter that grows with every write transaction, the
//     manifest (each trusted kid with its row MAC), the audit head, and an HMAC of them under the
//     store key. A row inserted, deleted or replaced by an older copy of itself (whose own MAC is
//     still good) no longer matches the manifest.
//   - The audit chain is keyed: hash = HMAC-SHA256(audit key, prev_hash || row) (audit.h).
// What it cannot see: a whole older copy of the store (that is what a backup is; restore
// guards against un-revoking), and anything done by someone who holds the master key.
//
// Thread-safety: functions over a Store the caller owns; IntegrityKeys is immutable.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/secret_bytes.h"
#include "common/status.h"
#include "keystore/key_types.h"
#include "keystore/store.h"

namespace instaccess::keystore {

inline constexpr std::size_t kMacBytes = 32;  // HMAC-SHA256

class IntegrityKeys {
 public:
  // `master_key` must be the 32-byte master key.
  static IntegrityKeys Derive(const SecretBytes& master_key);

  const SecretBytes& row() const { return row_; }
  const SecretBytes& store() const { return store_; }
  const SecretBytes& audit() const { return audit_; }

 private:
  IntegrityKeys(SecretBytes row, SecretBytes store, SecretBytes audit)
      : row_(std::move(row)), store_(std::move(store)), audit_(std::move(audit)) {}
  SecretBytes row_, store_, audit_;
};

// HMAC-SHA256 of `data` under a 32-byte key.
std::vector<std::uint8_t> Hmac(const SecretBytes& key, std::span<const std::uint8_t> data);

// The MAC a row must carry: over its columns as `row` holds them (not its mac).
std::vector<std::uint8_t> RowMac(const IntegrityKeys& keys, const KeyRow& row);

// Recomputes the MAC of row `kid` from what the row holds now and stores it. Call inside the
// transaction that changed the row, after the change.
Status WriteRowMac(Store& store, const IntegrityKeys& keys, std::string_view kid);
// The same for every row (upgrade, rekey).
Status WriteAllRowMacs(Store& store, const IntegrityKeys& keys);

// Ends every write transaction: the next change counter, the manifest of every row but
// `excluded` (rows found tampered are never vouched for), the audit head, and their MAC.
// `replay_protection_lost_at`: when the seal was once found broken, so that rows replayed
// before then cannot be told apart; carried in every later seal until a rekey or a restore.
Status SealStore(Store& store, const IntegrityKeys& keys, const std::set<std::string>& excluded,
                 std::optional<UnixTime> replay_protection_lost_at);

struct IntegrityReport {
  // Rows that must never be used, with the reason (for status and the audit trail).
  std::map<std::string, std::string> refused;
  // Store-level findings: a seal that does not authenticate, deleted rows, a cut audit trail.
  std::vector<std::string> problems;
  // False when the seal is missing or does not authenticate: replays cannot be told apart.
  bool seal_ok = false;
  std::optional<UnixTime> replay_protection_lost_at;  // from a seal that authenticated
  std::uint64_t counter = 0;                          // the sealed change counter
  std::vector<std::uint8_t> audit_head;               // hash of the newest audit row
  bool ok() const { return refused.empty() && problems.empty(); }
};

// Stores from before schema 3 (and new stores) carry a marker that the rows are still to be
// MACed: MAC every row, re-chain the audit trail under its key (after checking it under the
// old, unkeyed hash) and seal the store, in one transaction, audited when there was anything.
// Returns the audit detail, or nullopt when no upgrade was due.
Result<std::optional<std::string>> UpgradeIntegrityIfDue(Store& store, const IntegrityKeys& keys,
                                                         UnixTime now, std::string_view actor);

// Checks every row's MAC, the seal, the manifest against the rows, and the keyed audit chain
// against the sealed head. Writes nothing. An error only when the store cannot be read.
Result<IntegrityReport> CheckIntegrity(Store& store, const IntegrityKeys& keys);

}  // namespace instaccess::keystore
