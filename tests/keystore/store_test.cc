// The store file under bad input and faults: wrong master key, tampered rows, damaged or
// foreign files, newer schemas, read-only directories, a second opener, migration from v1.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include "keystore/schema.h"
#include "keystore/seal.h"
#include "keystore/sqlite_keyring.h"
#include "keystore/store_file.h"
#include "tests/keystore/test_util.h"

namespace instaccess::keystore {
namespace {

using testing::Exists;
using testing::FixedMasterKey;
using testing::PoolFactory;
using testing::ReadAll;
using testing::TempDir;
using testing::WriteAll;

constexpr UnixTime kT0 = 1'700'000'000;

struct StoreFixture {
  TempDir dir;
  std::string path = dir / "keys.db";
  PoolFactory pool;

  Result<std::unique_ptr<SqliteKeyring>> OpenRing(std::uint8_t key = 1) {
    return SqliteKeyring::Open(testing::Options(path, pool), FixedMasterKey(key));
  }
  // A store with active sig and enc keys, a destroyed sig key and a pending sig key.
  void MakeStore() {
    {
      auto ring = OpenRing();
      BOOST_REQUIRE_MESSAGE(ring.has_value(), ring.status().ToString());
      BOOST_REQUIRE((*ring)->ApplyDue(kT0, "test").has_value());
      BOOST_REQUIRE((*ring)->Rotate(Purpose::kSig, kT0 + 10, "test").has_value());
    }
    // Restarted: the first pass catches up on the downtime (a jump within one process is held).
    auto ring = OpenRing();
    BOOST_REQUIRE(ring.has_value());
    BOOST_REQUIRE((*ring)->ApplyDue(kT0 + 10 + 23 * 3600, "test").has_value());
  }
  // MakeStore's store; returns the kid of its pending sig key.
  std::string MakeStoreWithPendingSig() {
    MakeStore();
    auto ring = OpenRing();
    BOOST_REQUIRE(ring.has_value());
    return KidIn(*(*ring)->Snapshot(), Purpose::kSig, KeyState::kPending);
  }
  // A minute after MakeStore's last pass: nothing is due then.
  static constexpr UnixTime kAfterPrepublish = kT0 + 10 + 23 * 3600 + 60;
  std::string KidIn(const KeySet& ks, Purpose p, KeyState s) {
    for (const KeyInfo& k : ks.keys) {
      if (k.purpose == p && k.state == s) return k.kid;
    }
    BOOST_FAIL("no such key");
    return {};
  }
};

// Runs `fn` in a child process as an unprivileged user when we are root (root ignores
// directory permissions). Returns the child's exit code.
template <typename Fn>
int RunUnprivileged(Fn fn) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(99);
    ::_exit(fn());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 98;
}

BOOST_AUTO_TEST_SUITE(keystore_store)

BOOST_FIXTURE_TEST_CASE(reopened_store_has_the_same_keys, StoreFixture) {
  MakeStore();
  auto ring = OpenRing();
  BOOST_REQUIRE(ring.has_value());
  auto ks = (*ring)->Snapshot();
  BOOST_TEST(ks->keys.size() == 4u);
  BOOST_TEST(ks->problems.empty());
  BOOST_TEST((*ring)->GetHealth().ok());
  BOOST_TEST(*(*ring)->IntegrityCheck() == "ok");
  BOOST_TEST(testing::CountState(*ks, Purpose::kSig, KeyState::kPending) == 1);
}

BOOST_FIXTURE_TEST_CASE(wrong_master_key_changes_no_byte, StoreFixture) {
  MakeStore();
  std::vector<std::uint8_t> db_before = ReadAll(path);
  BOOST_REQUIRE(!Exists(path + "-wal"));  // clean close checkpointed it
  auto ring = OpenRing(2);
  BOOST_REQUIRE(!ring.has_value());
  BOOST_TEST((ring.error().code() == Code::kPermissionDenied));
  BOOST_TEST(ring.error().message().find("master key") != std::string::npos);
  BOOST_TEST(ring.error().message().find(path) != std::string::npos);
  BOOST_TEST(ReadAll(path) == db_before);
  BOOST_TEST(!Exists(path + "-wal"));
}

BOOST_FIXTURE_TEST_CASE(wrong_master_key_leaves_a_hot_wal_alone, StoreFixture) {
  MakeStore();
  // Capture the store with committed transactions still in its WAL, as after a crash.
  TempDir crashed;
  std::string copy = crashed / "keys.db";
  {
    auto ring = OpenRing();
    BOOST_REQUIRE(ring.has_value());
    BOOST_REQUIRE((*ring)->Rotate(std::nullopt, kT0 + 86400, "test").has_value());
    BOOST_REQUIRE(Exists(path + "-wal"));
    std::filesystem::copy_file(path, copy);
    std::filesystem::copy_file(path + "-wal", copy + "-wal");
  }
  std::vector<std::uint8_t> db_before = ReadAll(copy);
  std::vector<std::uint8_t> wal_before = ReadAll(copy + "-wal");
  BOOST_REQUIRE(!wal_before.empty());
  SqliteKeyringOptions o = testing::Options(copy, pool);
  auto wrong = SqliteKeyring::Open(o, FixedMasterKey(2));
  BOOST_REQUIRE(!wrong.has_value());
  BOOST_TEST(wrong.error().message().find("master key") != std::string::npos);
  BOOST_TEST(ReadAll(copy) == db_before);
  BOOST_TEST(ReadAll(copy + "-wal") == wal_before);
  // The right key recovers the committed rotation from the WAL.
  auto right = SqliteKeyring::Open(o, FixedMasterKey(1));
  BOOST_REQUIRE_MESSAGE(right.has_value(), right.status().ToString());
  BOOST_TEST((*right)->Snapshot()->keys.size() == 5u);
}

BOOST_FIXTURE_TEST_CASE(flipped_byte_refuses_that_key_only, StoreFixture) {
  MakeStore();
  std::string enc_kid;
  {
    Result<Db> db = Db::Open(path, SQLITE_OPEN_READWRITE);
    BOOST_REQUIRE(db.has_value());
    Result<Stmt> s = db->Prepare("SELECT kid, sealed_private FROM keys WHERE purpose = 'enc'");
    BOOST_REQUIRE(*s->Step());
    enc_kid = s->Text(0);
    std::vector<std::uint8_t> sealed = s->Blob(1);
    sealed[sealed.size() / 2] ^= 0x01;
    Result<Stmt> u = db->Prepare("UPDATE keys SET sealed_private = ?2 WHERE kid = ?1");
    u->Bind(1, std::string_view(enc_kid)).BindBlob(2, sealed);
    BOOST_REQUIRE(u->Run().ok());
  }
  std::vector<std::string> logged;
  SqliteKeyringOptions o = testing::Options(path, pool);
  o.log = [&logged](LogLevel, std::string_view m) { logged.emplace_back(m); };
  auto ring = SqliteKeyring::Open(o, FixedMasterKey(1));
  BOOST_REQUIRE(ring.has_value());
  auto ks = (*ring)->Snapshot();
  BOOST_REQUIRE(ks->problems.size() >= 1u);
  BOOST_TEST(ks->problems[0].find(enc_kid) != std::string::npos);
  BOOST_TEST(ks->problems[0].find("does not authenticate") != std::string::npos);
  BOOST_TEST(!ks->active_enc.has_value());
  BOOST_TEST(ks->active_sig.has_value());  // the others load
  BOOST_TEST(ks->verify.size() == 2u);
  BOOST_TEST(!(*ring)->GetHealth().ok());
  BOOST_TEST(!logged.empty());
  SetSqliteLogHandler({});
  // The operator's way out: rotate the purpose; a fresh key takes over.
  BOOST_REQUIRE((*ring)->Rotate(Purpose::kEnc, kT0 + 86400, "admin").has_value());
  BOOST_TEST((*ring)->Snapshot()->active_enc.has_value());
  BOOST_TEST((*ring)->GetHealth().active_enc);
}

BOOST_FIXTURE_TEST_CASE(rows_swapped_between_kids_are_refused, StoreFixture) {
  MakeStore();
  std::string active, pending;
  {
    auto ring = OpenRing();
    auto ks = (*ring)->Snapshot();
    active = KidIn(*ks, Purpose::kSig, KeyState::kActive);
    pending = KidIn(*ks, Purpose::kSig, KeyState::kPending);
  }
  {
    Result<Db> db = Db::Open(path, SQLITE_OPEN_READWRITE);
    auto read = [&](const std::string& kid) {
      Result<Stmt> q = db->Prepare("SELECT sealed_private, nonce FROM keys WHERE kid = ?1");
      q->Bind(1, std::string_view(kid));
      BOOST_REQUIRE(*q->Step());
      return std::make_pair(q->Blob(0), q->Blob(1));
    };
    auto write = [&](const std::string& kid, const auto& row) {
      Result<Stmt> u =
          db->Prepare("UPDATE keys SET sealed_private = ?2, nonce = ?3 WHERE kid = ?1");
      u->Bind(1, std::string_view(kid)).BindBlob(2, row.first).BindBlob(3, row.second);
      BOOST_REQUIRE(u->Run().ok());
    };
    auto a_row = read(active);
    auto p_row = read(pending);
    write(active, p_row);
    write(pending, a_row);
  }
  auto ring = OpenRing();
  BOOST_REQUIRE(ring.has_value());
  auto ks = (*ring)->Snapshot();
  BOOST_TEST(ks->problems.size() >= 2u);
  std::string all;
  for (const auto& p : ks->problems) all += p + "\n";
  BOOST_TEST(all.find(active) != std::string::npos);
  BOOST_TEST(all.find(pending) != std::string::npos);
  BOOST_TEST(!ks->active_sig.has_value());
  BOOST_TEST(ks->active_enc.has_value());  // the enc key still loads
}

// A pending key whose row is damaged is refused (its row no longer authenticates) and left out
// of the schedule, which then publishes a new pending key: a damaged pending key must never stop
// every later key of its purpose from being published before use.
BOOST_FIXTURE_TEST_CASE(a_damaged_pending_key_is_refused_and_a_new_one_published, StoreFixture) {
  const std::string pending = MakeStoreWithPendingSig();
  {
    Result<Db> db = Db::Open(path, SQLITE_OPEN_READWRITE);
    Result<Stmt> q = db->Prepare("SELECT sealed_private FROM keys WHERE kid = ?1");
    q->Bind(1, std::string_view(pending));
    BOOST_REQUIRE(*q->Step());
    std::vector<std::uint8_t> sealed = q->Blob(0);
    sealed[sealed.size() / 2] ^= 0x01;
    Result<Stmt> u = db->Prepare("UPDATE keys SET sealed_private = ?2 WHERE kid = ?1");
    u->Bind(1, std::string_view(pending)).BindBlob(2, sealed);
    BOOST_REQUIRE(u->Run().ok());
  }
  auto ring = OpenRing();
  BOOST_REQUIRE(ring.has_value());
  BOOST_REQUIRE((*ring)->Snapshot()->problems.size() == 1u);
  BOOST_TEST((*ring)->Snapshot()->jwks.dump().find(pending) == std::string::npos);

  auto applied = (*ring)->ApplyDue(kAfterPrepublish, "scheduler");
  BOOST_REQUIRE_MESSAGE(applied.has_value(), applied.status().ToString());
  BOOST_TEST(*applied == 1);  // the new pending key
  auto ks = (*ring)->Snapshot();
  const std::string fresh = KidIn(*ks, Purpose::kSig, KeyState::kPending);
  BOOST_TEST(fresh != pending);
  BOOST_TEST(ks->jwks.dump().find(fresh) != std::string::npos);
  BOOST_TEST(ks->FindInfo(pending) == nullptr);  // never listed, never used
  auto audit = (*ring)->ReadAuditLog(0, 1000);
  BOOST_REQUIRE(audit.has_value());
  const bool audited = std::any_of(audit->begin(), audit->end(), [&](const AuditEntry& e) {
    return e.action == "integrity" && e.kid == pending;
  });
  BOOST_TEST(audited);
  BOOST_TEST((*ring)->GetHealth().ok());
}

// The same for a pending key whose public key was changed: refused, its row left as it is.
BOOST_FIXTURE_TEST_CASE(a_pending_key_with_an_edited_public_key_is_refused, StoreFixture) {
  const std::string pending = MakeStoreWithPendingSig();
  {
    Result<Db> db = Db::Open(path, SQLITE_OPEN_READWRITE);
    Result<Stmt> u = db->Prepare("UPDATE keys SET public_der = x'3000' WHERE kid = ?1");
    u->Bind(1, std::string_view(pending));
    BOOST_REQUIRE(u->Run().ok());
  }
  auto ring = OpenRing();
  BOOST_REQUIRE(ring.has_value());
  BOOST_REQUIRE((*ring)->Snapshot()->problems.size() == 1u);
  auto applied = (*ring)->ApplyDue(kAfterPrepublish, "scheduler");
  BOOST_REQUIRE_MESSAGE(applied.has_value(), applied.status().ToString());
  BOOST_TEST(KidIn(*(*ring)->Snapshot(), Purpose::kSig, KeyState::kPending) != pending);
  ring = Status(Code::kInternal, "closed");
  Result<Db> db = Db::Open(path, SQLITE_OPEN_READONLY);
  Result<Stmt> q = db->Prepare("SELECT state FROM keys WHERE kid = ?1");
  q->Bind(1, std::string_view(pending));
  BOOST_REQUIRE(*q->Step());
  BOOST_TEST(q->Text(0) == "pending");
}

BOOST_FIXTURE_TEST_CASE(truncated_file_is_refused_untouched, StoreFixture) {
  MakeStore();
  std::vector<std::uint8_t> bytes = ReadAll(path);
  bytes.resize(bytes.size() / 2);
  WriteAll(path, bytes);
  auto ring = OpenRing();
  BOOST_REQUIRE(!ring.has_value());
  BOOST_TEST_MESSAGE(ring.error().ToString());
  BOOST_TEST((ring.error().code() == Code::kDataLoss));
  BOOST_TEST(ReadAll(path) == bytes);
  BOOST_TEST(!Exists(path + "-wal"));
}

BOOST_FIXTURE_TEST_CASE(non_sqlite_and_empty_files_are_refused_untouched, StoreFixture) {
  std::string text = "this is not a database, it is a shopping list\n";
  std::vector<std::uint8_t> bytes(text.begin(), text.end());
  bytes.resize(4096, 'x');
  WriteAll(path, bytes);
  auto ring = OpenRing();
  BOOST_REQUIRE(!ring.has_value());
  BOOST_TEST(ring.error().message().find("not a database") != std::string::npos);
  BOOST_TEST(ReadAll(path) == bytes);
  WriteAll(path, {});
  ring = OpenRing();
  BOOST_REQUIRE(!ring.has_value());
  BOOST_TEST(ring.error().message().find("empty") != std::string::npos);
  BOOST_TEST(ReadAll(path).empty());
}

BOOST_FIXTURE_TEST_CASE(other_application_database_is_refused, StoreFixture) {
  {
    Result<Db> db = Db::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    BOOST_REQUIRE(db->Exec("CREATE TABLE recipes (name TEXT)").ok());
  }
  std::vector<std::uint8_t> before = ReadAll(path);
  auto ring = OpenRing();
  BOOST_REQUIRE(!ring.has_value());
  BOOST_TEST(ring.error().message().find("not an instaccessd key store") != std::string::npos);
  BOOST_TEST(ReadAll(path) == before);
}

BOOST_FIXTURE_TEST_CASE(newer_schema_is_refused_untouched, StoreFixture) {
  MakeStore();
  {
    Result<Db> db = Db::Open(path, SQLITE_OPEN_READWRITE);
    BOOST_REQUIRE(db->Exec("PRAGMA user_version = 99").ok());
  }
  std::vector<std::uint8_t> before = ReadAll(path);
  auto ring = OpenRing();
  BOOST_REQUIRE(!ring.has_value());
  BOOST_TEST(ring.error().message().find("schema version 99") != std::string::npos);
  BOOST_TEST(ring.error().message().find("newer") != std::string::npos);
  BOOST_TEST(ReadAll(path) == before);
}

BOOST_FIXTURE_TEST_CASE(read_only_directory_is_a_clear_error, StoreFixture) {
  MakeStore();
  std::filesystem::permissions(dir.path(), std::filesystem::perms(0755));
  std::string ro = dir / "ro";
  std::filesystem::create_directory(ro);
  std::filesystem::copy_file(path, ro + "/keys.db");
  ::chmod((ro + "/keys.db").c_str(), 0644);
  ::chmod(ro.c_str(), 0555);
  std::vector<std::uint8_t> before = ReadAll(ro + "/keys.db");
  PoolFactory p = pool;
  int code = RunUnprivileged([&] {
    auto existing = SqliteKeyring::Open(testing::Options(ro + "/keys.db", p), FixedMasterKey(1));
    if (existing.has_value()) return 1;
    if (existing.error().message().find("not writable") == std::string::npos) return 2;
    auto fresh = SqliteKeyring::Open(testing::Options(ro + "/new.db", p), FixedMasterKey(1));
    if (fresh.has_value()) return 3;
    if (fresh.error().message().find("not writable") == std::string::npos) return 4;
    return 0;
  });
  BOOST_TEST(code == 0);
  BOOST_TEST(ReadAll(ro + "/keys.db") == before);
  BOOST_TEST(!Exists(ro + "/new.db"));
  BOOST_TEST(!Exists(ro + "/keys.db-wal"));
  ::chmod(ro.c_str(), 0755);
}

// The store file is gone but its -wal is still there (lost, moved by hand, a crash of a tool):
// a new store under that name would have the old -wal replayed into it. Start-up refuses and
// creates nothing.
BOOST_FIXTURE_TEST_CASE(a_wal_without_its_store_is_refused_and_nothing_is_created, StoreFixture) {
  WriteAll(path + "-wal", std::vector<std::uint8_t>(4096, 0x5a));
  auto ring = OpenRing();
  BOOST_REQUIRE(!ring.has_value());
  BOOST_TEST((ring.error().code() == Code::kDataLoss));
  BOOST_TEST(ring.error().message().find("-wal") != std::string::npos, ring.error().message());
  BOOST_TEST(!testing::Exists(path));
  BOOST_TEST(ReadAll(path + "-wal").size() == 4096u);
}

BOOST_FIXTURE_TEST_CASE(second_opener_fails_fast, StoreFixture) {
  auto first = OpenRing();
  BOOST_REQUIRE(first.has_value());
  auto second = OpenRing();
  BOOST_REQUIRE(!second.has_value());
  BOOST_TEST((second.error().code() == Code::kUnavailable));
  BOOST_TEST(second.error().message().find("another instaccessd") != std::string::npos);
  first = Status(Code::kInternal, "closed");
  BOOST_TEST(OpenRing().has_value());
}

BOOST_FIXTURE_TEST_CASE(store_of_schema_v1_is_migrated, StoreFixture) {
  SecretBytes master = FixedMasterKey(1);
  jose::RsaKey key = testing::KeyPool::Get().Key(0, jose::Alg::kRS256);
  {
    // A store exactly as version 1 wrote it.
    Result<Db> db = Db::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    BOOST_REQUIRE(Migrate(*db, 1).ok());
    BOOST_TEST(*db->QueryInt("PRAGMA user_version") == 1);
    Result<Stmt> m = db->Prepare("INSERT INTO meta (name, value) VALUES ('master_key_check', ?1)");
    m->BindBlob(1, MasterKeyCheckValue(master));
    BOOST_REQUIRE(m->Run().ok());
    Result<SecretBytes> der = key.PrivatePkcs8Der();
    Result<Sealed> sealed =
        Seal(master, der->reveal_secret(), SealAad(key.kid(), Purpose::kSig, "RS256"));
    Result<Stmt> k = db->Prepare(
        "INSERT INTO keys (kid, purpose, alg, bits, origin, state, created_at, activate_at, "
        "public_jwk, public_der, sealed_private, nonce) VALUES (?1, 'sig', 'RS256', 2048, "
        "'generated', 'active', ?2, ?2, ?3, ?4, ?5, ?6)");
    k->Bind(1, std::string_view(key.kid()))
        .Bind(2, kT0)
        .Bind(3, std::string_view(key.PublicJwk().dump()))
        .BindBlob(4, key.PublicSpkiDer())
        .BindBlob(5, sealed->ciphertext)
        .BindBlob(6, sealed->nonce);
    BOOST_REQUIRE(k->Run().ok());
    // v1 chained its audit rows with unkeyed SHA-256.
    AuditEntry e{1, kT0, "v1", "generate", key.kid(), "made by v1", std::vector<std::uint8_t>(32),
                 {}};
    e.hash = AuditHash(nullptr, e);
    Result<Stmt> a = db->Prepare(
        "INSERT INTO audit (seq, at, actor, action, kid, detail, prev_hash, hash) "
        "VALUES (1, ?1, 'v1', 'generate', ?2, 'made by v1', ?3, ?4)");
    a->Bind(1, kT0)
        .Bind(2, std::string_view(key.kid()))
        .BindBlob(3, e.prev_hash)
        .BindBlob(4, e.hash);
    BOOST_REQUIRE(a->Run().ok());
  }
  // Make sure the pool factory does not hand out the same key again.
  PoolFactory fresh_pool(1);
  auto ring = SqliteKeyring::Open(testing::Options(path, fresh_pool), std::move(master));
  BOOST_REQUIRE_MESSAGE(ring.has_value(), ring.status().ToString());
  auto ks = (*ring)->Snapshot();
  BOOST_REQUIRE(ks->active_sig.has_value());
  BOOST_TEST(ks->active_sig->kid() == key.kid());
  BOOST_TEST(ks->problems.empty());
  // Upgraded in place: the v1 chain re-chained under the audit key, the upgrade audited.
  BOOST_TEST((*ring)->VerifyAuditChain()->ok());
  BOOST_TEST((*ring)->ReadAuditLog(0, 10)->back().action == "integrity");
  BOOST_REQUIRE((*ring)->ApplyDue(kT0 + 5, "test").has_value());  // makes the enc key
  BOOST_TEST((*ring)->GetHealth().ok());
  // v2's column is there and used.
  BOOST_REQUIRE((*ring)->Rotate(Purpose::kSig, kT0 + 10, "test").has_value());
  BOOST_REQUIRE((*ring)->Revoke(key.kid(), kT0 + 20, "test").has_value());
  BOOST_TEST(*(*ring)->Snapshot()->FindInfo(key.kid())->revoked_at == kT0 + 20);
  BOOST_TEST((*ring)->VerifyAuditChain()->ok());
  ring = Status(Code::kInternal, "closed");
  Result<Db> db = Db::Open(path, SQLITE_OPEN_READONLY);
  BOOST_TEST(*db->QueryInt("PRAGMA user_version") == kSchemaVersion);
  BOOST_TEST(*db->QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = "
                           "'keys_by_purpose_state'") == 1);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::keystore
