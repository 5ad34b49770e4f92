#include "api/request_body.h"

#include <boost/test/unit_test.hpp>
#include <string>

namespace instaccess::api {
namespace {

bool IsTokenByte(int b) {
  return (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '-' ||
         b == '_' || b == '.';
}

std::string BodyOf(const std::string& token) { return "{\"token\":\"" + token + "\"}"; }

BOOST_AUTO_TEST_SUITE(plain_token_body)

BOOST_AUTO_TEST_CASE(finds_the_token_of_the_gateway_shape) {
  const std::string token = "eyJhbGciOiJSU0EtT0FFUCJ9.a-b_c.0123456789.xyzXYZ.AAAA";
  const std::string body = BodyOf(token);  // the answer points into it
  auto found = PlainTokenBody(body);
  BOOST_REQUIRE(found.has_value());
  BOOST_TEST(*found == token);
  BOOST_TEST(PlainTokenBody(BodyOf("")).value_or("x") == "");
}

// Every byte value, at every offset of a block and in the tail: the check works 32 bytes at a
// time and then byte by byte, and a byte it let through by mistake (a quote, a backslash) would
// answer for a body the strict parser reads differently.
BOOST_AUTO_TEST_CASE(accepts_exactly_base64url_and_dots_at_any_position) {
  const std::string clean(70, 'A');  // two blocks of 32 and a tail of 6
  BOOST_REQUIRE(PlainTokenBody(BodyOf(clean)).has_value());
  for (int b = 0; b < 256; ++b) {
    for (std::size_t at : {0u, 1u, 15u, 16u, 31u, 32u, 63u, 64u, 69u}) {
      std::string token = clean;
      token[at] = static_cast<char>(b);
      BOOST_TEST(PlainTokenBody(BodyOf(token)).has_value() == IsTokenByte(b),
                 "byte " << b << " at " << at);
    }
  }
}

BOOST_AUTO_TEST_CASE(anything_else_takes_the_strict_path) {
  BOOST_TEST(!PlainTokenBody("{\"token\": \"abc\"}").has_value());  // whitespace
  BOOST_TEST(!PlainTokenBody("{\"token\":\"abc\",\"x\":1}").has_value());
  BOOST_TEST(!PlainTokenBody("{\"token\":\"a\\\"b\"}").has_value());  // an escape
  BOOST_TEST(!PlainTokenBody("{\"token\":\"}").has_value());          // prefix and suffix overlap
  BOOST_TEST(!PlainTokenBody("{\"token\":\"abc\"} ").has_value());
  BOOST_TEST(!PlainTokenBody("").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::api
