#include "api/decrypt_cache.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <thread>
#include <vector>

namespace instaccess::api {
namespace {

DecryptCache::Entry EntryFor(const std::string& body, std::int64_t keep_until,
                             std::string_view sig = "s1", std::string_view enc = "e1") {
  return {body, sig, enc, keep_until};
}

BOOST_AUTO_TEST_SUITE(decrypt_cache)

BOOST_AUTO_TEST_CASE(finds_what_was_inserted_until_exp_plus_skew) {
  DecryptCache cache(100);
  cache.Insert(cache.KeyOf("token-a"), EntryFor("answer-a", 1060), cache.Generation());
  auto hit = cache.Find(cache.KeyOf("token-a"), 900);
  BOOST_REQUIRE(hit.has_value());
  BOOST_TEST(*hit == "answer-a");
  BOOST_TEST(!cache.Find(cache.KeyOf("token-b"), 900).has_value());
  BOOST_TEST(cache.Find(cache.KeyOf("token-a"), 1059).has_value());
  BOOST_TEST(!cache.Find(cache.KeyOf("token-a"), 1060).has_value());  // expired: dropped
  BOOST_TEST(!cache.Find(cache.KeyOf("token-a"), 900).has_value());   // and gone for good
  BOOST_TEST(cache.hits() == 2u);
  BOOST_TEST(cache.misses() == 3u);
}

BOOST_AUTO_TEST_CASE(similar_tokens_do_not_collide) {
  DecryptCache cache(100);
  cache.Insert(cache.KeyOf("abc"), EntryFor("one", 1000), cache.Generation());
  cache.Insert(cache.KeyOf("abd"), EntryFor("two", 1000), cache.Generation());
  BOOST_TEST(*cache.Find(cache.KeyOf("abc"), 0) == "one");
  BOOST_TEST(*cache.Find(cache.KeyOf("abd"), 0) == "two");
  BOOST_TEST(!cache.Find(cache.KeyOf("ab"), 0).has_value());
}

BOOST_AUTO_TEST_CASE(stays_within_its_capacity_dropping_the_oldest) {
  DecryptCache cache(32);
  for (int i = 0; i < 1000; ++i) {
    cache.Insert(cache.KeyOf("t" + std::to_string(i)), EntryFor("x", 10'000), cache.Generation());
  }
  BOOST_TEST(cache.size() <= 32u);
  BOOST_TEST(cache.size() >= 16u);
  BOOST_TEST(cache.Find(cache.KeyOf("t999"), 0).has_value());
  BOOST_TEST(!cache.Find(cache.KeyOf("t0"), 0).has_value());
}

// A token whose entry expired leaves a stale place in the eviction order; when it comes back to a
// full shard, that place must not evict its new entry.
BOOST_AUTO_TEST_CASE(a_returning_token_is_not_evicted_by_its_own_stale_place) {
  const std::string a = "token-a";
  // A token that shares a's shard, found by behaviour: at capacity 1 it evicts a.
  std::string c;
  for (int i = 0; c.empty(); ++i) {
    BOOST_REQUIRE(i < 10'000);
    DecryptCache probe(1);
    probe.Insert(probe.KeyOf(a), EntryFor("x", 10'000), probe.Generation());
    const std::string candidate = "token-c" + std::to_string(i);
    probe.Insert(probe.KeyOf(candidate), EntryFor("x", 10'000), probe.Generation());
    if (!probe.Find(probe.KeyOf(a), 0)) c = candidate;
  }
  DecryptCache cache(1);
  cache.Insert(cache.KeyOf(a), EntryFor("old", 1000), cache.Generation());
  BOOST_TEST(!cache.Find(cache.KeyOf(a), 2000).has_value());  // expired: dropped
  cache.Insert(cache.KeyOf(c), EntryFor("c", 10'000), cache.Generation());
  // The shard is over its share now.
  cache.Insert(cache.KeyOf(a), EntryFor("new", 10'000), cache.Generation());
  auto hit = cache.Find(cache.KeyOf(a), 2000);
  BOOST_REQUIRE(hit.has_value());
  BOOST_TEST(*hit == "new");
  BOOST_TEST(!cache.Find(cache.KeyOf(c), 2000).has_value());  // the oldest live entry left
}

BOOST_AUTO_TEST_CASE(drop_kid_removes_every_entry_made_with_that_key) {
  DecryptCache cache(100);
  cache.Insert(cache.KeyOf("t1"), EntryFor("x", 1000, "sigA", "encA"), cache.Generation());
  cache.Insert(cache.KeyOf("t2"), EntryFor("x", 1000, "sigB", "encA"), cache.Generation());
  cache.Insert(cache.KeyOf("t3"), EntryFor("x", 1000, "sigB", "encB"), cache.Generation());
  BOOST_TEST(cache.DropKid("encA") == 2u);
  BOOST_TEST(!cache.Find(cache.KeyOf("t1"), 0).has_value());
  BOOST_TEST(!cache.Find(cache.KeyOf("t2"), 0).has_value());
  BOOST_TEST(cache.Find(cache.KeyOf("t3"), 0).has_value());
  BOOST_TEST(cache.DropKid("sigB") == 1u);
  BOOST_TEST(cache.size() == 0u);
}

// A decrypt opened its token with a key snapshot taken before a revoke, and inserts after the
// revoke's DropKid has run: the answer must not be kept, or the revoked key's token would be
// answered from the cache until its exp.
BOOST_AUTO_TEST_CASE(an_insert_that_started_before_a_drop_kid_keeps_nothing) {
  DecryptCache cache(100);
  const std::uint64_t before = cache.Generation();  // read before the key snapshot
  BOOST_TEST(cache.DropKid("encA") == 0u);          // the revoke, while the RSA work runs
  cache.Insert(cache.KeyOf("t1"), EntryFor("x", 1000, "sigA", "encA"), before);
  BOOST_TEST(!cache.Find(cache.KeyOf("t1"), 900).has_value());
  BOOST_TEST(cache.size() == 0u);
  // Any key: the generation says only that some key was dropped. A decrypt that starts after
  // the drop is kept again.
  cache.Insert(cache.KeyOf("t2"), EntryFor("y", 1000, "sigB", "encB"), before);
  BOOST_TEST(cache.size() == 0u);
  cache.Insert(cache.KeyOf("t2"), EntryFor("y", 1000, "sigB", "encB"), cache.Generation());
  BOOST_TEST(cache.Find(cache.KeyOf("t2"), 900).value_or("") == "y");
}

BOOST_AUTO_TEST_CASE(answers_longer_than_the_limit_are_not_kept) {
  DecryptCache cache(100);
  const std::string at_limit(DecryptCache::kMaxAnswer, 'a');
  const std::string over(DecryptCache::kMaxAnswer + 1, 'b');
  cache.Insert(cache.KeyOf("t1"), EntryFor(at_limit, 1000), cache.Generation());
  cache.Insert(cache.KeyOf("t2"), EntryFor(over, 1000), cache.Generation());
  BOOST_TEST(cache.Find(cache.KeyOf("t1"), 900).value_or("") == at_limit);
  BOOST_TEST(!cache.Find(cache.KeyOf("t2"), 900).has_value());
}

BOOST_AUTO_TEST_CASE(zero_capacity_turns_it_off) {
  DecryptCache cache(0);
  cache.Insert(cache.KeyOf("t"), EntryFor("x", 1000), cache.Generation());
  BOOST_TEST(!cache.Find(cache.KeyOf("t"), 0).has_value());
  BOOST_TEST(cache.size() == 0u);
}

BOOST_AUTO_TEST_CASE(many_threads_insert_and_find_at_once) {
  DecryptCache cache(10'000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 2000; ++i) {
        std::string token = std::to_string(t) + ":" + std::to_string(i);
        cache.Insert(cache.KeyOf(token), EntryFor(token, 1000), cache.Generation());
        auto hit = cache.Find(cache.KeyOf(token), 0);
        if (!hit || *hit != token) throw std::runtime_error("lost " + token);
      }
    });
  }
  for (auto& th : threads) th.join();
  BOOST_TEST(cache.size() == 8000u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::api
