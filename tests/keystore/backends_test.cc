// The keyring's behaviour on each store it runs on: SQLite (one host) and PostgreSQL (a fleet),
// the same cases against both; then what only a shared store has: several keyrings (hosts) on
// one database making each change exactly once, and losing the database. PostgreSQL is a real
// throwaway cluster started by the test (tests/support/pg_cluster.h); the test fails, never
// skips, when it cannot start one.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>
#include <map>
#include <thread>

#include "keystore/pg_keyring.h"
#include "keystore/sqlite_keyring.h"
#include "keystore/store_copy.h"
#include "keystore/store_file.h"
#include "tests/keystore/test_util.h"
#include "tests/support/pg_cluster.h"

namespace instaccess::keystore {
namespace {

using instaccess::testing::PgCluster;
using testing::CountState;
using testing::FixedMasterKey;
using testing::PoolFactory;
using testing::TempDir;

constexpr UnixTime kT0 = 1'700'000'000;
constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 24 * kHour;

// Why a result failed ("" when it did not): BOOST_REQUIRE_MESSAGE builds its message even when
// the check passes.
template <typename T>
std::string Why(const Result<T>& r) {
  return r.has_value() ? std::string() : r.error().ToString();
}

KeyringOptions Options(const PoolFactory& pool) {
  KeyringOptions o;
  o.key_factory = pool.factory();
  return o;
}

// One SQLite file in a temp dir.
struct SqliteBackend {
  TempDir dir;
  std::string path = dir / "keys.db";

  Result<std::unique_ptr<StoreKeyring>> Open(const KeyringOptions& o, SecretBytes key) {
    SqliteKeyringOptions so;
    static_cast<KeyringOptions&>(so) = o;
    so.path = path;
    Result<std::unique_ptr<SqliteKeyring>> r = SqliteKeyring::Open(so, std::move(key));
    if (!r) return r.error();
    return std::unique_ptr<StoreKeyring>(std::move(*r));
  }
  // Runs SQL on the store behind the keyring's back (every keyring closed: SQLite's lock).
  void Tamper(const std::string& sql) {
    Result<Db> db = Db::Open(path, SQLITE_OPEN_READWRITE);
    BOOST_REQUIRE(db.has_value());
    BOOST_REQUIRE(db->Exec(sql.c_str()).ok());
  }
};

// One database of the binary's shared cluster.
struct PgBackend {
  std::string name = PgCluster::Shared().NewDatabase();

  PgStoreOptions StoreOptions() const {
    PgStoreOptions o;
    o.url = PgCluster::Shared().Url(name);
    o.lock_timeout_ms = 60000;
    o.connect_timeout_s = 2;
    return o;
  }
  Result<std::unique_ptr<StoreKeyring>> Open(const KeyringOptions& o, SecretBytes key) {
    PgKeyringOptions po;
    static_cast<KeyringOptions&>(po) = o;
    po.store = StoreOptions();
    return OpenPgKeyring(po, std::move(key));
  }
  void Tamper(const std::string& sql) { PgCluster::Shared().Psql(name, sql); }
};

using Backends = boost::mpl::list<SqliteBackend, PgBackend>;

// A keyring on a new store of backend B, generating from pool keys 10 and on.
template <typename B>
struct Ring {
  B backend;
  PoolFactory pool{10};
  std::unique_ptr<StoreKeyring> ring;

  Ring() { Reopen(); }
  void Reopen(std::uint8_t key = 1) {
    ring.reset();
    Result<std::unique_ptr<StoreKeyring>> r = backend.Open(Options(pool), FixedMasterKey(key));
    BOOST_REQUIRE_MESSAGE(r.has_value(), Why(r));
    ring = std::move(*r);
  }
  std::shared_ptr<const KeySet> Snap() const { return ring->Snapshot(); }
};

// Runs the scheduler from `from` to `to` in steps a running scheduler takes (no clock jump).
void Walk(StoreKeyring& ring, UnixTime from, UnixTime to) {
  for (UnixTime t = from; t <= to; t += kHour / 2) {
    Result<int> n = ring.ApplyDue(t, "scheduler");
    BOOST_REQUIRE_MESSAGE(n.has_value(), Why(n));
  }
}

// Audit rows of `action`.
int CountAudit(StoreKeyring& ring, std::string_view action) {
  Result<std::vector<AuditEntry>> rows = ring.ReadAuditLog(0, 100000);
  BOOST_REQUIRE(rows.has_value());
  int n = 0;
  for (const AuditEntry& e : *rows) n += e.action == action ? 1 : 0;
  return n;
}

BOOST_AUTO_TEST_SUITE(keystore_backends)

BOOST_AUTO_TEST_CASE_TEMPLATE(first_keys_survive_reopen, B, Backends) {
  Ring<B> f;
  BOOST_TEST(!f.ring->GetHealth().ok());
  Result<int> n = f.ring->ApplyDue(kT0, "scheduler");
  BOOST_REQUIRE_MESSAGE(n.has_value(), Why(n));
  BOOST_TEST(*n == 2);
  BOOST_TEST(f.ring->GetHealth().ok());
  const std::string sig = f.Snap()->active_sig->kid();
  const std::string enc = f.Snap()->active_enc->kid();
  f.Reopen();
  BOOST_REQUIRE(f.Snap()->active_sig.has_value());
  BOOST_TEST(f.Snap()->active_sig->kid() == sig);
  BOOST_TEST(f.Snap()->active_enc->kid() == enc);
  BOOST_TEST(f.Snap()->active_sig->has_private());
  BOOST_TEST(f.Snap()->problems.empty());
  BOOST_TEST(*f.ring->ApplyDue(kT0 + 1, "scheduler") == 0);
  BOOST_TEST(f.ring->VerifyAuditChain()->ok());
  BOOST_TEST(f.ring->VerifyAuditChain()->entries == 2);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(schedule_rotates_over_many_periods, B, Backends) {
  Ring<B> f;
  BOOST_REQUIRE(f.ring->ApplyDue(kT0, "scheduler").has_value());
  std::string last_sig = f.Snap()->active_sig->kid();
  int rotations = 0;
  for (UnixTime t = kT0; t <= kT0 + 5 * kDay; t += kHour) {
    Result<int> n = f.ring->ApplyDue(t, "scheduler");
    BOOST_REQUIRE_MESSAGE(n.has_value(), Why(n));
    auto ks = f.Snap();
    BOOST_REQUIRE((CountState(*ks, Purpose::kSig, KeyState::kActive) == 1));
    BOOST_REQUIRE((CountState(*ks, Purpose::kEnc, KeyState::kActive) == 1));
    if (ks->active_sig->kid() != last_sig) {
      ++rotations;
      last_sig = ks->active_sig->kid();
    }
  }
  BOOST_TEST(rotations == 5);
  BOOST_TEST(f.ring->VerifyAuditChain()->ok());
  f.Reopen();
  BOOST_TEST(f.Snap()->problems.empty());
  BOOST_TEST(f.Snap()->active_sig->kid() == last_sig);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(rotate_import_and_revoke, B, Backends) {
  Ring<B> f;
  BOOST_REQUIRE(f.ring->ApplyDue(kT0, "scheduler").has_value());
  const std::string first = f.Snap()->active_sig->kid();
  Result<std::vector<std::string>> rotated = f.ring->Rotate(Purpose::kSig, kT0 + 10, "admin");
  BOOST_REQUIRE(rotated.has_value());
  BOOST_TEST(f.Snap()->active_sig->kid() == rotated->front());
  BOOST_TEST(rotated->front() != first);
  BOOST_TEST((f.Snap()->FindInfo(first)->state == KeyState::kRetired));

  ImportRequest req;
  req.purpose = Purpose::kSig;
  req.jwk = testing::KeyPool::Get().Key(1, jose::Alg::kRS256).PublicJwk();
  req.issuers = std::vector<std::string>{"https://peer.example"};
  Result<KeyInfo> imported = f.ring->Import(req, kT0 + 20, "admin");
  BOOST_REQUIRE_MESSAGE(imported.has_value(), Why(imported));
  BOOST_TEST((imported->origin == KeyOrigin::kPeer));
  // The same modulus again, under another kid: one modulus is one key.
  req.kid = "another-name";
  BOOST_TEST((f.ring->Import(req, kT0 + 21, "admin").error().code() == Code::kAlreadyExists));

  Result<KeyInfo> revoked = f.ring->Revoke(rotated->front(), kT0 + 30, "admin");
  BOOST_REQUIRE(revoked.has_value());
  BOOST_TEST((revoked->state == KeyState::kRevoked));
  BOOST_REQUIRE(f.Snap()->active_sig.has_value());
  BOOST_TEST(f.Snap()->active_sig->kid() != rotated->front());
  f.Reopen();
  BOOST_TEST((f.Snap()->FindInfo(rotated->front())->state == KeyState::kRevoked));
  BOOST_TEST((f.Snap()->FindInfo(imported->kid)->issuers ==
              std::vector<std::string>{"https://peer.example"}));
  BOOST_TEST(f.Snap()->problems.empty());
  BOOST_TEST(f.ring->VerifyAuditChain()->ok());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(tampered_row_is_refused, B, Backends) {
  Ring<B> f;
  Walk(*f.ring, kT0, kT0 + kDay - kHour);  // a pending sig key is published
  std::string pending;
  for (const KeyInfo& k : f.Snap()->keys) {
    if (k.purpose == Purpose::kSig && k.state == KeyState::kPending) pending = k.kid;
  }
  BOOST_REQUIRE(!pending.empty());
  f.ring.reset();
  // Someone with the database but not the master key moves the pending key's activation.
  f.backend.Tamper("UPDATE keys SET activate_at = activate_at + 1 WHERE kid = '" + pending + "'");
  f.Reopen();
  auto ks = f.Snap();
  BOOST_TEST(ks->tampered_rows == 1u);
  BOOST_TEST(ks->FindInfo(pending) == nullptr);
  bool named = false;
  for (const std::string& p : ks->problems) named = named || p.find(pending) != std::string::npos;
  BOOST_TEST(named);
  BOOST_TEST(f.ring->GetHealth().active_sig);
  BOOST_TEST(CountAudit(*f.ring, "integrity") == 1);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(wrong_master_key_is_refused_untouched, B, Backends) {
  Ring<B> f;
  BOOST_REQUIRE(f.ring->ApplyDue(kT0, "scheduler").has_value());
  f.ring.reset();
  Result<std::unique_ptr<StoreKeyring>> wrong = f.backend.Open(Options(f.pool), FixedMasterKey(2));
  BOOST_REQUIRE(!wrong.has_value());
  BOOST_TEST((wrong.error().code() == Code::kPermissionDenied));
  f.Reopen();
  BOOST_TEST(f.ring->GetHealth().ok());
}

// --- A shared store: several keyrings (hosts) on one database. ---

struct Fleet {
  PgBackend backend;
  PoolFactory pool{10};
  std::vector<std::unique_ptr<StoreKeyring>> hosts;

  explicit Fleet(int n) {
    for (int i = 0; i < n; ++i) {
      Result<std::unique_ptr<StoreKeyring>> r = backend.Open(Options(pool), FixedMasterKey(1));
      BOOST_REQUIRE_MESSAGE(r.has_value(), Why(r));
      hosts.push_back(std::move(*r));
    }
  }
};

BOOST_AUTO_TEST_CASE(hosts_apply_each_transition_once) {
  Fleet fleet(3);
  int applied = 0;
  // Every host runs its scheduler at the same instants, concurrently.
  for (UnixTime t = kT0; t <= kT0 + 3 * kDay; t += kHour / 2) {
    std::atomic<int> sum{0};
    std::atomic<bool> failed{false};
    std::vector<std::thread> threads;
    for (auto& host : fleet.hosts) {
      threads.emplace_back([&, t] {
        Result<int> n = host->ApplyDue(t, "scheduler");
        if (!n) {
          failed = true;
        } else {
          sum += *n;
        }
      });
    }
    for (std::thread& th : threads) th.join();
    BOOST_REQUIRE(!failed);
    applied += sum;
  }
  for (auto& host : fleet.hosts) BOOST_REQUIRE(host->Refresh().ok());
  // Every host sees the same keys, and the trail has each transition once.
  auto ks = fleet.hosts[0]->Snapshot();
  for (auto& host : fleet.hosts) {
    BOOST_TEST(host->Snapshot()->jwks_text == ks->jwks_text);
    BOOST_TEST(host->Snapshot()->active_sig->kid() == ks->active_sig->kid());
  }
  // Each key that became active did so once: the first keys were made active (audited as
  // "generate"), every later one was promoted (one "activate" row each). Signing keys rotate
  // daily: three promotions in three days.
  int promoted = 0, sig_promoted = 0;
  for (const KeyInfo& k : ks->keys) {
    if (!k.activate_at.has_value() || *k.activate_at == kT0) continue;
    ++promoted;
    sig_promoted += k.purpose == Purpose::kSig ? 1 : 0;
  }
  BOOST_TEST(sig_promoted == 3);
  BOOST_TEST(CountAudit(*fleet.hosts[0], "activate") == promoted);
  BOOST_TEST(CountAudit(*fleet.hosts[0], "generate") ==
             static_cast<int>(ks->keys.size()));  // no key made twice
  int audited_changes = 0;
  const auto audit = fleet.hosts[0]->ReadAuditLog(0, 100000);
  BOOST_REQUIRE(audit.has_value());
  for (const AuditEntry& e : *audit) {
    audited_changes += e.action != "integrity" ? 1 : 0;
  }
  BOOST_TEST(audited_changes >= applied);
  BOOST_TEST(fleet.hosts[1]->VerifyAuditChain()->ok());
}

BOOST_AUTO_TEST_CASE(a_token_key_from_any_host_is_every_hosts) {
  Fleet fleet(2);
  BOOST_REQUIRE(fleet.hosts[0]->ApplyDue(kT0, "scheduler").has_value());
  BOOST_TEST(*fleet.hosts[1]->ApplyDue(kT0, "scheduler") == 0);  // already done, by host 0
  auto a = fleet.hosts[0]->Snapshot();
  auto b = fleet.hosts[1]->Snapshot();
  BOOST_REQUIRE(b->active_enc.has_value());
  BOOST_TEST(a->active_enc->kid() == b->active_enc->kid());
  BOOST_TEST(b->active_enc->has_private());  // host 1 unsealed what host 0 made
  BOOST_TEST(a->active_sig->SamePublicKey(*b->active_sig));
}

BOOST_AUTO_TEST_CASE(concurrent_admin_commands_keep_one_active_key) {
  Fleet fleet(3);
  BOOST_REQUIRE(fleet.hosts[0]->ApplyDue(kT0, "scheduler").has_value());
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < fleet.hosts.size(); ++i) {
    threads.emplace_back([&, i] {
      StoreKeyring& host = *fleet.hosts[i];
      for (int round = 0; round < 4; ++round) {
        const UnixTime at = kT0 + 100 + round;
        if ((static_cast<std::size_t>(round) + i) % 2 == 0) {
          if (!host.Rotate(std::nullopt, at, "admin").has_value()) failed = true;
        } else {
          // Revoke whatever this host believes is active; another host may have replaced it.
          (void)host.Refresh();
          const std::string kid = host.Snapshot()->active_sig->kid();
          Result<KeyInfo> r = host.Revoke(kid, at, "admin");
          if (!r && r.error().code() != Code::kFailedPrecondition) failed = true;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  BOOST_TEST(!failed);
  for (auto& host : fleet.hosts) {
    BOOST_REQUIRE(host->Refresh().ok());
    auto ks = host->Snapshot();
    BOOST_TEST((CountState(*ks, Purpose::kSig, KeyState::kActive) == 1));
    BOOST_TEST((CountState(*ks, Purpose::kEnc, KeyState::kActive) == 1));
    BOOST_TEST(ks->problems.empty());
  }
  BOOST_TEST(fleet.hosts[2]->VerifyAuditChain()->ok());
  // The database itself never held two active keys of a purpose: its unique index refuses it.
  BOOST_TEST(PgCluster::Shared().Psql(fleet.backend.name,
                                      "SELECT count(*) FROM keys WHERE state = 'active'") == "2\n");
}

// A host killed (SIGKILL) while it changes the keyring, again and again: the server ends its
// transaction and its lock with its connection, the store holds the old or the new state, and
// the other hosts keep rotating.
BOOST_AUTO_TEST_CASE(a_host_killed_mid_change_leaves_the_fleet_consistent) {
  constexpr int kKills = 4;
  testing::KeyPool::Get().Warm(30 + 10 * kKills);  // children only unseal, never generate long
  Fleet fleet(1);
  StoreKeyring& survivor = *fleet.hosts[0];
  BOOST_REQUIRE(survivor.ApplyDue(kT0, "scheduler").has_value());
  for (int kill = 0; kill < kKills; ++kill) {
    const pid_t child = ::fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
      // The doomed host: rotates as fast as it can until killed.
      PoolFactory pool(30 + static_cast<std::size_t>(10 * kill));
      auto ring = fleet.backend.Open(Options(pool), FixedMasterKey(1));
      if (!ring) _exit(2);
      for (UnixTime t = kT0 + 1000 * (kill + 1);; ++t)
        (void)(*ring)->Rotate(std::nullopt, t, "doomed");
    }
    // Let it get into its changes: wait until it has committed at least one.
    const std::int64_t before = static_cast<std::int64_t>(survivor.ReadAuditLog(0, 100000)->size());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (static_cast<std::int64_t>(survivor.ReadAuditLog(0, 100000)->size()) <= before &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(7 * kill));  // a different moment each time
    BOOST_REQUIRE(::kill(child, SIGKILL) == 0);
    int status = 0;
    BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
    BOOST_TEST((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
    // The survivor goes on: its change waits for the dead host's lock only until the server
    // has ended that session.
    Result<std::vector<std::string>> rotated =
        survivor.Rotate(std::nullopt, kT0 + 1000 * (kill + 1) + 900, "survivor");
    BOOST_REQUIRE_MESSAGE(rotated.has_value(), Why(rotated));
    auto ks = survivor.Snapshot();
    BOOST_TEST((CountState(*ks, Purpose::kSig, KeyState::kActive) == 1));
    BOOST_TEST((CountState(*ks, Purpose::kEnc, KeyState::kActive) == 1));
    BOOST_TEST(ks->problems.empty());
    BOOST_TEST(ks->active_sig->kid() == rotated->front());
  }
  BOOST_TEST(survivor.VerifyAuditChain()->ok());
  // A fresh host agrees: every row authenticates, the seal holds.
  PoolFactory pool{90};
  auto fresh = fleet.backend.Open(Options(pool), FixedMasterKey(1));
  BOOST_REQUIRE(fresh.has_value());
  BOOST_TEST((*fresh)->Snapshot()->problems.empty());
  BOOST_TEST((*fresh)->Snapshot()->jwks_text == survivor.Snapshot()->jwks_text);
}

BOOST_AUTO_TEST_CASE(a_change_reaches_other_hosts_on_refresh) {
  Fleet fleet(2);
  BOOST_REQUIRE(fleet.hosts[0]->ApplyDue(kT0, "scheduler").has_value());
  BOOST_REQUIRE(fleet.hosts[1]->Refresh().ok());
  const std::int64_t generation = fleet.hosts[1]->Snapshot()->generation;
  BOOST_REQUIRE(fleet.hosts[1]->Refresh().ok());
  BOOST_TEST(fleet.hosts[1]->Snapshot()->generation == generation);  // nothing changed: no work
  Result<std::vector<std::string>> rotated =
      fleet.hosts[0]->Rotate(Purpose::kEnc, kT0 + 5, "admin");
  BOOST_REQUIRE(rotated.has_value());
  BOOST_REQUIRE(fleet.hosts[1]->Refresh().ok());
  BOOST_TEST(fleet.hosts[1]->Snapshot()->active_enc->kid() == rotated->front());
}

BOOST_AUTO_TEST_CASE(password_in_url_is_refused) {
  PgBackend backend;
  PgKeyringOptions o;
  o.store = backend.StoreOptions();
  o.store.url = "postgresql://instaccess:secret@localhost/x";
  Result<std::unique_ptr<StoreKeyring>> r = OpenPgKeyring(o, FixedMasterKey(1));
  BOOST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error().code() == Code::kInvalidArgument));
  BOOST_TEST(r.error().message().find("secret") == std::string::npos);
  BOOST_TEST(r.error().message().find("pg-password") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(foreign_tables_are_not_touched) {
  PgBackend backend;
  backend.Tamper("CREATE TABLE keys (id integer)");
  PoolFactory pool{10};
  Result<std::unique_ptr<StoreKeyring>> r = backend.Open(Options(pool), FixedMasterKey(1));
  BOOST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error().code() == Code::kFailedPrecondition));
}

// Every key row, its state and times, and every audit row of a keyring.
struct Contents {
  std::vector<KeyInfo> keys;
  std::vector<AuditEntry> audit;
};
Contents ContentsOf(StoreKeyring& ring) {
  Result<std::vector<AuditEntry>> audit = ring.ReadAuditLog(0, 100000);
  BOOST_REQUIRE(audit.has_value());
  std::vector<KeyInfo> keys = ring.Snapshot()->keys;
  // By kid: a live keyring lists keys made in one second in the order it made them, a loaded
  // one by kid.
  std::sort(keys.begin(), keys.end(),
            [](const KeyInfo& a, const KeyInfo& b) { return a.kid < b.kid; });
  return {std::move(keys), *audit};
}
bool SameAudit(const std::vector<AuditEntry>& a, const std::vector<AuditEntry>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].seq != b[i].seq || a[i].at != b[i].at || a[i].actor != b[i].actor ||
        a[i].action != b[i].action || a[i].kid != b[i].kid || a[i].detail != b[i].detail ||
        a[i].hash != b[i].hash || a[i].prev_hash != b[i].prev_hash) {
      return false;
    }
  }
  return true;
}

BOOST_AUTO_TEST_CASE(migration_round_trip_keeps_everything) {
  Ring<SqliteBackend> original;
  StoreKeyring& ring = *original.ring;
  Walk(ring, kT0, kT0 + 2 * kDay);
  BOOST_REQUIRE(ring.Rotate(Purpose::kEnc, kT0 + 2 * kDay + 1, "admin").has_value());
  ImportRequest req;
  req.purpose = Purpose::kSig;
  req.jwk = testing::KeyPool::Get().Key(2, jose::Alg::kRS256).PublicJwk();
  req.issuers = std::vector<std::string>{"https://peer.example"};
  req.pin = true;
  BOOST_REQUIRE(ring.Import(req, kT0 + 2 * kDay + 2, "admin").has_value());
  BOOST_REQUIRE(ring.Revoke(ring.Snapshot()->active_sig->kid(), kT0 + 2 * kDay + 3, "admin"));
  const Contents before = ContentsOf(ring);
  BOOST_REQUIRE(before.keys.size() >= 6u);
  original.ring.reset();

  // SQLite -> PostgreSQL
  PgBackend pg;
  {
    Result<OpenedStore> file = OpenStoreFile(original.backend.path, FixedMasterKey(1), false);
    BOOST_REQUIRE(file.has_value());
    SqliteStore from(std::move(*file));
    Result<std::unique_ptr<PgStore>> to = PgStore::Open(pg.StoreOptions(), FixedMasterKey(1));
    BOOST_REQUIRE_MESSAGE(to.has_value(), Why(to));
    Result<CopyReport> copied = CopyStore(from, **to, FixedMasterKey(1));
    BOOST_REQUIRE_MESSAGE(copied.has_value(), Why(copied));
    BOOST_TEST(copied->keys == before.keys.size());
    BOOST_TEST(copied->audit_rows == before.audit.size());
    // Into a store that holds keys: refused.
    BOOST_TEST(
        (CopyStore(from, **to, FixedMasterKey(1)).error().code() == Code::kFailedPrecondition));
  }
  PoolFactory pool{40};
  Result<std::unique_ptr<StoreKeyring>> on_pg = pg.Open(Options(pool), FixedMasterKey(1));
  BOOST_REQUIRE_MESSAGE(on_pg.has_value(), Why(on_pg));
  BOOST_TEST((ContentsOf(**on_pg).keys == before.keys));
  BOOST_TEST(SameAudit(ContentsOf(**on_pg).audit, before.audit));
  BOOST_TEST((*on_pg)->Snapshot()->problems.empty());
  BOOST_TEST((*on_pg)->VerifyAuditChain()->ok());
  on_pg->reset();

  // PostgreSQL -> SQLite
  TempDir back;
  {
    Result<std::unique_ptr<PgStore>> from = PgStore::Open(pg.StoreOptions(), FixedMasterKey(1));
    BOOST_REQUIRE(from.has_value());
    Result<OpenedStore> file = OpenStoreFile(back / "keys.db", FixedMasterKey(1), true);
    BOOST_REQUIRE(file.has_value());
    SqliteStore to(std::move(*file));
    Result<CopyReport> copied = CopyStore(**from, to, FixedMasterKey(1));
    BOOST_REQUIRE_MESSAGE(copied.has_value(), Why(copied));
  }
  SqliteKeyringOptions so;
  static_cast<KeyringOptions&>(so) = Options(pool);
  so.path = back / "keys.db";
  Result<std::unique_ptr<SqliteKeyring>> again = SqliteKeyring::Open(so, FixedMasterKey(1));
  BOOST_REQUIRE_MESSAGE(again.has_value(), Why(again));
  BOOST_TEST((ContentsOf(**again).keys == before.keys));
  BOOST_TEST(SameAudit(ContentsOf(**again).audit, before.audit));
  BOOST_TEST((*again)->Snapshot()->problems.empty());
  BOOST_TEST(*(*again)->IntegrityCheck() == "ok");
}

BOOST_AUTO_TEST_CASE(a_tampered_store_is_not_migrated) {
  Ring<SqliteBackend> original;
  BOOST_REQUIRE(original.ring->ApplyDue(kT0, "scheduler").has_value());
  original.ring.reset();
  original.backend.Tamper("UPDATE keys SET bits = 4096 WHERE purpose = 'enc'");
  PgBackend pg;
  Result<OpenedStore> file = OpenStoreFile(original.backend.path, FixedMasterKey(1), false);
  BOOST_REQUIRE(file.has_value());
  SqliteStore from(std::move(*file));
  Result<std::unique_ptr<PgStore>> to = PgStore::Open(pg.StoreOptions(), FixedMasterKey(1));
  BOOST_REQUIRE(to.has_value());
  Result<CopyReport> copied = CopyStore(from, **to, FixedMasterKey(1));
  BOOST_REQUIRE(!copied.has_value());
  BOOST_TEST((copied.error().code() == Code::kDataLoss));
  BOOST_TEST(PgCluster::Shared().Psql(pg.name, "SELECT count(*) FROM keys") == "0\n");
}

// The database stops: the keyring keeps what it holds and changes nothing; it comes back: the
// keyring reconnects by itself. (Runs last: it stops the shared cluster for a moment.)
BOOST_AUTO_TEST_CASE(losing_the_database_keeps_the_keys_held) {
  Fleet fleet(1);
  StoreKeyring& host = *fleet.hosts[0];
  Walk(host, kT0, kT0 + kDay - 2 * kHour);
  const std::string sig = host.Snapshot()->active_sig->kid();
  PgCluster::Shared().Stop();
  // The pending key of the next period is due now: not while cut off.
  Result<int> cut = host.ApplyDue(kT0 + kDay - kHour, "scheduler");
  Result<std::vector<std::string>> rotate = host.Rotate(Purpose::kSig, kT0 + kDay - kHour, "admin");
  BOOST_TEST(host.Refresh().code() == Code::kUnavailable);
  const bool reachable_while_down = host.Snapshot()->store_reachable;
  PgCluster::Shared().Start();
  BOOST_TEST(!reachable_while_down);
  BOOST_REQUIRE(!cut.has_value());
  BOOST_TEST((cut.error().code() == Code::kUnavailable));
  BOOST_TEST(!rotate.has_value());
  BOOST_TEST(host.Snapshot()->active_sig->kid() == sig);  // still signing with what it held
  BOOST_TEST(host.GetHealth().active_sig);
  Result<int> back = host.ApplyDue(kT0 + kDay - kHour + 60, "scheduler");
  BOOST_REQUIRE_MESSAGE(back.has_value(), Why(back));
  BOOST_TEST(*back > 0);
  BOOST_TEST(host.Snapshot()->store_reachable);
  BOOST_TEST(host.VerifyAuditChain()->ok());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::keystore
