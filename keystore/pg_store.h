// PgStore: the Store (store.h) in a PostgreSQL database shared by a fleet of hosts
// (docs/storage.md, "A fleet on PostgreSQL"). Same rows, same kinds, same MACs as SQLite.
//
// How hosts share it without a leader:
//   - Every write transaction takes pg_advisory_xact_lock(kWriterLock) first. The lock belongs to
//     the transaction, not the session: it ends with COMMIT or ROLLBACK, and a connection that
//     dies (silently or not) ends its transaction on the server, so the lock can never outlive
//     the work it protects, and a host cut off cannot commit afterwards.
//   - The `fence` row holds a change counter. Begin reads it under the lock (ChangeCounter);
//     Commit raises it by one only if it still holds the value read, so a commit by a host that
//     lost its turn fails whatever happened in between. The keyring compares the counter with
//     the one it loaded at and re-reads the rows when another host changed them.
//   - Commit sends NOTIFY on kNotifyChannel: a hint for the other hosts to re-read soon.
// Session state is used for nothing but LISTEN (a hint), yet a transaction-mode pooler between
// us and the server is refused: the backend serving us must stay the same between transactions,
// else what we see is not one session and the messages would mislead.
//
// Thread-safety: as Store; one thread at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "common/secret_bytes.h"
#include "keystore/store.h"

namespace instaccess::keystore {

// The advisory lock key of write transactions: "IAKS" (as the SQLite application_id).
inline constexpr std::int64_t kWriterLock = 0x49414B53;
// NOTIFY channel of committed changes; the payload is the new change counter.
inline constexpr const char* kNotifyChannel = "instaccess_keyring";
// The PostgreSQL schema's version (pg_store.cc, kPgSteps).
inline constexpr int kPgSchemaVersion = 1;

struct PgStoreOptions {
  // A libpq URI or key=value string; a password in it is refused (secrets stay out of config
  // files and process listings): give `password` instead.
  std::string url;
  // Empty: none (peer or certificate authentication, a ~/.pgpass).
  std::string password;
  // A new (empty) database gets the schema and this master key's check value; false turns a
  // database without our schema into NotFound.
  bool create_if_missing = true;
  // How long a write waits for another host's transaction (ms). A key generation (RSA-4096) can
  // take seconds; longer than this means a stuck host, and the change is tried again later.
  int lock_timeout_ms = 30000;
  // Bounds the connection attempt (seconds), so a host starting while the database is away
  // reports it instead of hanging.
  int connect_timeout_s = 10;
};

// The URL without its password and query values, for messages and logs.
std::string RedactedUrl(const std::string& url);

class PgStore final : public Store {
 public:
  // Connects, refuses a pooler, brings the schema up to date (under the writer lock, so hosts
  // starting together migrate once), creates a new store's meta and seal, and checks the master
  // key (PermissionDenied when it does not match; nothing is written then).
  static Result<std::unique_ptr<PgStore>> Open(const PgStoreOptions& options,
                                               const SecretBytes& master_key);
  ~PgStore() override;
  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

  Status Begin() override;
  Status Commit() override;
  void Rollback() override;
  Result<std::int64_t> ChangeCounter() override;
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
  void ForgetRemovedBytes() override {}  // the server's own vacuum reclaims dead row versions
  Status CopyTo(const std::string& dest_path) override;
  std::string Describe() const override { return RedactedUrl(options_.url); }

 private:
  struct Session;  // the connection and its open transaction (pg_store.cc)

  explicit PgStore(const PgStoreOptions& options);

  Status Connect();
  // Runs `fn` in the open transaction, or alone in its own when none is open. Connection
  // failures become Unavailable and drop the connection; the next call reconnects.
  template <typename Fn>
  Status Run(const char* what, Fn&& fn);

  const PgStoreOptions options_;
  std::unique_ptr<Session> session_;
  std::optional<std::int64_t> fence_;  // the counter read by Begin
  int backend_pid_ = 0;                // of the session, to see a pooler swap it
};

// Listens on a connection of its own for other hosts' commits (NOTIFY on kNotifyChannel) and
// calls `on_change` from its thread for each: a hint, on which the caller re-reads the keyring.
// A lost connection is made again, pausing up to 30 s between tries; hints sent meanwhile are
// lost, which the caller's periodic re-read makes up for.
// Thread-safety: constructed and destroyed by the owner; on_change runs on the listener's
// thread. The destructor returns within about a second.
class PgListener {
 public:
  PgListener(PgStoreOptions options, std::function<void()> on_change);
  ~PgListener();
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

 private:
  void Run();

  const PgStoreOptions options_;
  const std::function<void()> on_change_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace instaccess::keystore
