// NSS lookups (ipc/accounts.h): the buffer grows until the entry fits, so a group with a long
// member list still grants its role, and real lookups of entries every system has.
#include "ipc/accounts.h"

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <cstring>
#include <vector>

namespace instaccess::ipc {
namespace {

BOOST_AUTO_TEST_SUITE(accounts)

// An entry that needs 40 KiB, as a group of a few thousand members does: glibc's sysconf says
// 1024 bytes, and taking ERANGE as "no such group" gave `group:NAME` to nobody.
BOOST_AUTO_TEST_CASE(the_buffer_grows_until_the_entry_fits) {
  std::vector<std::size_t> sizes;
  const bool ok = internal::CallWithGrowingBuffer(1024, [&](char* buffer, std::size_t size) {
    sizes.push_back(size);
    if (size < 40 * 1024) return ERANGE;
    std::memset(buffer, 'x', 40 * 1024);  // the whole buffer is there to be written
    return 0;
  });
  BOOST_TEST(ok);
  BOOST_TEST(sizes == (std::vector<std::size_t>{1024, 2048, 4096, 8192, 16384, 32768, 65536}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(growth_stops_at_the_cap_and_other_errors_are_failures) {
  std::size_t calls = 0, largest = 0;
  BOOST_TEST(!internal::CallWithGrowingBuffer(1024, [&](char*, std::size_t size) {
    ++calls;
    largest = size;
    return ERANGE;  // a broken module that never has enough
  }));
  BOOST_TEST(largest == internal::kMaxNssBuffer);
  BOOST_TEST(calls == 11u);
  BOOST_TEST(!internal::CallWithGrowingBuffer(1024, [](char*, std::size_t) { return EIO; }));
}

BOOST_AUTO_TEST_CASE(real_lookups_of_entries_every_system_has) {
  BOOST_TEST(LookUpUserId("root").value_or(1) == 0u);
  BOOST_TEST(LookUpUserName(0) == "root");
  BOOST_TEST(LookUpGroupId("root").value_or(1) == 0u);
  BOOST_TEST(!LookUpUserId("no-such-user-instaccess").has_value());
  BOOST_TEST(!LookUpGroupId("no-such-group-instaccess").has_value());
}

// A local user knocking again and again costs one lookup a minute, not one a refusal.
BOOST_AUTO_TEST_CASE(user_names_are_looked_up_once_a_minute_per_uid) {
  using Clock = internal::UserNameCache::Clock;
  std::vector<uid_t> asked;
  internal::UserNameCache cache([&](uid_t uid) {
    asked.push_back(uid);
    return uid == 1001 ? std::string("alice") : std::string();
  });
  const Clock::time_point t0{};
  for (int i = 0; i < 100; ++i) {
    BOOST_TEST(cache.Get(1001, t0 + std::chrono::milliseconds(i)) == "alice");
  }
  BOOST_TEST(cache.Get(4242, t0).empty());  // no name is an answer too, kept as well
  BOOST_TEST(cache.Get(4242, t0 + std::chrono::seconds(59)).empty());
  BOOST_TEST(asked == (std::vector<uid_t>{1001, 4242}), boost::test_tools::per_element());
  // A minute on, the name is asked again (a user renamed shows under the new name).
  BOOST_TEST(cache.Get(1001, t0 + internal::UserNameCache::kKeep) == "alice");
  BOOST_TEST(asked.size() == 3u);
}

BOOST_AUTO_TEST_CASE(the_user_name_cache_is_bounded) {
  std::size_t lookups = 0;
  internal::UserNameCache cache([&](uid_t) {
    ++lookups;
    return std::string("someone");
  });
  const internal::UserNameCache::Clock::time_point t0{};
  const auto n = static_cast<uid_t>(internal::UserNameCache::kMaxEntries);
  for (uid_t uid = 0; uid < n; ++uid) cache.Get(uid, t0);
  cache.Get(0, t0);
  BOOST_TEST(lookups == internal::UserNameCache::kMaxEntries);  // all kept so far
  cache.Get(n, t0);  // one more uid: the cache starts again with it alone
  cache.Get(0, t0);
  BOOST_TEST(lookups == internal::UserNameCache::kMaxEntries + 2);
  BOOST_TEST(CachedUserName(0) == "root");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::ipc
