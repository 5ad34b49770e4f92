// jose_tool: the token library on the command line, for the interop scripts (not installed).
//
//   jose_tool issue --sig KEY.pem:ALG [--enc KEY.pem:ALG] [--content A128CBC-HS256|A256GCM]
//                   [--canvas] [--no-encrypt] [--claims JSON] [--issuer ISS] [--now T] [--ttl S]
//       prints the token. Claims get iss/jti/iat/exp from BuildStandardClaims.
//   jose_tool open  --sig KEY.pem:ALG... --enc KEY.pem:ALG... [--accept-unencrypted]
//                   [--now T] [--required a,b]   (token on stdin)
//       prints {"claims":...,"sig_kid":...,"enc_kid":...}; on failure prints the error code
//       (invalid_token, ...) to stdout, the internal reason to stderr, and exits 1.
// Repeat --sig/--enc to give several candidates (newest first). --now defaults to the wall clock.
#include <cstdint>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "jose/token.h"

namespace {

using instaccess::jose::Alg;
using instaccess::jose::RsaKey;

[[noreturn]] void Die(const std::string& msg) {
  std::cerr << "jose_tool: " << msg << "\n";
  std::exit(2);
}

RsaKey LoadKey(const std::string& spec) {
  auto colon = spec.rfind(':');
  if (colon == std::string::npos) Die("key spec must be FILE:ALG: " + spec);
  std::ifstream in(spec.substr(0, colon));
  if (!in) Die("cannot read " + spec.substr(0, colon));
  std::stringstream ss;
  ss << in.rdbuf();
  auto alg = instaccess::jose::ParseAlg(spec.substr(colon + 1));
  if (!alg) Die(alg.error().ToString());
  auto key = RsaKey::FromPem(ss.str(), *alg);
  if (!key) Die(spec + ": " + key.error().ToString());
  return *key;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Die("usage: jose_tool issue|open [options]");
  const std::string cmd = argv[1];
  std::vector<RsaKey> sig, enc;
  instaccess::jose::IssueOptions issue;
  instaccess::jose::ClaimPolicy policy;
  nlohmann::json claims = {{"sub", "interop-user"}, {"acct", "interop-acct"}};
  std::string issuer(instaccess::jose::kDefaultIssuer);
  std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  std::int64_t ttl = 3600;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--sig") {
      sig.push_back(LoadKey(next()));
    } else if (a == "--enc") {
      enc.push_back(LoadKey(next()));
    } else if (a == "--content") {
      auto c = instaccess::jose::ParseContentEnc(next());
      if (!c) Die("bad --content");
      issue.content_enc = *c;
    } else if (a == "--canvas") {
      issue.include_kid = false;
      issue.include_cty = false;
    } else if (a == "--no-encrypt") {
      issue.encrypt = false;
    } else if (a == "--claims") {
      claims = nlohmann::json::parse(next(), nullptr, false);
      if (claims.is_discarded()) Die("bad --claims JSON");
    } else if (a == "--issuer") {
      issuer = next();
    } else if (a == "--now") {
      now = std::stoll(next());
    } else if (a == "--ttl") {
      ttl = std::stoll(next());
    } else if (a == "--accept-unencrypted") {
      policy.accept_unencrypted = true;
    } else if (a == "--required") {
      policy.required_claims.clear();
      std::stringstream list(next());
      for (std::string item; std::getline(list, item, ',');) {
        if (!item.empty()) policy.required_claims.push_back(item);
      }
    } else {
      Die("unknown option " + a);
    }
  }

  if (cmd == "issue") {
    if (sig.size() != 1 || (issue.encrypt && enc.size() != 1)) Die("issue needs one --sig/--enc");
    auto full = instaccess::jose::BuildStandardClaims(claims, issuer, now, ttl);
    if (!full) Die(full.error().ToString());
    auto token =
        instaccess::jose::IssueToken(*full, sig[0], issue.encrypt ? enc[0] : sig[0], issue);
    if (!token) Die(token.error().ToString());
    std::cout << *token << "\n";
    return 0;
  }
  if (cmd == "open") {
    std::string token;
    std::getline(std::cin, token);
    std::string detail;
    // Every key vouches for the accepted issuers and any lifetime this tool issues (a day).
    const std::vector<instaccess::jose::SignerBounds> bounds(
        sig.size(), instaccess::jose::SignerBounds{policy.accepted_issuers, 24 * 3600});
    auto opened = instaccess::jose::OpenToken(token, {sig, enc, bounds}, policy, now, &detail);
    if (!opened) {
      std::cout << opened.error().message() << "\n";
      std::cerr << "reason: " << detail << "\n";
      return 1;
    }
    nlohmann::json out = {
        {"claims", opened->claims}, {"sig_kid", opened->sig_kid}, {"enc_kid", opened->enc_kid}};
    std::cout << out.dump() << "\n";
    return 0;
  }
  Die("unknown command " + cmd);
}
