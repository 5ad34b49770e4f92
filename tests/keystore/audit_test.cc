#include "keystore/audit.h"

#include <boost/test/unit_test.hpp>

#include "keystore/schema.h"
#include "tests/keystore/test_util.h"

namespace instaccess::keystore {
namespace {

using testing::FixedMasterKey;
using testing::TempDir;

struct AuditFixture {
  TempDir dir;
  SecretBytes key = FixedMasterKey(9);  // stands in for the derived audit key
  Db db = [this] {
    Result<Db> d = Db::Open(dir / "a.db", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (!d || !Migrate(*d).ok()) std::abort();
    return std::move(*d);
  }();
  SqliteStore store{db};

  void Append(int n) {
    for (int i = 0; i < n; ++i) {
      BOOST_REQUIRE(AppendAudit(store, key, 1000 + i, "tester", "backup", std::nullopt,
                                "entry " + std::to_string(i))
                        .ok());
    }
  }
};

BOOST_AUTO_TEST_SUITE(keystore_audit)

BOOST_FIXTURE_TEST_CASE(chain_of_appended_rows_verifies, AuditFixture) {
  Result<AuditVerification> empty = VerifyAudit(store, &key);
  BOOST_REQUIRE(empty.has_value());
  BOOST_TEST(empty->ok());
  Append(5);
  Result<AuditVerification> v = VerifyAudit(store, &key);
  BOOST_REQUIRE(v.has_value());
  BOOST_TEST(v->ok());
  BOOST_TEST(v->entries == 5);
  Result<std::vector<AuditEntry>> rows = ReadAudit(store, 0, 100);
  BOOST_REQUIRE(rows.has_value());
  BOOST_TEST(rows->at(0).prev_hash == std::vector<std::uint8_t>(32, 0));
  BOOST_TEST(rows->at(1).prev_hash == rows->at(0).hash);
}

BOOST_FIXTURE_TEST_CASE(altered_row_is_the_first_broken_link, AuditFixture) {
  Append(6);
  BOOST_REQUIRE(db.Exec("UPDATE audit SET detail = 'forged' WHERE seq = 3").ok());
  Result<AuditVerification> v = VerifyAudit(store, &key);
  BOOST_REQUIRE(v.has_value());
  BOOST_TEST(!v->ok());
  BOOST_TEST(*v->first_broken_seq == 3);
  BOOST_TEST(v->reason.find("altered") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(rehashed_row_breaks_the_next_link, AuditFixture) {
  Append(6);
  // Even one who holds the key and recomputes the row's own hash breaks the following row's
  // prev_hash.
  Result<std::vector<AuditEntry>> rows = ReadAudit(store, 0, 100);
  AuditEntry e = rows->at(2);
  e.actor = "mallory";
  std::vector<std::uint8_t> h = AuditHash(&key, e);
  Result<Stmt> s = db.Prepare("UPDATE audit SET actor = ?1, hash = ?2 WHERE seq = 3");
  s->Bind(1, std::string_view("mallory")).BindBlob(2, h);
  BOOST_REQUIRE(s->Run().ok());
  Result<AuditVerification> v = VerifyAudit(store, &key);
  BOOST_TEST(*v->first_broken_seq == 4);
}

BOOST_FIXTURE_TEST_CASE(deleted_row_is_reported, AuditFixture) {
  Append(6);
  BOOST_REQUIRE(db.Exec("DELETE FROM audit WHERE seq = 2").ok());
  Result<AuditVerification> v = VerifyAudit(store, &key);
  BOOST_TEST(*v->first_broken_seq == 3);
}

BOOST_FIXTURE_TEST_CASE(chain_rewritten_without_the_key_does_not_verify, AuditFixture) {
  Append(3);
  // Whoever lacks the key can only make an unkeyed chain, or one under a key of their own.
  SecretBytes other = FixedMasterKey(10);
  BOOST_REQUIRE(RechainAudit(store, other).ok());
  Result<AuditVerification> forged = VerifyAudit(store, &key);
  BOOST_TEST(*forged->first_broken_seq == 1);
  BOOST_TEST(VerifyAudit(store, &other)->ok());
  BOOST_TEST(!VerifyAudit(store, nullptr)->ok());
  BOOST_REQUIRE(RechainAudit(store, key).ok());
  BOOST_TEST(VerifyAudit(store, &key)->ok());
  BOOST_TEST(VerifyAudit(store, &key)->entries == 3);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::keystore
