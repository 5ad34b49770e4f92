#include "keystore/sqlite_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/posix_error.h"

namespace instaccess::keystore {

namespace {

Value ColumnValue(const Stmt& s, int c) {
  switch (s.Type(c)) {
    case SQLITE_NULL:
      return Value::Null();
    case SQLITE_INTEGER:
      return Value::Int(s.Int(c));
    case SQLITE_TEXT:
      return Value::Text(s.Text(c));
    case SQLITE_BLOB:
      return Value::Blob(s.BlobView(c));
    default: {  // a real: kept as its text, so its kind still shows in the row's MAC
      Value v = Value::Text(s.Text(c));
      v.kind = Value::Kind::kReal;
      return v;
    }
  }
}

void BindValue(Stmt& s, int i, const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull:
      s.BindNull(i);
      break;
    case Value::Kind::kInteger:
      s.Bind(i, v.integer);
      break;
    case Value::Kind::kBlob:
      s.BindBlob(i, v.bytes);
      break;
    default:  // text; the keyring never writes a real
      s.Bind(i, std::string_view(reinterpret_cast<const char*>(v.bytes.data()), v.bytes.size()));
      break;
  }
}

AuditEntry AuditRow(const Stmt& s) {
  AuditEntry e;
  e.seq = s.Int(0);
  e.at = s.Int(1);
  e.actor = s.Text(2);
  e.action = s.Text(3);
  if (!s.IsNull(4)) e.kid = s.Text(4);
  e.detail = s.Text(5);
  e.prev_hash = s.Blob(6);
  e.hash = s.Blob(7);
  return e;
}

constexpr const char* kAuditColumns = "seq, at, actor, action, kid, detail, prev_hash, hash";

}  // namespace

SqliteStore::~SqliteStore() { Rollback(); }

Status SqliteStore::CheckInPlace() const {
  if (!opened_.has_value()) return Status::Ok();  // a view: its owner answers for the file
  const std::string& path = db_->path();
  Result<FileId> now = FileIdOf(path);
  if (now && *now == opened_->file) return Status::Ok();
  const std::string what = now ? "replaced by another file"
                           : now.error().code() == Code::kNotFound
                               ? "deleted"
                               : "made unreachable (" + now.error().message() + ")";
  return Unavailable("the key store " + path + " was " + what +
                     " while the daemon ran, so no change is written (it would be lost); the keys "
                     "in use keep working: take a backup (GET /api/v1/backup), stop the daemon "
                     "and restore it (docs/operations.md)");
}

Status SqliteStore::Begin() {
  if (txn_.has_value()) return Internal("a transaction is already open on " + db_->path());
  Result<Txn> txn = Txn::Begin(*db_);
  if (!txn) return txn.error();
  txn_.emplace(std::move(*txn));
  return Status::Ok();
}

Status SqliteStore::Commit() {
  if (!txn_.has_value()) return Internal("no transaction is open on " + db_->path());
  Status s = txn_->Commit();
  txn_.reset();  // rolls back what a failed COMMIT left open
  if (s.ok()) ++commits_;
  return s;
}

void SqliteStore::Rollback() { txn_.reset(); }

Result<std::vector<KeyRow>> SqliteStore::ReadKeyRows(std::optional<std::string_view> kid) {
  std::string sql = "SELECT " + KeyColumnList() + ", mac FROM keys";
  sql += kid.has_value() ? " WHERE kid = ?1" : " ORDER BY kid";
  Result<Stmt> s = db_->Prepare(sql);
  if (!s) return s.error();
  if (kid.has_value()) s->Bind(1, *kid);
  std::vector<KeyRow> rows;
  while (true) {
    Result<bool> more = s->Step();
    if (!more) return more.error();
    if (!*more) return rows;
    KeyRow row;
    for (std::size_t c = 0; c < kKeyColumnCount; ++c) {
      row.columns[c] = ColumnValue(*s, static_cast<int>(c));
    }
    row.mac = ColumnValue(*s, static_cast<int>(kKeyColumnCount));
    rows.push_back(std::move(row));
  }
}

Status SqliteStore::InsertKeyRow(const KeyRow& row) {
  std::string sql = "INSERT INTO keys (" + KeyColumnList() + ") VALUES (";
  for (std::size_t c = 0; c < kKeyColumnCount; ++c)
    sql += (c ? ", ?" : "?") + std::to_string(c + 1);
  Result<Stmt> s = db_->Prepare(sql + ")");
  if (!s) return s.error();
  for (std::size_t c = 0; c < kKeyColumnCount; ++c) {
    BindValue(*s, static_cast<int>(c + 1), row.columns[c]);
  }
  return s->Run();
}

Status SqliteStore::UpdateKeyRow(const KeyRow& row) {
  std::string sql = "UPDATE keys SET ";
  for (std::size_t c = 1; c < kKeyColumnCount; ++c) {
    sql += std::string(c > 1 ? ", " : "") + kKeyColumnNames[c] + " = ?" + std::to_string(c + 1);
  }
  Result<Stmt> s = db_->Prepare(sql + " WHERE kid = ?1");
  if (!s) return s.error();
  for (std::size_t c = 0; c < kKeyColumnCount; ++c) {
    BindValue(*s, static_cast<int>(c + 1), row.columns[c]);
  }
  INSTACCESS_RETURN_IF_ERROR(s->Run());
  if (sqlite3_changes(db_->get()) != 1) return NotFound("no key row " + row.kid() + " to update");
  return Status::Ok();
}

Status SqliteStore::SetKeyRowMac(std::string_view kid, std::span<const std::uint8_t> mac) {
  Result<Stmt> u = db_->Prepare("UPDATE keys SET mac = ?2 WHERE kid = ?1");
  if (!u) return u.error();
  u->Bind(1, kid).BindBlob(2, mac);
  return u->Run();
}

Result<std::vector<AuditEntry>> SqliteStore::ReadAuditRows(std::int64_t after_seq,
                                                           std::int64_t limit) {
  Result<Stmt> s = db_->Prepare(std::string("SELECT ") + kAuditColumns +
                                " FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  if (!s) return s.error();
  s->Bind(1, after_seq).Bind(2, limit);
  std::vector<AuditEntry> out;
  while (true) {
    Result<bool> row = s->Step();
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back(AuditRow(*s));
  }
}

Result<std::optional<AuditEntry>> SqliteStore::LastAuditRow() {
  Result<Stmt> s = db_->Prepare(std::string("SELECT ") + kAuditColumns +
                                " FROM audit ORDER BY seq DESC LIMIT 1");
  if (!s) return s.error();
  Result<bool> row = s->Step();
  if (!row) return row.error();
  if (!*row) return std::optional<AuditEntry>();
  return std::optional<AuditEntry>(AuditRow(*s));
}

Status SqliteStore::InsertAuditRow(const AuditEntry& e) {
  Result<Stmt> ins = db_->Prepare(std::string("INSERT INTO audit (") + kAuditColumns +
                                  ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!ins) return ins.error();
  ins->Bind(1, e.seq).Bind(2, e.at).Bind(3, e.actor).Bind(4, e.action);
  if (e.kid.has_value()) {
    ins->Bind(5, std::string_view(*e.kid));
  } else {
    ins->BindNull(5);
  }
  ins->Bind(6, e.detail).BindBlob(7, e.prev_hash).BindBlob(8, e.hash);
  return ins->Run();
}

Status SqliteStore::UpdateAuditLinks(std::int64_t seq, std::span<const std::uint8_t> prev_hash,
                                     std::span<const std::uint8_t> hash) {
  Result<Stmt> u = db_->Prepare("UPDATE audit SET prev_hash = ?2, hash = ?3 WHERE seq = ?1");
  if (!u) return u.error();
  u->Bind(1, seq).BindBlob(2, prev_hash).BindBlob(3, hash);
  return u->Run();
}

Result<bool> SqliteStore::HasAuditRow(std::string_view action, std::string_view detail) {
  Result<Stmt> s = db_->Prepare("SELECT 1 FROM audit WHERE action = ?1 AND detail = ?2 LIMIT 1");
  if (!s) return s.error();
  s->Bind(1, action).Bind(2, detail);
  return s->Step();
}

Result<std::optional<Value>> SqliteStore::ReadMeta(std::string_view name) {
  Result<Stmt> s = db_->Prepare("SELECT value FROM meta WHERE name = ?1");
  if (!s) return s.error();
  s->Bind(1, name);
  Result<bool> row = s->Step();
  if (!row) return row.error();
  if (!*row) return std::optional<Value>();
  return std::optional<Value>(ColumnValue(*s, 0));
}

Status SqliteStore::WriteMeta(std::string_view name, const Value& value) {
  Result<Stmt> s = db_->Prepare(
      "INSERT INTO meta (name, value) VALUES (?1, ?2) "
      "ON CONFLICT (name) DO UPDATE SET value = excluded.value");
  if (!s) return s.error();
  s->Bind(1, name);
  BindValue(*s, 2, value);
  return s->Run();
}

Status SqliteStore::DeleteMeta(std::string_view name) {
  Result<Stmt> s = db_->Prepare("DELETE FROM meta WHERE name = ?1");
  if (!s) return s.error();
  s->Bind(1, name);
  return s->Run();
}

void SqliteStore::ForgetRemovedBytes() {
  // The removed bytes are gone from the new page image (secure_delete), but not yet from the
  // store's older copy of the page or from the -wal: fold it in now. A failure here (an I/O
  // error) leaves them until the next checkpoint, and the next write reports the I/O error.
  (void)FoldWal(*db_);
}

Status SqliteStore::CopyTo(const std::string& dest_path) {
  struct stat st;
  if (::stat(dest_path.c_str(), &st) == 0) {
    return AlreadyExists("backup destination " + dest_path + " already exists");
  }
  std::string tmp = dest_path + ".partial";
  ::unlink(tmp.c_str());
  {
    Result<Db> dst = Db::Open(tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (!dst) return dst.error();
    sqlite3_backup* b = sqlite3_backup_init(dst->get(), "main", db_->get(), "main");
    if (b == nullptr) return dst->Error("backup to " + tmp);
    int rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
      Status s = SqliteStatus(rc, "backup to " + tmp, sqlite3_errmsg(dst->get()));
      ::unlink(tmp.c_str());
      return s;
    }
  }
  INSTACCESS_RETURN_IF_ERROR(SyncFileAndDir(tmp));
  if (::rename(tmp.c_str(), dest_path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return PosixError(Code::kUnavailable, "cannot move backup into place at " + dest_path, err);
  }
  return Status::Ok();
}

Result<std::string> SqliteStore::IntegrityCheck() {
  Result<Stmt> s = db_->Prepare("PRAGMA integrity_check");
  if (!s) return s.error();
  std::string out;
  while (true) {
    Result<bool> row = s->Step();
    if (!row) return row.error();
    if (!*row) return out;
    if (!out.empty()) out += "; ";
    out += s->Text(0);
  }
}

}  // namespace instaccess::keystore
