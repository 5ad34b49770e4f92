// Clock faults (docs/storage.md, "Clock"): a forward jump of more than max_lifetime past the
// previous pass holds the schedule instead of rewriting it; the clock's return or an operator's
// accept-clock releases it. Time comes in through the `now` parameter: nothing sleeps.
#include <boost/test/unit_test.hpp>

#include "keystore/sqlite_keyring.h"
#include "tests/keystore/test_util.h"

namespace instaccess::keystore {
namespace {

using testing::FixedMasterKey;
using testing::PoolFactory;
using testing::TempDir;

constexpr UnixTime kT0 = 1'700'000'000;
constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 24 * kHour;
constexpr std::int64_t kMaxLifetime = 3600;  // the default policy's
// A retired sig key made at kT0 + 60 is destroyed at kT0 + 60 + max_lifetime + skew.
constexpr UnixTime kRetiredExpires = kT0 + 60 + kMaxLifetime + 60;
constexpr UnixTime kLastPass = kT0 + 120;
constexpr UnixTime kJumped = kLastPass + 2 * kMaxLifetime;

struct ClockFixture {
  TempDir dir;
  std::string path = dir / "keys.db";
  PoolFactory pool{10};
  std::unique_ptr<SqliteKeyring> ring;
  std::string retired;

  ClockFixture() { Reopen(); }
  void Reopen() {
    ring.reset();
    auto r = SqliteKeyring::Open(testing::Options(path, pool), FixedMasterKey(1));
    BOOST_REQUIRE_MESSAGE(r.has_value(), r.status().ToString());
    ring = std::move(*r);
  }
  std::shared_ptr<const KeySet> Snap() { return ring->Snapshot(); }
  // First keys at kT0, a manual sig rotation at kT0 + 60 (its retired key is destroyed at
  // kRetiredExpires), and a pass at kLastPass.
  void Setup() {
    BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
    retired = Snap()->active_sig->kid();
    BOOST_REQUIRE(ring->Rotate(Purpose::kSig, kT0 + 60, "admin").has_value());
    BOOST_REQUIRE(*ring->ApplyDue(kLastPass, "scheduler") == 0);
  }
  KeyState StateOf(const std::string& kid) {
    const KeyInfo* k = Snap()->FindInfo(kid);
    BOOST_REQUIRE(k != nullptr);
    return k->state;
  }
  bool Mentions(const std::string& text) {
    const auto ks = Snap();  // kept: a range-for over a temporary's member dangles
    for (const std::string& p : ks->problems) {
      if (p.find(text) != std::string::npos) return true;
    }
    return false;
  }
};

BOOST_AUTO_TEST_SUITE(keystore_clock)

BOOST_FIXTURE_TEST_CASE(forward_jump_past_max_lifetime_holds_the_schedule, ClockFixture) {
  Setup();
  auto before = Snap()->keys;
  Result<int> n = ring->ApplyDue(kJumped, "scheduler");
  BOOST_REQUIRE(n.has_value());
  BOOST_TEST(*n == 0);
  auto ks = Snap();
  BOOST_TEST(ks->keys == before);  // nothing destroyed, generated or promoted
  BOOST_TEST((StateOf(retired) == KeyState::kRetired));
  BOOST_TEST(ks->FindVerify(retired) != nullptr);
  BOOST_REQUIRE(ks->clock_held_since.has_value());
  BOOST_TEST(*ks->clock_held_since == kLastPass);
  BOOST_TEST(
      Mentions("the clock jumped forward by 7200 seconds past the last schedule pass at "
               "unix time " +
               std::to_string(kLastPass)));
  BOOST_TEST(Mentions("instaccessctl schedule accept-clock"));
  BOOST_TEST(ring->GetHealth().ok());
  // Held: looks again within a minute; still held later on.
  BOOST_TEST(*ring->NextDueTime(kJumped) <= kJumped + 60);
  BOOST_TEST(*ring->ApplyDue(kJumped + 60, "scheduler") == 0);
  BOOST_TEST(Snap()->keys == before);
  BOOST_TEST(*Snap()->clock_held_since == kLastPass);
}

BOOST_FIXTURE_TEST_CASE(clock_coming_back_releases_the_hold, ClockFixture) {
  Setup();
  BOOST_REQUIRE(*ring->ApplyDue(kJumped, "scheduler") == 0);
  BOOST_REQUIRE(Snap()->clock_held_since.has_value());
  // Back within max_lifetime of the last pass: the hold ends by itself, nothing was lost.
  BOOST_TEST(*ring->ApplyDue(kLastPass + 60, "scheduler") == 0);
  BOOST_TEST(!Snap()->clock_held_since.has_value());
  BOOST_TEST(Snap()->problems.empty());
  BOOST_TEST((StateOf(retired) == KeyState::kRetired));
  // The schedule proceeds as before: the retired key goes when it expires.
  BOOST_TEST(*ring->ApplyDue(kRetiredExpires - 1, "scheduler") == 0);
  BOOST_TEST(*ring->ApplyDue(kRetiredExpires, "scheduler") == 1);
  BOOST_TEST((StateOf(retired) == KeyState::kDestroyed));
  BOOST_TEST(ring->VerifyAuditChain()->ok());
}

BOOST_FIXTURE_TEST_CASE(accept_clock_releases_the_hold_and_is_audited, ClockFixture) {
  Setup();
  BOOST_REQUIRE(*ring->ApplyDue(kJumped, "scheduler") == 0);
  Result<UnixTime> accepted = ring->AcceptClock(kJumped, "uid=0(root)");
  BOOST_REQUIRE_MESSAGE(accepted.has_value(), accepted.status().ToString());
  BOOST_TEST(*accepted == kJumped);
  BOOST_TEST(!Snap()->clock_held_since.has_value());
  BOOST_TEST(Snap()->problems.empty());
  // The next pass applies what is due at the new time.
  BOOST_TEST(*ring->ApplyDue(kJumped, "scheduler") == 1);
  BOOST_TEST((StateOf(retired) == KeyState::kDestroyed));
  Result<std::vector<AuditEntry>> log = ring->ReadAuditLog(0, 1000);
  BOOST_REQUIRE(log.has_value());
  const AuditEntry* row = nullptr;
  for (const AuditEntry& e : *log) {
    if (e.action == "accept-clock") row = &e;
  }
  BOOST_REQUIRE(row != nullptr);
  BOOST_TEST(row->actor == "uid=0(root)");
  BOOST_TEST(row->at == kJumped);
  BOOST_TEST(row->detail.find(std::to_string(kLastPass)) != std::string::npos);
  BOOST_TEST(row->detail.find(std::to_string(kJumped)) != std::string::npos);
  BOOST_TEST(ring->VerifyAuditChain()->ok());
  // Accepted for good: persisted audit, reopened store opens clean.
  Reopen();
  BOOST_TEST(ring->VerifyAuditChain()->ok());
}

BOOST_FIXTURE_TEST_CASE(accept_clock_without_a_hold_is_refused, ClockFixture) {
  Setup();
  Result<UnixTime> r = ring->AcceptClock(kLastPass + 1, "admin");
  BOOST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error().code() == Code::kFailedPrecondition));
  BOOST_TEST(r.error().message() == "no clock jump is held");
}

BOOST_FIXTURE_TEST_CASE(first_pass_after_open_catches_up_without_a_hold, ClockFixture) {
  Setup();
  Reopen();  // downtime: the first pass of the new process has no previous pass
  Result<int> n = ring->ApplyDue(kT0 + 10 * kDay, "startup");
  BOOST_REQUIRE(n.has_value());
  BOOST_TEST(*n > 0);
  BOOST_TEST(!Snap()->clock_held_since.has_value());
  BOOST_TEST((StateOf(retired) == KeyState::kDestroyed));
  BOOST_TEST(ring->GetHealth().ok());
}

BOOST_FIXTURE_TEST_CASE(backward_jump_changes_nothing, ClockFixture) {
  Setup();
  auto before = Snap()->keys;
  BOOST_TEST(*ring->ApplyDue(kT0 - kDay, "scheduler") == 0);
  BOOST_TEST(Snap()->keys == before);
  BOOST_TEST(!Snap()->clock_held_since.has_value());
  // Forward again to where it was: no hold, the schedule goes on.
  BOOST_TEST(*ring->ApplyDue(kRetiredExpires, "scheduler") == 1);
  BOOST_TEST(!Snap()->clock_held_since.has_value());
}

BOOST_FIXTURE_TEST_CASE(next_due_time_is_capped_at_half_max_lifetime, ClockFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  // The next transition is a day away; the scheduler still passes every max_lifetime / 2.
  BOOST_TEST(*ring->NextDueTime(kT0) == kT0 + kMaxLifetime / 2);
  BOOST_TEST(*ring->NextDueTime(kT0 + kDay - kHour) == kT0 + kDay - kHour);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::keystore
