// The exposition writer and the request layer's metrics in-process, read back by the test
// support's own strict reader of the text format (tests/support/prometheus_text.h).
#include "api/metrics.h"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>

#include "api/exposition.h"
#include "tests/support/prometheus_text.h"

namespace instaccess::api {
namespace {

using testing::Describe;
using testing::ParsePrometheusText;
using testing::PromExposition;

BOOST_AUTO_TEST_SUITE(metrics)

BOOST_AUTO_TEST_CASE(label_values_and_help_are_escaped_and_read_back_unchanged) {
  const std::string hostile = "a\\b\"c\nd} e=\"f\",g";
  Exposition e;
  e.Family("x_peer_up", MetricType::kGauge, "Help with a \\ and a\nsecond line.");
  e.Sample("x_peer_up", {{"peer", hostile}, {"purpose", "sig"}}, 1);
  BOOST_TEST(e.text() ==
             "# HELP x_peer_up Help with a \\\\ and a\\nsecond line.\n"
             "# TYPE x_peer_up gauge\n"
             "x_peer_up{peer=\"a\\\\b\\\"c\\nd} e=\\\"f\\\",g\",purpose=\"sig\"} 1\n");
  const PromExposition p = ParsePrometheusText(e.text(), "x_");
  BOOST_TEST(p.problems.empty(), Describe(p.problems));
  BOOST_TEST(p.Value("x_peer_up", {{"peer", hostile}, {"purpose", "sig"}}) == 1.0);
  BOOST_REQUIRE(p.Find("x_peer_up"));
  BOOST_TEST(p.Find("x_peer_up")->help == "Help with a \\ and a\nsecond line.");
}

BOOST_AUTO_TEST_CASE(values_are_exact_integers_or_shortest_floats) {
  BOOST_TEST(SampleValue(std::numeric_limits<std::uint64_t>::max()).text() ==
             "18446744073709551615");
  BOOST_TEST(SampleValue(std::int64_t{-3}).text() == "-3");
  BOOST_TEST(SampleValue(true).text() == "1");
  BOOST_TEST(SampleValue(false).text() == "0");
  BOOST_TEST(SampleValue(0.0001).text() == "0.0001");  // as Prometheus's own clients write it
  BOOST_TEST(SampleValue(0.00001).text() == "1e-05");
  BOOST_TEST(SampleValue(0.25).text() == "0.25");
  BOOST_TEST(SampleValue(std::nan("")).text() == "NaN");
  BOOST_TEST(SampleValue(HUGE_VAL).text() == "+Inf");
  BOOST_TEST(SampleValue(-HUGE_VAL).text() == "-Inf");
}

BOOST_AUTO_TEST_CASE(latency_is_one_histogram_family_by_endpoint_with_cumulative_buckets) {
  Metrics m;
  m.AddEndpoint("/api/v1/keys/{kid}");
  m.AddEndpoint("/healthz");
  // 10 µs lands in the first bucket (le is "at or below"), 11 µs in the next, 300 ms past all.
  for (std::int64_t us : {10, 11, 700, 300'000}) m.ObserveLatency("/api/v1/keys/{kid}", us);
  m.ObserveLatency("/no/such/route", 40);  // never added: counted as unmatched
  Exposition e;
  m.Render(e);
  const PromExposition p = ParsePrometheusText(e.text(), "instaccess_");
  BOOST_TEST(p.problems.empty(), Describe(p.problems));

  const std::string h = "instaccess_request_duration_seconds";
  BOOST_REQUIRE(p.Find(h));
  BOOST_TEST(p.Find(h)->type == "histogram");
  auto bucket = [&](const std::string& endpoint, const std::string& le) {
    return p.Value(h + "_bucket", {{"endpoint", endpoint}, {"le", le}});
  };
  const std::string kid = "/api/v1/keys/{kid}";
  BOOST_TEST(bucket(kid, "1e-05") == 1.0);
  BOOST_TEST(bucket(kid, "2.5e-05") == 2.0);
  BOOST_TEST(bucket(kid, "0.0005") == 2.0);
  BOOST_TEST(bucket(kid, "0.001") == 3.0);
  BOOST_TEST(bucket(kid, "0.25") == 3.0);
  BOOST_TEST(bucket(kid, "+Inf") == 4.0);
  BOOST_TEST(p.Value(h + "_count", {{"endpoint", kid}}) == 4.0);
  BOOST_TEST(std::abs(p.Value(h + "_sum", {{"endpoint", kid}}) - 0.300721) < 1e-9);
  BOOST_TEST(p.Value(h + "_count", {{"endpoint", "/healthz"}}) == 0.0);
  BOOST_TEST(bucket("/healthz", "+Inf") == 0.0);
  BOOST_TEST(p.Value(h + "_count", {{"endpoint", "unmatched"}}) == 1.0);
  BOOST_TEST(e.text().find("/no/such/route") == std::string::npos);
  // One family: its HELP and TYPE once, every endpoint's series under it.
  std::size_t helps = 0;
  for (std::size_t at = 0; (at = e.text().find("# HELP " + h + " ", at)) != std::string::npos;
       ++at) {
    ++helps;
  }
  BOOST_TEST(helps == 1u);
}

BOOST_AUTO_TEST_CASE(counters_end_in_total_and_collectors_add_their_families) {
  Metrics m;
  m.CountIssued();
  m.CountIssued();
  m.CountDecrypt(DecryptOutcome::kExpired);
  m.CountRotation();
  m.AddCollector([](Exposition& e) {
    e.Counter("instaccess_peer_fetches_total", "JWKS fetches.", 7);
    e.Gauge("instaccess_peer_up", "1 while the peer answers.", true);
  });
  Exposition e;
  m.Render(e);
  const PromExposition p = ParsePrometheusText(e.text(), "instaccess_");
  BOOST_TEST(p.problems.empty(), Describe(p.problems));
  for (const auto& f : p.families) {
    if (f.type == "counter") {
      BOOST_TEST(f.name.substr(f.name.size() - 6) == "_total", f.name);
    }
  }
  BOOST_TEST(p.Value("instaccess_tokens_issued_total") == 2.0);
  BOOST_TEST(p.Value("instaccess_tokens_decrypted_total", {{"result", "token_expired"}}) == 1.0);
  BOOST_TEST(p.Value("instaccess_tokens_decrypted_total", {{"result", "ok"}}) == 0.0);
  BOOST_TEST(p.Value("instaccess_key_rotations_total") == 1.0);
  BOOST_TEST(p.Value("instaccess_peer_fetches_total") == 7.0);
  BOOST_TEST(p.Value("instaccess_peer_up") == 1.0);
}

// The reader the tests trust must refuse what Prometheus would refuse.
BOOST_AUTO_TEST_CASE(the_test_reader_refuses_broken_expositions) {
  auto problems = [](const std::string& text) { return ParsePrometheusText(text).problems; };
  BOOST_TEST(problems("# HELP a_total A.\n# TYPE a_total counter\na_total 1\n").empty());
  BOOST_TEST(!problems("# HELP a_total A.\n# TYPE a_total counter\na_total 1").empty());
  BOOST_TEST(!problems("a_total 1\n").empty());                           // no HELP, no TYPE
  BOOST_TEST(!problems("# HELP a A.\n# TYPE a counter\na 1\n").empty());  // no _total
  BOOST_TEST(!problems("# HELP a A.\n# TYPE a gauge\na{x=\"\\t\"} 1\n").empty());
  BOOST_TEST(!problems("# HELP a A.\n# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n").empty());
  BOOST_TEST(!problems("# HELP a A.\n# TYPE a gauge\na one\n").empty());
  const std::string h = "# HELP h H.\n# TYPE h histogram\n";
  BOOST_TEST(
      problems(h + "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n").empty());
  BOOST_TEST(!problems(h + "h_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n")
                  .empty());  // not cumulative
  BOOST_TEST(!problems(h + "h_bucket{le=\"1\"} 1\nh_sum 3\nh_count 1\n").empty());  // no +Inf
  BOOST_TEST(!problems(h + "h_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 1\n").empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::api
