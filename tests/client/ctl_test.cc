// instaccessctl, the binary, against the real daemon: each command's human and --json output
// and exit code, a token from stdin, bad arguments, the socket's resolution, a caller without
// the role, and the daemon's failures (through a fake daemon).
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "jose/rsa_key.h"
#include "tests/client/client_fixture.h"

namespace instaccess::testing {
namespace {

const std::string kCtl = BuiltBinary("client/instaccessctl");

// The exit codes instaccessctl documents.
constexpr int kOk = 0, kRefused = 1, kUsage = 2, kUnreachable = 3, kForbidden = 4, kBadToken = 5,
              kServer = 6, kAuditBroken = 7;

struct Ctl {
  RunningDaemon& d;
  CommandResult operator()(std::vector<std::string> args, const std::string& input = "") const {
    std::vector<std::string> argv = {kCtl, "--socket", d.socket};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, {}, input);
  }
};

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

nlohmann::json Json(const CommandResult& r) {
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  BOOST_TEST(!j.is_discarded(), "not JSON: " << r.out);
  return j;
}

std::string Line(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

BOOST_AUTO_TEST_SUITE(instaccessctl)

BOOST_AUTO_TEST_CASE(help_lists_the_commands_and_the_exit_codes) {
  auto r = RunCommand({kCtl, "--help"});
  BOOST_TEST(r.exit_code == kOk);
  for (const char* s : {"issue", "decrypt", "jwks", "keys", "status", "backup", "audit", "schedule",
                        "Exit codes:", "3  daemon unreachable", "INSTACCESS_SOCKET"}) {
    BOOST_TEST(Contains(r.out, s), s);
  }
  auto keys = RunCommand({kCtl, "keys", "--help"});
  BOOST_TEST(keys.exit_code == kOk);
  for (const char* s : {"list", "show", "rotate", "import", "export", "revoke"})
    BOOST_TEST(Contains(keys.out, s), s);
  // Every command's help has examples and names the global options; decrypt's says where the
  // token comes from.
  for (std::vector<std::string> cmd :
       std::vector<std::vector<std::string>>{{"issue"},
                                             {"decrypt"},
                                             {"jwks"},
                                             {"keys", "list"},
                                             {"keys", "show"},
                                             {"keys", "rotate"},
                                             {"keys", "import"},
                                             {"keys", "export"},
                                             {"keys", "revoke"},
                                             {"status"},
                                             {"backup"},
                                             {"audit", "verify"},
                                             {"schedule", "accept-clock"}}) {
    cmd.insert(cmd.begin(), kCtl);
    cmd.push_back("--help");
    auto h = RunCommand(cmd);
    BOOST_TEST(h.exit_code == kOk, cmd[1]);
    BOOST_TEST(Contains(h.out, "Examples:\n  instaccessctl "), cmd[1] << ": " << h.out);
    BOOST_TEST(Contains(h.out, "before or after the command: --socket PATH, --json"), cmd[1]);
  }
  auto decrypt_help = RunCommand({kCtl, "decrypt", "--help"});
  for (const char* s : {"--file", "stdin", "/proc/PID/cmdline", "| instaccessctl decrypt"})
    BOOST_TEST(Contains(decrypt_help.out, s), s);
  auto import = RunCommand({kCtl, "keys", "import", "--help"});
  for (const char* s : {"--kid", "--issuer", "--allow-own-issuer", "--max-lifetime", "--pin"})
    BOOST_TEST(Contains(import.out, s), s);
  auto export_help = RunCommand({kCtl, "keys", "export", "--help"});
  for (const char* s : {"--pem", "--jwk"}) BOOST_TEST(Contains(export_help.out, s), s);
  auto version = RunCommand({kCtl, "--version"});
  BOOST_TEST(version.exit_code == kOk);
  BOOST_TEST(Contains(version.out, "instaccessctl 0.1.0"));
}

BOOST_AUTO_TEST_CASE(bad_arguments_are_usage_errors) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"frobnicate"},
      {"keys"},
      {"issue"},  // --sub is required
      {"issue", "--sub", "u", "--ttl", "5q"},
      {"issue", "--sub", "u", "--claim", "nonsense"},
      {"issue", "--sub", "u", "--claim", "masq_shard=three"},
      {"issue", "--sub", "u", "--claim", "x:={bad"},
      {"keys", "rotate"},
      {"keys", "rotate", "everything"},
      {"keys", "import", "--purpose", "sig"},  // no --pem or --jwk
      {"keys", "revoke"},
      {"keys", "export"},
      {"keys", "export", "k", "--pem", "--jwk"},
      {"keys", "show"},
      {"keys", "list", "--purpose", "both"},
      {"keys", "list", "--state", "expired"},
      {"keys", "list", "--state", "active,gone"},
      {"decrypt", "-", "--file", "/nonexistent.token"},
      {"keys", "import", "--purpose", "sig", "--pem", "/nonexistent.pem", "--max-lifetime", "soon"},
      {"backup"},
      {"audit"},
      {"audit", "fix"},
      {"schedule"},
      {"--json", "--quiet", "status"},
      {"--timeout", "soon", "status"},
  };
  for (const auto& args : bad) {
    std::vector<std::string> argv = {kCtl, "--socket", "/nonexistent.sock"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = RunCommand(argv);
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    BOOST_TEST(r.exit_code == kUsage, shown << "-> " << r.exit_code << " " << r.err);
    BOOST_TEST(!r.err.empty(), shown);
  }
}

BOOST_AUTO_TEST_CASE(issues_and_decrypts_in_both_output_forms) {
  OpenDaemon d;
  Ctl ctl{d};
  auto issued = ctl({"issue", "--sub", "u1", "--acct", "a1", "--claim", "masq_shard=3", "--claim",
                     "instructure_service=true", "--claim", "region=eu", "--ttl", "15m"});
  BOOST_REQUIRE_MESSAGE(issued.exit_code == kOk, issued.err);
  std::string token = Line(issued.out);
  BOOST_TEST(std::count(token.begin(), token.end(), '.') == 4);
  BOOST_TEST(!Contains(token, "\n"));

  auto human = ctl({"decrypt"}, token);
  BOOST_REQUIRE_MESSAGE(human.exit_code == kOk, human.err);
  BOOST_TEST(Contains(human.out, "CLAIM"));
  BOOST_TEST(Contains(human.out, "u1"));
  BOOST_TEST(Contains(human.out, "masq_shard"));
  BOOST_TEST(Contains(human.out, "(in 14m"));  // exp, relative
  BOOST_TEST(Contains(human.out, " UTC"));     // and absolute
  BOOST_TEST(Contains(human.out, "signed with"));
  BOOST_TEST(Contains(human.out, "encrypted to"));

  auto json = ctl({"--json", "decrypt"}, token);
  BOOST_REQUIRE(json.exit_code == kOk);
  auto j = Json(json);
  BOOST_TEST(j["claims"]["sub"] == "u1");
  BOOST_TEST(j["claims"]["masq_shard"] == 3);
  BOOST_TEST(j["claims"]["instructure_service"] == true);
  BOOST_TEST(j["claims"]["exp"].get<long>() - j["claims"]["iat"].get<long>() == 900);
  BOOST_TEST(j["sig_kid"].is_string());

  // From stdin: "-" or no argument, surrounding whitespace ignored.
  auto dash = ctl({"--json", "decrypt", "-"}, "  " + token + "\n");
  BOOST_REQUIRE_MESSAGE(dash.exit_code == kOk, dash.err);
  BOOST_TEST(Json(dash)["claims"]["acct"] == "a1");
  auto implicit = ctl({"decrypt"}, token + "\n");
  BOOST_TEST(implicit.exit_code == kOk);
  BOOST_TEST(ctl({"decrypt"}, "\n").exit_code == kUsage);

  auto quiet = ctl({"--quiet", "decrypt"}, token);
  BOOST_TEST(quiet.exit_code == kOk);
  BOOST_TEST(quiet.out.empty());

  auto issued_json = ctl({"--json", "issue", "--sub", "u2", "--acct", "a2"});
  BOOST_REQUIRE(issued_json.exit_code == kOk);
  BOOST_TEST(Json(issued_json)["token"].is_string());
}

BOOST_AUTO_TEST_CASE(refused_tokens_and_requests_have_their_own_exit_codes) {
  OpenDaemon d;
  Ctl ctl{d};
  auto bad = ctl({"decrypt"}, "not.a.token.at.all");
  BOOST_TEST(bad.exit_code == kBadToken);
  BOOST_TEST(bad.out.empty());
  BOOST_TEST(Contains(bad.err, "instaccessctl: invalid_token: token is invalid"), bad.err);
  auto bad_json = ctl({"--json", "decrypt"}, "not.a.token.at.all");
  BOOST_TEST(bad_json.exit_code == kBadToken);
  BOOST_TEST(Json(bad_json)["error"]["code"] == "invalid_token");

  auto missing = ctl({"issue", "--sub", "u"});  // no acct: the daemon says so
  BOOST_TEST(missing.exit_code == kRefused);
  BOOST_TEST(Contains(missing.err, "claims.acct is required"));
  auto unknown = ctl({"keys", "revoke", "no-such-kid"});
  BOOST_TEST(unknown.exit_code == kRefused);
  BOOST_TEST(Contains(unknown.err, "no-such-kid"), unknown.err);
}

BOOST_AUTO_TEST_CASE(jwks_keys_and_status_in_both_forms) {
  OpenDaemon d;
  Ctl ctl{d};
  auto jwks = ctl({"jwks"});
  BOOST_REQUIRE_MESSAGE(jwks.exit_code == kOk, jwks.err);
  BOOST_TEST(Contains(jwks.out, "KID"));
  BOOST_TEST(Contains(jwks.out, "RS256"));
  BOOST_TEST(Contains(jwks.out, "RSA-OAEP"));
  auto jwks_json = Json(ctl({"--json", "jwks"}));
  BOOST_TEST(jwks_json["keys"].size() == 2u);

  auto status_json = ctl({"--json", "status"});
  BOOST_REQUIRE(status_json.exit_code == kOk);
  auto s = Json(status_json);
  std::string sig = s["active_kids"]["sig"];
  BOOST_TEST(s["store"]["healthy"] == true);

  auto status = ctl({"status"});
  BOOST_REQUIRE_MESSAGE(status.exit_code == kOk, status.err);
  BOOST_TEST(Contains(status.out, "instaccessd 0.1.0"));
  BOOST_TEST(Contains(status.out, "(healthy)"));
  BOOST_TEST(
      Contains(status.out, "integrity ok, audit head " +
                               s["integrity"]["audit_head"].get<std::string>().substr(0, 12)),
      status.out);
  BOOST_TEST(Contains(status.out, sig + " (RS256), rotates in 23h 59m"), status.out);
  BOOST_TEST(Contains(status.out, "warning"));

  auto keys = ctl({"keys", "list"});
  BOOST_REQUIRE_MESSAGE(keys.exit_code == kOk, keys.err);
  BOOST_TEST(Contains(keys.out, "STATE"));
  BOOST_TEST(Contains(keys.out, "retires in 23h 59m ("), keys.out);
  BOOST_TEST(Contains(keys.out, "PLANNED"));
  auto keys_json = Json(ctl({"--json", "keys", "list"}));
  BOOST_TEST(keys_json["keys"].size() == 2u);
  BOOST_TEST(keys_json["next_transitions"].is_array());
  BOOST_TEST(ctl({"--quiet", "status"}).out.empty());
}

BOOST_AUTO_TEST_CASE(rotates_imports_and_revokes_keys) {
  OpenDaemon d;
  Ctl ctl{d};
  auto before = Json(ctl({"--json", "status"}));
  auto rotated = ctl({"keys", "rotate", "sig"});
  BOOST_REQUIRE_MESSAGE(rotated.exit_code == kOk, rotated.err);
  BOOST_TEST(Contains(rotated.out, "rotated sig"));
  auto after = Json(ctl({"--json", "status"}));
  BOOST_TEST(after["active_kids"]["sig"] != before["active_kids"]["sig"]);
  BOOST_TEST(Contains(rotated.out, after["active_kids"]["sig"].get<std::string>()));
  auto both = Json(ctl({"--json", "keys", "rotate", "both"}));
  BOOST_TEST(both["rotated"].size() == 2u);

  // The previous active sig key is retired now: destroyed after max_lifetime + skew.
  auto list = ctl({"keys", "list"});
  BOOST_TEST(Contains(list.out, "retired"));
  BOOST_TEST(Contains(list.out, "destroyed in 1h"), list.out);

  std::string pem = std::string(INSTACCESS_SOURCE_DIR) + "/tests/fuzz/keys/rs256.pem";
  auto imported = ctl({"keys", "import", "--purpose", "sig", "--pem", pem});
  BOOST_REQUIRE_MESSAGE(imported.exit_code == kOk, imported.err);
  BOOST_TEST(Contains(imported.out, "imported "));
  auto from_stdin =
      ctl({"--json", "keys", "import", "--purpose", "enc", "--alg", "RSA-OAEP", "--pem", "-"},
          ReadFile(std::string(INSTACCESS_SOURCE_DIR) + "/tests/fuzz/keys/rsa_oaep.pem"));
  BOOST_REQUIRE_MESSAGE(from_stdin.exit_code == kOk, from_stdin.err);
  std::string kid = Json(from_stdin)["kid"];

  auto revoked = ctl({"keys", "revoke", kid});
  BOOST_REQUIRE_MESSAGE(revoked.exit_code == kOk, revoked.err);
  BOOST_TEST(Contains(revoked.out, "revoked " + kid));
  auto again = ctl({"--json", "keys", "list"});
  bool found = false;
  nlohmann::json listed = Json(again);
  for (const auto& k : listed["keys"]) {
    if (k["kid"] == kid) found = k["state"] == "revoked";
  }
  BOOST_TEST(found, again.out);
  BOOST_TEST(ctl({"keys", "import", "--purpose", "sig", "--pem", d.dir / "none.pem"}).exit_code ==
             kRefused);
}

// A test key's public part in a file of `d`'s dir: what a peer (a stock Canvas) hands over.
std::string WritePublicPem(const RunningDaemon& d, const std::string& key_file,
                           const std::string& name) {
  auto key = jose::RsaKey::FromPem(
      ReadFile(std::string(INSTACCESS_SOURCE_DIR) + "/tests/fuzz/keys/" + key_file),
      jose::Alg::kRS256);
  BOOST_REQUIRE(key.has_value());
  std::string path = d.dir / name;
  WriteFile(path, key->PublicPem());
  return path;
}

BOOST_AUTO_TEST_CASE(imports_with_issuers_and_pin_and_exports_keys) {
  OpenDaemon d;
  Ctl ctl{d};
  const std::string pub = WritePublicPem(d, "rs256.pem", "canvas-sig.pem");
  auto imported =
      ctl({"keys", "import", "--purpose", "sig", "--pem", pub, "--kid", "canvas-2026", "--issuer",
           "canvas.example.edu", "--issuer", "beta.example.edu", "--max-lifetime", "30m", "--pin"});
  BOOST_REQUIRE_MESSAGE(imported.exit_code == kOk, imported.err);
  BOOST_TEST(Line(imported.out) ==
                 "imported canvas-2026: sig RS256 2048 bits, peer, retired, pinned, issuers "
                 "canvas.example.edu,beta.example.edu, max lifetime 30m",
             imported.out);

  auto list = ctl({"keys", "list"});
  BOOST_REQUIRE_MESSAGE(list.exit_code == kOk, list.err);
  BOOST_TEST(Contains(list.out, "NOTES"), list.out);
  BOOST_TEST(
      Contains(list.out, "pinned, issuers canvas.example.edu,beta.example.edu, max lifetime 30m"),
      list.out);
  bool found = false;
  const nlohmann::json listed = Json(ctl({"--json", "keys", "list"}));
  for (const auto& k : listed["keys"]) {
    if (k["kid"] != "canvas-2026") {
      BOOST_TEST(k["pin"] == false);
      BOOST_TEST(k["issuers"].is_null());
      continue;
    }
    found = true;
    BOOST_TEST(k["pin"] == true);
    BOOST_TEST(k["issuers"] == nlohmann::json({"canvas.example.edu", "beta.example.edu"}));
    BOOST_TEST(k["max_lifetime"] == 1800);
    BOOST_TEST(k["origin"] == "peer");
  }
  BOOST_TEST(found);

  // The PEM as Canvas's config takes it (the default), the same with --pem, and the JWK.
  auto pem = ctl({"keys", "export", "canvas-2026"});
  BOOST_REQUIRE_MESSAGE(pem.exit_code == kOk, pem.err);
  BOOST_TEST(pem.out == ReadFile(pub));
  BOOST_TEST(ctl({"keys", "export", "--pem", "canvas-2026"}).out == ReadFile(pub));
  auto exported = jose::RsaKey::FromPem(pem.out, jose::Alg::kRS256);
  auto original = jose::RsaKey::FromPem(
      ReadFile(std::string(INSTACCESS_SOURCE_DIR) + "/tests/fuzz/keys/rs256.pem"),
      jose::Alg::kRS256);
  BOOST_REQUIRE(exported.has_value() && original.has_value());
  BOOST_TEST(exported->SamePublicKey(*original));
  auto jwk = ctl({"keys", "export", "canvas-2026", "--jwk"});
  BOOST_REQUIRE_MESSAGE(jwk.exit_code == kOk, jwk.err);
  auto jwk_json = Json(jwk);
  BOOST_TEST(jwk_json["kid"] == "canvas-2026");
  BOOST_TEST(jwk_json["kty"] == "RSA");
  BOOST_TEST(!jwk_json.contains("d"));
  auto from_jwk = jose::RsaKey::FromJwk(jwk_json, jose::Alg::kRS256);
  BOOST_REQUIRE(from_jwk.has_value());
  BOOST_TEST(from_jwk->SamePublicKey(*original));
  auto pem_json = Json(ctl({"--json", "keys", "export", "canvas-2026"}));
  BOOST_TEST(pem_json["kid"] == "canvas-2026");
  BOOST_TEST(pem_json["pem"] == ReadFile(pub));
  BOOST_TEST(Json(ctl({"--json", "keys", "export", "--jwk", "canvas-2026"})) == jwk_json);
  BOOST_TEST(ctl({"--quiet", "keys", "export", "canvas-2026"}).out.empty());
  // The daemon's own active signing key exports too.
  std::string active = Json(ctl({"--json", "status"}))["active_kids"]["sig"];
  auto active_pem = ctl({"keys", "export", active});
  BOOST_REQUIRE_MESSAGE(active_pem.exit_code == kOk, active_pem.err);
  BOOST_TEST(Contains(active_pem.out, "-----BEGIN PUBLIC KEY-----"));

  auto unknown = ctl({"keys", "export", "no-such-kid"});
  BOOST_TEST(unknown.exit_code == kRefused);
  BOOST_TEST(Contains(unknown.err, "no key with kid no-such-kid"), unknown.err);
  BOOST_TEST(unknown.out.empty());

  // The same key under another name: refused, conflict.
  auto again = ctl({"keys", "import", "--purpose", "sig", "--pem", pub, "--kid", "canvas-other",
                    "--issuer", "canvas.example.edu"});
  BOOST_TEST(again.exit_code == kRefused, again.err);
  BOOST_TEST(!again.err.empty());
  auto again_json = ctl({"--json", "keys", "import", "--purpose", "sig", "--pem", pub, "--kid",
                         "canvas-other", "--issuer", "canvas.example.edu"});
  BOOST_TEST(again_json.exit_code == kRefused);
  BOOST_TEST(Json(again_json)["error"]["code"] == "conflict");

  // A peer's signing key without --issuer, or naming our own issuer without
  // --allow-own-issuer: refused.
  const std::string other = WritePublicPem(d, "ps256.pem", "other-sig.pem");
  auto no_issuer = ctl({"keys", "import", "--purpose", "sig", "--pem", other});
  BOOST_TEST(no_issuer.exit_code == kRefused);
  BOOST_TEST(Contains(no_issuer.err, "issuers"), no_issuer.err);
  BOOST_TEST(Contains(no_issuer.err, "(--issuer ISS)"), no_issuer.err);
  auto own = std::vector<std::string>{"keys",  "import", "--purpose", "sig",
                                      "--pem", other,    "--issuer",  "instructure:inst_access"};
  BOOST_TEST(ctl(own).exit_code == kRefused);
  own.push_back("--allow-own-issuer");
  auto allowed = ctl(own);
  BOOST_TEST(allowed.exit_code == kOk, allowed.err);
}

BOOST_AUTO_TEST_CASE(global_options_may_follow_the_command) {
  OpenDaemon d;
  auto status = RunCommand({kCtl, "status", "--json", "--socket", d.socket});
  BOOST_REQUIRE_MESSAGE(status.exit_code == kOk, status.err);
  const std::string sig = Json(status)["active_kids"]["sig"];
  auto list = RunCommand({kCtl, "keys", "list", "--socket", d.socket, "--json"});
  BOOST_REQUIRE_MESSAGE(list.exit_code == kOk, list.err);
  BOOST_TEST(Json(list)["keys"].size() == 2u);
  auto quiet = RunCommand({kCtl, "keys", "export", sig, "--socket", d.socket, "-q", "--jwk"});
  BOOST_TEST(quiet.exit_code == kOk, quiet.err);
  BOOST_TEST(quiet.out.empty());
  // Mixed: some before, some after; the option of the command in between.
  auto mixed = RunCommand({kCtl, "--socket", d.socket, "keys", "export", "--jwk", sig, "--json"});
  BOOST_REQUIRE_MESSAGE(mixed.exit_code == kOk, mixed.err);
  BOOST_TEST(Json(mixed)["kid"] == sig);
  auto issued = RunCommand({kCtl, "issue", "--sub", "u", "--acct", "a", "--socket", d.socket});
  BOOST_REQUIRE_MESSAGE(issued.exit_code == kOk, issued.err);
  auto opened = RunCommand({kCtl, "decrypt", "--socket", d.socket, "--json"}, {}, issued.out);
  BOOST_REQUIRE_MESSAGE(opened.exit_code == kOk, opened.err);
  BOOST_TEST(Json(opened)["claims"]["sub"] == "u");
  // A global option after the command is checked like one before it.
  auto both = RunCommand({kCtl, "status", "--json", "--quiet", "--socket", d.socket});
  BOOST_TEST(both.exit_code == kUsage);
  BOOST_TEST(RunCommand({kCtl, "status", "--timeout", "soon", "--socket", d.socket}).exit_code ==
             kUsage);

  // --timeout after the command bounds the wait.
  TempDir dir;
  FakeDaemon silent(dir / "s.sock", "");
  auto start = std::chrono::steady_clock::now();
  auto r = RunCommand({kCtl, "status", "--socket", dir / "s.sock", "--timeout", "1s"});
  BOOST_TEST(r.exit_code == kUnreachable);
  BOOST_TEST((std::chrono::steady_clock::now() - start < 10s));
}

BOOST_AUTO_TEST_CASE(tokens_and_keys_never_come_from_the_command_line) {
  OpenDaemon d;
  Ctl ctl{d};
  auto issued = ctl({"issue", "--sub", "u1", "--acct", "a1"});
  BOOST_REQUIRE_MESSAGE(issued.exit_code == kOk, issued.err);
  const std::string token = Line(issued.out);

  // On argv: refused before any request, without repeating it, pointing to stdin and --file.
  auto argv = ctl({"decrypt", token}, token);
  BOOST_TEST(argv.exit_code == kUsage);
  BOOST_TEST(argv.out.empty());
  BOOST_TEST(!Contains(argv.err, token.substr(0, 20)), argv.err);
  BOOST_TEST(Contains(argv.err, "stdin or --file PATH"), argv.err);
  BOOST_TEST(Contains(argv.err, "/proc/PID/cmdline"), argv.err);
  BOOST_TEST(ctl({"--json", "decrypt", "not-a-file"}).exit_code == kUsage);

  // From a file, or from stdin through --file -.
  const std::string file = d.dir / "token.txt";
  WriteFile(file, token + "\n");
  auto from_file = ctl({"--json", "decrypt", "--file", file});
  BOOST_REQUIRE_MESSAGE(from_file.exit_code == kOk, from_file.err);
  BOOST_TEST(Json(from_file)["claims"]["sub"] == "u1");
  auto dash = ctl({"decrypt", "--file", "-", "--json"}, token);
  BOOST_REQUIRE_MESSAGE(dash.exit_code == kOk, dash.err);
  BOOST_TEST(Json(dash)["claims"]["acct"] == "a1");
  auto missing = ctl({"decrypt", "--file", d.dir / "none.txt"});
  BOOST_TEST(missing.exit_code == kRefused);
  BOOST_TEST(Contains(missing.err, "cannot read the token from"), missing.err);
  WriteFile(file, "\n");
  auto empty = ctl({"decrypt", "--file", file});
  BOOST_TEST(empty.exit_code == kUsage);
  BOOST_TEST(Contains(empty.err, "no token in " + file), empty.err);

  // A bare `decrypt` on a terminal does not wait for typing: it says how to give the token.
  auto tty = RunCommand(
      {"/usr/bin/script", "-qec", kCtl + " --socket " + d.socket + " decrypt", "/dev/null"});
  BOOST_TEST(tty.exit_code == kUsage);
  BOOST_TEST(Contains(tty.out, "pipe the token in"), tty.out);

  // Input is bounded: more than the daemon would take is refused before it is sent.
  auto huge = ctl({"decrypt"}, std::string(64 * 1024 + 1, 'a'));
  BOOST_TEST(huge.exit_code == kRefused);
  BOOST_TEST(Contains(huge.err, "larger than 64 KiB"), huge.err);

  // A key pasted where its file name goes: refused, and not repeated.
  const std::string pem =
      ReadFile(std::string(INSTACCESS_SOURCE_DIR) + "/tests/fuzz/keys/rs256.pem");
  auto pasted = ctl({"keys", "import", "--purpose", "sig", "--pem", pem});
  BOOST_TEST(pasted.exit_code == kUsage);
  BOOST_TEST(!Contains(pasted.err, "BEGIN"), pasted.err);
  BOOST_TEST(Contains(pasted.err, "take a file name (or - for stdin), not the key itself"),
             pasted.err);
  auto jwk = ctl({"keys", "import", "--purpose", "sig", "--jwk", R"({"kty":"RSA","n":"x"})"});
  BOOST_TEST(jwk.exit_code == kUsage);
  BOOST_TEST(!Contains(jwk.err, "kty"), jwk.err);
}

BOOST_AUTO_TEST_CASE(keys_list_filters_by_purpose_and_state) {
  OpenDaemon d;
  Ctl ctl{d};
  BOOST_REQUIRE(ctl({"keys", "rotate", "both"}).exit_code == kOk);  // one retired of each
  auto kids = [](const nlohmann::json& list) {
    std::multiset<std::string> out;
    for (const auto& k : list["keys"])
      out.insert(k["purpose"].get<std::string>() + " " + k["state"].get<std::string>());
    return out;
  };
  const auto all = Json(ctl({"--json", "keys", "list"}));
  BOOST_TEST(all["keys"].size() == 4u);
  const auto sig = Json(ctl({"--json", "keys", "list", "--purpose", "sig"}));
  BOOST_TEST((kids(sig) == std::multiset<std::string>{"sig active", "sig retired"}));
  for (const auto& t : sig["next_transitions"]) BOOST_TEST(t["purpose"] == "sig");
  BOOST_TEST(!sig["next_transitions"].empty());
  const auto retired = Json(ctl({"--json", "keys", "list", "--state", "retired"}));
  BOOST_TEST((kids(retired) == std::multiset<std::string>{"enc retired", "sig retired"}));
  const auto some = Json(ctl({"--json", "keys", "list", "--state", "active,revoked", "--state",
                              "pending", "--purpose", "enc"}));
  BOOST_TEST((kids(some) == std::multiset<std::string>{"enc active"}));
  BOOST_TEST(Json(ctl({"--json", "keys", "list", "--state", "revoked"}))["keys"].empty());

  auto human = ctl({"keys", "list", "--purpose", "enc", "--state", "retired"});
  BOOST_REQUIRE_MESSAGE(human.exit_code == kOk, human.err);
  BOOST_TEST(Contains(human.out, "enc"), human.out);
  BOOST_TEST(!Contains(human.out, "RS256"), human.out);
  BOOST_TEST(!Contains(human.out, "active"), human.out);
  BOOST_TEST(!Contains(human.out, "PLANNED"), human.out);  // the plan is not about states
  auto planned = ctl({"keys", "list", "--purpose", "sig"});
  BOOST_TEST(Contains(planned.out, "PLANNED"), planned.out);
  BOOST_TEST(!Contains(planned.out, " enc"), planned.out);

  auto bad = ctl({"keys", "list", "--state", "expired"});
  BOOST_TEST(bad.exit_code == kUsage);
  BOOST_TEST(
      Contains(bad.err, "--state: expired not in {pending,active,retired,destroyed,revoked}"),
      bad.err);
}

BOOST_AUTO_TEST_CASE(keys_show_prints_one_key_in_full) {
  OpenDaemon d;
  Ctl ctl{d};
  const std::string sig = Json(ctl({"--json", "status"}))["active_kids"]["sig"];
  auto own = ctl({"keys", "show", sig});
  BOOST_REQUIRE_MESSAGE(own.exit_code == kOk, own.err);
  for (const std::string& s :
       {"kid           " + sig, std::string("purpose       sig\n"),
        std::string("alg           RS256, 2048 bits\n"),
        std::string("origin        generated (private part held, sealed)\n"),
        std::string("state         active\n"), std::string("next          retires in 23h 59m ("),
        std::string("created       "), std::string("issuers       the daemon's tokens.issuer\n"),
        std::string("max lifetime  the daemon's tokens.max_lifetime\n"),
        std::string("pinned        no\n")}) {
    BOOST_TEST(Contains(own.out, s), s << " in\n" << own.out);
  }
  auto own_json = Json(ctl({"keys", "show", sig, "--json"}));
  BOOST_TEST(own_json["kid"] == sig);
  BOOST_TEST(own_json["state"] == "active");
  BOOST_TEST(own_json["has_private"] == true);

  const std::string pub = WritePublicPem(d, "rs256.pem", "canvas-sig.pem");
  BOOST_REQUIRE(ctl({"keys", "import", "--purpose", "sig", "--pem", pub, "--kid", "canvas-2026",
                     "--issuer", "canvas.example.edu", "--max-lifetime", "30m", "--pin"})
                    .exit_code == kOk);
  auto peer = ctl({"keys", "show", "canvas-2026"});
  BOOST_REQUIRE_MESSAGE(peer.exit_code == kOk, peer.err);
  for (const char* s :
       {"origin        peer (public part only)\n", "state         retired\n",
        "issuers       canvas.example.edu\n", "max lifetime  30m\n", "pinned        yes"}) {
    BOOST_TEST(Contains(peer.out, s), s << " in\n" << peer.out);
  }
  auto peer_json = Json(ctl({"--json", "keys", "show", "canvas-2026"}));
  BOOST_TEST(peer_json["pin"] == true);
  BOOST_TEST(peer_json["max_lifetime"] == 1800);
  BOOST_TEST(peer_json["issuers"] == nlohmann::json({"canvas.example.edu"}));

  // A revoked key is still shown (its row stays), with when it was revoked.
  BOOST_REQUIRE(ctl({"keys", "revoke", "canvas-2026"}).exit_code == kOk);
  auto revoked = ctl({"keys", "show", "canvas-2026"});
  BOOST_TEST(Contains(revoked.out, "state         revoked\n"), revoked.out);
  BOOST_TEST(Contains(revoked.out, "revoked       2"), revoked.out);

  auto unknown = ctl({"keys", "show", "no-such-kid"});
  BOOST_TEST(unknown.exit_code == kRefused);
  BOOST_TEST(Contains(unknown.err, "no-such-kid"), unknown.err);
  BOOST_TEST(unknown.out.empty());
}

BOOST_AUTO_TEST_CASE(backup_writes_a_file_and_will_not_overwrite_one) {
  OpenDaemon d;
  Ctl ctl{d};
  std::string file = d.dir / "backup.db";
  auto r = ctl({"backup", file});
  BOOST_REQUIRE_MESSAGE(r.exit_code == kOk, r.err);
  BOOST_TEST(Contains(r.out, "bytes to " + file));
  BOOST_TEST(ReadFile(file).rfind("SQLite format 3", 0) == 0u);
  auto again = ctl({"backup", file});
  BOOST_TEST(again.exit_code == kRefused);
  BOOST_TEST(Contains(again.err, "exists; use --force"));
  auto forced = ctl({"--json", "backup", "--force", file});
  BOOST_REQUIRE(forced.exit_code == kOk);
  BOOST_TEST(Json(forced)["bytes"].get<std::uint64_t>() == std::filesystem::file_size(file));
}

BOOST_AUTO_TEST_CASE(schedule_accept_clock_without_a_held_jump_is_refused) {
  OpenDaemon d;
  Ctl ctl{d};
  auto r = ctl({"schedule", "accept-clock"});
  BOOST_TEST(r.exit_code == kRefused);
  BOOST_TEST(Contains(r.err, "no clock jump is held"), r.err);
}

BOOST_AUTO_TEST_CASE(audit_verify_reports_the_chain) {
  OpenDaemon d;
  Ctl ctl{d};
  auto r = ctl({"audit", "verify"});
  BOOST_REQUIRE_MESSAGE(r.exit_code == kOk, r.err);
  BOOST_TEST(Contains(r.out, "audit chain intact: "), r.out);
  auto j = ctl({"--json", "audit", "verify"});
  BOOST_REQUIRE(j.exit_code == kOk);
  BOOST_TEST(Json(j)["ok"] == true);
  BOOST_TEST(Json(j)["entries"].get<int>() > 0);

  TempDir dir;
  std::string body = R"({"entries":9,"ok":false,"first_broken_seq":4,"reason":"hash mismatch"})";
  FakeDaemon fake(dir / "a.sock",
                  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                  "Content-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body);
  auto broken = RunCommand({kCtl, "--socket", dir / "a.sock", "audit", "verify"});
  BOOST_TEST(broken.exit_code == kAuditBroken);
  BOOST_TEST(Line(broken.out) == "AUDIT CHAIN BROKEN at entry 4 of 9: hash mismatch");
}

BOOST_AUTO_TEST_CASE(finds_the_socket_by_flag_environment_or_default) {
  OpenDaemon d;
  auto by_env = RunCommand({kCtl, "status"}, {"INSTACCESS_SOCKET=" + d.socket});
  BOOST_TEST(by_env.exit_code == kOk, by_env.err);
  // The flag wins over the environment.
  auto flag = RunCommand({kCtl, "--socket", d.socket, "status"}, {"INSTACCESS_SOCKET=/nope.sock"});
  BOOST_TEST(flag.exit_code == kOk, flag.err);
  if (std::filesystem::exists("/run/instaccessd/instaccessd.sock")) return;  // a real one wins
  // The embedded default's ./var/instaccessd.sock, from the working directory.
  TempDir cwd;
  std::filesystem::create_directory(cwd / "var");
  std::filesystem::create_symlink(d.socket, cwd / "var/instaccessd.sock");
  auto local = RunCommand({kCtl, "status"}, {}, "", cwd.path().string());
  BOOST_TEST(local.exit_code == kOk, local.err);
  BOOST_TEST(Contains(local.out, "./var/instaccessd.sock"));
}

BOOST_AUTO_TEST_CASE(an_absent_daemon_is_exit_3_with_a_hint) {
  TempDir cwd;
  auto r = RunCommand({kCtl, "--socket", cwd / "gone.sock", "status"});
  BOOST_TEST(r.exit_code == kUnreachable);
  BOOST_TEST(Line(r.err) ==
             "instaccessctl: cannot connect to " + (cwd / "gone.sock") +
                 ": no such file (is instaccessd running? try systemctl status instaccessd)");
  if (std::filesystem::exists("/run/instaccessd/instaccessd.sock")) return;
  auto defaulted = RunCommand({kCtl, "jwks"}, {}, "", cwd.path().string());
  BOOST_TEST(defaulted.exit_code == kUnreachable);
  BOOST_TEST(Contains(defaulted.err, "cannot connect to ./var/instaccessd.sock: no such file"));
  BOOST_TEST(Contains(defaulted.err, "no /run/instaccessd/instaccessd.sock either"));
  auto json = RunCommand({kCtl, "--json", "--socket", cwd / "gone.sock", "status"});
  BOOST_TEST(json.exit_code == kUnreachable);
  BOOST_TEST(Json(json)["error"]["code"] == "unreachable");
}

BOOST_AUTO_TEST_CASE(a_caller_without_the_role_gets_exit_4_and_the_daemons_reason) {
  OpenDaemon d("[access]\nread = [\"*\"]\n");
  std::vector<std::string> nobody = {
      "/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", kCtl,
      "--socket",         d.socket};
  auto read = nobody;
  read.push_back("jwks");
  BOOST_TEST(RunCommand(read).exit_code == kOk);
  auto rotate = nobody;
  rotate.insert(rotate.end(), {"keys", "rotate", "both"});
  auto r = RunCommand(rotate);
  BOOST_TEST(r.exit_code == kForbidden);
  BOOST_TEST(Line(r.err) ==
             "instaccessctl: permission denied: uid 65534 (nobody) has no 'admin' role");
}

BOOST_AUTO_TEST_CASE(daemon_failures_are_exit_6_and_token_refusals_exit_5) {
  TempDir dir;
  auto canned = [](int status, const std::string& code, const std::string& message,
                   const std::string& extra = "") {
    std::string body = R"({"error":{"code":")" + code + R"(","message":")" + message + R"("}})";
    return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" +
           extra + "Connection: close\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
  };
  {
    FakeDaemon fake(dir / "a.sock", canned(500, "internal", "internal error"));
    auto r = RunCommand({kCtl, "--socket", dir / "a.sock", "status"});
    BOOST_TEST(r.exit_code == kServer);
    BOOST_TEST(Contains(r.err, "internal error"));
  }
  {
    FakeDaemon fake(dir / "b.sock", canned(503, "overloaded", "server is busy; retry shortly",
                                           "Retry-After: 1\r\n"));
    auto r = RunCommand({kCtl, "--socket", dir / "b.sock", "issue", "--sub", "u", "--acct", "a"});
    BOOST_TEST(r.exit_code == kServer);
    BOOST_TEST(Contains(r.err, "server is busy; retry shortly (retry after 1s)"), r.err);
  }
  {
    FakeDaemon fake(dir / "c.sock", canned(401, "token_expired", "token has expired"));
    auto r = RunCommand({kCtl, "--socket", dir / "c.sock", "decrypt"}, {}, "x.y.z.w.v");
    BOOST_TEST(r.exit_code == kBadToken);
    BOOST_TEST(Line(r.err) == "instaccessctl: token_expired: token has expired");
  }
  {
    FakeDaemon fake(dir / "d.sock", "");  // never answers
    auto r = RunCommand({kCtl, "--socket", dir / "d.sock", "--timeout", "1s", "status"});
    BOOST_TEST(r.exit_code == kUnreachable);
    BOOST_TEST(Contains(r.err, "no answer"));
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::testing
