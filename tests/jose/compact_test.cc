// Strict JSON, compact splitting and the protected-header policy.
#include "jose/compact.h"

#include <boost/test/unit_test.hpp>
#include <limits>
#include <vector>

#include "jose/base64url.h"
#include "jose/json_strict.h"

namespace instaccess::jose {
namespace {

Result<ProtectedHeader> Header(std::string_view json, HeaderKind kind) {
  return ParseProtectedHeader(Base64UrlEncode(json), kind);
}

bool Rejected(std::string_view json, HeaderKind kind, std::string_view reason) {
  auto h = Header(json, kind);
  if (h.has_value()) return false;
  BOOST_TEST_MESSAGE(json << " -> " << h.error().message());
  return h.error().message().find(reason) != std::string::npos;
}

BOOST_AUTO_TEST_SUITE(compact)

BOOST_AUTO_TEST_CASE(strict_json_rejects_duplicate_members_at_any_depth) {
  BOOST_CHECK(ParseStrictJsonObject(R"({"a":1,"b":2})").has_value());
  BOOST_CHECK(!ParseStrictJsonObject(R"({"a":1,"a":2})").has_value());
  BOOST_CHECK(!ParseStrictJsonObject(R"({"x":{"a":1,"a":1}})").has_value());
  BOOST_CHECK(!ParseStrictJsonObject(R"({"x":[{"a":1,"a":1}]})").has_value());
  // The same name in sibling objects is fine.
  BOOST_CHECK(ParseStrictJsonObject(R"({"x":{"a":1},"y":{"a":1}})").has_value());
  // An escaped spelling of the same name is the same name.
  BOOST_CHECK(!ParseStrictJsonObject(R"({"alg":"RS256","\u0061lg":"none"})").has_value());
}

BOOST_AUTO_TEST_CASE(strict_json_rejects_non_objects_trailing_data_and_bom) {
  for (const char* bad :
       {"[]", "\"x\"", "1", "null", "", "{", "{}x", "{} {}", "{\"a\":1,}", "\xEF\xBB\xBF{}",
        "{\"a\":\"\xff\"}", " []", "{'a':1}", "{/*c*/\"a\":1}"}) {
    BOOST_CHECK_MESSAGE(!ParseStrictJsonObject(bad).has_value(), bad);
  }
  BOOST_CHECK(ParseStrictJsonObject("{}").has_value());
  BOOST_CHECK(ParseStrictJsonObject("{ }\n").has_value());
  BOOST_CHECK(ParseStrictJsonObject("\r\n\t {}").has_value());  // RFC 8259 whitespace
}

BOOST_AUTO_TEST_CASE(strict_json_limits_depth) {
  std::string ok = "{\"a\":";
  std::string deep = "{\"a\":";
  for (int i = 0; i < kMaxJsonDepth - 2; ++i) ok += "[";
  for (int i = 0; i < kMaxJsonDepth - 2; ++i) ok += "]";
  ok += "}";
  for (int i = 0; i < 1000; ++i) deep += "[";
  for (int i = 0; i < 1000; ++i) deep += "]";
  deep += "}";
  BOOST_CHECK(ParseStrictJsonObject(ok).has_value());
  BOOST_CHECK(!ParseStrictJsonObject(deep).has_value());
}

BOOST_AUTO_TEST_CASE(dump_refuses_invalid_utf8_instead_of_throwing) {
  nlohmann::json j = {{"sub", std::string("\xc3\x28")}};
  BOOST_CHECK(!DumpJson(j).has_value());
  BOOST_CHECK_EQUAL(DumpJson(nlohmann::json{{"b", 1}, {"a", "x"}}).value(), R"({"a":"x","b":1})");
}

// DumpJson writes plain strings and integers itself: byte for byte what nlohmann writes.
BOOST_AUTO_TEST_CASE(dump_writes_what_nlohmann_writes) {
  using J = nlohmann::json;
  const std::vector<J> values = {
      J::object(),
      J::array(),
      J(nullptr),
      J(true),
      J(false),
      J(0),
      J(-1),
      J(std::numeric_limits<std::int64_t>::min()),
      J(std::numeric_limits<std::uint64_t>::max()),
      J(1.0),
      J(-0.0),
      J(0.1),
      J(1e300),
      J(123456789.125),
      J(""),
      J("plain ascii ~!@#$%^&*()"),
      J("quote \" and backslash \\"),
      J("tab\tnewline\ncontrol\x01\x1f del\x7f"),
      J("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
      J(J::binary_t({1, 2, 3})),
      J{{"sub", "user-1"},
        {"n", 7},
        {"nested", {{"a", J::array({1, "x", nullptr, 2.5})}}},
        {"\x01key\"", "v"},
        {"", J::object()}},
      J::array({J::array(), J::object(), J::array({J::array({-7})})}),
  };
  for (const J& v : values) {
    const std::string expected = v.dump(-1, ' ', false, J::error_handler_t::strict);
    BOOST_CHECK_EQUAL(DumpJson(v).value(), expected);
    BOOST_CHECK_EQUAL(DumpJson(J{{"k", v}}).value(), "{\"k\":" + expected + "}");
  }
  // Invalid UTF-8 anywhere (a member name too) is refused, not thrown.
  BOOST_CHECK(!DumpJson(J{{std::string("\xff"), 1}}).has_value());
  BOOST_CHECK(!DumpJson(J::array({"ok", std::string("\xe2\x82")})).has_value());
}

// AppendJsonString (the decrypt answer's kids) writes what nlohmann writes with its replace
// handler: the same bytes as DumpJson for valid text, U+FFFD for invalid UTF-8.
BOOST_AUTO_TEST_CASE(append_json_string_writes_what_nlohmann_writes) {
  using J = nlohmann::json;
  for (const std::string& s :
       {std::string(""), std::string("kid-1_AbC"), std::string("quote \" backslash \\ tab\t"),
        std::string("ctl\x01\x7f"), std::string("caf\xc3\xa9"), std::string("bad \xc3\x28 \xff")}) {
    std::string out = "[";
    AppendJsonString(s, &out);
    // Appended, not `"[" + dump(...)`: g++ 12 at -O3 sees a false -Wrestrict overlap in the
    // inlined insert-at-front of operator+(const char*, string&&) (GCC bug 105329).
    std::string expected = "[";
    expected += J(s).dump(-1, ' ', false, J::error_handler_t::replace);
    BOOST_CHECK_EQUAL(out, expected);
  }
  std::string out;
  AppendJsonString("bad \xff", &out);
  BOOST_CHECK_EQUAL(out, "\"bad \xef\xbf\xbd\"");
}

BOOST_AUTO_TEST_CASE(split_counts_parts_and_limits_size) {
  auto five = SplitCompact("a.b.c.d.e", kJweParts);
  BOOST_REQUIRE(five.has_value());
  BOOST_CHECK_EQUAL((*five)[4], "e");
  BOOST_CHECK(SplitCompact("a..c", kJwsParts).has_value());
  BOOST_CHECK((*SplitCompact("a..c", kJwsParts))[1].empty());
  BOOST_CHECK(!SplitCompact("a.b.c.d", kJweParts).has_value());
  BOOST_CHECK(!SplitCompact("a.b.c.d.e.f", kJweParts).has_value());
  BOOST_CHECK(!SplitCompact("", kJwsParts).has_value());
  std::string big(kMaxTokenSize - 4, 'A');
  BOOST_CHECK(SplitCompact(big + ".a.b", kJwsParts).has_value());  // exactly the limit
  BOOST_CHECK(!SplitCompact(big + ".a.bb", kJwsParts).has_value());
  BOOST_CHECK_EQUAL(CountCompactParts(big + ".a.bb"), 0u);
}

BOOST_AUTO_TEST_CASE(header_accepts_canvas_shapes) {
  auto jws = Header(R"({"typ":"JWT","alg":"RS256"})", HeaderKind::kJws);
  BOOST_REQUIRE(jws.has_value());
  BOOST_CHECK(jws->alg == Alg::kRS256);
  BOOST_CHECK(!jws->kid.has_value());
  auto jwe = Header(R"({"alg":"RSA-OAEP","enc":"A128CBC-HS256"})", HeaderKind::kJwe);
  BOOST_REQUIRE(jwe.has_value());
  BOOST_CHECK(jwe->alg == Alg::kRsaOaep);
  BOOST_CHECK(jwe->enc == ContentEnc::kA128CbcHs256);
  auto ours =
      Header(R"({"alg":"RSA1_5","enc":"A256GCM","kid":"k1","cty":"JWT"})", HeaderKind::kJwe);
  BOOST_REQUIRE(ours.has_value());
  BOOST_CHECK_EQUAL(ours->kid.value(), "k1");
  BOOST_CHECK(ours->enc == ContentEnc::kA256Gcm);
}

BOOST_AUTO_TEST_CASE(a_remembered_header_answers_only_for_the_same_text_and_kind) {
  const std::string a = R"({"alg":"RSA-OAEP","enc":"A128CBC-HS256","kid":"a"})";
  const std::string b = R"({"alg":"RSA1_5","enc":"A256GCM","kid":"b"})";
  for (int round = 0; round < 2; ++round) {  // the second round is answered from memory
    auto ha = Header(a, HeaderKind::kJwe);
    BOOST_REQUIRE(ha.has_value());
    BOOST_CHECK_EQUAL(ha->kid.value(), "a");
    BOOST_CHECK(ha->alg == Alg::kRsaOaep);
    BOOST_CHECK(Header(a, HeaderKind::kJwe)->enc == ContentEnc::kA128CbcHs256);
    // The same text as the other kind is judged as that kind, not remembered.
    BOOST_CHECK(Rejected(a, HeaderKind::kJws, "wrong use"));
    auto hb = Header(b, HeaderKind::kJwe);
    BOOST_REQUIRE(hb.has_value());
    BOOST_CHECK_EQUAL(hb->kid.value(), "b");
    BOOST_CHECK(hb->enc == ContentEnc::kA256Gcm);
    // A refused header is never remembered as accepted.
    BOOST_CHECK(Rejected(R"({"alg":"RSA-OAEP","enc":"A128CBC-HS256","zip":"DEF"})",
                         HeaderKind::kJwe, "zip"));
  }
}

BOOST_AUTO_TEST_CASE(header_rejects_algorithms_outside_the_whitelist) {
  for (const char* alg : {"none", "None", "HS256", "HS512", "ES256", "RS512", "dir", "A128KW"}) {
    std::string jws = std::string(R"({"alg":")") + alg + "\"}";
    BOOST_CHECK_MESSAGE(Rejected(jws, HeaderKind::kJws, "algorithm not accepted"), alg);
  }
  BOOST_CHECK(Rejected(R"({"typ":"JWT"})", HeaderKind::kJws, "without alg"));
  BOOST_CHECK(Rejected(R"({"alg":null})", HeaderKind::kJws, "without alg"));
  BOOST_CHECK(Rejected(R"({"alg":["RS256"]})", HeaderKind::kJws, "without alg"));
  // An encryption alg on a JWS and a signing alg on a JWE.
  BOOST_CHECK(Rejected(R"({"alg":"RSA-OAEP"})", HeaderKind::kJws, "wrong use"));
  BOOST_CHECK(Rejected(R"({"alg":"RS256","enc":"A256GCM"})", HeaderKind::kJwe, "wrong use"));
  BOOST_CHECK(Rejected(R"({"alg":"RSA-OAEP","enc":"A128GCM"})", HeaderKind::kJwe,
                       "content encryption not accepted"));
  BOOST_CHECK(Rejected(R"({"alg":"RSA-OAEP"})", HeaderKind::kJwe, "without enc"));
  BOOST_CHECK(Rejected(R"({"alg":"RS256","enc":"A256GCM"})", HeaderKind::kJws, "enc in a JWS"));
}

BOOST_AUTO_TEST_CASE(header_rejects_zip_crit_and_embedded_key_references) {
  for (const char* m : {"zip", "crit", "jku", "jwk", "x5u", "x5c"}) {
    std::string jwe = std::string(R"({"alg":"RSA-OAEP","enc":"A256GCM",")") + m + R"(":"x"})";
    std::string jws = std::string(R"({"alg":"RS256",")") + m + R"(":null})";
    BOOST_CHECK_MESSAGE(Rejected(jwe, HeaderKind::kJwe, "forbidden header member"), m);
    BOOST_CHECK_MESSAGE(Rejected(jws, HeaderKind::kJws, "forbidden header member"), m);
  }
}

BOOST_AUTO_TEST_CASE(header_checks_cty_kid_and_typ) {
  BOOST_CHECK(Rejected(R"({"alg":"RSA-OAEP","enc":"A256GCM","cty":"json"})", HeaderKind::kJwe,
                       "cty other than JWT"));
  BOOST_CHECK(Rejected(R"({"alg":"RSA-OAEP","enc":"A256GCM","cty":"jwt"})", HeaderKind::kJwe,
                       "cty other than JWT"));
  BOOST_CHECK(Rejected(R"({"alg":"RS256","cty":"JWT"})", HeaderKind::kJws, "cty in a JWS"));
  BOOST_CHECK(Rejected(R"({"alg":"RS256","kid":5})", HeaderKind::kJws, "kid"));
  BOOST_CHECK(Rejected(R"({"alg":"RS256","kid":""})", HeaderKind::kJws, "kid"));
  BOOST_CHECK(Rejected(R"({"alg":"RS256","typ":{}})", HeaderKind::kJws, "typ"));
  BOOST_CHECK(Rejected(R"({"alg":"RS256","alg":"RS256"})", HeaderKind::kJws, "duplicate"));
  BOOST_CHECK(Rejected(R"(["RS256"])", HeaderKind::kJws, "not an object"));
  BOOST_CHECK(!ParseProtectedHeader("eyJhbGciOiJSUzI1NiJ9=", HeaderKind::kJws).has_value());
  BOOST_CHECK(ParseProtectedHeader("eyJhbGciOiJSUzI1NiJ9", HeaderKind::kJws).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::jose
