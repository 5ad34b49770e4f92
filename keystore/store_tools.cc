#include "keystore/store_tools.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <vector>

#include "common/posix_error.h"
#include "common/unique_fd.h"
#include "keystore/audit.h"
#include "keystore/integrity.h"
#include "keystore/schema.h"
#include "keystore/seal.h"
#include "keystore/sqlite_store.h"
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

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// A backup from schema 3 on must pass every integrity check; an older one has no MACs, and its
// unkeyed audit chain must hold (it is upgraded when restored).
Status CheckBackupIntegrity(Db& backup, const IntegrityKeys& keys) {
  SqliteStore store(backup);
  Result<std::int64_t> version = backup.QueryInt("PRAGMA user_version");
  if (!version) return version.error();
  Result<std::int64_t> marker =
      *version >= 3 ? backup.QueryInt("SELECT count(*) FROM meta WHERE name = 'integrity_upgrade'")
                    : Result<std::int64_t>(std::int64_t{1});
  if (!marker) return marker.error();
  if (*marker > 0) {
    Result<AuditVerification> audit = VerifyAudit(store, nullptr);
    if (!audit) return audit.error();
    if (!audit->ok()) {
      return DataLoss("backup " + backup.path() + " has a broken audit chain (" + audit->reason +
                      "); not restored");
    }
    return Status::Ok();
  }
  Result<IntegrityReport> report = CheckIntegrity(store, keys);
  if (!report) return report.error();
  std::vector<std::string> found;
  for (const auto& [kid, why] : report->refused) found.push_back(why);
  found.insert(found.end(), report->problems.begin(), report->problems.end());
  if (report->replay_protection_lost_at) found.push_back("its seal was once found broken");
  if (found.empty()) return Status::Ok();
  std::string msg = "backup " + backup.path() + " fails its integrity checks: ";
  for (std::size_t i = 0; i < found.size(); ++i) msg += (i ? "; " : "") + found[i];
  return DataLoss(msg + "; not restored");
}

// Key states by kid; empty when the file cannot be read (a damaged store being replaced).
std::map<std::string, std::string> ReadStates(const std::string& path) {
  std::map<std::string, std::string> states;
  Result<Db> db = Db::Open(path, SQLITE_OPEN_READONLY);
  if (!db) return states;
  Result<Stmt> s = db->Prepare("SELECT kid, state FROM keys");
  if (!s) return states;
  while (true) {
    Result<bool> row = s->Step();
    if (!row || !*row) break;
    states[s->Text(0)] = s->Text(1);
  }
  return states;
}

// What the restore changes, key by key, for the operator (into `changes`); returns the keys
// the current store has revoked that the backup brings back.
std::vector<std::string> CompareWithCurrent(const std::string& backup_path,
                                            const std::string& store_path,
                                            std::vector<std::string>& changes) {
  std::vector<std::string> unrevoked;
  if (!Exists(store_path)) return unrevoked;
  const std::map<std::string, std::string> now = ReadStates(store_path);
  const std::map<std::string, std::string> then = ReadStates(backup_path);
  for (const auto& [kid, state] : then) {
    auto it = now.find(kid);
    if (it == now.end()) {
      changes.push_back("key " + kid + " comes back as " + state + " (not in the current store)");
    } else if (it->second != state) {
      changes.push_back("key " + kid + ": " + it->second + " -> " + state);
      if (it->second == "revoked") unrevoked.push_back(kid);
    }
  }
  for (const auto& [kid, state] : now) {
    if (then.count(kid) == 0) changes.push_back("key " + kid + " (" + state + ") goes away");
  }
  return unrevoked;
}

Status Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return PosixError(Code::kUnavailable, "cannot rename " + from + " to " + to, errno);
  }
  return Status::Ok();
}

// The owner, group and permission bits of a store. Every file a rekey or restore makes for the
// store takes them, so that run as root on the service user's store, the files stay that user's
// and the daemon can still open them (docs/operations.md).
struct Ownership {
  uid_t uid;
  gid_t gid;
  mode_t mode;
};

Result<Ownership> OwnershipOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return PosixError("cannot stat " + path, errno);
  return Ownership{st.st_uid, st.st_gid, static_cast<mode_t>(st.st_mode & 0777)};
}

Status OwnershipError(const std::string& path, const Ownership& want, int err) {
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(want.mode));
  return PosixError("cannot give " + path + " the owner, group and mode of its store (uid " +
                        std::to_string(want.uid) + ", gid " + std::to_string(want.gid) + ", mode " +
                        mode + "; run as the store's owner or as root)",
                    err);
}

// Gives the file open as `fd` (named `path`) the ownership `want`, changing only what differs: a
// caller who owns the store changes nothing and needs no privilege.
Status GiveOwnership(int fd, const std::string& path, const Ownership& want) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return PosixError("cannot stat " + path, errno);
  if ((st.st_uid != want.uid || st.st_gid != want.gid) && ::fchown(fd, want.uid, want.gid) != 0) {
    return OwnershipError(path, want, errno);
  }
  if ((st.st_mode & 07777) != want.mode && ::fchmod(fd, want.mode) != 0) {
    return OwnershipError(path, want, errno);
  }
  return Status::Ok();
}

// The same for the files beside the store that others create: the lock file, and the -wal and
// -shm SQLite makes (as root SQLite gives these the database's owner itself; this makes sure).
// By name, not through a descriptor: closing a second descriptor of a file SQLite has open
// would drop SQLite's POSIX locks on it.
Status GiveStoreFilesItsOwnership(const std::string& store_path) {
  Result<Ownership> want = OwnershipOf(store_path);
  if (!want) return want.error();
  for (const char* suffix : {".lock", "-wal", "-shm"}) {
    const std::string path = store_path + suffix;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;
      return PosixError("cannot stat " + path, errno);
    }
    if (!S_ISREG(st.st_mode)) return FailedPrecondition(path + " is not a regular file");
    if ((st.st_uid != want->uid || st.st_gid != want->gid) &&
        ::lchown(path.c_str(), want->uid, want->gid) != 0) {
      return OwnershipError(path, *want, errno);
    }
    if ((st.st_mode & 07777) != want->mode && ::chmod(path.c_str(), want->mode) != 0) {
      return OwnershipError(path, *want, errno);
    }
  }
  return Status::Ok();
}

// Keeps the store that a restore replaces, whole, and returns the name used:
// "<store>.replaced-<now>", or when an earlier restore took that name (two restores in one
// second, a clock set back) the first free of "<store>.replaced-<now>-2", "-3", ... (the name
// counts as taken while a -wal or -shm of it is there too). It leaves no -wal beside the store:
// SQLite would replay a -wal left there into the restored file. The store's own name keeps the
// old store throughout (a hard link, not a move), so a crash never leaves no store, which the
// next start would replace with a new, empty one; the link shares the store's owner and mode.
Result<std::string> KeepReplacedStore(const std::string& store_path, UnixTime now) {
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
  const std::string base = store_path + ".replaced-" + std::to_string(now);
  std::string aside;
  for (int n = 1;; ++n) {
    aside = n == 1 ? base : base + "-" + std::to_string(n);
    if (n > 1000) {
      return Unavailable("cannot keep the old store: " + base + " and " + aside +
                         " and every name between are taken; nothing was restored");
    }
    if (Exists(aside + "-wal") || Exists(aside + "-shm")) continue;
    if (::link(store_path.c_str(), aside.c_str()) == 0) break;
    if (errno != EEXIST) {
      return Unavailable("cannot keep the old store as " + aside + ": " + ErrnoText(errno) +
                         "; nothing was restored");
    }
  }
  if (wal_left) {
    for (const char* suffix : {"-wal", "-shm"}) {
      if (Exists(store_path + suffix)) {
        INSTACCESS_RETURN_IF_ERROR(Rename(store_path + suffix, aside + suffix));
      }
    }
  }
  INSTACCESS_RETURN_IF_ERROR(SyncFileAndDir(aside));
  return aside;
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
  // Before anything is written: the -wal the rekey writes through, and the lock file, stay the
  // store owner's when root runs the rekey.
  INSTACCESS_RETURN_IF_ERROR(GiveStoreFilesItsOwnership(path));
  Db& db = store->db;
  SqliteStore view(db);
  const IntegrityKeys old_keys = IntegrityKeys::Derive(old_key);
  const IntegrityKeys new_keys = IntegrityKeys::Derive(new_key);
  Result<std::optional<std::string>> upgraded = UpgradeIntegrityIfDue(view, old_keys, now, actor);
  if (!upgraded) return upgraded.error();
  // Rekey vouches for the store as it is (a broken seal, a cut audit trail), but never for a
  // row that does not authenticate: that is for a restore from a trusted backup.
  Result<IntegrityReport> found = CheckIntegrity(view, old_keys);
  if (!found) return found.error();
  if (!found->refused.empty()) {
    return DataLoss("rekey refused: " + found->refused.begin()->second + " (and " +
                    std::to_string(found->refused.size() - 1) +
                    " more); restore a trusted backup first; no key was changed");
  }
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
  INSTACCESS_RETURN_IF_ERROR(WriteAllRowMacs(view, new_keys));
  INSTACCESS_RETURN_IF_ERROR(RechainAudit(view, new_keys.audit()));
  std::string detail =
      std::to_string(rows->size()) + " private keys re-sealed under a new master key";
  for (const std::string& p : found->problems) detail += "; vouched for: " + p;
  INSTACCESS_RETURN_IF_ERROR(
      AppendAudit(view, new_keys.audit(), now, actor, "rekey", std::nullopt, detail));
  INSTACCESS_RETURN_IF_ERROR(SealStore(view, new_keys, {}, std::nullopt));
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
                    const SecretBytes& master_key, UnixTime now, std::string_view actor,
                    const RestoreOptions& options, std::vector<std::string>* changes) {
  if (master_key.size() != kMasterKeyBytes) {
    return InvalidArgument("the master key must be exactly 32 bytes");
  }
  const IntegrityKeys keys = IntegrityKeys::Derive(master_key);
  INSTACCESS_RETURN_IF_ERROR(CheckStoreReadOnly(backup_path, master_key));
  {
    Result<Db> backup = Db::Open(backup_path, SQLITE_OPEN_READONLY);
    if (!backup) return backup.error();
    INSTACCESS_RETURN_IF_ERROR(CheckAllRowsUnseal(*backup, master_key));
    INSTACCESS_RETURN_IF_ERROR(CheckBackupIntegrity(*backup, keys));
  }
  Result<StoreLock> lock = StoreLock::Acquire(store_path);
  if (!lock) return lock.error();
  {
    std::vector<std::string> diff;
    const std::vector<std::string> unrevoked = CompareWithCurrent(backup_path, store_path, diff);
    if (changes != nullptr) *changes = std::move(diff);
    if (!unrevoked.empty() && !options.allow_unrevoke) {
      std::string kids;
      for (const std::string& k : unrevoked) kids += (kids.empty() ? "" : ", ") + k;
      return FailedPrecondition(
          "the backup would bring back key(s) revoked in the current store (" + kids +
          "); not restored (--allow-unrevoke restores it all the same)");
    }
  }
  std::string tmp = store_path + ".restoring";
  ::unlink(tmp.c_str());
  ::unlink((tmp + "-journal").c_str());
  {
    // The restored store takes the replaced store's owner, group and mode before it gets any
    // content (and SQLite, as root, gives its journal the same owner); with no store to
    // replace it is the caller's, 0600 under the umask.
    UniqueFd fd(::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd.valid()) return PosixError("cannot create " + tmp + "; nothing was restored", errno);
    Status owned = Status::Ok();
    if (Exists(store_path)) {
      Result<Ownership> want = OwnershipOf(store_path);
      owned = want ? GiveOwnership(fd.get(), tmp, *want) : want.error();
      if (owned.ok()) owned = GiveStoreFilesItsOwnership(store_path);
    }
    fd.Close();
    if (!owned.ok()) {
      ::unlink(tmp.c_str());
      return Status(owned.code(), owned.message() + "; nothing was restored");
    }
  }
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
    Result<std::string> kept = KeepReplacedStore(store_path, now);
    if (!kept) return kept.error();
  }
  INSTACCESS_RETURN_IF_ERROR(Rename(tmp, store_path));
  INSTACCESS_RETURN_IF_ERROR(SyncFileAndDir(store_path));
  // Record it in the restored store itself (the lock is ours; OpenStoreFile takes its own).
  lock = Status(Code::kInternal, "released");
  Result<OpenedStore> store = OpenStoreFile(store_path, master_key, /*create_if_missing=*/false);
  if (!store) return store.error();
  INSTACCESS_RETURN_IF_ERROR(GiveStoreFilesItsOwnership(store_path));  // its new -wal, say
  SqliteStore view(store->db);
  Result<std::optional<std::string>> upgraded = UpgradeIntegrityIfDue(view, keys, now, actor);
  if (!upgraded) return upgraded.error();
  Result<Txn> txn = Txn::Begin(store->db);
  if (!txn) return txn.error();
  INSTACCESS_RETURN_IF_ERROR(AppendAudit(view, keys.audit(), now, actor, "restore", std::nullopt,
                                         "store restored from " + backup_path));
  INSTACCESS_RETURN_IF_ERROR(SealStore(view, keys, {}, std::nullopt));
  return txn->Commit();
}

}  // namespace instaccess::keystore
