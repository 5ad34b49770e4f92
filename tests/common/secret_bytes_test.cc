#include "common/secret_bytes.h"

#include <array>
#include <boost/test/unit_test.hpp>
#include <utility>

namespace instaccess {
namespace {

BOOST_AUTO_TEST_SUITE(secret_bytes)

BOOST_AUTO_TEST_CASE(copies_and_compares_in_constant_time) {
  std::array<std::uint8_t, 4> raw{1, 2, 3, 4};
  SecretBytes a = SecretBytes::CopyFrom(raw);
  SecretBytes b = SecretBytes::CopyFrom(raw);
  BOOST_TEST(a.size() == 4u);
  BOOST_TEST(a.Equals(b));
  b.reveal_secret()[3] = 5;
  BOOST_TEST(!a.Equals(b));
  BOOST_TEST(!a.Equals(SecretBytes(3)));
}

BOOST_AUTO_TEST_CASE(random_secrets_differ) {
  SecretBytes a = SecretBytes::Random(32);
  SecretBytes b = SecretBytes::Random(32);
  BOOST_TEST(a.size() == 32u);
  BOOST_TEST(!a.Equals(b));
}

BOOST_AUTO_TEST_CASE(move_leaves_source_empty) {
  SecretBytes a = SecretBytes::Random(16);
  SecretBytes b = std::move(a);
  BOOST_TEST(b.size() == 16u);
  BOOST_TEST(a.empty());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  SecretBytes empty;
  BOOST_TEST(empty.reveal_secret().empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess
