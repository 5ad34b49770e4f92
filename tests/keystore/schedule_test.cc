#include "keystore/schedule.h"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace instaccess::keystore {
namespace {

constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 24 * kHour;

// The pure model of a keyring: what SqliteKeyring::ApplyDue does minus I/O.
struct Model {
  SchedulePolicy policy;
  std::vector<KeyInfo> keys;
  UnixTime high_water = 0;
  int next_kid = 0;
  std::map<std::string, UnixTime> destroyed_at;

  KeyInfo Fresh(Purpose p) {
    KeyInfo k;
    k.kid = "k" + std::to_string(next_kid++);
    k.purpose = p;
    k.alg = policy.For(p).alg;
    k.bits = 2048;
    k.origin = KeyOrigin::kGenerated;
    k.has_private = true;
    return k;
  }

  int ApplyDue(UnixTime now) {
    UnixTime at = std::max(now, high_water);
    high_water = at;
    int n = 0;
    // Every retired key may be due for destruction (after a long stop with a short period there
    // are hundreds), plus at most a generate and a promote per purpose: more means a loop.
    const std::size_t limit = keys.size() + 2 * std::size(kAllPurposes);
    while (std::optional<Transition> t = NextDue(keys, policy, now)) {
      std::optional<KeyInfo> fresh;
      if (t->kind == TransitionKind::kGenerate ||
          (t->kind == TransitionKind::kPromote && t->kid.empty())) {
        fresh = Fresh(t->purpose);
      }
      Result<RowChanges> c = ComputeTransition(keys, *t, at, policy, fresh);
      BOOST_REQUIRE_MESSAGE(c.has_value(), c.status().ToString());
      for (const KeyInfo& u : c->updated) {
        if (u.state == KeyState::kDestroyed) destroyed_at[u.kid] = now;
      }
      ApplyChanges(keys, *c);
      BOOST_REQUIRE(static_cast<std::size_t>(++n) <= limit);
    }
    return n;
  }

  const KeyInfo* Active(Purpose p) const {
    const KeyInfo* a = nullptr;
    for (const KeyInfo& k : keys) {
      if (k.purpose == p && k.state == KeyState::kActive) {
        BOOST_REQUIRE_MESSAGE(a == nullptr, "two active keys");
        a = &k;
      }
    }
    return a;
  }
  const KeyInfo* Find(const std::string& kid) const {
    for (const KeyInfo& k : keys) {
      if (k.kid == kid) return &k;
    }
    return nullptr;
  }
};

int Rank(KeyState s) {
  switch (s) {
    case KeyState::kPending:
      return 0;
    case KeyState::kActive:
      return 1;
    case KeyState::kRetired:
      return 2;
    case KeyState::kDestroyed:
      return 3;
    case KeyState::kRevoked:
      return 4;
  }
  return -1;
}

BOOST_AUTO_TEST_SUITE(keystore_schedule)

BOOST_AUTO_TEST_CASE(default_policy_matches_design) {
  SchedulePolicy p;
  BOOST_TEST(p.Validate().ok());
  BOOST_TEST(p.sig.alg == "RS256");
  BOOST_TEST(p.sig.period == kDay);
  BOOST_TEST(p.sig.prepublish == kHour);
  BOOST_TEST(p.enc.alg == "RSA-OAEP");
  BOOST_TEST(p.enc.period == 7 * kDay);
  BOOST_TEST(p.max_lifetime == kHour);
  BOOST_TEST(p.clock_skew == 60);
  p.sig.prepublish = p.sig.period;
  BOOST_TEST(p.Validate().message().find("rotation.sig.prepublish") != std::string::npos);
  p = SchedulePolicy{};
  p.enc.bits = 1024;
  BOOST_TEST(p.Validate().message().find("rotation.enc.bits") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(empty_store_gets_active_keys_at_once) {
  Model m;
  BOOST_TEST(m.ApplyDue(1000) == 2);
  BOOST_REQUIRE(m.Active(Purpose::kSig) != nullptr);
  BOOST_REQUIRE(m.Active(Purpose::kEnc) != nullptr);
  BOOST_TEST(*m.Active(Purpose::kSig)->activate_at == 1000);
  // Next: the sig key's successor, period - prepublish later.
  BOOST_TEST(*NextDueTime(m.keys, m.policy) == 1000 + kDay - kHour);
}

BOOST_AUTO_TEST_CASE(one_period_walks_through_every_state) {
  Model m;
  const UnixTime t0 = 1'000'000;
  m.ApplyDue(t0);
  std::string first = m.Active(Purpose::kSig)->kid;
  m.ApplyDue(t0 + kDay - kHour - 1);
  BOOST_TEST(m.keys.size() == 2u);  // nothing yet
  m.ApplyDue(t0 + kDay - kHour);
  BOOST_REQUIRE(m.keys.size() == 3u);
  const KeyInfo& pending = m.keys.back();
  BOOST_TEST((pending.state == KeyState::kPending));
  BOOST_TEST(*pending.activate_at == t0 + kDay);
  BOOST_TEST(IsLive(pending));
  BOOST_TEST(MayVerify(pending));
  m.ApplyDue(t0 + kDay);
  const KeyInfo* old = m.Find(first);
  BOOST_TEST((old->state == KeyState::kRetired));
  BOOST_TEST(*old->retire_at == t0 + kDay);
  BOOST_TEST(*old->expire_at == t0 + kDay + kHour + 60);
  BOOST_TEST(m.Active(Purpose::kSig)->kid != first);
  m.ApplyDue(t0 + kDay + kHour + 59);
  BOOST_TEST((m.Find(first)->state == KeyState::kRetired));
  m.ApplyDue(t0 + kDay + kHour + 60);
  BOOST_TEST((m.Find(first)->state == KeyState::kDestroyed));
  BOOST_TEST(!m.Find(first)->has_private);
}

BOOST_AUTO_TEST_CASE(catch_up_after_downtime_applies_in_order) {
  Model m;
  const UnixTime t0 = 1'000'000;
  m.ApplyDue(t0);
  m.ApplyDue(t0 + kDay - kHour);  // pending sig key exists
  std::string sig1 = m.Active(Purpose::kSig)->kid;
  // Down for ten days.
  const UnixTime back = t0 + 10 * kDay;
  m.ApplyDue(back);
  // The prepublished key was promoted at once; the old one retired now (tokens made before the
  // downtime are long expired, but a key is never retired before it was actually replaced).
  BOOST_TEST((m.Find(sig1)->state == KeyState::kRetired));
  BOOST_TEST(*m.Find(sig1)->retire_at == back);
  // The enc key was due too but had no pending successor: one was generated now and is
  // published for `prepublish` before use.
  const KeyInfo* enc_pending = nullptr;
  for (const KeyInfo& k : m.keys) {
    if (k.purpose == Purpose::kEnc && k.state == KeyState::kPending) enc_pending = &k;
  }
  BOOST_REQUIRE(enc_pending != nullptr);
  BOOST_TEST(enc_pending->created_at == back);
  BOOST_TEST(*NextDueTime(m.keys, m.policy) <= back + kHour);
  m.ApplyDue(back + kHour);
  BOOST_TEST(m.Active(Purpose::kEnc)->kid == enc_pending->kid);
}

BOOST_AUTO_TEST_CASE(clock_moving_backwards_undoes_nothing) {
  Model m;
  const UnixTime t0 = 5'000'000;
  m.ApplyDue(t0);
  m.ApplyDue(t0 + kDay);  // rotated once
  std::vector<KeyInfo> before = m.keys;
  BOOST_TEST(m.ApplyDue(t0 - 30 * kDay) == 0);
  BOOST_TEST(m.keys == before);
  // Changes made while the clock reads an earlier time are stamped no earlier than the last.
  m.ApplyDue(t0 + kDay + kDay);
  for (const KeyInfo& k : m.keys) {
    if (k.retire_at) BOOST_TEST(*k.retire_at >= t0 + kDay);
  }
}

BOOST_AUTO_TEST_CASE(peer_active_key_is_not_rotated) {
  Model m;
  KeyInfo peer;
  peer.kid = "gateway";
  peer.purpose = Purpose::kEnc;
  peer.alg = "RSA-OAEP";
  peer.origin = KeyOrigin::kPeer;
  peer.state = KeyState::kActive;
  peer.activate_at = 0;
  m.keys.push_back(peer);
  m.ApplyDue(100 * kDay);
  BOOST_TEST(m.Active(Purpose::kEnc)->kid == "gateway");
}

BOOST_AUTO_TEST_CASE(operator_actions_keep_one_active_key) {
  Model m;
  m.ApplyDue(1000);
  std::string old = m.Active(Purpose::kSig)->kid;
  Result<RowChanges> bad = ComputeRevocation(m.keys, old, 2000);
  BOOST_TEST(!bad.has_value());  // the active key needs a replacement first
  KeyInfo fresh = m.Fresh(Purpose::kSig);
  Result<RowChanges> act = ComputeActivation(m.keys, Purpose::kSig, "", 2000, m.policy, fresh);
  BOOST_REQUIRE(act.has_value());
  ApplyChanges(m.keys, *act);
  Result<RowChanges> rev = ComputeRevocation(m.keys, old, 2000);
  BOOST_REQUIRE(rev.has_value());
  ApplyChanges(m.keys, *rev);
  BOOST_TEST((m.Find(old)->state == KeyState::kRevoked));
  BOOST_TEST(!IsLive(*m.Find(old)));
  BOOST_TEST(m.Active(Purpose::kSig)->kid == fresh.kid);
  // A public-only key cannot become the active signing key.
  KeyInfo pub = m.Fresh(Purpose::kSig);
  pub.has_private = false;
  BOOST_TEST(!ComputeActivation(m.keys, Purpose::kSig, "", 3000, m.policy, pub).has_value());
}

// Property: with random schedules, a token made at any instant with the then-active keys can
// be verified and decrypted until exp + clock_skew, and every retired key is destroyed by
// retire_at + max_lifetime + clock_skew + one scheduler tick.
BOOST_AUTO_TEST_CASE(random_schedules_never_break_a_live_token) {
  // KEYSTORE_SEED=<n> replays a failing run (the seed is printed with every failure).
  const char* fixed = std::getenv("KEYSTORE_SEED");
  const std::uint64_t base_seed = fixed ? std::stoull(fixed) : std::random_device{}();
  const int kRuns = fixed ? 1 : 300;
  for (int run = 0; run < kRuns; ++run) {
    const std::uint64_t seed = base_seed + static_cast<std::uint64_t>(run);
    std::mt19937_64 rng(seed);
    auto uniform = [&rng](std::int64_t lo, std::int64_t hi) {
      return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    };
    Model m;
    m.policy.sig.period = uniform(2, 3000);
    m.policy.sig.prepublish = uniform(0, m.policy.sig.period - 1);
    m.policy.enc.period = uniform(2, 3000);
    m.policy.enc.prepublish = uniform(0, m.policy.enc.period - 1);
    m.policy.max_lifetime = uniform(1, 2000);
    m.policy.clock_skew = uniform(0, 120);
    const std::int64_t tick = uniform(1, 200);
    const bool backwards = uniform(0, 3) == 0;  // some runs have a clock that steps back
    std::ostringstream ctx;
    ctx << "seed=" << seed << " sig=" << m.policy.sig.period << "/" << m.policy.sig.prepublish
        << " enc=" << m.policy.enc.period << "/" << m.policy.enc.prepublish
        << " max_lifetime=" << m.policy.max_lifetime << " skew=" << m.policy.clock_skew
        << " tick=" << tick << " backwards=" << backwards;
    BOOST_TEST_CONTEXT(ctx.str()) {
      struct Token {
        std::string sig, enc;
        UnixTime exp;
      };
      std::vector<Token> tokens;
      std::map<std::string, int> last_rank;
      UnixTime now = uniform(0, 1'000'000);
      bool down_before = false;
      for (int step = 0; step < 300; ++step) {
        std::vector<std::string> retired_before;
        for (const KeyInfo& k : m.keys) {
          if (k.state == KeyState::kRetired) retired_before.push_back(k.kid);
        }
        m.ApplyDue(now);
        // Destroyed by expire_at + one tick, whenever the scheduler was running.
        for (const std::string& kid : retired_before) {
          const KeyInfo* k = m.Find(kid);
          if (k->state == KeyState::kDestroyed && !down_before) {
            BOOST_REQUIRE_MESSAGE(now < *k->expire_at + tick,
                                  "key " << kid << " destroyed late at " << now);
          }
        }
        const KeyInfo* s = m.Active(Purpose::kSig);
        const KeyInfo* e = m.Active(Purpose::kEnc);
        BOOST_REQUIRE(s != nullptr);
        BOOST_REQUIRE(e != nullptr);
        for (const Token& t : tokens) {
          // Live until exp + skew by the latest time seen: once the clock has passed that, a
          // step back does not make the token live again (its key may be gone, rightly).
          if (m.high_water >= t.exp + m.policy.clock_skew) continue;
          const KeyInfo* sk = m.Find(t.sig);
          const KeyInfo* ek = m.Find(t.enc);
          BOOST_REQUIRE_MESSAGE(MayVerify(*sk), "sig key "
                                                    << t.sig << " gone at " << now << " before exp "
                                                    << t.exp << " state " << StateName(sk->state)
                                                    << " retire_at " << sk->retire_at.value_or(-1)
                                                    << " expire_at " << sk->expire_at.value_or(-1));
          BOOST_REQUIRE_MESSAGE(MayDecrypt(*ek), "enc key " << t.enc << " gone at " << now
                                                            << " before exp " << t.exp);
        }
        for (const KeyInfo& k : m.keys) {
          int r = Rank(k.state);
          auto [it, fresh] = last_rank.emplace(k.kid, r);
          BOOST_REQUIRE_MESSAGE(fresh || r >= it->second, "state of " << k.kid << " went back");
          it->second = r;
          if (k.state == KeyState::kRetired) {
            BOOST_REQUIRE(*k.expire_at ==
                          *k.retire_at + m.policy.max_lifetime + m.policy.clock_skew);
            BOOST_REQUIRE_MESSAGE(now < *k.expire_at, "retired key overdue at " << now);
          }
        }
        // Tokens issued with this snapshot: at the tick instant, or anywhere before the next
        // tick when the clock only moves forward.
        for (int i = 0; i < 3; ++i) {
          UnixTime issued = backwards ? now : now + uniform(0, tick - 1);
          tokens.push_back({s->kid, e->kid, issued + uniform(1, m.policy.max_lifetime)});
          if (std::getenv("KEYSTORE_TRACE")) {
            std::printf("step %d now %ld hw %ld issue %ld exp %ld sig %s\n", step, long(now),
                        long(m.high_water), long(issued), long(tokens.back().exp), s->kid.c_str());
          }
        }
        // Next scheduler call: usually one tick later; sometimes the daemon was down; in some
        // runs the clock steps back.
        std::int64_t roll = uniform(0, 99);
        down_before = false;
        if (roll < 4) {
          now += tick + uniform(0, 4 * std::max(m.policy.sig.period, m.policy.enc.period));
          down_before = true;
          // Tokens cannot be issued while down, and those issued before stay as they are.
        } else if (backwards && roll < 10) {
          now -= uniform(0, 5000);
        } else {
          now += tick;
        }
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::keystore
