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

  explicit Fleet(int n) {
    const std::string master = keys / "master.key";
    WriteFile(master, std::string(32, '\x5a'));
    BOOST_REQUIRE(::chmod(master.c_str(), 0600) == 0);
    const std::string toml = "[store]\nbackend = \"postgresql\"\nurl = \"" +
                             PgCluster::Shared().Url(db) + "\"\nmaster_key_file = \"" + master +
                             "\"\npoll = \"1s\"\n";
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

BOOST_AUTO_TEST_CASE(a_rotation_on_one_host_reaches_all_within_the_poll) {
  Fleet fleet(3);
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
  PgCluster::Shared().Start();
  BOOST_TEST(rotate.status == 503, "rotate while cut off: " << rotate.status << " " << rotate.body);
  // Back: the next rotation applies, once, and reaches the other host.
  BOOST_TEST(Eventually([&] {
    return fleet.hosts[0]->Post("/api/v1/keys/rotate", {{"purpose", "sig"}}).status == 200;
  }));
  const std::string jwks = fleet.Jwks(0);
  BOOST_TEST(Eventually([&] { return fleet.Jwks(1) == jwks; }));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing
