// Three real daemons on one PostgreSQL database (a throwaway cluster the test starts): tokens
// issued on any host decrypt on every host, a rotation on one reaches the others' JWKS within
// store.poll, and a database that stops leaves every host serving with the keys it holds.
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "tests/support/pg_cluster.h"
#include "tests/support/running_daemon.h"

namespace instaccess::testing {
namespace {

// A condition met before the deadline, checked every 50 ms (a wait for an event that has no
// notification of its own: another host's change reaching this one).
template <typename Pred>
bool Eventually(Pred pred, std::chrono::seconds deadline = 20s) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

struct Fleet {
  TempDir keys;  // the master key every host is given
  std::string db = PgCluster::Shared().NewDatabase();
  std::vector<std::unique_ptr<RunningDaemon>> hosts;

  explicit Fleet(int n, const std::string& poll = "1s") {
    const std::string master = keys / "master.key";
    WriteFile(master, std::string(32, '\x5a'));
    BOOST_REQUIRE(::chmod(master.c_str(), 0600) == 0);
    const std::string toml = "[store]\nbackend = \"postgresql\"\nurl = \"" +
                             PgCluster::Shared().Url(db) + "\"\nmaster_key_file = \"" + master +
                             "\"\npoll = \"" + poll + "\"\n";
    for (int i = 0; i < n; ++i) hosts.push_back(std::make_unique<RunningDaemon>(toml));
  }
  std::string Jwks(std::size_t i) const { return hosts[i]->Get("/.well-known/jwks.json").body; }
};

BOOST_AUTO_TEST_SUITE(daemon_fleet)

BOOST_AUTO_TEST_CASE(tokens_from_any_host_decrypt_on_all) {
  Fleet fleet(3);
  for (std::size_t from = 0; from < 3; ++from) {
    const std::string token = fleet.hosts[from]->Issue();
    for (std::size_t on = 0; on < 3; ++on) {
      HttpReply r = fleet.hosts[on]->Decrypt(token);
      BOOST_TEST(r.status == 200, "token of host " << from << " on host " << on << ": " << r.status
                                                   << " " << r.body);
    }
  }
  BOOST_TEST(fleet.Jwks(0) == fleet.Jwks(1));
  BOOST_TEST(fleet.Jwks(0) == fleet.Jwks(2));
}

// With a poll far longer than the test: the change travels by NOTIFY.
BOOST_AUTO_TEST_CASE(a_rotation_on_one_host_reaches_all_at_once) {
  Fleet fleet(3, "1h");
  const std::string before = fleet.Jwks(2);
  HttpReply r = fleet.hosts[0]->Post("/api/v1/keys/rotate", {{"purpose", "both"}});
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  const std::string after = fleet.Jwks(0);
  BOOST_TEST(after != before);
  BOOST_TEST(Eventually([&] { return fleet.Jwks(1) == after && fleet.Jwks(2) == after; }));
  // A token issued on host 0 with its new key decrypts on the others.
  const std::string token = fleet.hosts[0]->Issue();
  BOOST_TEST(fleet.hosts[1]->Decrypt(token).status == 200);
  BOOST_TEST(fleet.hosts[2]->Decrypt(token).status == 200);
}

BOOST_AUTO_TEST_CASE(hosts_keep_serving_while_the_database_is_away) {
  Fleet fleet(2);
  const std::string token = fleet.hosts[0]->Issue();
  PgCluster::Shared().Stop();
  const std::string during = fleet.hosts[1]->Issue();
  BOOST_TEST(fleet.hosts[0]->Decrypt(during).status == 200);
  BOOST_TEST(fleet.hosts[1]->Decrypt(token).status == 200);
  HttpReply rotate = fleet.hosts[0]->Post("/api/v1/keys/rotate", {{"purpose", "sig"}});
  // Shown where an operator looks: /metrics and the status warnings.
  const std::string metrics_down = fleet.hosts[0]->Get("/metrics").body;
  const std::string status_down = fleet.hosts[0]->Get("/api/v1/status").body;
  PgCluster::Shared().Start();
  BOOST_TEST(metrics_down.find("instaccess_store_reachable 0") != std::string::npos);
  BOOST_TEST(status_down.find("the key store cannot be reached") != std::string::npos);
  BOOST_TEST(rotate.status == 503, "rotate while cut off: " << rotate.status << " " << rotate.body);
  // Back: the next rotation applies, once, and reaches the other host.
  BOOST_TEST(Eventually([&] {
    return fleet.hosts[0]->Post("/api/v1/keys/rotate", {{"purpose", "sig"}}).status == 200;
  }));
  const std::string jwks = fleet.Jwks(0);
  BOOST_TEST(Eventually([&] { return fleet.Jwks(1) == jwks; }));
  BOOST_TEST(fleet.hosts[0]->Get("/metrics").body.find("instaccess_store_reachable 1") !=
             std::string::npos);
}

// instaccessd migrate --to URL, then --to PATH: a single host's SQLite store moves into the
// database and back, and the daemon on each copy serves the same keys.
BOOST_AUTO_TEST_CASE(migrate_moves_a_store_to_the_database_and_back) {
  RunningDaemon single;
  const std::string jwks = single.Get("/.well-known/jwks.json").body;
  const std::string token = single.Issue();
  single.Stop();
  const std::string db = PgCluster::Shared().NewDatabase();
  auto migrate = [&](const std::string& dir, const std::string& to) {
    DaemonProcess p({dir, {"migrate", "--to", to}, {}, "", {}, {}});
    const int rc = p.Wait(60s).value_or(-1);
    BOOST_TEST_REQUIRE(rc == 0, "migrate --to " << to << ": " << p.Stderr());
    BOOST_TEST(p.Stderr().find("every MAC checked at both ends") != std::string::npos);
  };
  migrate(single.dir.path().string(), PgCluster::Shared().Url(db));
  // Into a database that holds a store already: refused.
  {
    DaemonProcess again({single.dir.path().string(),
                         {"migrate", "--to", PgCluster::Shared().Url(db)},
                         {},
                         "",
                         {},
                         {}});
    BOOST_TEST(again.Wait(60s).value_or(-1) != 0);
  }
  // A daemon on the database, with the single host's master key: the same keys.
  RunningDaemon on_pg("[store]\nbackend = \"postgresql\"\nurl = \"" + PgCluster::Shared().Url(db) +
                      "\"\nmaster_key_file = \"" + (single.dir / "var/master.key") + "\"\n");
  BOOST_TEST(on_pg.Get("/.well-known/jwks.json").body == jwks);
  BOOST_TEST(on_pg.Decrypt(token).status == 200);
  on_pg.Stop();
  migrate(on_pg.dir.path().string(), on_pg.dir / "back.db");
  RunningDaemon back("[store]\npath = \"" + (on_pg.dir / "back.db") + "\"\nmaster_key_file = \"" +
                     (single.dir / "var/master.key") + "\"\n");
  BOOST_TEST(back.Get("/.well-known/jwks.json").body == jwks);
  BOOST_TEST(back.Decrypt(token).status == 200);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing
