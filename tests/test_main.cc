// The one main() shared by every Boost.Test suite.
#define BOOST_TEST_MODULE instaccess
#include <boost/test/unit_test.hpp>
