// RSAES-PKCS1-v1_5 block decoding for RSA1_5 unwrapping (jose/pkcs1.h): what it accepts and each
// field it refuses. That it does so without branching on the block is checked under valgrind by
// constant_time_check.cc; the whole unwrap's uniform failure by jwe_jws_test.cc.
#include "jose/pkcs1.h"

#include <boost/test/unit_test.hpp>
#include <vector>

namespace instaccess::jose::internal {
namespace {

using Bytes = std::vector<std::uint8_t>;

// 00 02 PS 00 M, with a non-zero padding string of k - message_size - 3 bytes.
Bytes Block(std::size_t k, std::size_t message_size) {
  Bytes em(k, 0x77);
  em[0] = 0;
  em[1] = 2;
  em[k - message_size - 1] = 0;
  return em;
}

BOOST_AUTO_TEST_SUITE(pkcs1)

BOOST_AUTO_TEST_CASE(accepts_a_block_for_exactly_the_expected_message_length) {
  BOOST_CHECK_EQUAL(Pkcs1Type2Mask(Block(256, 32), 32), ~0u);
  BOOST_CHECK_EQUAL(Pkcs1Type2Mask(Block(512, 32), 32), ~0u);
  // The message may hold zeros: only the bytes before the separator must be non-zero.
  Bytes em = Block(256, 32);
  em[255] = 0;
  em[230] = 0;
  BOOST_CHECK_EQUAL(Pkcs1Type2Mask(em, 32), ~0u);
}

BOOST_AUTO_TEST_CASE(refuses_each_field_that_is_wrong) {
  const std::size_t sep = 256 - 32 - 1;
  struct Break {
    std::size_t at;
    std::uint8_t value;
  };
  // The leading zero, the block type (1 is a signature's), a zero at each end and in the middle
  // of the padding string (a longer message), the separator (a shorter message).
  for (Break b : {Break{0, 1}, Break{1, 1}, Break{1, 0}, Break{2, 0}, Break{100, 0},
                  Break{sep - 1, 0}, Break{sep, 1}}) {
    Bytes em = Block(256, 32);
    em[b.at] = b.value;
    BOOST_CHECK_MESSAGE(Pkcs1Type2Mask(em, 32) == 0u,
                        "accepted byte " << int{b.value} << " at " << b.at);
  }
  // A good block read for a message of another length.
  BOOST_CHECK_EQUAL(Pkcs1Type2Mask(Block(256, 32), 16), 0u);
  BOOST_CHECK_EQUAL(Pkcs1Type2Mask(Block(256, 16), 32), 0u);
}

BOOST_AUTO_TEST_CASE(refuses_a_padding_string_shorter_than_eight_bytes) {
  // RFC 8017 §7.2.2: k >= message + 11, that is at least 8 bytes of padding.
  BOOST_CHECK_EQUAL(Pkcs1Type2Mask(Block(43, 32), 32), ~0u);
  BOOST_CHECK_EQUAL(Pkcs1Type2Mask(Block(42, 32), 32), 0u);  // well formed, 7 bytes of padding
  BOOST_CHECK_EQUAL(Pkcs1Type2Mask(Bytes(42, 0x77), 32), 0u);
  BOOST_CHECK_EQUAL(Pkcs1Type2Mask(Bytes(), 32), 0u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::jose::internal
