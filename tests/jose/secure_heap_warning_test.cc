// The secure heap's status warning (jose/secure_heap.h): only past 90 % of a heap that exists,
// with the figures an operator needs.
#include <boost/test/unit_test.hpp>

#include "jose/secure_heap.h"

namespace instaccess::jose {
namespace {

BOOST_AUTO_TEST_SUITE(secure_heap_warning)

BOOST_AUTO_TEST_CASE(secure_heap_warning_comes_at_ninety_percent_with_the_figures) {
  constexpr std::size_t kMiB = 1 << 20;
  // This process made no secure heap: nothing to read (OpenSSL's count would take a lock that
  // does not exist) and nothing it could run out of.
  BOOST_TEST(SecureHeapInUse().size == 0u);
  BOOST_TEST(!SecureHeapWarning({0, 0}));
  BOOST_TEST(!SecureHeapWarning({kMiB / 2, kMiB}));
  BOOST_TEST(!SecureHeapWarning({kMiB * 9 / 10, kMiB}));  // 943,718 of 1,048,576: just under
  BOOST_TEST(SecureHeapWarning({kMiB * 9 / 10 + 1, kMiB}).has_value());
  auto nearly_full = SecureHeapWarning({kMiB - 16 * 1024, kMiB});
  BOOST_REQUIRE(nearly_full);
  BOOST_TEST(nearly_full->find("1008 of 1024 KiB") != std::string::npos, *nearly_full);
  BOOST_TEST(SecureHeapWarning({kMiB, kMiB}).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::jose
