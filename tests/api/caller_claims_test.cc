#include "api/caller_claims.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <string_view>

#include "jose/json_strict.h"
#include "jose/token.h"

namespace instaccess::api {
namespace {

using Json = nlohmann::json;

// The claims as the issue endpoint reads them: from request text, through the strict parser.
Json Parse(std::string_view text) {
  auto parsed = jose::ParseStrictJsonObject(text);
  BOOST_REQUIRE_MESSAGE(parsed.has_value(), text);
  return *parsed;
}

// "" when the claims may be signed, else the message of the refusal.
std::string Check(std::string_view claims_text, const TokenSettings& tokens = {}) {
  Status s = CheckCallerClaims(Parse(claims_text), tokens);
  return s.ok() ? "" : s.message();
}

// The claims of a request with one more member, `name` set to the JSON text `value`.
std::string With(std::string_view name, std::string_view value) {
  return R"({"sub":"u1","acct":"a1",")" + std::string(name) + "\":" + std::string(value) + "}";
}

// The claims Canvas's own code builds (inst_access gem, Token.for_user; canvas-lms
// Canvas::OAuth::ServiceUserClientCredentialsProvider) plus the members of InstFS tokens Canvas
// reads (aud, resource, tenant_auth). docs/tokens.md, "Claims as Canvas sends them".
constexpr std::string_view kCanvasClaims = R"({
  "sub": "Wq6Hh1ZaEV6tRsVbIoJtYXWVajG1m8y2qXQZ2cDb",
  "acct": "K3tCmB7tzgWnB3nHdS7PFDMmp0tIf3yHqgmXj0x1",
  "canvas_domain": "canvas.example.edu:443",
  "masq_sub": "b8ZQf0sC4gJx0dRkG2c7u9VfTzWnYl1aPqHe3MoN",
  "masq_shard": 10000,
  "debug_user_global_id": "100000000000042",
  "debug_masq_global_id": "100000000000007",
  "region": "us-east-1",
  "client_id": 170000000000123,
  "instructure_service": true,
  "canvas_shard_id": 17,
  "aud": ["K3tCmB7tzgWnB3nHdS7PFDMmp0tIf3yHqgmXj0x1", "svc"],
  "resource": "/courses/1/files/2?instfs_id=abc",
  "tenant_auth": {"location": "course_1", "nested": {"n": 1.5, "list": [1, "x", null]}}
})";

BOOST_AUTO_TEST_SUITE(caller_claims)

BOOST_AUTO_TEST_CASE(canvas_claims_pass_with_their_json_types) {
  BOOST_TEST(Check(kCanvasClaims) == "");
  // Issued as given: BuildStandardClaims adds iss, jti, iat, exp and changes nothing else.
  Json caller = Parse(kCanvasClaims);
  auto full = jose::BuildStandardClaims(caller, jose::kDefaultIssuer, 1700000000, 3600);
  BOOST_REQUIRE(full.has_value());
  for (auto it = caller.begin(); it != caller.end(); ++it) {
    BOOST_TEST(full->at(it.key()) == it.value(), it.key());
    BOOST_TEST(full->at(it.key()).type_name() == it.value().type_name(), it.key());
  }
  BOOST_TEST(full->at("client_id").is_number_unsigned());
  BOOST_TEST(full->at("client_id").get<std::uint64_t>() == 170000000000123u);
}

BOOST_AUTO_TEST_CASE(client_id_is_an_integer_of_up_to_64_bits_or_a_string) {
  for (std::string_view ok : {"1", "0", "-5", "4294967296", "170000000000123",
                              "9223372036854775807", "9223372036854775808", "18446744073709551615",
                              R"("svc-client")", R"("")", R"("10000000000042")"}) {
    BOOST_TEST(Check(With("client_id", ok)) == "", ok);
  }
  for (std::string_view bad : {"1.5", "1e3", "4294967296.0", "18446744073709551616", "true", "null",
                               "[1]", R"({"id":1})"}) {
    BOOST_TEST(Check(With("client_id", bad)) == "claims.client_id must be an integer or a string",
               bad);
  }
}

BOOST_AUTO_TEST_CASE(client_id_keeps_its_exact_value_in_the_issued_claims) {
  for (std::string_view value :
       {"4294967297", "9223372036854775807", "18446744073709551615", R"("4294967297")"}) {
    Json caller = Parse(With("client_id", value));
    BOOST_REQUIRE(CheckCallerClaims(caller, {}).ok());
    auto full = jose::BuildStandardClaims(caller, jose::kDefaultIssuer, 1700000000, 60);
    BOOST_REQUIRE(full.has_value());
    auto text = jose::DumpJson(*full);  // what IssueToken signs
    BOOST_REQUIRE(text.has_value());
    BOOST_TEST(text->find("\"client_id\":" + std::string(value)) != std::string::npos, *text);
  }
}

BOOST_AUTO_TEST_CASE(typed_claims_refuse_other_json_types) {
  struct Case {
    std::string_view name, good, bad, message;
  };
  const Case cases[] = {
      {"sub", R"("u")", "1", "must be a string"},
      {"acct", R"("a")", "true", "must be a string"},
      {"canvas_domain", R"("c.example.edu:8443")", "1", "must be a string"},
      {"masq_sub", R"("m")", "[]", "must be a string"},
      {"masq_shard", "5", R"("5")", "must be an integer"},
      {"masq_shard", "10000000000000", "1.0", "must be an integer"},
      {"debug_user_global_id", R"("10000000000042")", "10000000000042",
       "must be a string of decimal digits"},
      {"debug_user_global_id", R"("0")", R"("")", "must be a string of decimal digits"},
      {"debug_masq_global_id", R"("7")", R"("-7")", "must be a string of decimal digits"},
      {"debug_masq_global_id", R"("7")", R"("1~7")", "must be a string of decimal digits"},
      {"region", R"("us-west-2")", "{}", "must be a string"},
      {"instructure_service", "false", R"("true")", "must be a boolean"},
      {"instructure_service", "true", "1", "must be a boolean"},
      {"canvas_shard_id", "3", R"("3")", "must be an integer"},
      {"canvas_shard_id", "3", "3.5", "must be an integer"},
  };
  for (const Case& c : cases) {
    const std::string name(c.name);
    if (name == "sub" || name == "acct") {
      std::string good = name == "sub" ? R"({"sub":)" + std::string(c.good) + R"(,"acct":"a"})"
                                       : R"({"sub":"u","acct":)" + std::string(c.good) + "}";
      BOOST_TEST(Check(good) == "", name);
      std::string bad = name == "sub" ? R"({"sub":)" + std::string(c.bad) + R"(,"acct":"a"})"
                                      : R"({"sub":"u","acct":)" + std::string(c.bad) + "}";
      BOOST_TEST(Check(bad) == "claims." + name + " " + std::string(c.message), name);
      continue;
    }
    BOOST_TEST(Check(With(c.name, c.good)) == "", name << " = " << c.good);
    BOOST_TEST(Check(With(c.name, c.bad)) == "claims." + name + " " + std::string(c.message),
               name << " = " << c.bad);
  }
  // A typed claim given as null is refused too: Canvas leaves out what it has no value for.
  BOOST_TEST(Check(With("region", "null")) == "claims.region must be a string");
}

BOOST_AUTO_TEST_CASE(other_claims_pass_through_whatever_their_type) {
  for (std::string_view name : {"aud", "resource", "tenant_auth", "scope", "x-custom"}) {
    for (std::string_view value : {R"("s")", R"(["a","b"])", "[]", R"({"location":"l"})", "{}", "1",
                                   "-1", "2.5", "true", "null", "18446744073709551615"}) {
      BOOST_TEST(Check(With(name, value)) == "", name << " = " << value);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_daemon_sets_iss_iat_exp_nbf_jti) {
  for (std::string_view name : {"iss", "iat", "exp", "nbf", "jti"}) {
    for (std::string_view value : {R"("x")", "1700000000", "null"}) {
      BOOST_TEST(Check(With(name, value)) ==
                     "claims." + std::string(name) + " is set by instaccessd and may not be given",
                 name << " = " << value);
    }
  }
}

BOOST_AUTO_TEST_CASE(required_claims_must_be_present_and_not_null) {
  BOOST_TEST(Check(R"({"acct":"a"})") == "claims.sub is required");
  BOOST_TEST(Check(R"({"sub":"u"})") == "claims.acct is required");
  BOOST_TEST(Check(R"({"sub":null,"acct":"a"})") == "claims.sub is required");
  TokenSettings tokens;
  tokens.required_claims = {"sub", "client_id"};
  BOOST_TEST(Check(R"({"sub":"u"})", tokens) == "claims.client_id is required");
  BOOST_TEST(Check(R"({"sub":"u","client_id":170000000000123})", tokens) == "");
  tokens.required_claims.clear();
  BOOST_TEST(Check("{}", tokens) == "");
}

BOOST_AUTO_TEST_CASE(claims_must_be_an_object) {
  for (const Json& not_object : {Json::array(), Json("x"), Json(1), Json(nullptr)}) {
    Status s = CheckCallerClaims(not_object, {});
    BOOST_TEST(s.message() == "claims must be a JSON object");
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::api
