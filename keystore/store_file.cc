#include "keystore/store_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "common/posix_error.h"
#include "keystore/schema.h"
#include "keystore/seal.h"

namespace instaccess::keystore {

namespace {

std::string DirOf(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

Status SetPragmas(Db& db) {
  // Exclusive locking: no other connection (another daemon, a stray sqlite3 shell) can write
  // behind our back; it also keeps the WAL index in process memory.
  INSTACCESS_RETURN_IF_ERROR(db.Exec("PRAGMA locking_mode = EXCLUSIVE"));
  INSTACCESS_RETURN_IF_ERROR(db.Exec("PRAGMA journal_mode = WAL"));
  // FULL: a committed key change survives power loss, not only a process crash. Key changes are
  // rare, so the extra fsync costs nothing that matters.
  INSTACCESS_RETURN_IF_ERROR(db.Exec("PRAGMA synchronous = FULL"));
  INSTACCESS_RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys = ON"));
  // Space freed in a page is overwritten with zeros: a destroyed or revoked key's sealed private
  // part, or one re-sealed by rekey, must not linger in the file (it would still open under the
  // master key). The -wal's older images of a page go with a checkpoint (FoldWal).
  INSTACCESS_RETURN_IF_ERROR(db.Exec("PRAGMA secure_delete = ON"));
  // The journal mode must really be WAL (a read-only medium, say, would leave it unchanged).
  Result<Stmt> s = db.Prepare("PRAGMA journal_mode");
  if (!s) return s.error();
  Result<bool> row = s->Step();
  if (!row) return row.error();
  if (!*row || s->Text(0) != "wal") {
    return Unavailable(db.path() + ": cannot switch the store to WAL mode");
  }
  return Status::Ok();
}

Status CreateNewStore(const std::string& path, const SecretBytes& master_key) {
  std::string tmp = path + ".creating";
  ::unlink(tmp.c_str());  // left over from a crash during an earlier creation
  ::unlink((tmp + "-journal").c_str());
  {
    Result<Db> db = Db::Open(tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (!db) return db.error();
    INSTACCESS_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous = FULL"));
    INSTACCESS_RETURN_IF_ERROR(Migrate(*db));
    Result<Txn> txn = Txn::Begin(*db);
    if (!txn) return txn.error();
    Result<Stmt> s = db->Prepare("INSERT INTO meta (name, value) VALUES ('master_key_check', ?1)");
    if (!s) return s.error();
    s->BindBlob(1, MasterKeyCheckValue(master_key));
    INSTACCESS_RETURN_IF_ERROR(s->Run());
    INSTACCESS_RETURN_IF_ERROR(txn->Commit());
  }
  INSTACCESS_RETURN_IF_ERROR(SyncFileAndDir(tmp));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return PosixError("cannot move new store into place at " + path, errno);
  }
  return SyncFileAndDir(path);
}

// "file:<path>?immutable=1" with the path percent-encoded where URI syntax needs it.
std::string ImmutableUri(const std::string& path) {
  std::string uri = "file:";
  static const char* kHex = "0123456789ABCDEF";
  for (char ch : path) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '%' || c == '?' || c == '#' || c < 0x20 || c >= 0x7f) {
      uri += '%';
      uri += kHex[c >> 4];
      uri += kHex[c & 15];
    } else {
      uri += static_cast<char>(c);
    }
  }
  return uri + "?immutable=1";
}

}  // namespace

Result<StoreLock> StoreLock::Acquire(const std::string& store_path) {
  std::string lock_path = store_path + ".lock";
  UniqueFd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) {
    return PosixError("cannot create the store's lock file " + lock_path +
                          " (is the store directory writable by the daemon's user?)",
                      errno);
  }
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    if (err == EWOULDBLOCK) {
      return Unavailable("key store " + store_path + " is in use by another process (lock " +
                         lock_path + " is held): is another instaccessd running?");
    }
    return PosixError("cannot lock " + lock_path, err);
  }
  return StoreLock(std::move(fd));
}

Status FoldWal(Db& db) {
  Result<Stmt> s = db.Prepare("PRAGMA wal_checkpoint(TRUNCATE)");
  if (!s) return s.error();
  Result<bool> row = s->Step();
  if (!row) return row.error();
  // (busy, frames in the -wal, frames copied): busy means a reader kept it from finishing.
  if (!*row || s->Int(0) != 0) {
    return Unavailable(db.path() + ": the -wal could not be folded into the store");
  }
  return Status::Ok();
}

Status SyncFileAndDir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return PosixError("cannot open " + path + " to sync it", errno);
  if (::fsync(fd.get()) != 0) return PosixError("cannot sync " + path, errno);
  fd.Close();
  UniqueFd dir(::open(DirOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return PosixError("cannot open directory of " + path, errno);
  if (::fsync(dir.get()) != 0) return PosixError("cannot sync directory of " + path, errno);
  return Status::Ok();
}

Status CheckMasterKey(Db& db, const SecretBytes& master_key) {
  Result<Stmt> s = db.Prepare("SELECT value FROM meta WHERE name = 'master_key_check'");
  if (!s) return s.error();
  Result<bool> row = s->Step();
  if (!row) return row.error();
  if (!*row) return DataLoss(db.path() + " has no master key check value; it is damaged");
  if (!MatchesMasterKeyCheck(master_key, s->BlobView(0))) {
    return PermissionDenied(
        "the master key does not match key store " + db.path() +
        " (wrong master key: check store.master_key_file or the systemd credential "
        "\"master-key\"); nothing was changed");
  }
  return Status::Ok();
}

Status CheckStoreReadOnly(const std::string& path, const SecretBytes& master_key) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return PosixError("cannot open key store " + path, errno);
  if (!S_ISREG(st.st_mode)) return FailedPrecondition(path + " is not a regular file");
  if (st.st_size == 0) {
    return DataLoss("key store " + path +
                    " is empty (0 bytes): not a store; move it away or restore a backup");
  }
  // With no -wal beside it (the store was closed cleanly), the file alone is the database:
  // open it immutable, so SQLite creates no -wal or -shm either. With a -wal (a crash), read it
  // through a read-only connection, which recovers the index in -shm but never writes the -wal
  // or checkpoints into the file. The flock we hold keeps writers away in both cases.
  struct stat wal;
  bool has_wal = ::stat((path + "-wal").c_str(), &wal) == 0;
  Result<Db> db = has_wal ? Db::Open(path, SQLITE_OPEN_READONLY)
                          : Db::Open(ImmutableUri(path), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
  if (!db) return db.error();
  auto wrap = [&](const Status& s) {
    return Status(s.code(), "cannot use key store " + path + ": " + s.message());
  };
  Result<int> version = CheckSchema(*db);
  if (!version) return wrap(version.error());
  if (*version == 0) {
    return DataLoss("key store " + path + " is an empty SQLite database, not a store");
  }
  {
    // Reads every page: a truncated or damaged file is refused before anything is written.
    Result<Stmt> s = db->Prepare("PRAGMA quick_check");
    if (!s) return wrap(s.error());
    Result<bool> row = s->Step();
    if (!row) return wrap(row.error());
    if (!*row || s->Text(0) != "ok") {
      return DataLoss("key store " + path + " is damaged (quick_check: " +
                      (*row ? s->Text(0) : std::string("no result")) + "); restore a backup");
    }
  }
  return CheckMasterKey(*db, master_key);
}

Result<OpenedStore> OpenStoreFile(const std::string& path, const SecretBytes& master_key,
                                  bool create_if_missing) {
  if (master_key.size() != kMasterKeyBytes) {
    return InvalidArgument("the master key must be exactly 32 bytes");
  }
  std::string dir = DirOf(path);
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return PosixError("key store directory " + dir +
                          " is not writable by this user (SQLite creates the -wal and -shm "
                          "files there)",
                      errno);
  }
  Result<StoreLock> lock = StoreLock::Acquire(path);
  if (!lock) return lock.error();
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return PosixError("cannot open key store " + path, errno);
    if (!create_if_missing) return NotFound("key store " + path + " does not exist");
    // A -wal without its store: the file was lost or moved, and SQLite would replay the -wal into
    // a new store of that name. Nothing is created; the operator decides.
    if (::stat((path + "-wal").c_str(), &st) == 0) {
      return DataLoss("key store " + path + " is missing but " + path +
                      "-wal is there: the store was lost or moved; restore it (or move the -wal "
                      "away to start afresh); nothing was created");
    }
    INSTACCESS_RETURN_IF_ERROR(CreateNewStore(path, master_key));
  }
  INSTACCESS_RETURN_IF_ERROR(CheckStoreReadOnly(path, master_key));
  Result<Db> db = Db::Open(path, SQLITE_OPEN_READWRITE);
  if (!db) return db.error();
  INSTACCESS_RETURN_IF_ERROR(SetPragmas(*db));
  INSTACCESS_RETURN_IF_ERROR(Migrate(*db));
  INSTACCESS_RETURN_IF_ERROR(CheckMasterKey(*db, master_key));
  Result<FileId> file = FileIdOf(path);
  if (!file) return file.error();
  return OpenedStore{std::move(*lock), std::move(*db), *file};
}

Result<FileId> FileIdOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFound(path + " does not exist");
    return PosixError("cannot stat " + path, errno);
  }
  return FileId{st.st_dev, st.st_ino};
}

}  // namespace instaccess::keystore
