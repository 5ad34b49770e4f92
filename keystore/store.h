// Store: what the keyring needs from the engine that holds its rows, so that the keyring's logic
// (store_keyring.h), the row MACs and the audit chain (integrity.h, audit.h) are written once and
// run on SQLite (sqlite_store.h) or on a shared database alike.
//
// A store holds three tables (docs/storage.md): `keys` (one row per key, every column of
// KeyColumn plus the row's MAC), `audit` (the chained trail) and `meta` (named values: the master
// key check, the seal, the clock high-water mark). Values keep the kind they are stored as,
// because the row MAC covers the kind as well as the bytes (integrity.h).
//
// Writes happen only inside a transaction (Begin ... Commit); reads may happen inside or outside
// one. Thread-safety: none; the owner (the keyring, under its mutex) serialises every call.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "keystore/key_types.h"

namespace instaccess::keystore {

// One row of the audit trail (audit.h says how the rows chain).
struct AuditEntry {
  std::int64_t seq = 0;
  UnixTime at = 0;
  std::string actor;   // "scheduler", "uid=1000(alice) pid=42", "rekey", ...
  std::string action;  // "generate", "activate", "retire", "destroy", "import", "revoke", ...
  std::optional<std::string> kid;
  std::string detail;  // human-readable, no secrets
  std::vector<std::uint8_t> prev_hash;
  std::vector<std::uint8_t> hash;
};

// One stored value. The kinds are SQLite's storage classes, with SQLite's codes: they are part
// of every row MAC, so they must never be renumbered.
struct Value {
  enum class Kind : std::uint8_t { kInteger = 1, kReal = 2, kText = 3, kBlob = 4, kNull = 5 };
  Kind kind = Kind::kNull;
  std::int64_t integer = 0;
  std::vector<std::uint8_t> bytes;  // text, blob, and a real as its text

  static Value Null() { return {}; }
  static Value Int(std::int64_t v) { return {Kind::kInteger, v, {}}; }
  static Value OptInt(std::optional<std::int64_t> v) { return v ? Int(*v) : Null(); }
  static Value Text(std::string_view s) {
    return {Kind::kText, 0, std::vector<std::uint8_t>(s.begin(), s.end())};
  }
  static Value Blob(std::span<const std::uint8_t> b) {
    return {Kind::kBlob, 0, std::vector<std::uint8_t>(b.begin(), b.end())};
  }

  bool is_null() const { return kind == Kind::kNull; }
  std::string text() const { return std::string(bytes.begin(), bytes.end()); }
  std::optional<std::int64_t> opt_int() const {
    return kind == Kind::kInteger ? std::optional<std::int64_t>(integer) : std::nullopt;
  }

  friend bool operator==(const Value&, const Value&) = default;
};

// The columns of a key row, in the order its MAC covers them (integrity.cc, RowImage). New
// columns go at the end, and into the schema of every backend.
enum KeyColumn : std::size_t {
  kColKid,
  kColPurpose,
  kColAlg,
  kColBits,
  kColOrigin,
  kColState,
  kColCreatedAt,
  kColActivateAt,
  kColRetireAt,
  kColExpireAt,
  kColRevokedAt,
  kColPublicJwk,
  kColPublicDer,
  kColSealedPrivate,
  kColNonce,
  kColIssuers,
  kColMaxLifetime,
  kColPin,
  kKeyColumnCount,
};

// The SQL names of the columns, in KeyColumn order.
inline constexpr const char* kKeyColumnNames[kKeyColumnCount] = {
    "kid",        "purpose",        "alg",       "bits",      "origin",       "state",
    "created_at", "activate_at",    "retire_at", "expire_at", "revoked_at",   "public_jwk",
    "public_der", "sealed_private", "nonce",     "issuers",   "max_lifetime", "pin"};

// "kid, purpose, ..., pin": the column names in KeyColumn order, for a statement's column list.
inline std::string KeyColumnList() {
  std::string out;
  for (std::size_t c = 0; c < kKeyColumnCount; ++c) {
    if (c > 0) out += ", ";
    out += kKeyColumnNames[c];
  }
  return out;
}

// One key row as stored.
struct KeyRow {
  std::array<Value, kKeyColumnCount> columns;
  Value mac;  // a blob once MACed; NULL in a store not yet upgraded to integrity (schema 3)

  const Value& operator[](KeyColumn c) const { return columns[c]; }
  Value& operator[](KeyColumn c) { return columns[c]; }
  std::string kid() const { return columns[kColKid].text(); }
};

class Store {
 public:
  virtual ~Store() = default;

  // A write transaction. Begin fails (Unavailable, FailedPrecondition) rather than wait behind
  // another writer for long. Rollback is safe to call with none open.
  virtual Status Begin() = 0;
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;
  // Grows with every committed write transaction, whichever host made it: a value other than
  // the one the keyring loaded its rows at means they are stale. Inside a transaction, the value
  // under the writer lock.
  virtual Result<std::int64_t> ChangeCounter() = 0;

  // Every key row (`kid` set: that one, or none), ordered by kid.
  virtual Result<std::vector<KeyRow>> ReadKeyRows(std::optional<std::string_view> kid) = 0;
  // Adds a row (its mac is not written: WriteRowMac does, from what the store then holds).
  virtual Status InsertKeyRow(const KeyRow& row) = 0;
  // Replaces every column of the row named by row.kid() but kid and mac. NotFound without one.
  virtual Status UpdateKeyRow(const KeyRow& row) = 0;
  virtual Status SetKeyRowMac(std::string_view kid, std::span<const std::uint8_t> mac) = 0;

  // Audit rows with seq > after_seq, oldest first, at most `limit`.
  virtual Result<std::vector<AuditEntry>> ReadAuditRows(std::int64_t after_seq,
                                                        std::int64_t limit) = 0;
  // The newest audit row; nullopt when the trail is empty.
  virtual Result<std::optional<AuditEntry>> LastAuditRow() = 0;
  virtual Status InsertAuditRow(const AuditEntry& entry) = 0;
  // Sets the links (prev_hash, hash) of row `seq` (re-chaining under a new key).
  virtual Status UpdateAuditLinks(std::int64_t seq, std::span<const std::uint8_t> prev_hash,
                                  std::span<const std::uint8_t> hash) = 0;
  // Whether an audit row with this action and detail exists (findings are audited once).
  virtual Result<bool> HasAuditRow(std::string_view action, std::string_view detail) = 0;

  // meta: nullopt when `name` is not set.
  virtual Result<std::optional<Value>> ReadMeta(std::string_view name) = 0;
  virtual Status WriteMeta(std::string_view name, const Value& value) = 0;
  virtual Status DeleteMeta(std::string_view name) = 0;

  // Called after a committed change that removed key material (a destroyed or revoked key's
  // sealed part), so that older copies of those bytes the engine keeps go too. Best effort.
  virtual void ForgetRemovedBytes() = 0;

  // A consistent copy of the whole store at `dest_path` (a new SQLite file; must not exist).
  // Content stays sealed.
  virtual Status CopyTo(const std::string& dest_path) = 0;

  // Unavailable when the store is no longer where it was opened (SQLite: the path names another
  // file, or none), so a change written now would be lost. Every change checks it first.
  virtual Status CheckInPlace() const { return Status::Ok(); }

  // Where the store lives, for messages (a path, a database URL without secrets).
  virtual std::string Describe() const = 0;
};

// A transaction that rolls back in its destructor unless committed.
class StoreTxn {
 public:
  static Result<StoreTxn> Begin(Store& store) {
    INSTACCESS_RETURN_IF_ERROR(store.Begin());
    return StoreTxn(&store);
  }
  StoreTxn(StoreTxn&& other) noexcept : store_(std::exchange(other.store_, nullptr)) {}
  StoreTxn& operator=(StoreTxn&&) = delete;
  StoreTxn(const StoreTxn&) = delete;
  StoreTxn& operator=(const StoreTxn&) = delete;
  ~StoreTxn() {
    if (store_ != nullptr) store_->Rollback();
  }

  Status Commit() { return std::exchange(store_, nullptr)->Commit(); }

 private:
  explicit StoreTxn(Store* store) : store_(store) {}
  Store* store_;  // null once committed
};

}  // namespace instaccess::keystore
