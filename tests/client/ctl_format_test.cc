// instaccessctl's formatting and argument parsing, without a daemon.
#include "client/ctl_format.h"

#include <boost/test/unit_test.hpp>

namespace instaccess::ctl {
namespace {

using std::chrono::seconds;

BOOST_AUTO_TEST_SUITE(ctl_format)

BOOST_AUTO_TEST_CASE(durations_show_the_two_largest_units) {
  BOOST_TEST(FormatDuration(seconds(0)) == "0s");
  BOOST_TEST(FormatDuration(seconds(45)) == "45s");
  BOOST_TEST(FormatDuration(seconds(725)) == "12m 5s");
  BOOST_TEST(FormatDuration(seconds(3 * 3600 + 12 * 60 + 59)) == "3h 12m");
  BOOST_TEST(FormatDuration(seconds(3600)) == "1h");
  BOOST_TEST(FormatDuration(seconds(2 * 86400 + 4 * 3600 + 5)) == "2d 4h");
  BOOST_TEST(FormatDuration(seconds(-90)) == "1m 30s");
}

BOOST_AUTO_TEST_CASE(times_are_relative_and_absolute) {
  Time now = std::chrono::system_clock::from_time_t(1795444368);  // 2026-11-23 14:32:48 UTC
  BOOST_TEST(Relative(now + seconds(3 * 3600 + 12 * 60), now) == "in 3h 12m");
  BOOST_TEST(Relative(now - seconds(300), now) == "5m ago");
  BOOST_TEST(Relative(now, now) == "now");
  BOOST_TEST(Absolute(now) == "2026-11-23 14:32:48 UTC");
  BOOST_TEST(When(now + seconds(60), now) == "2026-11-23 14:33:48 UTC (in 1m)");
}

BOOST_AUTO_TEST_CASE(parses_cli_durations_and_bare_seconds) {
  BOOST_TEST(ParseCliDuration("90s")->count() == 90);
  BOOST_TEST(ParseCliDuration("15m")->count() == 900);
  BOOST_TEST(ParseCliDuration("1h30m")->count() == 5400);
  BOOST_TEST(ParseCliDuration("7d")->count() == 7 * 86400);
  BOOST_TEST(ParseCliDuration("600")->count() == 600);
  for (const char* bad : {"", "0", "0s", "m", "5q", "1h30", "-5s", "99999999999s", "1.5h"}) {
    BOOST_TEST(!ParseCliDuration(bad).has_value(), bad);
  }
}

BOOST_AUTO_TEST_CASE(claims_take_canvas_types_and_raw_json) {
  client::Claims c;
  BOOST_TEST(ApplyClaim("region=eu-west", &c).empty());
  BOOST_TEST(ApplyClaim("masq_shard=3", &c).empty());
  BOOST_TEST(ApplyClaim("instructure_service=true", &c).empty());
  BOOST_TEST(ApplyClaim("debug_user_global_id=10000000000001", &c).empty());
  BOOST_TEST(ApplyClaim("tags:=[\"a\",1]", &c).empty());
  BOOST_TEST(ApplyClaim("eq=a=b", &c).empty());
  BOOST_TEST(*c.GetString("region") == "eu-west");
  BOOST_TEST(*c.GetInt("masq_shard") == 3);
  BOOST_TEST(*c.GetBool("instructure_service"));
  BOOST_TEST(*c.GetString("debug_user_global_id") == "10000000000001");  // a decimal string
  BOOST_TEST(*c.GetJson("tags") == R"(["a",1])");
  BOOST_TEST(*c.GetString("eq") == "a=b");
  for (const char* bad : {"novalue", "=x", ":=1", "masq_shard=x", "canvas_shard_id=-1",
                          "instructure_service=yes", "j:={"}) {
    BOOST_TEST(!ApplyClaim(bad, &c).empty(), bad);
  }
}

BOOST_AUTO_TEST_CASE(labels_are_padded_to_a_column) {
  BOOST_TEST(Labeled("kid", "k1", 6) == "kid   k1\n");
  BOOST_TEST(Labeled("state", "active", 6) == "state active\n");
  BOOST_TEST(Labeled("max lifetime", "1h", 6) == "max lifetime 1h\n");  // never glued on
}

BOOST_AUTO_TEST_CASE(tables_align_columns) {
  Table t({"A", "BB"});
  t.Add({"long", "x"});
  BOOST_TEST(t.Render() == "A     BB\nlong  x\n");
  Table empty_last({"A", "B", "C"});
  empty_last.Add({"long", "x", ""});
  BOOST_TEST(empty_last.Render() == "A     B  C\nlong  x\n");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::ctl
