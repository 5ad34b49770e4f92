// SqliteKeyring behaviour: first keys, the schedule on a real store, rotate, import, revoke,
// backup / rekey / restore, snapshots, key generation off the caller's thread.
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <random>
#include <thread>

#include "keystore/sqlite_keyring.h"
#include "keystore/store_file.h"
#include "keystore/store_tools.h"
#include "tests/keystore/test_util.h"

namespace instaccess::keystore {
namespace {

using testing::Exists;
using testing::FixedMasterKey;
using testing::PoolFactory;
using testing::ReadAll;
using testing::RingFixture;
using testing::TempDir;
using testing::WriteAll;

constexpr UnixTime kT0 = 1'700'000'000;
constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 24 * kHour;

// The active sig key's kid in a store file, read directly (a store a restore set aside).
std::string ActiveSigKidIn(const std::string& store_file) {
  Result<Db> db = Db::Open(store_file, SQLITE_OPEN_READONLY);
  BOOST_REQUIRE(db.has_value());
  Result<Stmt> q = db->Prepare("SELECT kid FROM keys WHERE purpose = 'sig' AND state = 'active'");
  BOOST_REQUIRE(q.has_value());
  Result<bool> row = q->Step();
  BOOST_REQUIRE(row.has_value() && *row);
  return q->Text(0);
}

BOOST_AUTO_TEST_SUITE(keystore_keyring)

BOOST_FIXTURE_TEST_CASE(new_store_gets_its_first_keys, RingFixture) {
  BOOST_TEST(!ring->GetHealth().ok());
  BOOST_TEST(*ring->NextDueTime(kT0) == kT0);
  Result<int> n = ring->ApplyDue(kT0, "scheduler");
  BOOST_REQUIRE(n.has_value());
  BOOST_TEST(*n == 2);
  auto ks = Snap();
  BOOST_REQUIRE(ks->active_sig.has_value());
  BOOST_REQUIRE(ks->active_enc.has_value());
  BOOST_TEST(ks->active_sig->has_private());
  BOOST_TEST(ks->active_enc->has_private());
  BOOST_TEST((ks->active_sig->alg() == jose::Alg::kRS256));
  BOOST_TEST((ks->active_enc->alg() == jose::Alg::kRsaOaep));
  BOOST_TEST(ks->verify.size() == 1u);
  BOOST_TEST(ks->decrypt.size() == 1u);
  BOOST_TEST(ks->jwks["keys"].size() == 2u);
  for (const auto& jwk : ks->jwks["keys"]) {
    BOOST_TEST(!jwk.contains("d"));
    BOOST_TEST(jwk.contains("kid"));
    BOOST_TEST(jwk.contains("use"));
  }
  BOOST_TEST(ring->GetHealth().ok());
  BOOST_TEST(*ring->NextDueTime(kT0) == kT0 + kHour / 2);  // capped at max_lifetime / 2
  BOOST_TEST(*ring->NextDueTime(kT0 + kDay - kHour) == kT0 + kDay - kHour);
  BOOST_TEST(ring->VerifyAuditChain()->entries == 2);
  std::string sig = ks->active_sig->kid();
  Reopen();
  BOOST_TEST(Snap()->active_sig->kid() == sig);
  BOOST_TEST(*ring->ApplyDue(kT0 + 1, "scheduler") == 0);
}

BOOST_FIXTURE_TEST_CASE(key_generation_runs_off_the_calling_thread, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  BOOST_REQUIRE(ring->Rotate(std::nullopt, kT0 + 1, "admin").has_value());
  std::set<std::thread::id> ids = pool.thread_ids();
  BOOST_TEST(ids.size() >= 1u);
  BOOST_TEST(ids.count(std::this_thread::get_id()) == 0u);
}

BOOST_FIXTURE_TEST_CASE(schedule_keeps_old_key_until_its_tokens_expire, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  std::string first = Snap()->active_sig->kid();
  std::string first_enc = Snap()->active_enc->kid();
  Reopen();  // downtime: the first pass after a start catches up (clock_test.cc)
  BOOST_REQUIRE(ring->ApplyDue(kT0 + kDay - kHour, "scheduler").has_value());
  auto ks = Snap();
  BOOST_TEST(ks->verify.size() == 2u);  // the pending key is published and verifies
  BOOST_TEST(ks->jwks["keys"].size() == 3u);
  BOOST_TEST(ks->active_sig->kid() == first);
  BOOST_REQUIRE(ring->ApplyDue(kT0 + kDay, "scheduler").has_value());
  ks = Snap();
  BOOST_TEST(ks->active_sig->kid() != first);
  BOOST_TEST(ks->FindVerify(first) != nullptr);  // retired keys still verify
  BOOST_TEST(*Info(first).expire_at == kT0 + kDay + kHour + 60);
  Reopen();  // downtime: the first pass after a start catches up (clock_test.cc)
  BOOST_REQUIRE(ring->ApplyDue(kT0 + kDay + kHour + 60, "scheduler").has_value());
  ks = Snap();
  BOOST_TEST(ks->FindVerify(first) == nullptr);
  BOOST_TEST((Info(first).state == KeyState::kDestroyed));
  BOOST_TEST(!Info(first).has_private);
  // Destroyed: the sealed part is gone from the file, the row stays.
  {
    ring.reset();
    Result<Db> db = Db::Open(path, SQLITE_OPEN_READONLY);
    Result<Stmt> s = db->Prepare("SELECT sealed_private IS NULL, state FROM keys WHERE kid = ?1");
    s->Bind(1, std::string_view(first));
    BOOST_REQUIRE(*s->Step());
    BOOST_TEST(s->Int(0) == 1);
    BOOST_TEST(s->Text(1) == "destroyed");
  }
  Reopen();
  // The enc key after a week. Pending, it is in JWKS, so what a peer encrypts to it already
  // opens; the active key is still tried first (tokens without a kid are tried key by key).
  BOOST_REQUIRE(ring->ApplyDue(kT0 + 7 * kDay - kHour, "scheduler").has_value());
  ks = Snap();
  BOOST_TEST(ks->active_enc->kid() == first_enc);
  BOOST_REQUIRE(ks->decrypt.size() == 2u);
  BOOST_TEST(ks->decrypt[0].kid() == first_enc);
  const std::string pending_enc = ks->decrypt[1].kid();
  BOOST_TEST((Info(pending_enc).state == KeyState::kPending));
  // Active: the retired one still decrypts, newest first.
  BOOST_REQUIRE(ring->ApplyDue(kT0 + 7 * kDay, "scheduler").has_value());
  ks = Snap();
  BOOST_TEST(ks->active_enc->kid() != first_enc);
  BOOST_REQUIRE(ks->decrypt.size() == 2u);
  BOOST_TEST(ks->decrypt[0].kid() == ks->active_enc->kid());
  BOOST_TEST(ks->decrypt[1].kid() == first_enc);
  BOOST_TEST(ring->VerifyAuditChain()->ok());
}

BOOST_FIXTURE_TEST_CASE(clock_going_back_stamps_no_earlier_time, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  Reopen();  // downtime: the first pass after a start catches up (clock_test.cc)
  BOOST_REQUIRE(ring->ApplyDue(kT0 + kDay, "scheduler").has_value());
  auto before = Snap()->keys;
  BOOST_TEST(*ring->ApplyDue(kT0 - kDay, "scheduler") == 0);
  BOOST_TEST(Snap()->keys == before);
  // A manual rotation while the clock reads a day early is stamped at the latest time seen.
  std::string old = Snap()->active_sig->kid();
  BOOST_REQUIRE(ring->Rotate(Purpose::kSig, kT0 - kDay, "admin").has_value());
  BOOST_TEST(*Info(old).retire_at == kT0 + kDay);
  Reopen();  // persisted
  std::string old2 = Snap()->active_sig->kid();
  BOOST_REQUIRE(ring->Rotate(Purpose::kSig, kT0 - 2 * kDay, "admin").has_value());
  BOOST_TEST(*Info(old2).retire_at == kT0 + kDay);
}

BOOST_FIXTURE_TEST_CASE(manual_rotate_promotes_pending_or_generates, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  std::string sig0 = Snap()->active_sig->kid();
  Result<std::vector<std::string>> kids = ring->Rotate(Purpose::kSig, kT0 + 60, "admin");
  BOOST_REQUIRE(kids.has_value());
  BOOST_REQUIRE(kids->size() == 1u);
  BOOST_TEST(Snap()->active_sig->kid() == kids->at(0));
  BOOST_TEST((Info(sig0).state == KeyState::kRetired));
  BOOST_TEST(*Info(sig0).retire_at == kT0 + 60);
  // Now with a pending key: that one is promoted, nothing generated.
  Reopen();  // downtime: the first pass after a start catches up (clock_test.cc)
  BOOST_REQUIRE(ring->ApplyDue(kT0 + 60 + kDay - kHour, "scheduler").has_value());
  std::string pending;
  for (const auto& k : Snap()->keys) {
    if (k.state == KeyState::kPending) pending = k.kid;
  }
  BOOST_REQUIRE(!pending.empty());
  std::size_t used = pool.next();
  kids = ring->Rotate(std::nullopt, kT0 + 2 * kDay, "admin");
  BOOST_REQUIRE(kids->size() == 2u);
  BOOST_TEST(kids->at(0) == pending);
  BOOST_TEST(pool.next() == used + 1);  // only the enc key was generated
  BOOST_TEST(ring->VerifyAuditChain()->ok());
  auto audit = ring->ReadAuditLog(0, 100);
  BOOST_TEST(audit->back().actor == "admin");
}

// Rotating both purposes commits one purpose at a time. When the second fails (here: no enc key
// can be generated), the first has happened, and what readers see must say so: a snapshot still
// signing with the key the store has just retired would also plan the schedule from stale rows.
BOOST_AUTO_TEST_CASE(a_rotation_of_both_that_fails_half_way_publishes_the_half_that_happened) {
  TempDir dir;
  const std::string path = dir / "keys.db";
  PoolFactory pool(10);
  auto fail_enc = std::make_shared<std::atomic<bool>>(false);
  SqliteKeyringOptions options = testing::Options(path, pool);
  options.key_factory = [inner = pool.factory(), fail_enc](int bits,
                                                           jose::Alg alg) -> Result<jose::RsaKey> {
    if (fail_enc->load() && jose::UseOf(alg) == jose::Use::kEnc) {
      return Status(Code::kInternal, "no enc key today");
    }
    return inner(bits, alg);
  };
  auto ring = SqliteKeyring::Open(options, FixedMasterKey(1));
  BOOST_REQUIRE(ring.has_value());
  BOOST_REQUIRE((*ring)->ApplyDue(kT0, "scheduler").has_value());
  const std::string sig0 = (*ring)->Snapshot()->active_sig->kid();
  const std::string enc0 = (*ring)->Snapshot()->active_enc->kid();

  fail_enc->store(true);
  BOOST_TEST(!(*ring)->Rotate(std::nullopt, kT0 + 60, "admin").has_value());
  auto snap = (*ring)->Snapshot();
  BOOST_REQUIRE(snap->active_sig.has_value());
  BOOST_TEST(snap->active_sig->kid() != sig0);  // the sig rotation committed
  BOOST_TEST(snap->active_enc->kid() == enc0);  // the enc one did not
  const KeyInfo* old_sig = snap->FindInfo(sig0);
  BOOST_REQUIRE(old_sig != nullptr);
  BOOST_TEST((old_sig->state == KeyState::kRetired));
  // The store agrees with the snapshot.
  ring->reset();
  auto reopened = SqliteKeyring::Open(options, FixedMasterKey(1));
  BOOST_REQUIRE(reopened.has_value());
  BOOST_TEST((*reopened)->Snapshot()->active_sig->kid() == snap->active_sig->kid());
}

BOOST_FIXTURE_TEST_CASE(import_private_public_and_activate, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  // A private PEM without activate: accepted (verifies) until revoked, not used.
  ImportRequest pem;
  pem.purpose = Purpose::kSig;
  pem.pem = testing::PrivatePem(0);
  Result<KeyInfo> a = ring->Import(pem, kT0 + 1, "admin");
  BOOST_REQUIRE_MESSAGE(a.has_value(), a.status().ToString());
  BOOST_TEST((a->origin == KeyOrigin::kImported));
  BOOST_TEST((a->state == KeyState::kRetired));
  BOOST_TEST(!a->expire_at.has_value());
  BOOST_TEST(Snap()->FindVerify(a->kid) != nullptr);
  BOOST_TEST(Snap()->active_sig->kid() != a->kid);
  // Never destroyed by the schedule.
  Reopen();  // downtime: the first pass after a start catches up (clock_test.cc)
  BOOST_REQUIRE(ring->ApplyDue(kT0 + 30 * kDay, "scheduler").has_value());
  BOOST_TEST((Info(a->kid).state == KeyState::kRetired));
  // The same key again is refused.
  Result<KeyInfo> dup = ring->Import(pem, kT0 + 2, "admin");
  BOOST_REQUIRE(!dup.has_value());
  BOOST_TEST((dup.error().code() == Code::kAlreadyExists));
  // A public JWK (a gateway's encryption key), activated: tokens are encrypted to it.
  ImportRequest jwk;
  jwk.purpose = Purpose::kEnc;
  jwk.jwk = testing::KeyPool::Get().Key(1, jose::Alg::kRsaOaep).PublicJwk();
  jwk.activate = true;
  Result<KeyInfo> b = ring->Import(jwk, kT0 + 30 * kDay, "admin");
  BOOST_REQUIRE_MESSAGE(b.has_value(), b.status().ToString());
  BOOST_TEST((b->origin == KeyOrigin::kPeer));
  BOOST_TEST((b->state == KeyState::kActive));
  auto ks = Snap();
  BOOST_TEST(ks->active_enc->kid() == b->kid);
  BOOST_TEST(!ks->active_enc->has_private());
  BOOST_TEST(ks->FindDecrypt(b->kid) == nullptr);
  // The peer's key is not rotated by our schedule.
  Reopen();  // downtime: the first pass after a start catches up (clock_test.cc)
  BOOST_REQUIRE(ring->ApplyDue(kT0 + 60 * kDay, "scheduler").has_value());
  BOOST_TEST(Snap()->active_enc->kid() == b->kid);
  // A public key cannot become the active signing key; an enc alg cannot be a sig key.
  ImportRequest bad;
  bad.purpose = Purpose::kSig;
  bad.jwk = testing::KeyPool::Get().Key(2, jose::Alg::kRS256).PublicJwk();
  bad.activate = true;
  BOOST_TEST(!ring->Import(bad, kT0 + 60 * kDay, "admin").has_value());
  bad.alg = jose::Alg::kRsaOaep;
  bad.jwk->erase("alg");
  bad.jwk->erase("use");
  bad.activate = false;
  Result<KeyInfo> wrong = ring->Import(bad, kT0 + 60 * kDay, "admin");
  BOOST_REQUIRE(!wrong.has_value());
  BOOST_TEST_MESSAGE(wrong.error().ToString());
  BOOST_TEST(wrong.error().message().find("not a sig algorithm") != std::string::npos);
  // Private import with activate replaces the active signing key.
  ImportRequest act;
  act.purpose = Purpose::kSig;
  act.pem = testing::PrivatePem(3);
  act.activate = true;
  std::string old = Snap()->active_sig->kid();
  Result<KeyInfo> c = ring->Import(act, kT0 + 60 * kDay, "admin");
  BOOST_REQUIRE(c.has_value());
  BOOST_TEST(Snap()->active_sig->kid() == c->kid);
  BOOST_TEST((Info(old).state == KeyState::kRetired));
  BOOST_TEST(ring->VerifyAuditChain()->ok());
}

BOOST_FIXTURE_TEST_CASE(revoking_the_active_key_puts_a_replacement_first, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  std::string sig = Snap()->active_sig->kid();
  Result<KeyInfo> r = ring->Revoke(sig, kT0 + 5, "admin");
  BOOST_REQUIRE_MESSAGE(r.has_value(), r.status().ToString());
  BOOST_TEST((r->state == KeyState::kRevoked));
  auto ks = Snap();
  BOOST_REQUIRE(ks->active_sig.has_value());
  BOOST_TEST(ks->active_sig->kid() != sig);
  BOOST_TEST(ks->FindVerify(sig) == nullptr);
  for (const auto& jwk : ks->jwks["keys"]) BOOST_TEST(jwk["kid"] != sig);
  BOOST_TEST(testing::CountState(*ks, Purpose::kSig, KeyState::kActive) == 1);
  // A pending enc key is the replacement when there is one.
  Reopen();  // downtime: the first pass after a start catches up (clock_test.cc)
  BOOST_REQUIRE(ring->ApplyDue(kT0 + 7 * kDay - kHour, "scheduler").has_value());
  std::string pending;
  for (const auto& k : Snap()->keys) {
    if (k.purpose == Purpose::kEnc && k.state == KeyState::kPending) pending = k.kid;
  }
  BOOST_REQUIRE(!pending.empty());
  BOOST_REQUIRE(ring->Revoke(Snap()->active_enc->kid(), kT0 + 7 * kDay - 10, "admin").has_value());
  BOOST_TEST(Snap()->active_enc->kid() == pending);
  BOOST_TEST((ring->Revoke("no-such-kid", kT0, "admin").error().code() == Code::kNotFound));
  BOOST_TEST(!ring->Revoke(sig, kT0 + 10, "admin").has_value());  // already revoked
  BOOST_TEST(ring->VerifyAuditChain()->ok());
  // The sealed private part of a revoked key is wiped.
  ring.reset();
  Result<Db> db = Db::Open(path, SQLITE_OPEN_READONLY);
  BOOST_TEST(*db->QueryInt("SELECT count(*) FROM keys WHERE state = 'revoked' AND "
                           "sealed_private IS NULL") == 2);
}

// "Revoked" and "destroyed" mean the sealed private part is gone from the files, not only from
// its row: SQLite keeps an overwritten record's bytes in the page's free space, and older images
// of the page in the store and the -wal until a checkpoint. A copy of the files taken after the
// revoke would still open the key under the master key.
BOOST_FIXTURE_TEST_CASE(a_revoked_keys_sealed_bytes_leave_the_store_files, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  const std::string sig = Snap()->active_sig->kid();
  ring.reset();  // the store allows one connection: read the sealed bytes, then open again
  std::vector<std::uint8_t> sealed;
  {
    Result<Db> db = Db::Open(path, SQLITE_OPEN_READONLY);
    BOOST_REQUIRE(db.has_value());
    Result<Stmt> q = db->Prepare("SELECT sealed_private FROM keys WHERE kid = ?1");
    BOOST_REQUIRE(q.has_value());
    q->Bind(1, std::string_view(sig));
    Result<bool> row = q->Step();
    BOOST_REQUIRE(row.has_value() && *row);
    sealed = q->Blob(0);
  }
  BOOST_REQUIRE(sealed.size() > 64u);
  const auto probe = std::span(sealed).subspan(sealed.size() / 2, 48);
  auto holds = [&](const std::string& file) {
    const std::vector<std::uint8_t> bytes = ReadAll(file);
    return std::search(bytes.begin(), bytes.end(), probe.begin(), probe.end()) != bytes.end();
  };
  BOOST_REQUIRE(holds(path));  // the probe finds what is there
  Reopen();
  BOOST_REQUIRE(ring->Revoke(sig, kT0 + 5, "admin").has_value());
  // While the daemon still runs: neither file holds it.
  BOOST_TEST(!holds(path));
  BOOST_TEST(!holds(path + "-wal"));
  ring.reset();
  BOOST_TEST(!holds(path));
}

BOOST_FIXTURE_TEST_CASE(backup_stays_sealed_and_restores, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  std::string sig = Snap()->active_sig->kid();
  std::string backup = dir / "backup.db";
  BOOST_REQUIRE(ring->Backup(backup, kT0 + 1, "admin").ok());
  BOOST_TEST((ring->Backup(backup, kT0 + 1, "admin").code() == Code::kAlreadyExists));
  // No private key appears in clear in the backup.
  std::vector<std::uint8_t> bytes = ReadAll(backup);
  Result<SecretBytes> der = Snap()->active_sig->PrivatePkcs8Der();
  auto d = der->reveal_secret();
  auto tail = d.subspan(d.size() - 64);  // the last CRT value
  BOOST_TEST((std::search(bytes.begin(), bytes.end(), tail.begin(), tail.end()) == bytes.end()));
  BOOST_TEST(CheckStoreReadOnly(backup, FixedMasterKey(1)).ok());
  // Change the store, then restore the backup over it.
  BOOST_REQUIRE(ring->Rotate(std::nullopt, kT0 + 2, "admin").has_value());
  const std::string rotated = Snap()->active_sig->kid();
  BOOST_TEST(rotated != sig);
  // Refused while the daemon holds the store.
  BOOST_TEST(!RestoreStore(backup, path, FixedMasterKey(1), kT0 + 3, "restore").ok());
  ring.reset();
  Status wrong = RestoreStore(backup, path, FixedMasterKey(9), kT0 + 3, "restore");
  BOOST_TEST(wrong.message().find("master key") != std::string::npos);
  Status s = RestoreStore(backup, path, FixedMasterKey(1), kT0 + 3, "restore");
  BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  // The replaced store is kept whole under another name, its -wal folded in: nothing lost.
  const std::string aside = path + ".replaced-" + std::to_string(kT0 + 3);
  BOOST_TEST(!Exists(aside + "-wal"));
  BOOST_TEST(!Exists(path + "-wal"));
  BOOST_TEST(CheckStoreReadOnly(aside, FixedMasterKey(1)).ok());
  BOOST_TEST(ActiveSigKidIn(aside) == rotated);
  Reopen();
  BOOST_TEST(Snap()->active_sig->kid() == sig);
  auto audit = ring->ReadAuditLog(0, 100);
  BOOST_TEST(audit->back().action == "restore");
  BOOST_TEST(ring->VerifyAuditChain()->ok());
}

// The store a restore replaces may be what a crash left: its latest changes only in its -wal, or
// its file damaged (often why it is replaced). Either way the restore goes through, the replaced
// store is kept with its changes, and no old -wal is left to be replayed into the restored file.
BOOST_FIXTURE_TEST_CASE(restore_over_a_store_a_crash_left_keeps_its_wal_out, RingFixture) {
  for (const bool damaged : {false, true}) {
    BOOST_TEST_CONTEXT("damaged " << damaged) {
      std::filesystem::remove_all(dir.path());
      std::filesystem::create_directories(dir.path());
      Reopen();
      BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
      const std::string sig = Snap()->active_sig->kid();
      const std::string backup = dir / "backup.db";
      BOOST_REQUIRE(ring->Backup(backup, kT0 + 1, "admin").ok());
      BOOST_REQUIRE(ring->Rotate(std::nullopt, kT0 + 2, "admin").has_value());
      const std::string rotated = Snap()->active_sig->kid();
      // SIGKILL now: the files as they are, the rotation in the -wal only.
      std::vector<std::uint8_t> crash_db = ReadAll(path);
      const std::vector<std::uint8_t> crash_wal = ReadAll(path + "-wal");
      BOOST_REQUIRE(!crash_wal.empty());
      ring.reset();
      if (damaged) std::fill(crash_db.begin(), crash_db.begin() + 100, 0xee);  // the header
      WriteAll(path, crash_db);
      WriteAll(path + "-wal", crash_wal);

      Status s = RestoreStore(backup, path, FixedMasterKey(1), kT0 + 3, "restore");
      BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
      BOOST_TEST(!Exists(path + "-wal"));
      const std::string aside = path + ".replaced-" + std::to_string(kT0 + 3);
      BOOST_TEST(Exists(aside));
      // Damaged, the old store is kept as it is: SQLite may still fold its -wal in (the pages
      // there replace the broken ones), or the -wal goes aside with it. Either way none is left
      // beside the restored file.
      if (!damaged) {
        BOOST_TEST(!Exists(aside + "-wal"));  // folded in: the kept store has the rotation
        BOOST_TEST(ActiveSigKidIn(aside) == rotated);
      }
      Reopen();
      BOOST_TEST(Snap()->active_sig->kid() == sig);
      BOOST_TEST(ring->VerifyAuditChain()->ok());
    }
  }
}

// Restores in the same second (the same `now`, no sleeping) each keep the store they replace
// under a name of their own: "<store>.replaced-<now>", then "-2", "-3", ... A name whose -wal
// is still there counts as taken: the kept store's -wal might otherwise land on it.
BOOST_FIXTURE_TEST_CASE(restores_in_the_same_second_keep_every_replaced_store, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  const std::string sig = Snap()->active_sig->kid();
  const std::string backup = dir / "backup.db";
  BOOST_REQUIRE(ring->Backup(backup, kT0 + 1, "admin").ok());
  const std::string base = path + ".replaced-" + std::to_string(kT0 + 3);
  const std::vector<std::uint8_t> stray_wal = {1, 2, 3};
  WriteAll(base + "-3-wal", stray_wal);
  std::vector<std::pair<std::string, std::string>> replaced;  // kept name, its active sig kid
  for (const std::string& aside : {base, base + "-2", base + "-4"}) {
    BOOST_TEST_CONTEXT(aside) {
      BOOST_REQUIRE(ring->Rotate(std::nullopt, kT0 + 2, "admin").has_value());
      replaced.emplace_back(aside, Snap()->active_sig->kid());
      ring.reset();
      Status s = RestoreStore(backup, path, FixedMasterKey(1), kT0 + 3, "restore");
      BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
      BOOST_TEST(Exists(aside));
      Reopen();
      BOOST_TEST(Snap()->active_sig->kid() == sig);
    }
  }
  // Every replaced store is still there, whole, under its own name; the stray -wal untouched.
  for (const auto& [aside, kid] : replaced) {
    BOOST_TEST(CheckStoreReadOnly(aside, FixedMasterKey(1)).ok(), aside);
    BOOST_TEST(ActiveSigKidIn(aside) == kid, aside);
  }
  BOOST_TEST(!Exists(base + "-3"));
  BOOST_TEST(ReadAll(base + "-3-wal") == stray_wal);
  BOOST_TEST(ring->VerifyAuditChain()->ok());
}

BOOST_FIXTURE_TEST_CASE(rekey_reseals_everything_under_the_new_key, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  BOOST_REQUIRE(ring->Rotate(std::nullopt, kT0 + 1, "admin").has_value());
  std::string sig = Snap()->active_sig->kid();
  BOOST_TEST(!RekeyStore(path, FixedMasterKey(1), FixedMasterKey(2), kT0 + 2, "rekey").ok());
  ring.reset();
  // A wrong old key changes nothing.
  std::vector<std::uint8_t> before = ReadAll(path);
  Status bad = RekeyStore(path, FixedMasterKey(7), FixedMasterKey(2), kT0 + 2, "rekey");
  BOOST_TEST((bad.code() == Code::kPermissionDenied));
  BOOST_TEST(ReadAll(path) == before);
  Status s = RekeyStore(path, FixedMasterKey(1), FixedMasterKey(2), kT0 + 2, "rekey");
  BOOST_REQUIRE_MESSAGE(s.ok(), s.ToString());
  auto old_key = SqliteKeyring::Open(testing::Options(path, pool), FixedMasterKey(1));
  BOOST_REQUIRE(!old_key.has_value());
  BOOST_TEST(old_key.error().message().find("master key") != std::string::npos);
  Reopen(2);
  auto ks = Snap();
  BOOST_TEST(ks->problems.empty());
  BOOST_TEST(ks->active_sig->kid() == sig);
  BOOST_TEST(ks->decrypt.size() == 2u);
  BOOST_TEST(ring->ReadAuditLog(0, 100)->back().action == "rekey");
  BOOST_TEST(ring->VerifyAuditChain()->ok());
}

BOOST_FIXTURE_TEST_CASE(snapshots_are_read_while_keys_change, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto ks = ring->Snapshot();
        if (!ks->active_sig.has_value() || ks->FindVerify(ks->active_sig->kid()) == nullptr) {
          std::abort();  // every published set has a usable active key
        }
        ++reads;
      }
    });
  }
  for (int i = 0; i < 5; ++i) {
    BOOST_REQUIRE(ring->Rotate(Purpose::kSig, kT0 + i, "admin").has_value());
  }
  stop = true;
  for (auto& t : readers) t.join();
  BOOST_TEST(reads.load() > 0);
  BOOST_TEST(Snap()->generation > 5);
}

// The schedule property of schedule_test.cc, on a real store and its published snapshots: a
// token made with the snapshot's active keys finds its keys in the snapshot's verify / decrypt
// sets until exp + clock_skew, and retired keys are destroyed within one tick of expire_at.
BOOST_AUTO_TEST_CASE(random_schedule_on_a_real_store_keeps_tokens_valid) {
  const std::uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  auto uniform = [&rng](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  PoolFactory pool(10);
  for (int run = 0; run < 3; ++run) {
    TempDir dir;
    SqliteKeyringOptions o = testing::Options(dir / "keys.db", pool);
    const std::int64_t tick = uniform(10, 60);
    o.schedule.sig.period = uniform(6 * tick, 20 * tick);
    o.schedule.sig.prepublish = uniform(0, o.schedule.sig.period - 1);
    o.schedule.enc.period = uniform(6 * tick, 20 * tick);
    o.schedule.enc.prepublish = uniform(0, o.schedule.enc.period - 1);
    // At least a tick: a running scheduler passes every max_lifetime / 2 (a longer gap is a
    // clock jump, and is held; clock_test.cc).
    o.schedule.max_lifetime = uniform(tick, 4 * tick);
    o.schedule.clock_skew = uniform(0, tick);
    BOOST_TEST_CONTEXT("seed " << seed << " run " << run << " tick " << tick << " sig "
                               << o.schedule.sig.period << "/" << o.schedule.sig.prepublish
                               << " enc " << o.schedule.enc.period << "/"
                               << o.schedule.enc.prepublish << " max_lifetime "
                               << o.schedule.max_lifetime << " skew " << o.schedule.clock_skew) {
      auto ring = SqliteKeyring::Open(o, FixedMasterKey(1));
      BOOST_REQUIRE(ring.has_value());
      struct Token {
        std::string sig, enc;
        UnixTime exp;
      };
      std::vector<Token> tokens;
      UnixTime now = kT0;
      for (int step = 0; step < 40; ++step) {
        BOOST_REQUIRE((*ring)->ApplyDue(now, "scheduler").has_value());
        auto ks = (*ring)->Snapshot();
        BOOST_REQUIRE(ks->active_sig.has_value());
        BOOST_REQUIRE(ks->active_enc.has_value());
        BOOST_REQUIRE(ks->problems.empty());
        for (const Token& t : tokens) {
          if (now >= t.exp + o.schedule.clock_skew) continue;
          BOOST_REQUIRE_MESSAGE(ks->FindVerify(t.sig) != nullptr, "sig " << t.sig << " at " << now);
          BOOST_REQUIRE_MESSAGE(ks->FindDecrypt(t.enc) != nullptr,
                                "enc " << t.enc << " at " << now);
        }
        for (const KeyInfo& k : ks->keys) {
          if (k.state == KeyState::kRetired && k.expire_at) BOOST_REQUIRE(now < *k.expire_at);
        }
        UnixTime issued = now + uniform(0, tick - 1);
        tokens.push_back({ks->active_sig->kid(), ks->active_enc->kid(),
                          issued + uniform(1, o.schedule.max_lifetime)});
        now += tick;
      }
      BOOST_REQUIRE((*ring)->VerifyAuditChain()->ok());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::keystore
