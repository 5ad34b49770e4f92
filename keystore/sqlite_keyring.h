// SqliteKeyring: the single-host Keyring on an SQLite file (docs/storage.md), private keys sealed
// under the master key. See keyring.h for what every Keyring guarantees and store_file.h for
// how the file is opened without touching it until the master key is known to be right.
//
// Thread-safety: as Keyring. One mutex (mu_) serialises every change and guards the
// connection and the row cache; the published snapshot is an atomic shared_ptr.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "common/secret_bytes.h"
#include "keystore/integrity.h"
#include "keystore/keyring.h"
#include "keystore/log.h"
#include "keystore/schedule.h"
#include "keystore/store_file.h"

namespace instaccess::keystore {

// Makes one key. Runs on a worker thread. Tests substitute pre-generated keys for speed.
using KeyFactory = std::function<Result<jose::RsaKey>(int bits, jose::Alg alg)>;

struct SqliteKeyringOptions {
  // [store] path. The directory must be writable (SQLite's -wal and -shm live beside it) and
  // should be 0700: the file holds sealed keys and the audit log.
  std::string path = "var/keys.db";
  // A new store is created when the file does not exist; false turns that into NotFound (for
  // commands that must not create one by mistake).
  bool create_if_missing = true;
  // [rotation.*] and [tokens] max_lifetime / clock_skew; defaults in docs/config.md.
  SchedulePolicy schedule;
  // [tokens] issuer: what our own keys (generated, imported with their private part) sign for.
  std::string issuer = "instructure:inst_access";
  // Where warnings go (keys refused at load). When set, it also becomes the handler of SQLite's
  // process-wide error log (SetSqliteLogHandler), so it must stay callable for the life of the
  // process, or be replaced with SetSqliteLogHandler({}) first. Empty: dropped.
  LogFn log;
  // Empty: jose::RsaKey::Generate.
  KeyFactory key_factory;
};

class SqliteKeyring final : public Keyring {
 public:
  // Opens (or creates) the store and loads the live keys. Does not generate keys: the daemon
  // calls ApplyDue(now) right after, which makes the first keys of a new store.
  static Result<std::unique_ptr<SqliteKeyring>> Open(const SqliteKeyringOptions& options,
                                                     SecretBytes master_key);

  ~SqliteKeyring() override;

  std::shared_ptr<const KeySet> Snapshot() const override;
  std::optional<UnixTime> NextDueTime(UnixTime now) const override;
  Result<int> ApplyDue(UnixTime now, std::string_view actor) override;
  Result<std::vector<std::string>> Rotate(std::optional<Purpose> purpose, UnixTime now,
                                          std::string_view actor) override;
  Result<KeyInfo> Import(const ImportRequest& request, UnixTime now,
                         std::string_view actor) override;
  Result<KeyInfo> Revoke(const std::string& kid, UnixTime now, std::string_view actor) override;
  Status Backup(const std::string& dest_path, UnixTime now, std::string_view actor) override;
  Result<UnixTime> AcceptClock(UnixTime now, std::string_view actor) override;
  Result<AuditVerification> VerifyAuditChain() override;
  Result<std::vector<AuditEntry>> ReadAuditLog(std::int64_t after_seq, std::int64_t limit) override;
  Health GetHealth() const override;

  // For tests and `instaccessd` diagnostics: runs `PRAGMA integrity_check` ("ok" when sound).
  Result<std::string> IntegrityCheck();

 private:
  struct Fresh;      // a generated or imported key, sealed, ready to insert
  struct Successor;  // the key that takes over when a purpose's active key goes

  SqliteKeyring(const SqliteKeyringOptions& options, SecretBytes master_key, OpenedStore store);

  Status LoadRowsLocked();
  // Stores from before schema 3 (and new stores): MAC every row, re-chain the audit trail under
  // its key and seal the store, in one transaction, audited.
  Status UpgradeIntegrityLocked();
  // Audits (once) what CheckIntegrity found at load, and seals the store without the refused
  // rows, so they are never vouched for.
  Status RecordIntegrityFindingsLocked(const IntegrityReport& report);
  // The store's seal, written at the end of every write transaction.
  Status SealLocked();
  // Revokes a refused row that holds the active place of a purpose `changes` activates a key of.
  Status RevokeTamperedActiveLocked(const RowChanges& changes, UnixTime at, std::string_view actor);
  // Hex of the newest audit row's hash; empty when there is none or it cannot be read.
  std::string AuditHeadHexLocked();
  // Makes a key on a worker thread and waits for it (see keyring.h), then seals it.
  Result<Fresh> GenerateLocked(Purpose purpose, UnixTime at);
  // The oldest pending key of `purpose` that loaded, or, when there is none, a generated one.
  // Rotate and Revoke (of an active key) activate it.
  Result<Successor> SuccessorLocked(Purpose purpose, UnixTime at);
  Result<Fresh> SealFreshLocked(jose::RsaKey key, Purpose purpose, KeyOrigin origin);
  // Unavailable when the store's path no longer names the file the connection has open (deleted,
  // or replaced by another): a change written then would be lost with the daemon.
  Status CheckStoreFileLocked() const;
  Status CommitLocked(const RowChanges& changes, const std::optional<Fresh>& fresh, UnixTime at,
                      std::string_view actor, std::string_view why);
  Result<jose::RsaKey> LoadKeyLocked(const KeyInfo& info, bool with_private);
  // AlreadyExists when a row of any state holds the same RSA modulus as `key`.
  Status CheckNewModulusLocked(const jose::RsaKey& key);
  // The rules of ImportRequest (kid, size, issuers, lifetime) for `key`; the key as it is stored.
  Result<jose::RsaKey> CheckImportLocked(const ImportRequest& request, jose::RsaKey key);
  void PublishLocked();
  void RevokeUnusablePendingLocked(UnixTime at, std::string_view actor);
  UnixTime StampLocked(UnixTime now);

  const SqliteKeyringOptions options_;
  const SecretBytes master_key_;
  const IntegrityKeys integrity_;

  mutable std::mutex mu_;
  OpenedStore store_;          // Guarded by mu_.
  std::vector<KeyInfo> rows_;  // Guarded by mu_. Mirrors the keys table.
  // Parsed keys by kid; `private` entries hold private parts. Guarded by mu_.
  std::map<std::string, jose::RsaKey> public_cache_;
  std::map<std::string, jose::RsaKey> private_cache_;
  // Keys that failed to load, kid -> why; a later load that passes clears the entry. Guarded by
  // mu_.
  std::map<std::string, std::string> refused_;
  // Of those, the ones whose sealed private part is missing or does not authenticate: nothing can
  // ever unseal it (a backup may hold the intact row). Guarded by mu_.
  std::set<std::string> sealed_unusable_;
  // Rows whose MAC or place in the seal failed at load, kid -> why: never used, never sealed
  // again. Guarded by mu_.
  std::map<std::string, std::string> tampered_;
  // Store-level findings of the load (seal, deleted rows, audit trail). Guarded by mu_.
  std::vector<std::string> store_problems_;
  // Whether a refused row was an active key, or the seal could not vouch for the rows: health
  // fails. Guarded by mu_.
  bool integrity_alarm_ = false;
  // Set once a seal was found broken; carried in every later seal. Guarded by mu_.
  std::optional<UnixTime> replay_protection_lost_at_;
  UnixTime high_water_ = 0;      // Guarded by mu_. Latest time stamped on any change.
  std::int64_t generation_ = 0;  // Guarded by mu_.
  // The `now` of the previous ApplyDue pass in this process (unset until the first), and since
  // when transitions are held because a pass came more than max_lifetime after it (keyring.h).
  // Guarded by mu_.
  std::optional<UnixTime> last_pass_;
  std::optional<UnixTime> clock_held_since_;
  std::string clock_hold_problem_;  // the line in problems while held. Guarded by mu_.

  std::atomic<std::shared_ptr<const KeySet>> snapshot_;
};

}  // namespace instaccess::keystore
