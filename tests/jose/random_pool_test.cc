// The per-thread pool of DRBG bytes: every draw is fresh, across refills, in a fork() child too.
#include "jose/random_pool.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/test/unit_test.hpp>
#include <set>
#include <vector>

namespace instaccess::jose {
namespace {

using Block = std::array<std::uint8_t, 48>;  // a token's CEK and IV

BOOST_AUTO_TEST_SUITE(random_pool)

BOOST_AUTO_TEST_CASE(draws_never_repeat_across_refills) {
  std::set<Block> seen;
  // Several pools' worth, in blocks that do not divide the pool: some straddle a refill.
  for (std::size_t i = 0; i < 4 * kRandomPoolSize / sizeof(Block); ++i) {
    Block b{};
    BOOST_REQUIRE(RandomBytes(b));
    BOOST_TEST(seen.insert(b).second, "block " << i << " repeated an earlier one");
  }
}

BOOST_AUTO_TEST_CASE(large_draws_bypass_the_pool_and_are_filled) {
  std::vector<std::uint8_t> a(kRandomPoolSize, 0), b(kRandomPoolSize, 0);
  BOOST_REQUIRE(RandomBytes(a));
  BOOST_REQUIRE(RandomBytes(b));
  BOOST_TEST(a != b);
  // 1 KiB of DRBG output has no run of 64 zero bytes (chance ~2^-512).
  const std::vector<std::uint8_t> zeros(64, 0);
  BOOST_TEST((std::search(a.begin(), a.end(), zeros.begin(), zeros.end()) == a.end()));
}

// Without the fork handler the child would hand out exactly the parent's next bytes.
BOOST_AUTO_TEST_CASE(a_fork_child_does_not_reuse_the_parents_pool) {
  // Leave the pool holding a whole Block not yet handed out.
  std::uint8_t byte = 0;
  BOOST_REQUIRE(RandomBytes({&byte, 1}));
  while (internal::RandomPoolLeft() < sizeof(Block)) BOOST_REQUIRE(RandomBytes({&byte, 1}));
  int fds[2];
  BOOST_REQUIRE(pipe(fds) == 0);
  const pid_t child = fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    Block b{};
    const bool ok = RandomBytes(b);
    const ssize_t n = ok ? write(fds[1], b.data(), b.size()) : -1;
    _exit(n == static_cast<ssize_t>(b.size()) ? 0 : 1);
  }
  close(fds[1]);
  Block from_child{};
  const ssize_t got = read(fds[0], from_child.data(), from_child.size());
  close(fds[0]);
  int status = 0;
  BOOST_REQUIRE(waitpid(child, &status, 0) == child);
  BOOST_REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  BOOST_REQUIRE(got == static_cast<ssize_t>(from_child.size()));
  Block from_parent{};
  BOOST_REQUIRE(RandomBytes(from_parent));
  BOOST_TEST((from_child != from_parent));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::jose
