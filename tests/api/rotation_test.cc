// Automatic rotation with second-scale periods (docs/design.md, "Keys and rotation"), watched
// from outside through /api/v1/keys and the JWKS, and a SIGKILL in the middle of it.
#include <atomic>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/api/api_test_util.h"

namespace instaccess::testing::api {
namespace {

// How often the tests sample the key list: often enough to see every state of a key (the
// shortest lasts two seconds here), rarely enough to leave the CPU to key generation.
constexpr auto kSampleInterval = 50ms;

std::int64_t NowUnix() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::int64_t ParseRfc3339(const Json& v) {
  std::tm tm{};
  BOOST_REQUIRE(strptime(v.get<std::string>().c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) != nullptr);
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string StateOf(const Json& keys, const std::string& kid) {
  const Json* k = FindKey(keys, kid);
  return k ? k->at("state").get<std::string>() : "missing";
}

// Exactly one active key per purpose, checked on every observation.
void ExpectOneActiveEach(const Json& keys) {
  for (const char* purpose : {"sig", "enc"}) {
    BOOST_TEST(KidsIn(keys, purpose, "active").size() == 1u,
               "active " << purpose << " keys: " << keys.dump());
  }
}

BOOST_AUTO_TEST_SUITE(api_rotation)

BOOST_AUTO_TEST_CASE(keys_are_prepublished_then_rotated_and_old_tokens_live_to_their_end) {
  // No cache: every decrypt below really uses the keys.
  Daemon d(
      "[rotation.sig]\nperiod = \"3s\"\nprepublish = \"2s\"\n"
      "[rotation.enc]\nperiod = \"4s\"\nprepublish = \"2s\"\n"
      "[tokens]\nmax_lifetime = \"6s\"\ndefault_ttl = \"6s\"\nclock_skew = \"1s\"\n"
      "[cache]\nentries = 0\n");
  const Json first = d.GetJson("/api/v1/keys");
  const std::set<std::string> initial = {ActiveKid(first, "sig"), ActiveKid(first, "enc")};

  // Per kid: published while pending (seen pending in one key list and in the JWKS fetched
  // right after it), and whether it was ever seen active.
  std::set<std::string> prepublished, seen_active;
  std::string token, sig0, enc0;
  std::int64_t token_exp = 0;
  bool opened_after_sig_retired = false, opened_after_both_retired = false;
  bool expiry_checked = false, sig0_destroyed = false;
  std::size_t observations = 0;

  const auto deadline = std::chrono::steady_clock::now() + 25s;
  while (std::chrono::steady_clock::now() < deadline && !(expiry_checked && sig0_destroyed)) {
    const Json before = d.GetJson("/api/v1/keys");
    const Json jwks = d.GetJson("/.well-known/jwks.json");
    const Json after = d.GetJson("/api/v1/keys");
    ++observations;
    ExpectOneActiveEach(before);
    ExpectOneActiveEach(after);
    for (const Json& k : before.at("keys")) {
      const std::string kid = k.at("kid"), state = k.at("state");
      const std::string later = StateOf(after, kid);
      if (state == "active") seen_active.insert(kid);
      if (state == "pending" && JwksHas(jwks, kid)) prepublished.insert(kid);
      // Published while pending, active or (signing keys only) retired; never once destroyed
      // (or revoked).
      const bool sig = k.at("purpose") == "sig";
      auto published = [sig](const std::string& s) {
        return s == "pending" || s == "active" || (sig && s == "retired");
      };
      if (published(state) && published(later)) {
        BOOST_TEST(JwksHas(jwks, kid), kid << " is " << state << " but not in the JWKS");
      }
      if (state == "destroyed") {
        BOOST_TEST(!JwksHas(jwks, kid), kid << " is destroyed but still in the JWKS");
        BOOST_TEST(k.at("has_private") == false, kid << " was destroyed with its private part");
      }
    }

    // A token issued while the next signing key waits: just before the rotation.
    if (token.empty() && !KidsIn(before, "sig", "pending").empty()) {
      token = d.Issue();
      HttpReply r = d.Decrypt(token);
      BOOST_REQUIRE(r.status == 200);
      Json opened = Json::parse(r.body);
      sig0 = opened.at("sig_kid");
      enc0 = opened.at("enc_kid");
      token_exp = opened.at("claims").at("exp");
    }
    if (!token.empty() && !expiry_checked) {
      const bool sig_retired = StateOf(before, sig0) == "retired";
      const bool enc_retired = StateOf(before, enc0) == "retired";
      const std::int64_t now = NowUnix();
      if (sig_retired && now < token_exp) {  // valid until exp + skew: a second of margin
        HttpReply r = d.Decrypt(token);
        BOOST_TEST(r.status == 200, "a token of the retired key is refused: " << r.body);
        if (r.status == 200) {
          Json opened = Json::parse(r.body);
          BOOST_TEST(opened.at("sig_kid") == sig0);
          BOOST_TEST(opened.at("enc_kid") == enc0);
          opened_after_sig_retired = true;
          opened_after_both_retired |= enc_retired;
        }
      }
      if (now >= token_exp + 1) {  // exp + clock_skew: expired, its keys not yet destroyed
        HttpReply r = d.Decrypt(token);
        BOOST_TEST(r.status == 401);
        const std::string code = Json::parse(r.body).at("error").at("code");
        // Expired, unless the key's end (retire_at + max_lifetime + skew) came in the same second.
        BOOST_TEST(
            (code == "token_expired" || StateOf(d.GetJson("/api/v1/keys"), sig0) == "destroyed"),
            "after expiry: " << r.body);
        expiry_checked = true;
      }
    }
    if (!sig0.empty() && StateOf(before, sig0) == "destroyed") {
      sig0_destroyed = true;
      ExpectError(d.Decrypt(token), 401, "invalid_token");
    }
    std::this_thread::sleep_for(kSampleInterval);  // the sampling rate, not a synchronisation
  }

  BOOST_TEST_MESSAGE(observations << " observations; " << seen_active.size()
                                  << " keys were active");
  BOOST_TEST(!token.empty(), "never saw a pending signing key");
  BOOST_TEST(opened_after_sig_retired, "never decrypted the token after its signing key retired");
  BOOST_TEST(opened_after_both_retired, "never decrypted the token after both its keys retired");
  BOOST_TEST(expiry_checked, "never reached the token's expiry");
  BOOST_TEST(sig0_destroyed, "the retired signing key was never destroyed");
  // At least two rotations of each purpose in the time; each new key was published first.
  BOOST_TEST(seen_active.size() >= initial.size() + 2);
  // Each new key took a generate and a promote, each counted.
  const std::string metrics = d.Get("/metrics").body;
  const std::string series = "\ninstaccess_key_rotations_total ";
  BOOST_REQUIRE(metrics.find(series) != std::string::npos);
  BOOST_TEST(std::stoul(metrics.substr(metrics.find(series) + series.size())) >=
             2 * (seen_active.size() - initial.size()));
  for (const std::string& kid : seen_active) {
    if (initial.count(kid) != 0) continue;
    BOOST_TEST(prepublished.count(kid) == 1u,
               kid << " became active without being seen pending in the JWKS");
  }
}

BOOST_AUTO_TEST_CASE(a_revoked_pending_key_is_replaced_and_manual_rotate_promotes_the_pending_one) {
  Daemon d("[rotation.sig]\nperiod = \"20s\"\nprepublish = \"18s\"\n");
  const std::string sig0 = ActiveKid(d.GetJson("/api/v1/keys"), "sig");
  auto pending = [&] {
    auto kids = KidsIn(d.GetJson("/api/v1/keys"), "sig", "pending");
    return kids.empty() ? std::string() : kids.front();
  };
  // Generated period - prepublish = 2 s after the first key's activation.
  std::string first;
  BOOST_REQUIRE(Eventually([&] { return !(first = pending()).empty(); }, 20s));
  BOOST_TEST(JwksHas(d.GetJson("/.well-known/jwks.json"), first));

  HttpReply r = d.Post("/api/v1/keys/" + first + "/revoke", Json::object());
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  BOOST_TEST(!JwksHas(d.GetJson("/.well-known/jwks.json"), first));
  ExpectOneActiveEach(d.GetJson("/api/v1/keys"));
  BOOST_TEST(ActiveKid(d.GetJson("/api/v1/keys"), "sig") == sig0);

  // The schedule still has a next key: a fresh one is generated and published.
  std::string second;
  BOOST_REQUIRE(Eventually([&] { return !(second = pending()).empty(); }, 20s));
  BOOST_TEST(second != first);
  BOOST_TEST(JwksHas(d.GetJson("/.well-known/jwks.json"), second));

  // A manual rotation uses the key verifiers already have, rather than an unpublished one.
  r = d.Post("/api/v1/keys/rotate", {{"purpose", "sig"}});
  BOOST_REQUIRE(r.status == 200);
  BOOST_TEST(Json::parse(r.body).at("active").at("sig") == second);
  const Json keys = d.GetJson("/api/v1/keys");
  BOOST_TEST(ActiveKid(keys, "sig") == second);
  BOOST_TEST(StateOf(keys, sig0) == "retired");
  BOOST_TEST(StateOf(keys, first) == "revoked");
}

BOOST_AUTO_TEST_CASE(sigkill_during_issue_and_rotation_loses_no_key_and_no_token) {
  const std::string toml =
      "[rotation.sig]\nperiod = \"3s\"\nprepublish = \"2s\"\n"
      "[rotation.enc]\nperiod = \"3s\"\nprepublish = \"2s\"\n"
      "[tokens]\nmax_lifetime = \"2m\"\ndefault_ttl = \"2m\"\n";
  Daemon d(toml);
  const Json first = d.GetJson("/api/v1/keys");
  const std::string sig_start = ActiveKid(first, "sig");

  // A client issuing as fast as it can, on one keep-alive connection, reconnecting on failure.
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> tokens;  // Guarded by mu.
  std::thread issuer([&] {
    const std::string body = Json{{"claims", {{"sub", "crash"}, {"acct", "a"}}}}.dump();
    while (!stop) {
      try {
        UnixHttpConnection c(d.socket, 5s);
        while (!stop) {
          HttpReply r = c.Request("POST", kIssuePath, body, "application/json");
          if (r.status != 201) break;
          std::scoped_lock lock(mu);
          tokens.push_back(Json::parse(r.body).at("token"));
        }
      } catch (const std::exception&) {
        // The daemon is gone (killed) or not yet back: try again until told to stop.
      }
    }
  });

  // Keys seen active (or pending) before the kill, and the moment the next promotion is due.
  std::set<std::string> seen;
  std::optional<std::int64_t> promote_at;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!promote_at) {
    BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "no pending keys appeared");
    Json keys = d.GetJson("/api/v1/keys");
    ExpectOneActiveEach(keys);
    for (const Json& k : keys.at("keys")) {
      if (k.at("state") == "active" || k.at("state") == "pending") seen.insert(k.at("kid"));
    }
    if (!KidsIn(keys, "sig", "pending").empty() && !KidsIn(keys, "enc", "pending").empty()) {
      for (const Json& t : keys.at("next_transitions")) {
        if (t.at("action") == "promote") promote_at = ParseRfc3339(t.at("at"));
      }
    }
    if (!promote_at) std::this_thread::sleep_for(kSampleInterval);  // sampling rate
  }
  // Kill at the second the rotation is due: the scheduler is applying it, clients are issuing.
  BOOST_REQUIRE(WaitUntilUnixTime(*promote_at, 10s));
  d.Kill();
  stop = true;
  issuer.join();
  const std::vector<std::string> issued = tokens;
  BOOST_TEST_MESSAGE(issued.size() << " tokens issued before the kill");
  BOOST_REQUIRE(issued.size() > 0u);

  d.Start();  // same directory, same store
  const Json keys = d.GetJson("/api/v1/keys");
  ExpectOneActiveEach(keys);
  for (const std::string& kid : seen) {
    const std::string state = StateOf(keys, kid);
    BOOST_TEST((state == "active" || state == "retired"),
               kid << " is " << state << " after the restart");
  }
  // The promotion that was due at the kill has happened (at the latest at start-up).
  BOOST_TEST(StateOf(keys, sig_start) == "retired");
  BOOST_TEST(d.GetJson("/api/v1/status").at("store").at("healthy") == true);

  // Tokens from before the kill still decrypt: the first ones, the last ones and a spread.
  std::set<std::size_t> sample;
  for (std::size_t i = 0; i < issued.size(); i += std::max<std::size_t>(1, issued.size() / 20))
    sample.insert(i);
  for (std::size_t i = issued.size() > 30 ? issued.size() - 30 : 0; i < issued.size(); ++i)
    sample.insert(i);
  for (std::size_t i : sample) {
    HttpReply r = d.Decrypt(issued[i]);
    BOOST_TEST(r.status == 200, "token " << i << " of " << issued.size() << ": " << r.body);
    if (r.status != 200) continue;
    Json opened = Json::parse(r.body);
    BOOST_TEST(FindKey(keys, opened.at("sig_kid")) != nullptr);
    BOOST_TEST(FindKey(keys, opened.at("enc_kid")) != nullptr);
  }
  // And it issues again.
  BOOST_TEST(d.Decrypt(d.Issue()).status == 200);
}

BOOST_AUTO_TEST_CASE(status_next_rotation_is_the_planned_promotion_after_downtime) {
  Daemon d("[rotation.sig]\nperiod = \"8s\"\nprepublish = \"4s\"\n");
  const Json keys = d.GetJson("/api/v1/keys");
  const std::int64_t activated =
      ParseRfc3339(FindKey(keys, ActiveKid(keys, "sig"))->at("activate_at"));
  // Down across the moment the next key was due to be generated (activation + 4 s).
  d.process->Signal(SIGTERM);
  BOOST_REQUIRE(d.process->Wait(kStartTimeout).has_value());
  BOOST_REQUIRE(WaitUntilUnixTime(activated + 6, 15s));
  d.Start();
  const Json after = d.GetJson("/api/v1/keys");
  std::optional<std::int64_t> promote;
  for (const Json& t : after.at("next_transitions")) {
    if (t.at("purpose") == "sig" && t.at("action") == "promote") promote = ParseRfc3339(t.at("at"));
  }
  BOOST_REQUIRE(promote.has_value());
  const Json status = d.GetJson("/api/v1/status");
  BOOST_TEST(ParseRfc3339(status.at("next_rotation").at("sig")) == *promote,
             "status " << status.at("next_rotation").dump() << " vs keys "
                       << after.at("next_transitions").dump());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing::api
