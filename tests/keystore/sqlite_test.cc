#include "keystore/sqlite.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "tests/keystore/test_util.h"

namespace instaccess::keystore {
namespace {

using testing::TempDir;

Db OpenMem(const TempDir& dir) {
  Result<Db> db = Db::Open(dir / "t.db", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  BOOST_REQUIRE(db.has_value());
  BOOST_REQUIRE(db->Exec("CREATE TABLE t (a INTEGER, b TEXT, c BLOB)").ok());
  return std::move(*db);
}

BOOST_AUTO_TEST_SUITE(keystore_sqlite)

BOOST_AUTO_TEST_CASE(txn_rolls_back_unless_committed) {
  TempDir dir;
  Db db = OpenMem(dir);
  {
    Result<Txn> txn = Txn::Begin(db);
    BOOST_REQUIRE(txn.has_value());
    BOOST_REQUIRE(db.Exec("INSERT INTO t (a) VALUES (1)").ok());
  }  // destroyed without Commit
  BOOST_TEST(*db.QueryInt("SELECT count(*) FROM t") == 0);
  {
    Result<Txn> txn = Txn::Begin(db);
    BOOST_REQUIRE(txn.has_value());
    BOOST_REQUIRE(db.Exec("INSERT INTO t (a) VALUES (2)").ok());
    BOOST_REQUIRE(txn->Commit().ok());
  }
  BOOST_TEST(*db.QueryInt("SELECT count(*) FROM t") == 1);
}

BOOST_AUTO_TEST_CASE(bound_parameters_are_data_not_sql) {
  TempDir dir;
  Db db = OpenMem(dir);
  const std::string hostile = "x'); DROP TABLE t; --";
  std::vector<std::uint8_t> blob = {0, 1, 2, 0, 255};
  Result<Stmt> ins = db.Prepare("INSERT INTO t (a, b, c) VALUES (?1, ?2, ?3)");
  BOOST_REQUIRE(ins.has_value());
  ins->Bind(1, std::int64_t{-7}).Bind(2, std::string_view(hostile)).BindBlob(3, blob);
  BOOST_REQUIRE(ins->Run().ok());
  Result<Stmt> sel = db.Prepare("SELECT a, b, c FROM t WHERE b = ?1");
  BOOST_REQUIRE(sel.has_value());
  sel->Bind(1, std::string_view(hostile));
  Result<bool> row = sel->Step();
  BOOST_REQUIRE(row.has_value());
  BOOST_REQUIRE(*row);
  BOOST_TEST(sel->Int(0) == -7);
  BOOST_TEST(sel->Text(1) == hostile);
  BOOST_TEST(sel->Blob(2) == blob);
}

BOOST_AUTO_TEST_CASE(errors_name_the_problem) {
  TempDir dir;
  Db db = OpenMem(dir);
  Result<Stmt> bad = db.Prepare("SELEC nonsense");
  BOOST_REQUIRE(!bad.has_value());
  BOOST_TEST(bad.error().message().find("syntax error") != std::string::npos);
  Result<Db> missing = Db::Open(dir / "no/such/dir.db", SQLITE_OPEN_READWRITE);
  BOOST_REQUIRE(!missing.has_value());
  BOOST_TEST(missing.error().message().find("no/such/dir.db") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(sqlite_log_goes_to_the_handler) {
  std::vector<std::string> lines;
  SetSqliteLogHandler([&lines](LogLevel, std::string_view m) { lines.emplace_back(m); });
  sqlite3_log(SQLITE_WARNING, "hello from %s", "sqlite");
  SetSqliteLogHandler({});
  BOOST_REQUIRE(lines.size() == 1u);
  BOOST_TEST(lines[0].find("hello from sqlite") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::keystore
