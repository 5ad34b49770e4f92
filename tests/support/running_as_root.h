// A Boost.Test precondition for cases that need root (setpriv, other users' credentials):
// without root the case is reported as skipped, with `why`, instead of failing.
#pragma once

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <string>

namespace instaccess::testing {

struct RunningAsRoot {
  std::string why;
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    boost::test_tools::assertion_result result(::geteuid() == 0);
    result.message() << why;
    return result;
  }
};

}  // namespace instaccess::testing
