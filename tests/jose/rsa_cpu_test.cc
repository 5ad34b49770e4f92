// The sampled RSA CPU counters: one operation in kRsaCpuSampleEvery per thread and kind is timed,
// and decryption never is (rsa_cpu.h says why).
#include "jose/rsa_cpu.h"

#include <array>
#include <boost/test/unit_test.hpp>
#include <set>

#include "jose/jwe.h"
#include "jose/jws.h"
#include "test_util.h"

namespace instaccess::jose {
namespace {

using testing::Keys;

struct AllTotals {
  RsaCpuTotals sign = RsaCpuSoFar(RsaOpKind::kSign);
  RsaCpuTotals verify = RsaCpuSoFar(RsaOpKind::kVerify);
  RsaCpuTotals encrypt = RsaCpuSoFar(RsaOpKind::kEncrypt);
};

BOOST_AUTO_TEST_SUITE(rsa_cpu)

// Any kRsaCpuSampleEvery consecutive operations of one kind on one thread hold exactly one
// multiple of the thread's counter, so exactly one of them is timed.
BOOST_AUTO_TEST_CASE(one_operation_in_each_run_of_sample_every_is_timed_per_kind) {
  const AllTotals before;
  std::string signature;
  for (std::uint32_t i = 0; i < kRsaCpuSampleEvery; ++i) {
    auto s = SignRaw(Keys().rs256, "input");
    BOOST_REQUIRE(s);
    signature = *s;
  }
  const AllTotals after_signs;
  BOOST_TEST(after_signs.sign.timed_ops == before.sign.timed_ops + 1);
  // An RSA-2048 private operation takes hundreds of microseconds; 10 us is a floor no machine
  // undercuts, and a clock that did not run would give 0.
  BOOST_TEST(after_signs.sign.cpu_ns - before.sign.cpu_ns > 10'000u);
  BOOST_TEST(after_signs.verify.timed_ops == before.verify.timed_ops);
  BOOST_TEST(after_signs.encrypt.timed_ops == before.encrypt.timed_ops);

  for (std::uint32_t i = 0; i < kRsaCpuSampleEvery; ++i) {
    BOOST_REQUIRE(VerifyRaw(Keys().rs256, "input", signature));
  }
  const std::array<std::uint8_t, 16> cek{};
  for (std::uint32_t i = 0; i < kRsaCpuSampleEvery; ++i) BOOST_REQUIRE(WrapCek(Keys().oaep, cek));
  const AllTotals after;
  BOOST_TEST(after.verify.timed_ops == before.verify.timed_ops + 1);
  BOOST_TEST(after.encrypt.timed_ops == before.encrypt.timed_ops + 1);
  BOOST_TEST(after.verify.cpu_ns > before.verify.cpu_ns);
  BOOST_TEST(after.encrypt.cpu_ns > before.encrypt.cpu_ns);
  BOOST_TEST(after.sign.timed_ops == after_signs.sign.timed_ops);
}

// OpenSSL renews a blinding every 32 private operations, at twice the cost of the others; the
// timed operations must fall on every place of that cycle, or the mean is biased (rsa_cpu.h).
BOOST_AUTO_TEST_CASE(timed_operations_fall_on_every_place_of_a_32_operation_cycle) {
  std::set<std::uint32_t> places;
  for (std::uint32_t i = 0; i < 32 * kRsaCpuSampleEvery; ++i) {
    const std::uint64_t before = RsaCpuSoFar(RsaOpKind::kVerify).timed_ops;
    { const internal::RsaCpuTimer timer(RsaOpKind::kVerify); }
    if (RsaCpuSoFar(RsaOpKind::kVerify).timed_ops != before) places.insert(i % 32);
  }
  BOOST_TEST(places.size() == 32u);
}

BOOST_AUTO_TEST_CASE(decryption_is_never_timed) {
  const std::array<std::uint8_t, 16> cek{1, 2, 3};
  auto wrapped = WrapCek(Keys().oaep, cek);
  BOOST_REQUIRE(wrapped);
  const AllTotals before;
  for (std::uint32_t i = 0; i < 2 * kRsaCpuSampleEvery; ++i) {
    Cek out;
    UnwrapCek(Keys().oaep, *wrapped, cek.size(), &out);
    BOOST_REQUIRE(std::equal(cek.begin(), cek.end(), out.bytes.begin()));
  }
  const AllTotals after;
  BOOST_TEST(after.sign.timed_ops == before.sign.timed_ops);
  BOOST_TEST(after.verify.timed_ops == before.verify.timed_ops);
  BOOST_TEST(after.encrypt.timed_ops == before.encrypt.timed_ops);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::jose
