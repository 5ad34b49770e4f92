#include "keystore/sqlite.h"

#include <mutex>
#include <utility>

namespace instaccess::keystore {

namespace {

std::mutex g_log_mu;
LogFn* g_log_fn = nullptr;  // Guarded by g_log_mu. Leaked on purpose: SQLite may log at exit.

void SqliteLogTrampoline(void*, int code, const char* msg) {
  std::scoped_lock lock(g_log_mu);
  if (g_log_fn == nullptr || !*g_log_fn) return;
  int primary = code & 0xff;
  LogLevel level = (primary == SQLITE_NOTICE)    ? LogLevel::kInfo
                   : (primary == SQLITE_WARNING) ? LogLevel::kWarning
                                                 : LogLevel::kError;
  std::string line = "sqlite: ";
  line += msg != nullptr ? msg : "";
  line += " (";
  line += sqlite3_errstr(code);
  line += ")";
  (*g_log_fn)(level, line);
}

void InstallSqliteLogOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Only possible before SQLite initialises; if another component initialised it first, the
    // log stays where that component put it.
    sqlite3_config(SQLITE_CONFIG_LOG, &SqliteLogTrampoline, nullptr);
    sqlite3_initialize();
  });
}

}  // namespace

void SetSqliteLogHandler(LogFn fn) {
  InstallSqliteLogOnce();
  std::scoped_lock lock(g_log_mu);
  if (g_log_fn == nullptr) g_log_fn = new LogFn();
  *g_log_fn = std::move(fn);
}

Status SqliteStatus(int rc, std::string_view what, std::string_view detail) {
  std::string msg(what);
  msg += ": ";
  msg += detail;
  msg += " (";
  msg += sqlite3_errstr(rc);
  msg += ")";
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
      return DataLoss(std::move(msg));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
      return Unavailable(std::move(msg));
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return PermissionDenied(std::move(msg));
    case SQLITE_CANTOPEN:
      return Unavailable(std::move(msg));
    case SQLITE_CONSTRAINT:
      return FailedPrecondition(std::move(msg));
    default:
      return Internal(std::move(msg));
  }
}

Result<Db> Db::Open(const std::string& path, int flags) {
  InstallSqliteLogOnce();
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string detail = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close_v2(raw);
    return SqliteStatus(rc, "cannot open " + path, detail);
  }
  sqlite3_extended_result_codes(raw, 1);
  // Another connection holding a lock is another instaccessd: fail fast rather than wait.
  sqlite3_busy_timeout(raw, 0);
  return Db(raw, path);
}

Db::Db(Db&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

Db& Db::operator=(Db&& other) noexcept {
  if (this != &other) {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

Db::~Db() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Status Db::Error(std::string_view what) const {
  return SqliteStatus(sqlite3_extended_errcode(db_), what, sqlite3_errmsg(db_));
}

Status Db::Exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string detail = err != nullptr ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return SqliteStatus(rc, path_, detail);
  }
  return Status::Ok();
}

Result<Stmt> Db::Prepare(std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &s, nullptr);
  if (rc != SQLITE_OK) return Error(path_ + ": prepare \"" + std::string(sql) + "\"");
  return Stmt(s, db_);
}

Result<std::int64_t> Db::QueryInt(const char* sql) {
  Result<Stmt> s = Prepare(sql);
  if (!s) return s.error();
  Result<bool> row = s->Step();
  if (!row) return row.error();
  if (!*row) return Internal(std::string("no row from ") + sql);
  return s->Int(0);
}

Stmt::Stmt(Stmt&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)),
      db_(std::exchange(other.db_, nullptr)),
      bind_rc_(other.bind_rc_) {}

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    db_ = std::exchange(other.db_, nullptr);
    bind_rc_ = other.bind_rc_;
  }
  return *this;
}

Stmt::~Stmt() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Stmt& Stmt::Bind(int i, std::int64_t v) {
  int rc = sqlite3_bind_int64(stmt_, i, v);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::Bind(int i, std::string_view text) {
  int rc = sqlite3_bind_text64(stmt_, i, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::Bind(int i, std::optional<std::int64_t> v) {
  return v.has_value() ? Bind(i, *v) : BindNull(i);
}

Stmt& Stmt::BindBlob(int i, std::span<const std::uint8_t> blob) {
  // A zero-length blob is still a blob, not NULL: bind a non-null pointer.
  static const std::uint8_t kEmpty = 0;
  const void* p = blob.empty() ? &kEmpty : blob.data();
  int rc = sqlite3_bind_blob64(stmt_, i, p, blob.size(), SQLITE_TRANSIENT);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::BindNull(int i) {
  int rc = sqlite3_bind_null(stmt_, i);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Result<bool> Stmt::Step() {
  if (bind_rc_ != SQLITE_OK) {
    return SqliteStatus(bind_rc_, "bind", sqlite3_errstr(bind_rc_));
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const char* file = sqlite3_db_filename(db_, "main");
  return SqliteStatus(rc, file != nullptr ? file : "sqlite", sqlite3_errmsg(db_));
}

Status Stmt::Run() {
  while (true) {
    Result<bool> r = Step();
    if (!r) return r.error();
    if (!*r) return Status::Ok();
  }
}

void Stmt::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = SQLITE_OK;
}

bool Stmt::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

int Stmt::Type(int col) const { return sqlite3_column_type(stmt_, col); }

std::int64_t Stmt::Int(int col) const { return sqlite3_column_int64(stmt_, col); }

std::optional<std::int64_t> Stmt::OptInt(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Int(col);
}

std::string Stmt::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}

std::vector<std::uint8_t> Stmt::Blob(int col) const {
  std::span<const std::uint8_t> v = BlobView(col);
  return {v.begin(), v.end()};
}

std::span<const std::uint8_t> Stmt::BlobView(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr || n <= 0) return {};
  return {static_cast<const std::uint8_t*>(p), static_cast<std::size_t>(n)};
}

Result<Txn> Txn::Begin(Db& db) {
  INSTACCESS_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  return Txn(&db);
}

Txn::~Txn() {
  // After some errors (a full disk, an I/O error) SQLite has already rolled the transaction
  // back itself; a ROLLBACK then would only log a misleading "no transaction is active".
  if (db_ != nullptr && sqlite3_get_autocommit(db_->get()) == 0) (void)db_->Exec("ROLLBACK");
}

Status Txn::Commit() {
  if (db_ == nullptr) return Internal("transaction already finished");
  Status s = db_->Exec("COMMIT");
  if (!s.ok()) {
    // A failed COMMIT may leave the transaction open; the destructor rolls it back.
    return s;
  }
  db_ = nullptr;
  return Status::Ok();
}

}  // namespace instaccess::keystore
