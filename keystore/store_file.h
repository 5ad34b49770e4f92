// Opening a store file safely, shared by the keyring and the offline tools (rekey, restore).
//
// The order is what keeps a wrong master key, a damaged file or a second daemon from changing
// anything:
//   1. the directory must be writable (SQLite needs to create -wal and -shm next to the file);
//   2. an exclusive lock on "<path>.lock" (flock), so a second instaccessd fails at once with a
//      message saying so, instead of waiting or corrupting;
//   3. a missing file is created complete under a temporary name and renamed into place, so an
//      existing store file is always a whole store;
//   4. the existing file is opened READ-ONLY and checked: SQLite header, application_id, schema
//      version not newer than ours, PRAGMA quick_check, and the master key check value. A
//      read-only connection never checkpoints or removes the WAL, so on any failure the file
//      and its -wal are byte-for-byte as they were;
//   5. only then is it opened read-write (WAL, synchronous=FULL, foreign_keys=ON, exclusive
//      locking) and migrated.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>

#include "common/secret_bytes.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "keystore/sqlite.h"

namespace instaccess::keystore {

// flock(LOCK_EX | LOCK_NB) on a lock file, held for the object's lifetime (closing the
// descriptor releases it). Move-only.
class StoreLock {
 public:
  static Result<StoreLock> Acquire(const std::string& store_path);

 private:
  explicit StoreLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// Which file a path names (device and inode), to tell later whether it still names the same one.
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId&) const = default;
};

// The file `path` names now; NotFound when there is none.
Result<FileId> FileIdOf(const std::string& path);

struct OpenedStore {
  StoreLock lock;  // declared first: released after the connection closes
  Db db;
  FileId file;  // the file the connection opened (path checked once the connection was made)
};

// Steps 1-5 above. `create_if_missing` false turns a missing file into NotFound.
Result<OpenedStore> OpenStoreFile(const std::string& path, const SecretBytes& master_key,
                                  bool create_if_missing);

// Step 4 alone, on any existing file (a backup before restore, say). Writes nothing.
Status CheckStoreReadOnly(const std::string& path, const SecretBytes& master_key);

// Reads meta.master_key_check and compares; PermissionDenied naming the master key on mismatch.
Status CheckMasterKey(Db& db, const SecretBytes& master_key);

// fsync of a file and of its directory entry.
Status SyncFileAndDir(const std::string& path);

// Copies every page in the -wal into the store and empties the -wal (a TRUNCATE checkpoint).
// After a change that removed key material: until then the -wal, and the store's own copy of the
// page, still hold the bytes as they were.
Status FoldWal(Db& db);

}  // namespace instaccess::keystore
