// StoreKeyring: the Keyring (keyring.h) over a Store (store.h): states, schedule, rotation,
// import and revocation, private keys sealed under the master key, every row MACed and the store
// sealed (integrity.h). The store is the engine; this is everything else, written once for
// every engine. SqliteKeyring (sqlite_keyring.h) opens one on an SQLite file.
//
// Thread-safety: as Keyring. One mutex (mu_) serialises every change and guards the store and
// the row cache; the published snapshot is an atomic shared_ptr.
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
#include "keystore/store.h"

namespace instaccess::keystore {

// Makes one key. Runs on a worker thread. Tests substitute pre-generated keys for speed.
using KeyFactory = std::function<Result<jose::RsaKey>(int bits, jose::Alg alg)>;

// What the keyring needs besides its store, whatever the engine.
struct KeyringOptions {
  // [rotation.*] and [tokens] max_lifetime / clock_skew; defaults in docs/config.md.
  SchedulePolicy schedule;
  // [tokens] issuer: what our own keys (generated, imported with their private part) sign for.
  std::string issuer = "instructure:inst_access";
  // Where warnings go (keys refused at load). Empty: dropped.
  LogFn log;
  // Empty: jose::RsaKey::Generate.
  KeyFactory key_factory;
};

class StoreKeyring : public Keyring {
 public:
  // Loads the live keys of `store`, which is open and has been checked against `master_key`
  // (its master key check value). Does not generate keys: the daemon calls ApplyDue(now) right
  // after, which makes the first keys of a new store.
  static Result<std::unique_ptr<StoreKeyring>> Open(const KeyringOptions& options,
                                                    SecretBytes master_key,
                                                    std::unique_ptr<Store> store);

  ~StoreKeyring() override;

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

  // Re-reads the rows when another host changed the store (its change counter moved since this
  // keyring read it) and publishes them. Cheap when nothing changed: one read of the counter.
  // A store of one host (SQLite) never changes behind the keyring; a shared one is refreshed
  // on a hint (NOTIFY), on reconnect and every store.poll.
  Status Refresh();

 protected:
  StoreKeyring(const KeyringOptions& options, SecretBytes master_key, std::unique_ptr<Store> store);
  // The rules every option set must pass (schedule, algorithms of each purpose).
  static Status ValidateOptions(const KeyringOptions& options);
  // Upgrades the store's integrity if due, loads the rows and publishes the first snapshot.
  Status Load();
  // Holds the keyring's mutex: the store may then be used directly (diagnostics).
  std::unique_lock<std::mutex> LockStore() const { return std::unique_lock(mu_); }
  Store& store() { return *store_; }

 private:
  struct Fresh;      // a generated or imported key, sealed, ready to insert
  struct Successor;  // the key that takes over when a purpose's active key goes

  // Reads every row and checks the store's integrity; the rows that pass become rows_.
  Result<IntegrityReport> LoadRowsLocked();
  // LoadRowsLocked under the writer lock, the findings recorded, the result published.
  Status ReloadLocked();
  // Opens a write transaction (the writer lock, on a shared store) and, when another host
  // changed the store since the keyring read it, re-reads the rows inside it: every decision
  // of the change that follows is taken on the rows as they are under the lock.
  // First checks the store is still in place (Store::CheckInPlace): a change written to a store
  // file deleted under us would be lost with the process.
  Result<StoreTxn> BeginChangeLocked();
  // BeginChangeLocked without the place check: for Backup's audit row, since a backup is how an
  // operator rescues the keys of a store file deleted or replaced under the daemon.
  Result<StoreTxn> BeginLocked();
  // Notes whether the store answered (`s` not Unavailable) and republishes when that changed.
  void NoteStoreLocked(const Status& s);
  // Commits a transaction of BeginChangeLocked and notes the counter it raised.
  Status CommitTxnLocked(StoreTxn& txn);
  // Stores from before schema 3 (and new stores): MAC every row, re-chain the audit trail under
  // its key and seal the store, in one transaction, audited.
  Status UpgradeIntegrityLocked();
  // Audits (once) what CheckIntegrity found at load, and seals the store without the refused
  // rows, so they are never vouched for, in the open transaction. Returns whether it wrote.
  Result<bool> RecordIntegrityFindingsLocked(const IntegrityReport& report);
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
  // Writes `changes` (with their audit rows, the high-water mark and the seal) in `txn`, from
  // BeginChangeLocked, and commits.
  Status CommitLocked(StoreTxn txn, const RowChanges& changes, const std::optional<Fresh>& fresh,
                      UnixTime at, std::string_view actor, std::string_view why);
  Result<jose::RsaKey> LoadKeyLocked(const KeyInfo& info, bool with_private);
  // AlreadyExists when a row of any state holds the same RSA modulus as `key`.
  Status CheckNewModulusLocked(const jose::RsaKey& key);
  // The rules of ImportRequest (kid, size, issuers, lifetime) for `key`; the key as it is stored.
  Result<jose::RsaKey> CheckImportLocked(const ImportRequest& request, jose::RsaKey key);
  void PublishLocked();
  void RevokeUnusablePendingLocked(UnixTime at, std::string_view actor);
  UnixTime StampLocked(UnixTime now);

  const KeyringOptions options_;
  const SecretBytes master_key_;
  const IntegrityKeys integrity_;

  mutable std::mutex mu_;
  std::unique_ptr<Store> store_;  // Guarded by mu_.
  std::vector<KeyInfo> rows_;     // Guarded by mu_. Mirrors the keys table.
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
  // The store's change counter the rows were read at (Store::ChangeCounter). Guarded by mu_.
  std::int64_t loaded_counter_ = 0;
  // The `now` of the previous ApplyDue pass in this process (unset until the first), and since
  // when transitions are held because a pass came more than max_lifetime after it (keyring.h).
  // Guarded by mu_.
  std::optional<UnixTime> last_pass_;
  std::optional<UnixTime> clock_held_since_;
  std::string clock_hold_problem_;  // the line in problems while held. Guarded by mu_.
  // Why the store cannot be reached (Unavailable from it); empty while it can. Guarded by mu_.
  std::string store_unreachable_;

  std::atomic<std::shared_ptr<const KeySet>> snapshot_;
};

}  // namespace instaccess::keystore
