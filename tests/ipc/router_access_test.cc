#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "ipc/access.h"
#include "ipc/router.h"

namespace instaccess::ipc {
namespace {

constexpr uid_t kDaemonUid = 4321;
constexpr uid_t kNobody = 65534;  // Debian's nobody
constexpr gid_t kNogroup = 65534;

Peer PeerWith(uid_t uid, gid_t gid, std::vector<gid_t> groups = {}) {
  Peer p;
  p.uid = uid;
  p.gid = gid;
  p.pid = 1;
  p.groups = std::move(groups);
  return p;
}

Router TestRouter() {
  Router r;
  r.Add("GET", "/healthz", std::nullopt,
        Cheap([](const Request&, const Peer&, const PathParams&) { return JsonOk("{}"); }));
  r.Add("POST", "/api/v1/keys/{kid}/revoke", Role::kAdmin,
        Expensive([](const Request&, const Peer&, const PathParams& p) {
          return JsonOk(nlohmann::json{{"kid", p.at("kid")}}.dump());
        }));
  return r;
}

Request Req(std::string method, std::string path) {
  Request r;
  r.method = std::move(method);
  r.path = r.target = std::move(path);
  return r;
}

std::string ErrorCode(const Response& r) {
  return nlohmann::json::parse(r.body)["error"]["code"].get<std::string>();
}

BOOST_AUTO_TEST_SUITE(router_access)

BOOST_AUTO_TEST_CASE(root_and_the_daemon_user_hold_every_role) {
  AccessPolicy p = AccessPolicy::Build({}, kDaemonUid, nullptr);
  for (Role role : {Role::kIssue, Role::kDecrypt, Role::kAdmin, Role::kRead}) {
    BOOST_TEST(p.Allows(PeerWith(0, 0), role));
    BOOST_TEST(p.Allows(PeerWith(kDaemonUid, 1), role));
    BOOST_TEST(!p.Allows(PeerWith(kNobody, kNogroup), role));
  }
}

BOOST_AUTO_TEST_CASE(users_groups_and_everyone_grant_only_their_role) {
  AccessLists lists;
  lists.issue = {"nobody"};
  lists.decrypt = {"group:nogroup"};
  lists.read = {"*"};
  std::vector<std::string> problems;
  AccessPolicy p = AccessPolicy::Build(lists, kDaemonUid, &problems);
  BOOST_TEST(problems.empty());
  Peer nobody = PeerWith(kNobody, 100);
  BOOST_TEST(p.Allows(nobody, Role::kIssue));
  BOOST_TEST(!p.Allows(nobody, Role::kDecrypt));
  BOOST_TEST(!p.Allows(nobody, Role::kAdmin));
  BOOST_TEST(p.Allows(nobody, Role::kRead));
  // Group by primary gid, and by supplementary group from SO_PEERGROUPS.
  BOOST_TEST(p.Allows(PeerWith(1000, kNogroup), Role::kDecrypt));
  BOOST_TEST(p.Allows(PeerWith(1000, 1000, {27, kNogroup}), Role::kDecrypt));
  BOOST_TEST(!p.Allows(PeerWith(1000, 1000, {27}), Role::kDecrypt));
  BOOST_TEST(!p.Allows(PeerWith(1000, 1000), Role::kIssue));
}

BOOST_AUTO_TEST_CASE(unknown_names_are_reported_and_grant_nothing) {
  AccessLists lists;
  lists.admin = {"no-such-user-xyz", "group:no-such-group-xyz"};
  std::vector<std::string> problems;
  AccessPolicy p = AccessPolicy::Build(lists, kDaemonUid, &problems);
  BOOST_TEST(problems ==
             (std::vector<std::string>{"access.admin: no such user 'no-such-user-xyz'",
                                       "access.admin: no such group 'no-such-group-xyz'"}));
  BOOST_TEST(!p.Allows(PeerWith(1000, 1000), Role::kAdmin));
}

// The answer at once, or the deferred job run, as the server does.
Response Dispatch(const Router& r, const Request& req, const Peer& peer, const AccessPolicy& p) {
  Reply reply = r.Dispatch(req, peer, p);
  if (auto* job = std::get_if<Deferred>(&reply)) return (*job)();
  return std::get<Response>(reply);
}

BOOST_AUTO_TEST_CASE(expensive_handlers_defer_their_work) {
  Router r = TestRouter();
  AccessPolicy p = AccessPolicy::Build({}, kDaemonUid, nullptr);
  Request revoke = Req("POST", "/api/v1/keys/k1/revoke");
  Reply deferred = r.Dispatch(revoke, PeerWith(0, 0), p);
  BOOST_REQUIRE(std::holds_alternative<Deferred>(deferred));
  Response done = std::get<Deferred>(deferred)();
  BOOST_TEST(done.status == 200);
  BOOST_TEST(nlohmann::json::parse(done.body).at("kid") == "k1");  // path parameters kept
  // Refusals and unknown paths are answered at once, without a job.
  Reply refused = r.Dispatch(revoke, PeerWith(kNobody, kNogroup), p);
  BOOST_REQUIRE(std::holds_alternative<Response>(refused));
  BOOST_TEST(std::get<Response>(refused).status == 403);
  Reply unknown = r.Dispatch(Req("GET", "/x"), PeerWith(0, 0), p);
  BOOST_REQUIRE(std::holds_alternative<Response>(unknown));
  BOOST_TEST(std::get<Response>(unknown).status == 404);
}

BOOST_AUTO_TEST_CASE(dispatch_checks_path_then_method_then_role) {
  Router r = TestRouter();
  AccessPolicy p = AccessPolicy::Build({}, kDaemonUid, nullptr);
  Peer root = PeerWith(0, 0);
  Peer nobody = PeerWith(kNobody, kNogroup);

  BOOST_TEST(Dispatch(r, Req("GET", "/healthz"), nobody, p).status == 200);
  Response missing = Dispatch(r, Req("GET", "/nope"), root, p);
  BOOST_TEST(missing.status == 404);
  BOOST_TEST(ErrorCode(missing) == "not_found");
  Response wrong_method = Dispatch(r, Req("GET", "/api/v1/keys/abc/revoke"), root, p);
  BOOST_TEST(wrong_method.status == 405);
  BOOST_TEST(ErrorCode(wrong_method) == "method_not_allowed");

  Response refused = Dispatch(r, Req("POST", "/api/v1/keys/abc/revoke"), nobody, p);
  BOOST_TEST(refused.status == 403);
  BOOST_TEST(ErrorCode(refused) == "forbidden");
  auto message = nlohmann::json::parse(refused.body)["error"]["message"].get<std::string>();
  BOOST_TEST(message == "permission denied: uid 65534 (nobody) has no 'admin' role");

  Response ok = Dispatch(r, Req("POST", "/api/v1/keys/abc/revoke"), root, p);
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(nlohmann::json::parse(ok.body)["kid"] == "abc");
  // A placeholder matches one segment only.
  BOOST_TEST(Dispatch(r, Req("POST", "/api/v1/keys/a/b/revoke"), root, p).status == 404);
}

// For metrics: the route that took a request is named by its pattern, never by the path sent.
BOOST_AUTO_TEST_CASE(dispatch_names_the_route_that_took_the_request) {
  Router r = TestRouter();
  AccessPolicy p = AccessPolicy::Build({}, kDaemonUid, nullptr);
  auto route_of = [&](const std::string& method, const std::string& path, const Peer& peer) {
    std::string_view route = "unset";
    (void)r.Dispatch(Req(method, path), peer, p, &route);
    return std::string(route);
  };
  const Peer root = PeerWith(0, 0), nobody = PeerWith(kNobody, kNogroup);
  BOOST_TEST(route_of("GET", "/healthz", nobody) == "/healthz");
  BOOST_TEST(route_of("POST", "/api/v1/keys/abc/revoke", root) == "/api/v1/keys/{kid}/revoke");
  BOOST_TEST(route_of("POST", "/api/v1/keys/a%2Fb/revoke", root) == "/api/v1/keys/{kid}/revoke");
  // Refused for want of a role: still that route.
  BOOST_TEST(route_of("POST", "/api/v1/keys/abc/revoke", nobody) == "/api/v1/keys/{kid}/revoke");
  // No route took it: left as it was.
  BOOST_TEST(route_of("GET", "/nope", root) == "unset");
  BOOST_TEST(route_of("GET", "/api/v1/keys/abc/revoke", root) == "unset");
  BOOST_TEST(route_of("GET", "/%zz", root) == "unset");
}

BOOST_AUTO_TEST_CASE(path_segments_are_percent_decoded) {
  Router r = TestRouter();
  AccessPolicy p = AccessPolicy::Build({}, kDaemonUid, nullptr);
  Peer root = PeerWith(0, 0);
  // Any kid can be named: '/', '+', '=' and '%' itself, encoded; a '/' stays in its segment.
  Response odd = Dispatch(r, Req("POST", "/api/v1/keys/abc%2B%2f%3D%25/revoke"), root, p);
  BOOST_TEST(odd.status == 200);
  BOOST_TEST(nlohmann::json::parse(odd.body)["kid"] == "abc+/=%");
  // Literal segments are compared decoded too.
  BOOST_TEST(Dispatch(r, Req("POST", "/api/v1/%6beys/k/revoke"), root, p).status == 200);
  // A '%' without two hex digits is a malformed request, wherever it is.
  for (const char* bad : {"/api/v1/keys/a%2/revoke", "/api/v1/keys/a%/revoke",
                          "/api/v1/keys/a%zz/revoke", "/api/v1/keys/k/revoke%"}) {
    Response malformed = Dispatch(r, Req("POST", bad), root, p);
    BOOST_TEST(malformed.status == 400, bad);
    BOOST_TEST(ErrorCode(malformed) == "bad_request");
  }
}

BOOST_AUTO_TEST_CASE(error_bodies_survive_hostile_bytes) {
  Response r = JsonError(404, "not_found", std::string("no such endpoint: /\xff\xfe\"\\", 23));
  auto body = nlohmann::json::parse(r.body);  // valid JSON despite invalid UTF-8 in the input
  BOOST_TEST(body["error"]["code"] == "not_found");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::ipc
