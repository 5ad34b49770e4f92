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

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::ipc
