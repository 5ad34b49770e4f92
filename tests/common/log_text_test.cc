#include "common/log_text.h"

#include <boost/test/unit_test.hpp>
#include <string>

namespace instaccess {
namespace {

BOOST_AUTO_TEST_SUITE(log_text)

BOOST_AUTO_TEST_CASE(printable_ascii_is_kept) {
  BOOST_TEST(LogText("abc-_.~ +/= {}\"'") == "abc-_.~ +/= {}\"'");
}

BOOST_AUTO_TEST_CASE(control_and_non_ascii_bytes_are_escaped) {
  BOOST_TEST(LogText("a\nb\r\x1b[31m") == "a\\x0ab\\x0d\\x1b[31m");
  BOOST_TEST(LogText("k\xc3\xa9y") == "k\\xc3\\xa9y");
  BOOST_TEST(LogText(std::string("a\0b", 3)) == "a\\x00b");
  BOOST_TEST(LogText("back\\slash") == "back\\\\slash");
}

BOOST_AUTO_TEST_CASE(long_text_is_cut) {
  BOOST_TEST(LogText(std::string(200, 'k'), 10) == std::string(10, 'k') + "...");
  BOOST_TEST(LogText(std::string(10, 'k'), 10) == std::string(10, 'k'));
  BOOST_TEST(LogText(std::string(300, 'x')).size() == kLoggedTextChars + 3);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess
