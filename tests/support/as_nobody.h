// Running as another user than the test (root): `nobody`, group `nogroup`, no supplementary
// groups, as a client without roles or as the daemon's own unprivileged user would. A process
// of the test's own becomes nobody with setpriv (util-linux); changing uid needs root
// (CAP_SETUID), so suites that do it take RunningAsRoot as their precondition and are reported
// skipped elsewhere.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

namespace instaccess::testing {

inline constexpr uid_t kNobodyUid = 65534;
inline constexpr gid_t kNogroupGid = 65534;

// Put before a program and its arguments (DaemonOptions::wrapper, an argv).
inline const std::vector<std::string> kAsNobody = {"/usr/bin/setpriv", "--reuid=nobody",
                                                   "--regid=nogroup", "--clear-groups"};

// The same, for a shell command line: ends in a space.
inline std::string AsNobodyShell() {
  std::string prefix;
  for (const std::string& word : kAsNobody) prefix += word + " ";
  return prefix;
}

// Boost.Test precondition: run only as root. `why` says what needs root in the skip message.
class RunningAsRoot {
 public:
  explicit RunningAsRoot(const char* why) : why_(why) {}
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    boost::test_tools::assertion_result result(::geteuid() == 0);
    result.message() << why_;
    return result;
  }

 private:
  const char* why_;
};

}  // namespace instaccess::testing
