#include "keystore/store_tools.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "common/posix_error.h"
#include "keystore/audit.h"
#include "keystore/schema.h"
#include "keystore/seal.h"
#include "keystore/store_file.h"

namespace instaccess::keystore {

namespace {

struct SealedRow {
  std::string kid;
  Purpose purpose;
  std::string alg;
  std::vector<std::uint8_t> ciphertext;
  std::vector<std::uint8_t> nonce;
};

Result<std::vector<SealedRow>> ReadSealedRows(Db& db) {
  Result<Stmt> s = db.Prepare(
      "SELECT kid, purpose, alg, sealed_private, nonce FROM keys "
      "WHERE sealed_private IS NOT NULL ORDER BY kid");
  if (!s) return s.error();
  std::vector<SealedRow> rows;
  while (true) {
    Result<bool> row = s->Step();
    if (!row) return row.error();
    if (!*row) break;
    Result<Purpose> p = ParsePurpose(s->Text(1));
    if (!p) return DataLoss("key " + s->Text(0) + " has an unknown purpose");
    rows.push_back({s->Text(0), *p, s->Text(2), s->Blob(3), s->Blob(4)});
  }
  return rows;
}

// Every sealed row must authenticate: a restore or rekey that silently carried a damaged key
// would only fail later, when that key is needed.
Status CheckAllRowsUnseal(Db& db, const SecretBytes& key) {
  Result<std::vector<SealedRow>> rows = ReadSealedRows(db);
  if (!rows) return rows.error();
  for (const SealedRow& r : *rows) {
    if (!Unseal(key, r.ciphertext, r.nonce, SealAad(r.kid, r.purpose, r.alg))) {
      return DataLoss("key " + r.kid + " in " + db.path() +
                      ": sealed private key does not authenticate under the master key; "
                      "nothing was changed");
    }
  }
  return Status::Ok();
}

Status Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return PosixError(Code::kUnavailable, "cannot rename " + from + " to " + to, errno);
  }
  return Status::Ok();
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Keeps the store that a restore replaces under the name `aside`, whole, and leaves no -wal
// beside it: SQLite would replay a -wal left there into the restored file. The store's own name
// keeps the old store throughout (a hard link, not a move), so a crash never leaves no store,
// which the next start would replace with a new, empty one.
Status KeepReplacedStore(const std::string& store_path, const std::string& aside) {
  const std::string wal = store_path + "-wal";
  bool wal_left = Exists(wal);
  if (wal_left) {
    // Fold it in: SQLite removes the -wal and -shm when the last connection closes. A damaged
    // store (often why it is being replaced) may refuse; then its -wal goes aside with it.
    {
      Result<Db> db = Db::Open(store_path, SQLITE_OPEN_READWRITE);
      if (db.has_value()) (void)FoldWal(*db);
    }
    wal_left = Exists(wal);
  }
  if (::link(store_path.c_str(), aside.c_str()) != 0) {
    return Unavailable("cannot keep the old store as " + aside + ": " + ErrnoText(errno) +
                       "; nothing was restored");
  }
  if (wal_left) {
    for (const char* suffix : {"-wal", "-shm"}) {
      if (Exists(store_path + suffix)) {
        INSTACCESS_RETURN_IF_ERROR(Rename(store_path + suffix, aside + suffix));
      }
    }
  }
  return SyncFileAndDir(aside);
}

}  // namespace

Status RekeyStore(const std::string& path, const SecretBytes& old_key, const SecretBytes& new_key,
                  UnixTime now, std::string_view actor) {
  if (new_key.size() != kMasterKeyBytes) {
    return InvalidArgument("the new master key must be exactly 32 bytes");
  }
  if (old_key.Equals(new_key)) return InvalidArgument("the new master key equals the old one");
  Result<OpenedStore> store = OpenStoreFile(path, old_key, /*create_if_missing=*/false);
  if (!store) return store.error();
  Db& db = store->db;
  Result<std::vector<SealedRow>> rows = ReadSealedRows(db);
  if (!rows) return rows.error();
  Result<Txn> txn = Txn::Begin(db);
  if (!txn) return txn.error();
  for (const SealedRow& r : *rows) {
    std::string aad = SealAad(r.kid, r.purpose, r.alg);
    Result<SecretBytes> plain = Unseal(old_key, r.ciphertext, r.nonce, aad);
    if (!plain) {
      return DataLoss("key " + r.kid +
                      ": sealed private key does not authenticate under the "
                      "old master key; rekey aborted, nothing was changed");
    }
    Result<Sealed> sealed = Seal(new_key, plain->reveal_secret(), aad);
    if (!sealed) return sealed.error();
    Result<Stmt> s = db.Prepare("UPDATE keys SET sealed_private = ?2, nonce = ?3 WHERE kid = ?1");
    if (!s) return s.error();
    s->Bind(1, std::string_view(r.kid)).BindBlob(2, sealed->ciphertext).BindBlob(3, sealed->nonce);
    INSTACCESS_RETURN_IF_ERROR(s->Run());
  }
  Result<Stmt> m = db.Prepare("UPDATE meta SET value = ?1 WHERE name = 'master_key_check'");
  if (!m) return m.error();
  m->BindBlob(1, MasterKeyCheckValue(new_key));
  INSTACCESS_RETURN_IF_ERROR(m->Run());
  INSTACCESS_RETURN_IF_ERROR(
      AppendAudit(db, now, actor, "rekey", std::nullopt,
                  std::to_string(rows->size()) + " private keys re-sealed under a new master key"));
  INSTACCESS_RETURN_IF_ERROR(txn->Commit());
  // Nothing sealed under the old key should stay in the files: VACUUM rewrites the store without
  // free space (older deletions may predate secure_delete), and FoldWal empties the -wal. The
  // rekey has committed, so a failure here must not report it as failed (the operator would keep
  // the old key, which no longer opens the store); the old bytes then stay until space is reused.
  (void)db.Exec("VACUUM");
  (void)FoldWal(db);
  return Status::Ok();
}

Status RestoreStore(const std::string& backup_path, const std::string& store_path,
                    const SecretBytes& master_key, UnixTime now, std::string_view actor) {
  if (master_key.size() != kMasterKeyBytes) {
    return InvalidArgument("the master key must be exactly 32 bytes");
  }
  INSTACCESS_RETURN_IF_ERROR(CheckStoreReadOnly(backup_path, master_key));
  {
    Result<Db> backup = Db::Open(backup_path, SQLITE_OPEN_READONLY);
    if (!backup) return backup.error();
    INSTACCESS_RETURN_IF_ERROR(CheckAllRowsUnseal(*backup, master_key));
    Result<AuditVerification> audit = VerifyAudit(*backup);
    if (!audit) return audit.error();
    if (!audit->ok()) {
      return DataLoss("backup " + backup_path + " has a broken audit chain (" + audit->reason +
                      "); not restored");
    }
  }
  Result<StoreLock> lock = StoreLock::Acquire(store_path);
  if (!lock) return lock.error();
  std::string tmp = store_path + ".restoring";
  ::unlink(tmp.c_str());
  ::unlink((tmp + "-journal").c_str());
  {
    Result<Db> src = Db::Open(backup_path, SQLITE_OPEN_READONLY);
    if (!src) return src.error();
    Result<Db> dst = Db::Open(tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (!dst) return dst.error();
    sqlite3_backup* b = sqlite3_backup_init(dst->get(), "main", src->get(), "main");
    if (b == nullptr) return dst->Error("restore into " + tmp);
    int rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
      return SqliteStatus(rc, "restore into " + tmp, sqlite3_errmsg(dst->get()));
    }
  }
  INSTACCESS_RETURN_IF_ERROR(SyncFileAndDir(tmp));
  if (Exists(store_path)) {
    INSTACCESS_RETURN_IF_ERROR(
        KeepReplacedStore(store_path, store_path + ".replaced-" + std::to_string(now)));
  }
  INSTACCESS_RETURN_IF_ERROR(Rename(tmp, store_path));
  INSTACCESS_RETURN_IF_ERROR(SyncFileAndDir(store_path));
  // Record it in the restored store itself (the lock is ours; OpenStoreFile takes its own).
  lock = Status(Code::kInternal, "released");
  Result<OpenedStore> store = OpenStoreFile(store_path, master_key, /*create_if_missing=*/false);
  if (!store) return store.error();
  Result<Txn> txn = Txn::Begin(store->db);
  if (!txn) return txn.error();
  INSTACCESS_RETURN_IF_ERROR(AppendAudit(store->db, now, actor, "restore", std::nullopt,
                                         "store restored from " + backup_path));
  return txn->Commit();
}

}  // namespace instaccess::keystore
