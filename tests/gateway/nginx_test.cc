// docs/gateway.md for real: Debian's nginx (nginx-light) runs the ```nginx block of the document
// itself, its workers as `nobody`, in front of the real daemon, with a tiny app behind it that
// echoes the X-InstAccess-* headers it was given. Only the socket path, the ports and the app's
// address are replaced. Every wait is for an event or a deadline loop on a condition (nginx's
// port accepting), never a sleep.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "jose/base64url.h"
#include "tests/support/as_nobody.h"
#include "tests/support/nginx_process.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/running_daemon.h"

namespace instaccess::testing {
namespace {

using Json = nlohmann::json;

constexpr const char* kCurl = "/usr/bin/curl";
constexpr const char* kDocSocket = "/run/instaccessd/instaccessd.sock";
constexpr const char* kAppHost = "app.example.edu";
constexpr const char* kKeysHost = "keys.example.edu";

// The ```nginx blocks of docs/gateway.md, in order.
std::string GatewayDocNginx() {
  std::istringstream doc(ReadFile(std::string(INSTACCESS_SOURCE_DIR) + "/docs/gateway.md"));
  std::string line, out;
  bool in_block = false;
  while (std::getline(doc, line)) {
    if (!in_block && line == "```nginx") {
      in_block = true;
    } else if (in_block && line == "```") {
      in_block = false;
    } else if (in_block) {
      out += line + "\n";
    }
  }
  return out;
}

// Replaces every `from` in `text`; the document must hold it exactly `expected` times, so a
// change to the document that the test would no longer run fails here.
std::string ReplaceAll(std::string text, const std::string& from, const std::string& to,
                       int expected) {
  int count = 0;
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
    ++count;
  }
  BOOST_REQUIRE_MESSAGE(count == expected, "docs/gateway.md's nginx block holds '"
                                               << from << "' " << count << " times, not "
                                               << expected);
  return text;
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

struct Reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names, the last response's
};

// The daemon's socket and nginx, set up as docs/gateway.md says: the socket's group is the
// workers' group (`nogroup` here, `instaccess` under systemd) with mode 0660, and [access]
// grants the workers' user (`nobody` here, `www-data` on Debian) what `access` says.
class Gateway {
 public:
  explicit Gateway(const std::string& access)
      : daemon(
            "[daemon]\nsocket = \"d.sock\"\nsocket_mode = \"0660\"\n"
            "socket_group = \"nogroup\"\n[access]\n" +
                access,
            "d.sock") {
    BOOST_REQUIRE_MESSAGE(std::filesystem::exists(kNginx),
                          kNginx << " is missing: scripts/bootstrap installs nginx-light");
    // The workers must pass through the daemon's dir (the socket's mode and group decide) and
    // reach their temp dirs under nginx's.
    BOOST_REQUIRE(chmod(daemon.dir.path().c_str(), 0711) == 0);
    BOOST_REQUIRE(chmod(dir.path().c_str(), 0711) == 0);
    struct stat st {};
    BOOST_REQUIRE(stat(daemon.socket.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0660u);

    const std::vector<int> ports = FreePorts(3);
    port = ports[0];
    const int app_port = ports[1];
    metrics_port = ports[2];
    std::string site = GatewayDocNginx();
    site = ReplaceAll(site, kDocSocket, daemon.socket, 3);
    site = ReplaceAll(site, "listen 127.0.0.1:9464;",
                      "listen 127.0.0.1:" + std::to_string(metrics_port) + ";", 1);
    site = ReplaceAll(site, "listen 80;", "listen 127.0.0.1:" + std::to_string(port) + ";", 2);
    site = ReplaceAll(site, "server 127.0.0.1:8081;",
                      "server 127.0.0.1:" + std::to_string(app_port) + ";", 1);
    const std::string p = dir.path().string();
    const std::string conf = p + "/nginx.conf";
    WriteFile(
        conf,
        NginxConf(p, site +
                         "  # The app: answers with what nginx passed on to it.\n"
                         "  server {\n"
                         "    listen 127.0.0.1:" +
                         std::to_string(app_port) +
                         ";\n"
                         "    location / {\n"
                         "      default_type text/plain;\n"
                         "      return 200 \"app|$http_x_instaccess_sub|$http_x_instaccess_acct|"
                         "$http_x_instaccess_claims|$request_method\";\n"
                         "    }\n"
                         "  }\n"));
    nginx = std::make_unique<NginxProcess>(p, conf);
    BOOST_REQUIRE_MESSAGE(Eventually(
                              [&] {
                                if (!nginx->Running()) return true;
                                return Accepts(port) && Accepts(app_port) && Accepts(metrics_port);
                              },
                              kStartTimeout),
                          "nginx did not accept on its ports:\n"
                              << nginx->Logs());
    BOOST_REQUIRE_MESSAGE(nginx->Running(), "nginx exited:\n" << nginx->Logs());
  }

  // One request through nginx with curl; `host` picks the server block.
  Reply Curl(const std::string& host, const std::string& target,
             const std::vector<std::string>& args = {}) const {
    return CurlAt(port, host, target, args);
  }
  Reply CurlAt(int to_port, const std::string& host, const std::string& target,
               const std::vector<std::string>& args = {}) const {
    const std::string headers = dir / "curl.headers", body = dir / "curl.body";
    // curl writes no body file for an empty body (a 304): never read the last request's.
    std::filesystem::remove(headers);
    std::filesystem::remove(body);
    std::string command = std::string(kCurl) + " -sS --max-time 20 -D " + Quote(headers) + " -o " +
                          Quote(body) + " -w '%{http_code}' -H " + Quote("Host: " + host);
    for (const std::string& a : args) command += " " + Quote(a);
    command += " " + Quote("http://127.0.0.1:" + std::to_string(to_port) + target) + " 2>&1";
    const std::string out = CaptureOutput(command);
    Reply r;
    r.status = std::atoi(out.c_str());
    BOOST_REQUIRE_MESSAGE(r.status > 0, "curl said: " << out << "\n" << nginx->Logs());
    if (std::filesystem::exists(body)) r.body = ReadFile(body);
    std::istringstream lines(ReadFile(headers));
    std::string line;
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.rfind("HTTP/", 0) == 0) {
        r.headers.clear();
        continue;
      }
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::size_t start = colon + 1;
      while (start < line.size() && line[start] == ' ') ++start;
      r.headers[name] = line.substr(start);
    }
    return r;
  }

  // What the app saw: sub, acct, claims (base64url), method; nullopt when it was not reached.
  static std::optional<std::vector<std::string>> AppSaw(const Reply& r) {
    if (r.body.rfind("app|", 0) != 0) return std::nullopt;
    std::vector<std::string> fields;
    std::string rest = r.body.substr(4);
    for (std::size_t bar; (bar = rest.find('|')) != std::string::npos;) {
      fields.push_back(rest.substr(0, bar));
      rest = rest.substr(bar + 1);
    }
    fields.push_back(rest);
    BOOST_REQUIRE_EQUAL(fields.size(), 4u);
    return fields;
  }

  RunningDaemon daemon;
  TempDir dir;  // nginx's prefix: conf, pid, logs, temp paths
  int port = 0;
  int metrics_port = 0;  // the /metrics bridge's
  std::unique_ptr<NginxProcess> nginx;
};

const std::string kBothRoles = "decrypt = [\"nobody\"]\nread = [\"nobody\"]\n";

BOOST_AUTO_TEST_SUITE(gateway_nginx, *boost::unit_test::precondition(RunningAsRoot(
                                         "nginx's workers run as nobody only under a root master")))

BOOST_AUTO_TEST_CASE(a_valid_token_reaches_the_app_with_its_claims_and_nothing_forged) {
  Gateway g(kBothRoles);
  const Json claims = {{"sub", "user-1"}, {"acct", "acct-1"}, {"canvas_domain", "c.example.edu"}};
  const std::string token = g.daemon.Issue(claims);
  const HttpReply opened = g.daemon.Decrypt(token);
  BOOST_REQUIRE_EQUAL(opened.status, 200);
  const Json issued = Json::parse(opened.body).at("claims");

  // The client's own X-InstAccess-* headers are replaced by the daemon's.
  Reply r = g.Curl(kAppHost, "/some/page?x=1",
                   {"-H", "Authorization: Bearer " + token, "-H", "X-InstAccess-Sub: admin", "-H",
                    "X-InstAccess-Acct: other", "-H", "X-InstAccess-Claims: e30"});
  BOOST_TEST_REQUIRE(r.status == 200, r.body << "\n" << g.nginx->Logs());
  auto saw = Gateway::AppSaw(r);
  BOOST_REQUIRE(saw.has_value());
  BOOST_TEST((*saw)[0] == "user-1");
  BOOST_TEST((*saw)[1] == "acct-1");
  BOOST_TEST((*saw)[3] == "GET");
  auto decoded = jose::Base64UrlDecode((*saw)[2]);
  BOOST_REQUIRE_MESSAGE(decoded.has_value(), "not base64url without padding: " << (*saw)[2]);
  const Json forwarded = Json::parse(*decoded);
  BOOST_TEST(forwarded == issued, forwarded.dump() << " != " << issued.dump());
  for (const auto& [name, value] : claims.items()) BOOST_TEST(forwarded.at(name) == value);

  // Cookies past the daemon's 8 KiB header limit (nginx takes up to 8 KiB a line) never reach
  // it: only Authorization does.
  r = g.Curl(kAppHost, "/",
             {"-H", "Authorization: Bearer " + token, "-H", "Cookie: a=" + std::string(6000, 'c'),
              "-H", "Cookie: b=" + std::string(6000, 'c')});
  BOOST_TEST(r.status == 200, r.body << "\n" << g.nginx->Logs());

  // A POST with a body: the subrequest is still a GET without it, the app gets the POST.
  r = g.Curl(kAppHost, "/form",
             {"-H", "Authorization: Bearer " + token, "--data-binary", "a=1&b=2"});
  BOOST_TEST_REQUIRE(r.status == 200, r.body << "\n" << g.nginx->Logs());
  saw = Gateway::AppSaw(r);
  BOOST_REQUIRE(saw.has_value());
  BOOST_TEST((*saw)[0] == "user-1");
  BOOST_TEST((*saw)[3] == "POST");
}

BOOST_AUTO_TEST_CASE(a_claim_the_daemon_leaves_out_does_not_let_the_client_set_it) {
  Gateway g(kBothRoles);
  // A non-ASCII acct: the daemon leaves X-InstAccess-Acct out, so nginx sends none at all.
  const std::string token = g.daemon.Issue({{"sub", "user-2"}, {"acct", "caf\xc3\xa9"}});
  Reply r = g.Curl(kAppHost, "/",
                   {"-H", "Authorization: Bearer " + token, "-H", "X-InstAccess-Acct: forged"});
  BOOST_TEST_REQUIRE(r.status == 200, r.body << "\n" << g.nginx->Logs());
  auto saw = Gateway::AppSaw(r);
  BOOST_REQUIRE(saw.has_value());
  BOOST_TEST((*saw)[0] == "user-2");
  BOOST_TEST((*saw)[1] == "");
  auto decoded = jose::Base64UrlDecode((*saw)[2]);
  BOOST_REQUIRE(decoded.has_value());
  BOOST_TEST(Json::parse(*decoded).at("acct") == "caf\xc3\xa9");
}

BOOST_AUTO_TEST_CASE(missing_and_tampered_tokens_get_401_and_never_reach_the_app) {
  Gateway g(kBothRoles);
  const std::string token = g.daemon.Issue();

  Reply r = g.Curl(kAppHost, "/", {"-H", "X-InstAccess-Sub: admin"});
  BOOST_TEST(r.status == 401, r.body);
  BOOST_TEST(r.headers["www-authenticate"] == "Bearer");
  BOOST_TEST(!Gateway::AppSaw(r).has_value(), r.body);

  r = g.Curl(kAppHost, "/", {"-H", "Authorization: Basic dXNlcjpwYXNz"});
  BOOST_TEST(r.status == 401, r.body);
  BOOST_TEST(r.headers["www-authenticate"] == "Bearer");

  // One character changed in the middle of the ciphertext.
  std::string tampered = token;
  const std::size_t at = tampered.size() / 2;
  tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
  r = g.Curl(kAppHost, "/",
             {"-H", "Authorization: Bearer " + tampered, "-H", "X-InstAccess-Sub: admin"});
  BOOST_TEST(r.status == 401, r.body);
  BOOST_TEST(r.headers["www-authenticate"] == "Bearer error=\"invalid_token\"");
  BOOST_TEST(!Gateway::AppSaw(r).has_value(), r.body);

  // The untouched token still passes: the refusals were about the token, not the gateway.
  r = g.Curl(kAppHost, "/", {"-H", "Authorization: Bearer " + token});
  BOOST_TEST(r.status == 200, r.body << "\n" << g.nginx->Logs());
}

BOOST_AUTO_TEST_CASE(jwks_comes_through_with_its_cache_headers_and_304) {
  Gateway g(kBothRoles);
  const HttpReply direct = g.daemon.Get("/.well-known/jwks.json");
  BOOST_REQUIRE_EQUAL(direct.status, 200);

  Reply r = g.Curl(kKeysHost, "/.well-known/jwks.json");
  BOOST_TEST_REQUIRE(r.status == 200, r.body << "\n" << g.nginx->Logs());
  BOOST_TEST(Json::parse(r.body) == Json::parse(direct.body));
  BOOST_TEST(r.headers["cache-control"] == direct.headers.at("cache-control"));
  BOOST_TEST(r.headers["cache-control"].rfind("public, max-age=", 0) == 0u,
             r.headers["cache-control"]);
  const std::string etag = r.headers["etag"];
  BOOST_TEST(etag == direct.headers.at("etag"));
  BOOST_TEST_REQUIRE(etag.size() > 2u);
  BOOST_TEST(etag.front() == '"');  // still strong

  r = g.Curl(kKeysHost, "/.well-known/jwks.json", {"-H", "If-None-Match: " + etag});
  BOOST_TEST(r.status == 304, r.body);
  BOOST_TEST(r.body.empty());
  r = g.Curl(kKeysHost, "/.well-known/jwks.json", {"-H", "If-None-Match: \"other\""});
  BOOST_TEST(r.status == 200);

  // Nothing else of the daemon is on that server, and the app's server does not publish keys.
  BOOST_TEST(g.Curl(kKeysHost, "/api/v1/keys").status == 404);
  BOOST_TEST(g.Curl(kKeysHost, "/.well-known/jwks.json", {"-X", "POST"}).status == 403);
  BOOST_TEST(!Gateway::AppSaw(g.Curl(kAppHost, "/.well-known/jwks.json")).has_value());
}

BOOST_AUTO_TEST_CASE(workers_without_the_decrypt_role_let_nobody_in) {
  // The workers reach the socket but hold only `read`: the daemon answers 403, and
  // auth_request passes a 403 on to the client as it is.
  Gateway g("read = [\"nobody\"]\n");
  const std::string token = g.daemon.Issue();
  Reply r = g.Curl(kAppHost, "/", {"-H", "Authorization: Bearer " + token});
  BOOST_TEST(r.status == 403, r.body);
  BOOST_TEST(!Gateway::AppSaw(r).has_value(), r.body);
  BOOST_TEST(g.daemon.process->Stderr().find("refused GET /api/v1/auth from uid 65534 (nobody)") !=
                 std::string::npos,
             g.daemon.process->Stderr());
  BOOST_TEST(g.Curl(kKeysHost, "/.well-known/jwks.json").status == 200);
}

BOOST_AUTO_TEST_CASE(prometheus_scrapes_metrics_through_the_loopback_bridge) {
  // The workers hold `read`, which /metrics needs, and `decrypt`, which it does not.
  Gateway g(kBothRoles);
  g.daemon.Issue();
  Reply r = g.CurlAt(g.metrics_port, "127.0.0.1", "/metrics");
  BOOST_TEST_REQUIRE(r.status == 200, r.body << "\n" << g.nginx->Logs());
  BOOST_TEST(r.headers["content-type"].rfind("text/plain; version=0.0.4", 0) == 0u,
             r.headers["content-type"]);
  const PromExposition m = ParsePrometheusText(r.body, "instaccess_");
  BOOST_TEST(m.problems.empty(), Describe(m.problems));
  BOOST_TEST(m.families.size() > 20u);
  BOOST_TEST(m.Value("instaccess_tokens_issued_total") == 1.0);
  BOOST_TEST(m.Value("instaccess_healthy") == 1.0);
  // The Prometheus project's own client library reads the same samples from it.
  const std::string scraped = g.dir / "metrics.txt";
  WriteFile(scraped, r.body);
  const std::string theirs = CaptureOutput(
      "/usr/bin/python3 " +
      Quote(std::string(INSTACCESS_SOURCE_DIR) + "/tests/gateway/read_exposition.py") + " " +
      Quote(scraped) + " 2>&1");
  Json their_samples = Json::parse(theirs, nullptr, false);
  BOOST_TEST_REQUIRE(their_samples.is_array(),
                     "python3-prometheus-client (scripts/bootstrap) could not read it: " << theirs);
  Json our_samples = Json::array();
  for (const PromFamily& f : m.families) {
    for (const PromSample& s : f.samples) our_samples.push_back({s.name, s.labels, s.value});
  }
  std::sort(their_samples.begin(), their_samples.end());
  std::sort(our_samples.begin(), our_samples.end());
  BOOST_TEST(their_samples.size() == our_samples.size());
  BOOST_TEST(their_samples == our_samples);
  // The scrape itself reached the daemon as a request of the /metrics route.
  r = g.CurlAt(g.metrics_port, "127.0.0.1", "/metrics");
  BOOST_TEST(ParsePrometheusText(r.body).Value("instaccess_request_duration_seconds_count",
                                               {{"endpoint", "/metrics"}}) >= 1.0);

  // Only GET /metrics is on that port.
  BOOST_TEST(g.CurlAt(g.metrics_port, "127.0.0.1", "/api/v1/status").status == 404);
  BOOST_TEST(g.CurlAt(g.metrics_port, "127.0.0.1", "/.well-known/jwks.json").status == 404);
  BOOST_TEST(g.CurlAt(g.metrics_port, "127.0.0.1", "/metrics", {"-X", "POST"}).status == 403);
}

BOOST_AUTO_TEST_CASE(workers_without_the_read_role_cannot_scrape) {
  Gateway g("decrypt = [\"nobody\"]\n");
  Reply r = g.CurlAt(g.metrics_port, "127.0.0.1", "/metrics");
  BOOST_TEST(r.status == 403, r.body);
  BOOST_TEST(r.body.find("instaccess_") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing
