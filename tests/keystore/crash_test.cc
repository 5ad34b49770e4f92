// Crash safety: a child process rotates, imports, revokes and applies the schedule in a loop and
// is killed with SIGKILL at random points, many times. After each kill the store must open,
// pass PRAGMA integrity_check, have an intact audit chain and exactly one active key per
// purpose, and every key must load.
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <random>

#include "keystore/sqlite_keyring.h"
#include "tests/keystore/test_util.h"

namespace instaccess::keystore {
namespace {

using testing::FixedMasterKey;
using testing::KeyPool;
using testing::PoolFactory;
using testing::TempDir;

constexpr std::size_t kPoolSize = 48;
constexpr int kKills = 60;

// Runs in the child until killed (or out of pool keys). Writes one byte per finished operation.
[[noreturn]] void ChildLoop(const std::string& path, UnixTime now, std::uint64_t seed, int out) {
  // Kids already in the store must not come out of the factory again.
  std::set<std::string> used;
  PoolFactory probe;
  auto ring0 = SqliteKeyring::Open(testing::Options(path, probe), FixedMasterKey(1));
  if (!ring0) ::_exit(10);
  for (const KeyInfo& k : (*ring0)->Snapshot()->keys) used.insert(k.kid);
  ring0 = Status(Code::kInternal, "reopen with the real factory");
  PoolFactory pool(0, used);
  auto ring = SqliteKeyring::Open(testing::Options(path, pool), FixedMasterKey(1));
  if (!ring) ::_exit(11);
  std::mt19937_64 rng(seed);
  for (;;) {
    if (pool.next() + 4 >= kPoolSize) ::_exit(0);  // no fresh keys left for this store
    now += static_cast<UnixTime>(rng() % 7200);
    switch (rng() % 5) {
      case 0:
        (void)(*ring)->Rotate(std::nullopt, now, "crash-test");
        break;
      case 1:
        (void)(*ring)->Rotate(rng() % 2 ? Purpose::kSig : Purpose::kEnc, now, "crash-test");
        break;
      case 2: {
        ImportRequest req;
        req.purpose = rng() % 2 ? Purpose::kSig : Purpose::kEnc;
        std::size_t i = pool.next() + rng() % 4;
        req.pem = testing::PrivatePem(i);
        req.activate = rng() % 2 == 0;
        (void)(*ring)->Import(req, now, "crash-test");
        break;
      }
      case 3: {
        auto ks = (*ring)->Snapshot();
        const KeyInfo& k = ks->keys[rng() % ks->keys.size()];
        (void)(*ring)->Revoke(k.kid, now, "crash-test");
        break;
      }
      default:
        (void)(*ring)->ApplyDue(now + static_cast<UnixTime>(rng() % (2 * 86400)), "crash-test");
        break;
    }
    char b = 1;
    if (::write(out, &b, 1) != 1) ::_exit(12);
  }
}

BOOST_AUTO_TEST_SUITE(keystore_crash)

BOOST_AUTO_TEST_CASE(sigkill_at_random_points_leaves_a_consistent_store) {
  const std::uint64_t seed = std::random_device{}();
  BOOST_TEST_MESSAGE("crash test seed " << seed);
  std::mt19937_64 rng(seed);
  KeyPool::Get().Warm(kPoolSize);  // before any fork: children share the keys
  for (std::size_t i = 0; i < kPoolSize; ++i) (void)testing::PrivatePem(i);
  TempDir dir;
  std::string path;
  UnixTime now = 1'700'000'000;
  int store_no = 0;
  int kills = 0, clean_exits = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(45);
  BOOST_TEST_CONTEXT("seed " << seed) {
    for (int round = 0; round < kKills && std::chrono::steady_clock::now() < deadline; ++round) {
      if (path.empty()) {
        path = dir / ("keys-" + std::to_string(store_no++) + ".db");
        PoolFactory pool;
        auto ring = SqliteKeyring::Open(testing::Options(path, pool), FixedMasterKey(1));
        BOOST_REQUIRE(ring.has_value());
        BOOST_REQUIRE((*ring)->ApplyDue(now, "setup").has_value());
      }
      now += 86400;
      int fds[2];
      BOOST_REQUIRE(::pipe(fds) == 0);
      pid_t pid = ::fork();
      BOOST_REQUIRE(pid >= 0);
      if (pid == 0) {
        ::close(fds[0]);
        ChildLoop(path, now, rng(), fds[1]);
      }
      ::close(fds[1]);
      // Let the child finish 0-3 operations (the pipe is the synchronisation), then kill it
      // after a random pause of up to 3 ms: somewhere inside the next operation.
      int want = static_cast<int>(rng() % 4);
      bool exited = false;
      for (int done = 0; done < want;) {
        char b;
        ssize_t n = ::read(fds[0], &b, 1);
        if (n == 1) {
          ++done;
        } else if (n == 0) {
          exited = true;
          break;
        }
      }
      timespec pause{0, static_cast<long>(rng() % 3'000'000)};
      ::nanosleep(&pause, nullptr);
      ::kill(pid, SIGKILL);
      int status = 0;
      ::waitpid(pid, &status, 0);
      ::close(fds[0]);
      if (WIFEXITED(status)) {
        BOOST_REQUIRE_MESSAGE(WEXITSTATUS(status) == 0, "child failed " << WEXITSTATUS(status));
        ++clean_exits;
        exited = true;
      } else {
        ++kills;
      }
      // The checks.
      PoolFactory pool(kPoolSize);
      auto ring = SqliteKeyring::Open(testing::Options(path, pool), FixedMasterKey(1));
      BOOST_REQUIRE_MESSAGE(ring.has_value(), ring.status().ToString());
      Result<std::string> integrity = (*ring)->IntegrityCheck();
      BOOST_REQUIRE(integrity.has_value());
      BOOST_REQUIRE_EQUAL(*integrity, "ok");
      Result<AuditVerification> audit = (*ring)->VerifyAuditChain();
      BOOST_REQUIRE(audit.has_value());
      BOOST_REQUIRE_MESSAGE(audit->ok(), audit->reason);
      auto ks = (*ring)->Snapshot();
      BOOST_REQUIRE_EQUAL(testing::CountState(*ks, Purpose::kSig, KeyState::kActive), 1);
      BOOST_REQUIRE_EQUAL(testing::CountState(*ks, Purpose::kEnc, KeyState::kActive), 1);
      std::string problems;
      for (const std::string& p : ks->problems) problems += p + "\n";
      BOOST_REQUIRE_MESSAGE(ks->problems.empty(), problems);
      BOOST_REQUIRE(ks->active_sig.has_value());
      BOOST_REQUIRE(ks->active_enc.has_value());
      if (exited) path.clear();  // pool used up: next round starts a new store
    }
  }
  BOOST_TEST_MESSAGE("kills " << kills << ", clean exits " << clean_exits);
  BOOST_TEST(kills >= 20);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::keystore
