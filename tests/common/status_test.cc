#include "common/status.h"

#include <boost/test/unit_test.hpp>
#include <memory>

namespace instaccess {
namespace {

Result<int> Half(int n) {
  if (n % 2 != 0) return InvalidArgument("odd");
  return n / 2;
}

Status HalfTwice(int n, int* out) {
  auto a = Half(n);
  if (!a) return a.error();
  auto b = Half(*a);
  INSTACCESS_RETURN_IF_ERROR(b.status());
  *out = *b;
  return Status::Ok();
}

BOOST_AUTO_TEST_SUITE(status)

BOOST_AUTO_TEST_CASE(result_holds_value_or_error) {
  auto ok = Half(8);
  BOOST_TEST(ok.has_value());
  BOOST_TEST(*ok == 4);
  BOOST_TEST(ok.status().ok());
  auto bad = Half(3);
  BOOST_TEST(!bad.has_value());
  BOOST_TEST(bad.error().code() == Code::kInvalidArgument);
  BOOST_TEST(bad.error().ToString() == "invalid_argument: odd");
}

BOOST_AUTO_TEST_CASE(return_if_error_propagates_first_failure) {
  int out = 0;
  BOOST_TEST(HalfTwice(8, &out).ok());
  BOOST_TEST(out == 2);
  Status s = HalfTwice(6, &out);
  BOOST_TEST(s.code() == Code::kInvalidArgument);
}

BOOST_AUTO_TEST_CASE(result_moves_out_move_only_values) {
  Result<std::unique_ptr<int>> r(std::make_unique<int>(7));
  std::unique_ptr<int> p = *std::move(r);
  BOOST_TEST(*p == 7);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess
