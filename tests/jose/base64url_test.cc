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

// Six bits at a time from the most significant end: the definition, not the table lookups.
std::string ReferenceEncode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  const std::size_t bits = bytes.size() * 8;
  for (std::size_t pos = 0; pos < bits; pos += 6) {
    unsigned v = 0;
    for (std::size_t b = pos; b < pos + 6; ++b) {
      const unsigned byte = b < bits ? static_cast<unsigned char>(bytes[b / 8]) : 0u;
      const unsigned bit = (byte >> (7 - b % 8)) & 1u;
      v = v << 1 | bit;
    }
    out += kAlphabet[v];
  }
  return out;
}

BOOST_AUTO_TEST_CASE(every_twelve_bit_group_encodes_as_defined_in_both_halves) {
  for (unsigned v = 0; v < 4096; ++v) {
    const char high[3] = {static_cast<char>(v >> 4), static_cast<char>((v & 15) << 4), 0};
    const char low[3] = {0, static_cast<char>(v >> 8), static_cast<char>(v & 255)};
    for (const char* group : {high, low}) {
      const std::string_view bytes(group, 3);
      BOOST_REQUIRE_EQUAL(Base64UrlEncode(bytes), ReferenceEncode(bytes));
    }
  }
  std::string bytes;
  for (int i = 0; i < 64; ++i) {
    BOOST_CHECK_EQUAL(Base64UrlEncode(bytes), ReferenceEncode(bytes));
    bytes += static_cast<char>(i * 37 + 11);
  }
}

BOOST_AUTO_TEST_CASE(a_foreign_byte_is_refused_at_every_position) {
  const std::string good = "Zm9vYmFy";  // "foobar": two full groups
  for (std::size_t at = 0; at < good.size(); ++at) {
    for (char bad : {'=', '+', '/', '.', ' ', '\0', '\xff', '\x80'}) {
      std::string text = good;
      text[at] = bad;
      BOOST_CHECK_MESSAGE(!Base64UrlDecode(text).has_value(), "accepted a bad byte at " << at);
      BOOST_CHECK(!Base64UrlDecodeSecret(text).has_value());
    }
  }
  for (std::string tail : {"Zm9vYg", "Zm9vYmE"}) {  // two- and three-character tails
    for (std::size_t at = 4; at < tail.size(); ++at) {
      std::string text = tail;
      text[at] = '=';
      BOOST_CHECK(!Base64UrlDecode(text).has_value());
    }
  }
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

// The secret decoder computes what the plain one looks up in its table. Both must accept the same
// byte values at every position of a full group and of both tails, and decode them alike: 64
// values where a character carries six bits, 4 and 16 where it ends a 2- or 3-character tail.
BOOST_AUTO_TEST_CASE(secret_decode_agrees_with_plain_decode_for_every_byte_everywhere) {
  const struct {
    std::string text;
    std::size_t accepted_last;  // values the last character may take
  } cases[] = {{"Zm9vYmFy", 64}, {"Zm9vYg", 4}, {"Zm9vYmE", 16}};
  for (const auto& c : cases) {
    for (std::size_t at = 0; at < c.text.size(); ++at) {
      std::size_t accepted = 0;
      for (int b = 0; b < 256; ++b) {
        std::string text = c.text;
        text[at] = static_cast<char>(b);
        const auto plain = Base64UrlDecode(text);
        const auto secret = Base64UrlDecodeSecret(text);
        BOOST_REQUIRE_MESSAGE(plain.has_value() == secret.has_value(), "decoders disagree on byte "
                                                                           << b << " at " << at
                                                                           << " of " << c.text);
        if (!plain) continue;
        ++accepted;
        BOOST_REQUIRE_EQUAL(*plain, secret->reveal_secret_as_string());
      }
      BOOST_CHECK_EQUAL(accepted, at + 1 == c.text.size() ? c.accepted_last : 64);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::jose
