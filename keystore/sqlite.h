// Thin RAII over the SQLite C API: Db (a connection), Stmt (a prepared statement), Txn (a
// transaction that rolls back in its destructor unless committed). Parameters are always bound;
// SQL text is never built from values.
//
// Thread-safety: a Db and its Stmts belong to one thread at a time (the owner serialises).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "keystore/log.h"

namespace instaccess::keystore {

// Routes SQLite's error log (sqlite3_log: corruption found, recoveries, I/O retries) to `fn`.
// Process-wide, as SQLite's log is; the last call wins. Installed before the first connection.
void SetSqliteLogHandler(LogFn fn);

class Stmt;

class Db {
 public:
  // flags: SQLITE_OPEN_* (SQLITE_OPEN_NOMUTEX and SQLITE_OPEN_EXRESCODE are always added).
  static Result<Db> Open(const std::string& path, int flags);

  Db(Db&& other) noexcept;
  Db& operator=(Db&& other) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }

  // Runs constant SQL (schema, pragmas) that takes no parameters.
  Status Exec(const char* sql);
  Result<Stmt> Prepare(std::string_view sql);
  // A single integer from constant SQL ("PRAGMA user_version").
  Result<std::int64_t> QueryInt(const char* sql);

  // The connection's last error as a Status: `what: <sqlite message> (<code name>)`, mapped to
  // a canonical code (corruption / not a database -> data loss, busy/locked -> unavailable,
  // read-only / cannot open / permission -> permission denied or unavailable).
  Status Error(std::string_view what) const;

 private:
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_ = nullptr;
  std::string path_;
};

// Maps an SQLite result code and message to a Status.
Status SqliteStatus(int rc, std::string_view what, std::string_view detail);

class Stmt {
 public:
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  // Parameters are 1-based, as in SQLite. Text and blobs are copied (SQLITE_TRANSIENT).
  Stmt& Bind(int i, std::int64_t v);
  Stmt& Bind(int i, std::string_view text);
  Stmt& Bind(int i, std::optional<std::int64_t> v);
  Stmt& BindBlob(int i, std::span<const std::uint8_t> blob);
  Stmt& BindNull(int i);

  // One step: true with a row, false when done.
  Result<bool> Step();
  // Steps to completion (for statements that return no rows).
  Status Run();
  void Reset();

  bool IsNull(int col) const;
  // SQLITE_NULL, SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT or SQLITE_BLOB: the value's storage
  // class as stored, which a MAC over the row must cover.
  int Type(int col) const;
  std::int64_t Int(int col) const;
  std::optional<std::int64_t> OptInt(int col) const;
  std::string Text(int col) const;
  std::vector<std::uint8_t> Blob(int col) const;
  // Valid until the next Step/Reset.
  std::span<const std::uint8_t> BlobView(int col) const;

 private:
  friend class Db;
  Stmt(sqlite3_stmt* s, sqlite3* db) : stmt_(s), db_(db) {}
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
  int bind_rc_ = SQLITE_OK;  // first bind failure, reported by Step()
};

// BEGIN IMMEDIATE ... COMMIT. IMMEDIATE takes the write lock up front so a transaction never
// fails half way through for lock reasons. Destroying an uncommitted Txn rolls it back.
class Txn {
 public:
  static Result<Txn> Begin(Db& db);
  Txn(Txn&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  Txn& operator=(Txn&&) = delete;
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn();

  Status Commit();

 private:
  explicit Txn(Db* db) : db_(db) {}
  Db* db_;  // null once committed or rolled back
};

}  // namespace instaccess::keystore
