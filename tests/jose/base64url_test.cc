#include "jose/base64url.h"

#include <boost/test/unit_test.hpp>

namespace instaccess::jose {
namespace {

BOOST_AUTO_TEST_SUITE(base64url)

BOOST_AUTO_TEST_CASE(round_trips_every_tail_length) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    auto decoded = Base64UrlDecode(Base64UrlEncode(bytes));
    BOOST_REQUIRE(decoded.has_value());
    BOOST_CHECK(*decoded == bytes);
    bytes += static_cast<char>(i * 7 + 3);
  }
}

BOOST_AUTO_TEST_CASE(encodes_rfc4648_examples_without_padding) {
  BOOST_CHECK_EQUAL(Base64UrlEncode(std::string_view("")), "");
  BOOST_CHECK_EQUAL(Base64UrlEncode(std::string_view("f")), "Zg");
  BOOST_CHECK_EQUAL(Base64UrlEncode(std::string_view("fo")), "Zm8");
  BOOST_CHECK_EQUAL(Base64UrlEncode(std::string_view("foo")), "Zm9v");
  BOOST_CHECK_EQUAL(Base64UrlEncode(std::string_view("foob")), "Zm9vYg");
  BOOST_CHECK_EQUAL(Base64UrlEncode(std::string_view("\xfb\xff")), "-_8");
}

BOOST_AUTO_TEST_CASE(append_keeps_what_is_there) {
  std::string out = "head.";
  AppendBase64Url("foob", &out);
  out += '.';
  AppendBase64Url("", &out);
  out += '.';
  AppendBase64Url("fo", &out);
  BOOST_CHECK_EQUAL(out, "head.Zm9vYg..Zm8");
}

BOOST_AUTO_TEST_CASE(rejects_padding_whitespace_and_foreign_alphabet) {
  BOOST_CHECK(!Base64UrlDecode("Zg==").has_value());
  BOOST_CHECK(!Base64UrlDecode("Zm9v\n").has_value());
  BOOST_CHECK(!Base64UrlDecode(" Zm9v").has_value());
  BOOST_CHECK(!Base64UrlDecode("+/8").has_value());  // standard alphabet, not url-safe
  BOOST_CHECK(!Base64UrlDecode("Zm9v.").has_value());
  BOOST_CHECK(!Base64UrlDecode(std::string_view("Zm\0v", 4)).has_value());
  BOOST_CHECK(Base64UrlDecode("-_8").has_value());
}

BOOST_AUTO_TEST_CASE(rejects_impossible_lengths_and_noncanonical_tails) {
  BOOST_CHECK(!Base64UrlDecode("Z").has_value());
  BOOST_CHECK(!Base64UrlDecode("Zm9vY").has_value());
  BOOST_CHECK(Base64UrlDecode("Zg").has_value());
  BOOST_CHECK(!Base64UrlDecode("Zh").has_value());  // "Zg" with a stray low bit set
  BOOST_CHECK(Base64UrlDecode("Zm8").has_value());
  BOOST_CHECK(!Base64UrlDecode("Zm9").has_value());
}

BOOST_AUTO_TEST_CASE(secret_decode_matches_plain_decode) {
  auto s = Base64UrlDecodeSecret("Zm9vYg");
  BOOST_REQUIRE(s.has_value());
  BOOST_CHECK_EQUAL(s->reveal_secret_as_string(), "foob");
  BOOST_CHECK(!Base64UrlDecodeSecret("Zm9vY").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::jose
