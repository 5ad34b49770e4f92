// Integrity of the store (keystore/integrity.h): someone who can write the store file but does
// not hold the master key edits, inserts, swaps, deletes or replays rows, or cuts the audit
// trail, while the daemon is stopped. At the next open the tampered data is never used, the
// finding is reported and audited once, and nothing else is lost.
#include "keystore/integrity.h"

#include <boost/test/unit_test.hpp>

#include "jose/token.h"
#include "keystore/sqlite_keyring.h"
#include "keystore/store_tools.h"
#include "tests/keystore/test_util.h"

namespace instaccess::keystore {
namespace {

using testing::FixedMasterKey;
using testing::PoolFactory;
using testing::TempDir;

constexpr UnixTime kT0 = 1'700'000'000;
constexpr std::int64_t kHour = 3600;

struct TamperFixture {
  TempDir dir;
  std::string path = dir / "keys.db";
  PoolFactory pool{10};  // keys 0..9 stay free: an attacker's keys
  std::unique_ptr<SqliteKeyring> ring;
  std::string active_sig, pending_sig, retired_sig, active_enc;

  // A store with a key in each state of the sig purpose: retired, active, pending (signing keys
  // rotate every 2 h, published 1 h ahead, so all three exist at 3 h).
  TamperFixture() {
    Reopen();
    for (UnixTime t : {kT0, kT0 + kHour, kT0 + 2 * kHour, kT0 + 3 * kHour}) {
      BOOST_REQUIRE(ring->ApplyDue(t, "test").has_value());
    }
    auto ks = ring->Snapshot();
    for (const KeyInfo& k : ks->keys) {
      if (k.purpose == Purpose::kEnc && k.state == KeyState::kActive) active_enc = k.kid;
      if (k.purpose != Purpose::kSig) continue;
      if (k.state == KeyState::kActive) active_sig = k.kid;
      if (k.state == KeyState::kPending) pending_sig = k.kid;
      if (k.state == KeyState::kRetired) retired_sig = k.kid;
    }
    BOOST_REQUIRE(!active_sig.empty() && !pending_sig.empty() && !retired_sig.empty());
    BOOST_TEST(ks->problems.empty());
    ring.reset();
  }

  void Reopen() {
    ring.reset();
    auto r = SqliteKeyring::Open(Options(), FixedMasterKey(1));
    BOOST_REQUIRE_MESSAGE(r.has_value(), r.status().ToString());
    ring = std::move(*r);
  }

  SqliteKeyringOptions Options() {
    SqliteKeyringOptions o = testing::Options(path, pool);
    o.schedule.sig = {"RS256", 2048, 2 * kHour, kHour};
    return o;
  }

  // SQL run on the closed store, as an attacker with write access would.
  void Tamper(const std::string& sql) {
    ring.reset();
    Result<Db> db = Db::Open(path, SQLITE_OPEN_READWRITE);
    BOOST_REQUIRE(db.has_value());
    BOOST_REQUIRE_MESSAGE(db->Exec(sql.c_str()).ok(), sql);
  }

  bool Listed(const std::string& kid) { return ring->Snapshot()->FindInfo(kid) != nullptr; }
  bool Usable(const std::string& kid) {
    auto ks = ring->Snapshot();
    return ks->FindVerify(kid) != nullptr || ks->FindDecrypt(kid) != nullptr ||
           (ks->active_enc && ks->active_enc->kid() == kid) ||
           ks->jwks.dump().find(kid) != std::string::npos;
  }
  bool ProblemNames(const std::string& text) {
    const auto ks = ring->Snapshot();  // kept: a range-for over a temporary's member dangles
    for (const std::string& p : ks->problems) {
      if (p.find(text) != std::string::npos) return true;
    }
    return false;
  }
  int IntegrityAudits() {
    int n = 0;
    const Result<std::vector<AuditEntry>> log = ring->ReadAuditLog(0, 1000);
    BOOST_REQUIRE(log.has_value());
    for (const AuditEntry& e : *log) n += e.action == "integrity";
    return n;
  }
};

BOOST_AUTO_TEST_SUITE(keystore_integrity)

BOOST_FIXTURE_TEST_CASE(untouched_store_reports_nothing, TamperFixture) {
  Reopen();
  BOOST_TEST(ring->Snapshot()->problems.empty());
  BOOST_TEST(ring->Snapshot()->tampered_rows == 0u);
  BOOST_TEST(ring->GetHealth().ok());
  BOOST_TEST(ring->VerifyAuditChain()->ok());
  BOOST_TEST(ring->Snapshot()->audit_head.size() == 64u);
}

BOOST_FIXTURE_TEST_CASE(editing_any_column_of_a_row_refuses_that_row_only, TamperFixture) {
  const std::string kid = pending_sig;
  const std::vector<std::string> edits = {
      "alg = 'PS256'",
      "bits = 4096",
      "origin = 'imported'",
      "state = 'retired'",
      "created_at = created_at - 1",
      "activate_at = 1",
      "retire_at = 1",
      "expire_at = 1",
      "revoked_at = 1",
      "public_jwk = public_jwk || ' '",
      "public_der = (SELECT public_der FROM keys WHERE kid = '" + retired_sig + "')",
      "sealed_private = NULL, nonce = NULL",
      "nonce = zeroblob(24)",
      "mac = zeroblob(32)",
  };
  for (const std::string& edit : edits) {
    BOOST_TEST_CONTEXT(edit) {
      TamperFixture fresh;
      fresh.Tamper("UPDATE keys SET " + edit + " WHERE kid = '" + kid + "'");
      fresh.Reopen();
      BOOST_TEST(!fresh.Listed(kid));
      BOOST_TEST(!fresh.Usable(kid));
      BOOST_TEST(fresh.ProblemNames(kid));
      BOOST_TEST(fresh.ring->Snapshot()->tampered_rows == 1u);
      // The rest works: the active keys are intact, so health holds.
      BOOST_TEST(fresh.Usable(fresh.active_sig));
      BOOST_TEST(fresh.Usable(fresh.retired_sig));
      BOOST_TEST(fresh.ring->GetHealth().ok());
    }
  }
}

BOOST_FIXTURE_TEST_CASE(attacker_key_inserted_as_active_enc_is_never_encrypted_to, TamperFixture) {
  // The attacker's own public key, made the active encryption key by hand.
  jose::RsaKey mine = testing::KeyPool::Get().Key(3, jose::Alg::kRsaOaep);
  Tamper("UPDATE keys SET state = 'retired' WHERE kid = '" + active_enc + "'");
  {
    Result<Db> db = Db::Open(path, SQLITE_OPEN_READWRITE);
    Result<Stmt> s = db->Prepare(
        "INSERT INTO keys (kid, purpose, alg, bits, origin, state, created_at, activate_at, "
        "public_jwk, public_der, mac) SELECT ?1, 'enc', 'RSA-OAEP', 2048, 'peer', 'active', "
        "created_at, activate_at, ?2, ?3, mac FROM keys WHERE kid = ?4");
    s->Bind(1, std::string_view(mine.kid()))
        .Bind(2, std::string_view(mine.PublicJwk().dump()))
        .BindBlob(3, mine.PublicSpkiDer())
        .Bind(4, std::string_view(active_enc));
    BOOST_REQUIRE(s->Run().ok());
  }
  Reopen();
  auto ks = ring->Snapshot();
  BOOST_TEST(!Usable(mine.kid()));
  BOOST_TEST(!ks->active_enc.has_value());  // never the attacker's
  BOOST_TEST(!Usable(active_enc));          // its row was edited too
  BOOST_TEST(!ring->GetHealth().ok());
  BOOST_TEST(ring->GetHealth().message.find(mine.kid()) != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(token_forged_with_an_inserted_signing_key_does_not_decrypt, TamperFixture) {
  // The attacker's own signing key, inserted as a retired key (one that still verifies).
  jose::RsaKey mine = testing::KeyPool::Get().Key(4, jose::Alg::kRS256);
  Tamper("SELECT 1");
  {
    Result<Db> db = Db::Open(path, SQLITE_OPEN_READWRITE);
    Result<Stmt> s = db->Prepare(
        "INSERT INTO keys (kid, purpose, alg, bits, origin, state, created_at, public_jwk, "
        "public_der, mac) VALUES (?1, 'sig', 'RS256', 2048, 'peer', 'retired', 1, ?2, ?3, "
        "zeroblob(32))");
    s->Bind(1, std::string_view(mine.kid()))
        .Bind(2, std::string_view(mine.PublicJwk().dump()))
        .BindBlob(3, mine.PublicSpkiDer());
    BOOST_REQUIRE(s->Run().ok());
  }
  Reopen();
  auto ks = ring->Snapshot();
  BOOST_TEST(!Usable(mine.kid()));
  BOOST_TEST(ProblemNames(mine.kid()));
  BOOST_TEST(ring->GetHealth().ok());  // the active keys are intact
  BOOST_REQUIRE(ks->active_enc.has_value());

  // A token in our name, signed with the attacker's key and encrypted to our own active key.
  const UnixTime now = kT0 + 3 * kHour;
  auto claims =
      jose::BuildStandardClaims({{"sub", "admin"}, {"acct", "1"}}, jose::kDefaultIssuer, now, 600);
  BOOST_REQUIRE(claims.has_value());
  auto forged = jose::IssueToken(*claims, mine, *ks->active_enc, jose::IssueOptions{});
  BOOST_REQUIRE(forged.has_value());
  auto opened =
      jose::OpenToken(*forged, jose::KeyCandidates{ks->verify, ks->decrypt, ks->verify_bounds},
                      jose::ClaimPolicy{}, now);
  BOOST_TEST(!opened.has_value());
  BOOST_TEST((jose::TokenErrorOf(opened.status()) == jose::TokenError::kInvalidToken));

  // The same token signed with our own active key opens: the refusal is the key's.
  auto genuine = jose::IssueToken(*claims, *ks->active_sig, *ks->active_enc, jose::IssueOptions{});
  BOOST_TEST(jose::OpenToken(*genuine,
                             jose::KeyCandidates{ks->verify, ks->decrypt, ks->verify_bounds},
                             jose::ClaimPolicy{}, now)
                 .has_value());
}

BOOST_FIXTURE_TEST_CASE(swapped_public_keys_refuse_both_rows, TamperFixture) {
  Tamper("UPDATE keys SET public_der = (SELECT public_der FROM keys WHERE kid = '" + pending_sig +
         "'), public_jwk = (SELECT public_jwk FROM keys WHERE kid = '" + pending_sig +
         "') WHERE kid = '" + retired_sig + "'");
  Reopen();
  BOOST_TEST(!Usable(retired_sig));
  BOOST_TEST(Usable(pending_sig));
}

BOOST_FIXTURE_TEST_CASE(deleted_row_is_reported_and_audited_once, TamperFixture) {
  Tamper("DELETE FROM keys WHERE kid = '" + retired_sig + "'");
  Reopen();
  BOOST_TEST(ProblemNames(retired_sig + " was deleted"));
  BOOST_TEST(IntegrityAudits() == 1);
  BOOST_TEST(ring->GetHealth().ok());
  Reopen();  // recorded and sealed: said once, not at every start
  BOOST_TEST(IntegrityAudits() == 1);
  BOOST_TEST(ring->VerifyAuditChain()->ok());
}

BOOST_FIXTURE_TEST_CASE(older_copy_of_a_row_is_refused, TamperFixture) {
  // The pending key's row as it is now, with its valid MAC; then it becomes active.
  std::vector<std::string> saved;
  {
    Result<Db> db = Db::Open(path, SQLITE_OPEN_READONLY);
    Result<Stmt> s =
        db->Prepare("SELECT state, quote(activate_at), quote(mac) FROM keys WHERE kid = ?1");
    s->Bind(1, std::string_view(pending_sig));
    BOOST_REQUIRE(*s->Step());
    saved = {s->Text(0), s->Text(1), s->Text(2)};
  }
  Reopen();
  BOOST_REQUIRE(ring->ApplyDue(kT0 + 4 * kHour, "test").has_value());
  BOOST_REQUIRE(ring->Snapshot()->active_sig->kid() == pending_sig);
  Tamper("UPDATE keys SET state = '" + saved[0] + "', activate_at = " + saved[1] +
         ", mac = " + saved[2] + " WHERE kid = '" + pending_sig + "'");
  Reopen();
  BOOST_TEST(!Usable(pending_sig));
  BOOST_TEST(ProblemNames(pending_sig));
}

BOOST_FIXTURE_TEST_CASE(cut_or_edited_audit_trail_is_reported, TamperFixture) {
  Tamper("DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)");
  Reopen();
  BOOST_TEST(ProblemNames("audit trail ends at row"));
  BOOST_TEST(ring->GetHealth().ok());
  BOOST_TEST(Usable(active_sig));

  Tamper("UPDATE audit SET detail = 'nothing happened' WHERE seq = 2");
  Reopen();
  BOOST_TEST(ProblemNames("audit trail is broken"));
  BOOST_TEST(!ring->VerifyAuditChain()->ok());
}

BOOST_FIXTURE_TEST_CASE(broken_seal_fails_health_until_rekey_vouches, TamperFixture) {
  Tamper("UPDATE meta SET value = zeroblob(32) WHERE name = 'seal_mac'");
  Reopen();
  BOOST_TEST(ProblemNames("seal is missing or does not authenticate"));
  BOOST_TEST(!ring->GetHealth().ok());
  BOOST_TEST(Usable(active_sig));  // rows that authenticate still serve
  Reopen();                        // a reseal does not launder it
  BOOST_TEST(ProblemNames("seal was found broken"));
  BOOST_TEST(!ring->GetHealth().ok());

  ring.reset();
  BOOST_REQUIRE(
      RekeyStore(path, FixedMasterKey(1), FixedMasterKey(2), kT0 + 3 * kHour + 10, "test").ok());
  auto r = SqliteKeyring::Open(Options(), FixedMasterKey(2));
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST((*r)->Snapshot()->problems.empty());
  BOOST_TEST((*r)->GetHealth().ok());
  BOOST_TEST((*r)->VerifyAuditChain()->ok());
}

BOOST_FIXTURE_TEST_CASE(rekey_refuses_a_store_with_a_tampered_row, TamperFixture) {
  Tamper("UPDATE keys SET bits = 4096 WHERE kid = '" + retired_sig + "'");
  Status s = RekeyStore(path, FixedMasterKey(1), FixedMasterKey(2), kT0 + 3 * kHour + 10, "test");
  BOOST_TEST(s.code() == Code::kDataLoss);
  BOOST_TEST(s.message().find(retired_sig) != std::string::npos);
  Reopen();  // still under the old key
}

BOOST_FIXTURE_TEST_CASE(restore_refuses_a_tampered_backup_and_keeps_the_store, TamperFixture) {
  Reopen();
  const std::string backup = dir / "backup.db";
  BOOST_REQUIRE(ring->Backup(backup, kT0 + 3 * kHour + 10, "test").ok());
  ring.reset();
  {
    Result<Db> db = Db::Open(backup, SQLITE_OPEN_READWRITE);
    BOOST_REQUIRE(
        db->Exec(("UPDATE keys SET expire_at = NULL WHERE kid = '" + retired_sig + "'").c_str())
            .ok());
  }
  const auto before = testing::ReadAll(path);
  Status s = RestoreStore(backup, path, FixedMasterKey(1), kT0 + 3 * kHour + 10, "test");
  BOOST_TEST(s.code() == Code::kDataLoss);
  BOOST_TEST(s.message().find(retired_sig) != std::string::npos, s.message());
  BOOST_TEST((testing::ReadAll(path) == before));
}

BOOST_FIXTURE_TEST_CASE(restore_that_would_unrevoke_needs_the_flag, TamperFixture) {
  Reopen();
  const std::string backup = dir / "backup.db";
  BOOST_REQUIRE(ring->Backup(backup, kT0 + 3 * kHour + 10, "test").ok());
  BOOST_REQUIRE(ring->Revoke(retired_sig, kT0 + 3 * kHour + 10 + 1, "test").has_value());
  ring.reset();
  std::vector<std::string> changes;
  Status refused =
      RestoreStore(backup, path, FixedMasterKey(1), kT0 + 3 * kHour + 10 + 2, "test", {}, &changes);
  BOOST_TEST(refused.code() == Code::kFailedPrecondition);
  BOOST_TEST(refused.message().find(retired_sig) != std::string::npos);
  BOOST_TEST(changes.size() == 1u);  // what it would have changed, for the operator
  Reopen();
  BOOST_TEST((ring->Snapshot()->FindInfo(retired_sig)->state == KeyState::kRevoked));
  ring.reset();

  RestoreOptions allow;
  allow.allow_unrevoke = true;
  BOOST_REQUIRE(RestoreStore(backup, path, FixedMasterKey(1), kT0 + 3 * kHour + 10 + 3, "test",
                             allow, &changes)
                    .ok());
  BOOST_REQUIRE(changes.size() == 1u);
  BOOST_TEST(changes[0] == "key " + retired_sig + ": revoked -> retired");
  Reopen();
  BOOST_TEST((ring->Snapshot()->FindInfo(retired_sig)->state == KeyState::kRetired));
  BOOST_TEST(ring->Snapshot()->problems.empty());
  BOOST_TEST(ring->VerifyAuditChain()->ok());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::keystore
