// Access by peer credentials (docs/api.md): a client running as another uid (curl under
// setpriv as `nobody`) gets only the roles [access] grants it; the test process (root, the
// daemon's own user) holds every role.
#include <sys/stat.h>
#include <unistd.h>

#include "tests/api/api_test_util.h"
#include "tests/support/as_nobody.h"

namespace instaccess::testing::api {
namespace {

// A daemon whose socket anyone may connect to, so that the roles alone decide.
struct OpenDaemon : Daemon {
  explicit OpenDaemon(const std::string& access = "") : Daemon(OpenToAll{}, access) {}
};

struct CurlReply {
  int status = 0;
  Json body;
};

// One request with curl, run as `nobody` when `as_nobody`; the body goes through a file that
// nobody can read.
CurlReply Curl(const Daemon& d, bool as_nobody, const std::string& method,
               const std::string& target, const Json& body = nullptr) {
  std::string command = as_nobody ? AsNobodyShell() : "";
  command += "/usr/bin/curl -s -S --max-time 20 --unix-socket " + d.socket + " -X " + method +
             " -w '\\n%{http_code}'";
  if (!body.is_null()) {
    const std::string file = d.dir / "request.json";
    WriteFile(file, body.dump());
    BOOST_REQUIRE(chmod(file.c_str(), 0644) == 0);
    command += " -H 'Content-Type: application/json' --data-binary @" + file;
  }
  command += " http://localhost" + target + " 2>&1";
  const std::string out = CaptureOutput(command);
  std::size_t nl = out.rfind('\n');
  BOOST_REQUIRE_MESSAGE(nl != std::string::npos, "curl said: " << out);
  CurlReply r;
  r.status = std::atoi(out.c_str() + nl + 1);
  r.body = Json::parse(out.substr(0, nl), nullptr, false);
  return r;
}

void ExpectForbidden(const CurlReply& r, const std::string& role) {
  BOOST_TEST(r.status == 403, r.body.dump());
  BOOST_TEST(r.body.value("error", Json::object()).value("code", "") == "forbidden", r.body.dump());
  const std::string message = r.body.value("error", Json::object()).value("message", "");
  BOOST_TEST(message.find("uid 65534 (nobody)") != std::string::npos, message);
  BOOST_TEST(message.find("'" + role + "'") != std::string::npos, message);
}

const Json kIssue = {{"claims", {{"sub", "user-1"}, {"acct", "acct-1"}}}};

BOOST_AUTO_TEST_SUITE(api_access, *boost::unit_test::precondition(RunningAsRoot(
                                      "running a client as nobody with setpriv needs root")))

BOOST_AUTO_TEST_CASE(another_uid_is_refused_issue_decrypt_admin_and_read) {
  OpenDaemon d;
  const std::string token = d.Issue();
  Json keys_before = d.GetJson("/api/v1/keys");

  ExpectForbidden(Curl(d, true, "POST", kIssuePath, kIssue), "issue");
  ExpectForbidden(Curl(d, true, "POST", kDecryptPath, {{"token", token}}), "decrypt");
  ExpectForbidden(Curl(d, true, "POST", "/api/v1/keys/rotate", {{"purpose", "both"}}), "admin");
  ExpectForbidden(Curl(d, true, "GET", "/api/v1/backup"), "admin");
  ExpectForbidden(Curl(d, true, "GET", "/.well-known/jwks.json"), "read");
  // Anyone who reaches the socket may ask whether the daemon is healthy.
  BOOST_TEST(Curl(d, true, "GET", "/healthz").status == 200);
  // Nothing was rotated by the refused request.
  BOOST_TEST(d.GetJson("/api/v1/keys") == keys_before);
  // Each refusal is logged with the peer.
  BOOST_TEST(
      d.process->Stderr().find("refused POST /api/v1/inst_access_tokens from uid 65534 (nobody)") !=
          std::string::npos,
      d.process->Stderr());
  // ... with no more than 128 characters of a path the client chose (every refusal is a warning).
  const std::string long_kid(4000, 'k');
  ExpectForbidden(Curl(d, true, "POST", "/api/v1/keys/" + long_kid + "/revoke", Json::object()),
                  "admin");
  const std::string log = d.process->Stderr();
  const std::string clipped = "refused POST /api/v1/keys/" + std::string(115, 'k') + "... from";
  BOOST_TEST(log.find(clipped) != std::string::npos);
  BOOST_TEST(log.find(std::string(200, 'k')) == std::string::npos);

  // The same client as the daemon's own user is served: the uid is what differs.
  CurlReply own = Curl(d, false, "POST", kIssuePath, kIssue);
  BOOST_TEST(own.status == 201);
  BOOST_TEST(own.body.at("token").is_string());
  BOOST_TEST(Curl(d, false, "POST", kDecryptPath, {{"token", token}}).status == 200);
}

BOOST_AUTO_TEST_CASE(granted_roles_let_another_uid_read_and_issue_only) {
  OpenDaemon d("[access]\nread = [\"*\"]\nissue = [\"nobody\"]\n");
  CurlReply jwks = Curl(d, true, "GET", "/.well-known/jwks.json");
  BOOST_TEST(jwks.status == 200);
  BOOST_TEST(jwks.body.at("keys").size() == 2u);
  BOOST_TEST(Curl(d, true, "GET", "/api/v1/keys").status == 200);
  BOOST_TEST(Curl(d, true, "GET", "/metrics").status == 200);

  CurlReply issued = Curl(d, true, "POST", kIssuePath, kIssue);
  BOOST_REQUIRE(issued.status == 201);
  const std::string token = issued.body.at("token");
  // Its token is a real one ...
  HttpReply opened = d.Decrypt(token);
  BOOST_TEST(opened.status == 200);
  BOOST_TEST(Json::parse(opened.body).at("claims").at("sub") == "user-1");
  // ... but the roles it was not given are still refused.
  ExpectForbidden(Curl(d, true, "POST", kDecryptPath, {{"token", token}}), "decrypt");
  ExpectForbidden(Curl(d, true, "POST", "/api/v1/keys/rotate", {{"purpose", "sig"}}), "admin");
}

BOOST_AUTO_TEST_CASE(sighup_reloads_the_access_lists) {
  OpenDaemon d;
  ExpectForbidden(Curl(d, true, "POST", kIssuePath, kIssue), "issue");
  WriteFile(d.dir / "instaccessd.toml",
            d.toml + "[access]\nissue = [\"nobody\"]\ndecrypt = [\"group:nogroup\"]\n");
  d.process->Signal(SIGHUP);
  BOOST_REQUIRE(d.notify.WaitFor("RELOADING=1", kStartTimeout));
  BOOST_REQUIRE(d.notify.WaitFor("READY=1", kStartTimeout));
  CurlReply issued = Curl(d, true, "POST", kIssuePath, kIssue);
  BOOST_REQUIRE(issued.status == 201);
  CurlReply opened = Curl(d, true, "POST", kDecryptPath, {{"token", issued.body.at("token")}});
  BOOST_TEST(opened.status == 200);
  BOOST_TEST(opened.body.at("claims").at("acct") == "acct-1");
  ExpectForbidden(Curl(d, true, "GET", "/api/v1/status"), "read");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing::api
