// SerializeResponse, read back by Beast's response parser (a parser we did not write).
#include "ipc/http_types.h"

#include <boost/test/unit_test.hpp>

#include "ipc/asio.h"

namespace instaccess::ipc {
namespace {

http::response<http::string_body> ParseBack(const std::string& bytes) {
  http::response_parser<http::string_body> parser;
  parser.eager(true);  // header and body in one put()
  beast::error_code ec;
  std::size_t used = parser.put(asio::buffer(bytes), ec);
  BOOST_REQUIRE_MESSAGE(!ec, ec.message());
  BOOST_REQUIRE(parser.is_done());
  BOOST_CHECK_EQUAL(used, bytes.size());  // nothing after the body
  return parser.release();
}

BOOST_AUTO_TEST_SUITE(http_types)

BOOST_AUTO_TEST_CASE(serialized_response_parses_back_with_every_part) {
  Response r = JsonError(503, "overloaded", "server is busy");
  r.headers.emplace_back("Retry-After", "1");
  auto parsed = ParseBack(SerializeResponse(r, true));
  BOOST_CHECK_EQUAL(parsed.result_int(), 503u);
  BOOST_CHECK_EQUAL(parsed.reason(), "Service Unavailable");
  BOOST_CHECK_EQUAL(parsed[http::field::content_type], "application/json");
  BOOST_CHECK_EQUAL(parsed[http::field::server], "instaccessd");
  BOOST_CHECK_EQUAL(parsed[http::field::retry_after], "1");
  BOOST_CHECK_EQUAL(parsed.body(), r.body);
  BOOST_CHECK(parsed.keep_alive());
}

BOOST_AUTO_TEST_CASE(closing_response_says_so_and_empty_bodies_have_length_zero) {
  Response r;
  r.status = 200;
  auto bytes = SerializeResponse(r, false);
  BOOST_CHECK(bytes.find("Content-Length: 0\r\n") != std::string::npos);
  auto parsed = ParseBack(bytes);
  BOOST_CHECK(!parsed.keep_alive());
  BOOST_CHECK(parsed.body().empty());
}

BOOST_AUTO_TEST_CASE(no_content_and_not_modified_carry_no_body_headers) {
  for (int status : {204, 304}) {
    Response r;
    r.status = status;
    r.body = "never sent";
    r.headers.emplace_back("ETag", "\"x\"");
    auto bytes = SerializeResponse(r, true);
    BOOST_TEST(bytes.find("Content-Length") == std::string::npos);
    BOOST_TEST(bytes.find("Content-Type") == std::string::npos);
    auto parsed = ParseBack(bytes);
    BOOST_TEST(parsed.result_int() == static_cast<unsigned>(status));
    BOOST_TEST(parsed[http::field::etag] == "\"x\"");
    BOOST_TEST(parsed.body().empty());
    BOOST_TEST(parsed.keep_alive());
  }
}

BOOST_AUTO_TEST_CASE(headers_that_would_break_the_framing_are_dropped) {
  Response r = JsonOk("{}");
  r.headers.emplace_back("X-Good", "yes");
  r.headers.emplace_back("X-Split", "a\r\nSet-Cookie: evil");
  r.headers.emplace_back("Bad:Name", "v");
  r.headers.emplace_back("", "v");
  r.content_type = "text/plain\r\nX-Injected: 1";
  auto bytes = SerializeResponse(r, true);
  BOOST_CHECK(bytes.find("evil") == std::string::npos);
  BOOST_CHECK(bytes.find("Injected") == std::string::npos);
  BOOST_CHECK(bytes.find("Bad:Name") == std::string::npos);
  auto parsed = ParseBack(bytes);
  BOOST_CHECK_EQUAL(parsed["X-Good"], "yes");
  BOOST_CHECK_EQUAL(parsed[http::field::content_type], "application/octet-stream");
  BOOST_CHECK_EQUAL(parsed.body(), "{}");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::ipc
