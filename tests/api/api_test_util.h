// Helpers shared by the API integration suites: the checks every suite makes (the error shape of
// docs/api.md, one active key per purpose) over the shared RunningDaemon fixture.
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "tests/support/running_daemon.h"

namespace instaccess::testing::api {

using namespace std::chrono_literals;
using Json = nlohmann::json;

// The suites' daemon is the shared fixture.
using Daemon = RunningDaemon;

// The error shape of docs/api.md, its status, and (if given) a piece of the message.
inline void ExpectError(const HttpReply& r, int status, const std::string& code,
                        const std::string& message_part = "") {
  BOOST_TEST(r.status == status, "body: " << r.body);
  BOOST_TEST(r.headers.count("content-type") == 1u);
  if (r.headers.count("content-type"))
    BOOST_TEST(r.headers.at("content-type") == "application/json");
  Json body = Json::parse(r.body, nullptr, false);
  BOOST_REQUIRE_MESSAGE(body.is_object() && body.size() == 1 && body.contains("error"),
                        "not the error shape: " << r.body);
  const Json& e = body["error"];
  BOOST_REQUIRE(e.is_object());
  BOOST_TEST(e.size() == 2u);
  BOOST_TEST(e.value("code", "") == code, "body: " << r.body);
  BOOST_REQUIRE(e.contains("message") && e["message"].is_string());
  const std::string message = e["message"].get<std::string>();
  BOOST_TEST(!message.empty());
  if (!message_part.empty()) {
    BOOST_TEST(message.find(message_part) != std::string::npos,
               "message '" << message << "' does not mention '" << message_part << "'");
  }
}

// Keys of /api/v1/keys in `state` for `purpose`.
inline std::vector<std::string> KidsIn(const Json& keys, const std::string& purpose,
                                       const std::string& state) {
  std::vector<std::string> kids;
  for (const Json& k : keys.at("keys")) {
    if (k.at("purpose") == purpose && k.at("state") == state) kids.push_back(k.at("kid"));
  }
  return kids;
}

inline std::string ActiveKid(const Json& keys, const std::string& purpose) {
  auto kids = KidsIn(keys, purpose, "active");
  BOOST_REQUIRE_MESSAGE(kids.size() == 1, kids.size() << " active " << purpose << " keys");
  return kids.front();
}

inline const Json* FindKey(const Json& keys, const std::string& kid) {
  for (const Json& k : keys.at("keys")) {
    if (k.at("kid") == kid) return &k;
  }
  return nullptr;
}

inline bool JwksHas(const Json& jwks, const std::string& kid) {
  for (const Json& k : jwks.at("keys")) {
    if (k.value("kid", "") == kid) return true;
  }
  return false;
}

// Blocks until the wall clock reaches `unix_seconds`: the condition is the time itself, which
// no event announces. Bounded by `limit`.
inline bool WaitUntilUnixTime(std::int64_t unix_seconds, std::chrono::milliseconds limit) {
  return Eventually([&] { return static_cast<std::int64_t>(std::time(nullptr)) >= unix_seconds; },
                    limit);
}

// Many sockets at once need more descriptors than a default soft limit of 1024 allows.
inline void RaiseOpenFileLimit() {
  rlimit lim{};
  BOOST_REQUIRE(getrlimit(RLIMIT_NOFILE, &lim) == 0);
  lim.rlim_cur = lim.rlim_max;
  BOOST_REQUIRE(setrlimit(RLIMIT_NOFILE, &lim) == 0);
}

inline rlim_t OpenFileLimit() {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  return lim.rlim_cur;
}

}  // namespace instaccess::testing::api
