// SqliteStore: the Store (store.h) on an SQLite file (docs/storage.md). Either it owns the
// opened store file (its lock and connection: the keyring's), or it is a view over a connection
// someone else owns (the offline tools, tests).
//
// Thread-safety: as Store; one thread at a time.
#pragma once

#include <optional>
#include <string>

#include "keystore/sqlite.h"
#include "keystore/store.h"
#include "keystore/store_file.h"

namespace instaccess::keystore {

class SqliteStore final : public Store {
 public:
  // A view: `db` must outlive the store.
  explicit SqliteStore(Db& db) : db_(&db) {}
  // Owns the file (OpenStoreFile) for its lifetime.
  explicit SqliteStore(OpenedStore opened) : opened_(std::move(opened)), db_(&opened_->db) {}
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;
  ~SqliteStore() override;

  Db& db() { return *db_; }

  Status Begin() override;
  Status Commit() override;
  void Rollback() override;
  // The file is locked for this process (store_file.h): only our own commits change it.
  Result<std::int64_t> ChangeCounter() override { return commits_; }
  Result<std::vector<KeyRow>> ReadKeyRows(std::optional<std::string_view> kid) override;
  Status InsertKeyRow(const KeyRow& row) override;
  Status UpdateKeyRow(const KeyRow& row) override;
  Status SetKeyRowMac(std::string_view kid, std::span<const std::uint8_t> mac) override;
  Result<std::vector<AuditEntry>> ReadAuditRows(std::int64_t after_seq,
                                                std::int64_t limit) override;
  Result<std::optional<AuditEntry>> LastAuditRow() override;
  Status InsertAuditRow(const AuditEntry& entry) override;
  Status UpdateAuditLinks(std::int64_t seq, std::span<const std::uint8_t> prev_hash,
                          std::span<const std::uint8_t> hash) override;
  Result<bool> HasAuditRow(std::string_view action, std::string_view detail) override;
  Result<std::optional<Value>> ReadMeta(std::string_view name) override;
  Status WriteMeta(std::string_view name, const Value& value) override;
  Status DeleteMeta(std::string_view name) override;
  void ForgetRemovedBytes() override;
  Status CopyTo(const std::string& dest_path) override;
  // The path still names the file this store owns (a view of another's connection: always Ok).
  Status CheckInPlace() const override;
  std::string Describe() const override { return db_->path(); }

  // `PRAGMA integrity_check`: "ok" when the file is sound.
  Result<std::string> IntegrityCheck();

 private:
  std::optional<OpenedStore> opened_;  // set when the store owns the file
  Db* db_;                             // opened_->db, or the viewed connection
  std::optional<Txn> txn_;             // the open write transaction
  std::int64_t commits_ = 0;           // committed through this object
};

}  // namespace instaccess::keystore
