// The follower against real parts: a real daemon's JWKS over its Unix socket, and Debian's nginx
// serving HTTPS with a CA and certificate this test makes (openssl CLI), in front of that daemon
// and in front of files the test turns hostile. Every wait is a deadline loop on a condition.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "peers/jwks_fetch.h"
#include "peers/peer_follower.h"
#include "peers/refresh_policy.h"
#include "tests/peers/peer_keys.h"
#include "tests/support/nginx_process.h"
#include "tests/support/running_daemon.h"

namespace instaccess::peers {
namespace {

using namespace std::chrono_literals;
using instaccess::testing::CaptureOutput;
using instaccess::testing::HttpReply;
using instaccess::testing::NginxProcess;
using instaccess::testing::ReadFile;
using instaccess::testing::RunningDaemon;
using instaccess::testing::TempDir;
using instaccess::testing::WriteFile;
using Json = nlohmann::json;

constexpr const char* kJwksPath = "/.well-known/jwks.json";

// The kids of one use in a JWKS document, in its order.
std::vector<std::string> KidsOf(const Json& jwks, const std::string& use) {
  std::vector<std::string> kids;
  for (const Json& k : jwks.at("keys")) {
    if (k.at("use") == use) kids.push_back(k.at("kid").get<std::string>());
  }
  return kids;
}

std::vector<std::string> KidsOf(const PeerState& s) {
  std::vector<std::string> kids;
  if (s.keys) {
    for (const jose::RsaKey& k : s.keys->keys) kids.push_back(k.kid());
  }
  return kids;
}

PeerConfig LocalPeer(const std::string& socket, PeerUse use) {
  PeerConfig c;
  c.name = "local";
  c.jwks_url = std::string("http://localhost") + kJwksPath;
  c.unix_socket = socket;
  c.use = use;
  if (use == PeerUse::kSig) c.issuers = {"peer-issuer"};
  c.refresh = 3600s;
  return c;
}

BOOST_AUTO_TEST_SUITE(peers_fetch_socket)

BOOST_AUTO_TEST_CASE(follows_a_local_daemon_over_its_socket_with_etag_and_max_age) {
  RunningDaemon d;
  const HttpReply direct = d.Get(kJwksPath);
  BOOST_REQUIRE_EQUAL(direct.status, 200);
  const Json jwks = Json::parse(direct.body);

  PeerFollower enc(LocalPeer(d.socket, PeerUse::kEnc));
  PeerState s = enc.Refresh(1000, 0.0);
  BOOST_TEST_REQUIRE(s.consecutive_failures == 0, s.last_error);
  BOOST_TEST(KidsOf(s) == KidsOf(jwks, "enc"));
  BOOST_TEST(s.etag == direct.headers.at("etag"));
  // The daemon says max-age = prepublish / 10 (360 s by default), shorter than refresh.
  BOOST_TEST(s.next_attempt == 1360);

  // Unchanged: a 304 confirms the set; it is not parsed again.
  const auto held = s.keys;
  s = enc.Refresh(1400, 0.0);
  BOOST_TEST_REQUIRE(s.consecutive_failures == 0, s.last_error);
  BOOST_TEST(s.keys == held);
  BOOST_TEST(s.fetched_at == 1400);

  PeerFollower sig(LocalPeer(d.socket, PeerUse::kSig));
  s = sig.Refresh(1000, 0.0);
  BOOST_TEST_REQUIRE(s.consecutive_failures == 0, s.last_error);
  BOOST_TEST(KidsOf(s) == KidsOf(jwks, "sig"));

  // The daemon gone: the set stays, the failure is counted and retried soon.
  d.Stop();
  s = enc.Refresh(2000, 0.0);
  BOOST_TEST(s.keys == held);
  BOOST_TEST(s.consecutive_failures == 1);
  BOOST_TEST(s.next_attempt == 2000 + kFirstRetry.count());
  BOOST_TEST(
      s.last_error.find("JWKS fetch over socket " + d.socket + " failed") != std::string::npos,
      s.last_error);
}

BOOST_AUTO_TEST_CASE(a_rotation_at_the_peer_reaches_the_follower) {
  RunningDaemon d;
  PeerFollower enc(LocalPeer(d.socket, PeerUse::kEnc));
  PeerState s = enc.Refresh(1000, 0.0);
  BOOST_TEST_REQUIRE(s.consecutive_failures == 0, s.last_error);
  const std::string before = KidsOf(s).front();

  const HttpReply rotated = d.Post("/api/v1/keys/rotate", {{"purpose", "enc"}});
  BOOST_TEST_REQUIRE(rotated.status == 200, rotated.body);
  s = enc.Refresh(1100, 0.0);
  BOOST_TEST_REQUIRE(s.consecutive_failures == 0, s.last_error);
  BOOST_TEST(KidsOf(s) == KidsOf(d.GetJson(kJwksPath), "enc"));
  BOOST_TEST(KidsOf(s).front() != before);
}

BOOST_AUTO_TEST_CASE(refuses_plain_http_off_the_host_before_connecting) {
  FetchRequest r;
  r.url = "http://127.0.0.1:9/jwks.json";
  auto reply = FetchJwks(r);
  BOOST_REQUIRE(!reply.has_value());
  BOOST_TEST((reply.error().code() == Code::kInvalidArgument));
}

BOOST_AUTO_TEST_SUITE_END()

// Short limits so the slow drip is cut off within seconds.
FetchLimits TestLimits() {
  FetchLimits l;
  l.total_timeout = 6000ms;
  l.low_speed_bytes = 1024;
  l.low_speed_time = 2s;
  return l;
}

// A CA, a second CA that signed nothing we serve, and a certificate for DNS:localhost only.
struct TestPki {
  explicit TestPki(const TempDir& dir)
      : ca(dir / "ca.pem"),
        wrong_ca(dir / "wrong-ca.pem"),
        cert(dir / "server.pem"),
        key(dir / "server.key") {
    const std::string d = dir.path().string();
    WriteFile(d + "/ext.cnf",
              "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n"
              "extendedKeyUsage=serverAuth\n");
    const std::string out = CaptureOutput(
        "cd '" + d +
        "' && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
        "-subj /CN=peers-test-ca 2>&1 && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout wrong-ca.key -out wrong-ca.pem "
        "-days 2 -subj /CN=peers-test-ca 2>&1 && "
        "openssl req -new -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
        "-subj /CN=localhost 2>&1 && "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 1 -days 2 "
        "-extfile ext.cnf -out server.pem 2>&1");
    BOOST_REQUIRE_MESSAGE(std::filesystem::exists(cert), "openssl said: " << out);
  }
  std::string ca, wrong_ca, cert, key;
};

// nginx over HTTPS: kJwksPath proxied to a daemon's socket; /peer.json a file the test rewrites,
// redirected while `redirect` exists and dripped at one byte a second while `slow` exists.
class HttpsPeer {
 public:
  HttpsPeer() : daemon(testing::OpenToAll{}, "[access]\nread = [\"nobody\"]\n"), pki(dir) {
    BOOST_REQUIRE_MESSAGE(std::filesystem::exists(testing::kNginx),
                          testing::kNginx << " is missing: scripts/bootstrap installs nginx-light");
    // The workers (nobody under a root test) reach the files and the control flags.
    BOOST_REQUIRE(chmod(dir.path().c_str(), 0711) == 0);
    std::filesystem::create_directory(dir / "www");
    BOOST_REQUIRE(chmod((dir / "www").c_str(), 0755) == 0);
    Serve("{}");
    port = testing::FreePorts(1).front();
    const std::string p = dir.path().string();
    const std::string conf = p + "/nginx.conf";
    WriteFile(conf,
              testing::NginxConf(p,
                                 "  server {\n"
                                 "    listen 127.0.0.1:" +
                                     std::to_string(port) +
                                     " ssl;\n"
                                     "    server_name localhost;\n"
                                     "    ssl_certificate " +
                                     pki.cert +
                                     ";\n"
                                     "    ssl_certificate_key " +
                                     pki.key +
                                     ";\n"
                                     "    root " +
                                     p +
                                     "/www;\n"
                                     "    location = " +
                                     kJwksPath +
                                     " {\n"
                                     "      proxy_pass http://unix:" +
                                     daemon.socket + ":" + kJwksPath +
                                     ";\n"
                                     "    }\n"
                                     "    location = /peer.json {\n"
                                     "      add_header Cache-Control \"public, max-age=30\";\n"
                                     "      if (-f " +
                                     p + "/redirect) { return 302 " + kJwksPath +
                                     "; }\n"
                                     "      if (-f " +
                                     p +
                                     "/slow) { limit_rate 1; }\n"
                                     "    }\n"
                                     "  }\n"));
    nginx = std::make_unique<NginxProcess>(p, conf);
    BOOST_REQUIRE_MESSAGE(testing::Eventually(
                              [&] { return !nginx->Running() || testing::Accepts(port); },
                              testing::kStartTimeout),
                          "nginx did not accept:\n"
                              << nginx->Logs());
    BOOST_REQUIRE_MESSAGE(nginx->Running(), "nginx exited:\n" << nginx->Logs());
  }

  // Replaces /peer.json in one rename, so nginx never serves half a file.
  void Serve(const std::string& body) {
    WriteFile(dir / "www/peer.json.new", body);
    BOOST_REQUIRE(chmod((dir / "www/peer.json.new").c_str(), 0644) == 0);
    std::filesystem::rename(dir / "www/peer.json.new", dir / "www/peer.json");
  }
  void Flag(const std::string& name, bool on) {
    if (on) {
      WriteFile(dir / name, "");
    } else {
      std::filesystem::remove(dir / name);
    }
  }

  PeerConfig Peer(const std::string& path, const std::string& ca_file,
                  const std::string& host = "localhost") const {
    PeerConfig c;
    c.name = "https-peer";
    c.jwks_url = "https://" + host + ":" + std::to_string(port) + path;
    c.ca_file = ca_file;
    c.refresh = 3600s;
    return c;
  }

  RunningDaemon daemon;
  TempDir dir;
  TestPki pki;
  int port = 0;
  std::unique_ptr<NginxProcess> nginx;
};

BOOST_AUTO_TEST_SUITE(peers_fetch_https)

BOOST_AUTO_TEST_CASE(verifies_the_peer_certificate_and_refuses_a_wrong_ca) {
  HttpsPeer peer;
  const Json jwks = peer.daemon.GetJson(kJwksPath);

  PeerFollower good(peer.Peer(kJwksPath, peer.pki.ca), TestLimits());
  PeerState s = good.Refresh(1000, 0.0);
  BOOST_TEST_REQUIRE(s.consecutive_failures == 0, s.last_error << "\n" << peer.nginx->Logs());
  BOOST_TEST(KidsOf(s) == KidsOf(jwks, "enc"));
  // The daemon's ETag passes through nginx: the next fetch is a 304.
  const auto held = s.keys;
  s = good.Refresh(1100, 0.0);
  BOOST_TEST_REQUIRE(s.consecutive_failures == 0, s.last_error);
  BOOST_TEST(s.keys == held);

  for (const PeerConfig& c : {peer.Peer(kJwksPath, peer.pki.wrong_ca), peer.Peer(kJwksPath, ""),
                              peer.Peer(kJwksPath, peer.pki.ca, "127.0.0.1")}) {
    PeerFollower refused(c, TestLimits());
    s = refused.Refresh(1000, 0.0);
    BOOST_TEST(s.keys == nullptr, c.jwks_url << " " << c.ca_file);
    BOOST_TEST(s.consecutive_failures == 1);
    BOOST_TEST(s.last_error.find("JWKS fetch failed") != std::string::npos, s.last_error);
    BOOST_TEST(s.last_error.find("certificate") != std::string::npos, s.last_error);
  }
}

BOOST_AUTO_TEST_CASE(hostile_answers_are_refused_and_the_last_good_set_kept) {
  HttpsPeer peer;
  using jose::Alg;
  using testkeys::Jwks;
  using testkeys::PoolJwk;
  PeerFollower f(peer.Peer("/peer.json", peer.pki.ca), TestLimits());
  peer.Serve(Jwks({PoolJwk(0, Alg::kRsaOaep), PoolJwk(1, Alg::kRsaOaep)}));
  PeerState s = f.Refresh(1000, 0.0);
  BOOST_TEST_REQUIRE(s.consecutive_failures == 0, s.last_error << "\n" << peer.nginx->Logs());
  BOOST_TEST(KidsOf(s) == (std::vector<std::string>{"kid-0", "kid-1"}));
  BOOST_TEST(s.next_attempt == 1030);  // nginx's max-age=30
  const auto good = s.keys;

  int failures = 0;
  UnixTime now = 1000;
  auto expect_refused = [&](const std::string& what, const std::string& error_part) {
    s = f.Refresh(++now, 0.0);
    BOOST_TEST(s.keys == good, what);
    BOOST_TEST(s.consecutive_failures == ++failures, what);
    BOOST_TEST(s.last_error.find(error_part) != std::string::npos, what << ": " << s.last_error);
  };
  peer.Serve("garbage");
  expect_refused("garbage", "not a strict JSON object");
  peer.Serve(R"({"keys":[]})");
  expect_refused("empty set", "no usable key");
  peer.Serve(Jwks({PoolJwk(2, Alg::kRS256)}));
  expect_refused("only a signing key", "no usable key");
  peer.Serve(Jwks({PoolJwk(2, Alg::kRsa1_5)}));
  expect_refused("RSA1_5 not configured", "not allowed");
  peer.Serve(std::string(100 * 1024, ' ') + Jwks({PoolJwk(2, Alg::kRsaOaep)}));
  expect_refused("oversize body", "larger than");
  peer.Serve(Jwks({PoolJwk(2, Alg::kRsaOaep)}));
  peer.Flag("redirect", true);
  expect_refused("redirect", "redirects are not followed");
  peer.Flag("redirect", false);
  peer.Flag("slow", true);
  const auto started = std::chrono::steady_clock::now();
  expect_refused("slow drip", "too slow");
  BOOST_TEST((std::chrono::steady_clock::now() - started) < 10s);
  peer.Flag("slow", false);

  // The peer well again: its new set replaces the old one.
  s = f.Refresh(++now, 0.0);
  BOOST_TEST_REQUIRE(s.consecutive_failures == 0, s.last_error);
  BOOST_TEST(KidsOf(s) == (std::vector<std::string>{"kid-2"}));
}

// Cancel comes while the fetch starts or drips (the test cannot see which); either way the
// follower is free within seconds, not the minute its limits allow.
BOOST_AUTO_TEST_CASE(a_cancelled_fetch_ends_within_seconds_against_a_drip) {
  HttpsPeer peer;
  peer.Serve(std::string(4096, ' ') + testkeys::Jwks({testkeys::PoolJwk(0, jose::Alg::kRsaOaep)}));
  peer.Flag("slow", true);
  FetchLimits patient;  // would wait a minute for the drip
  patient.total_timeout = 60s;
  patient.low_speed_bytes = 1;
  patient.low_speed_time = 60s;
  PeerFollower f(peer.Peer("/peer.json", peer.pki.ca), patient);
  const auto started = std::chrono::steady_clock::now();
  std::thread fetching([&] { (void)f.Refresh(1000, 0.0); });
  f.Cancel();
  fetching.join();
  BOOST_TEST((std::chrono::steady_clock::now() - started) < 10s);
  const PeerState s = f.state();
  BOOST_TEST(s.keys == nullptr);
  BOOST_TEST(s.last_error == "JWKS fetch cancelled");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::peers
