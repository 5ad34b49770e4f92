// libFuzzer target over the token parser and decryptor: OpenToken with fixed test keys (keys/),
// plus the strict base64url and JSON layers on their own.
//
// Invariants checked beyond "no crash, no sanitizer report":
//   - OpenToken's only failures are the three documented token errors;
//   - base64url decoding is canonical: whatever decodes re-encodes to the same text.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "jose/base64url.h"
#include "jose/json_strict.h"
#include "jose/token.h"

namespace {

using instaccess::jose::Alg;
using instaccess::jose::RsaKey;

// The seeds were issued at this instant with a one-hour lifetime, so they stay valid here.
constexpr std::int64_t kNow = 1'700'000'000;

RsaKey Load(const char* name, Alg alg) {
  std::ifstream in(std::string(INSTACCESS_FUZZ_KEYS_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  auto key = RsaKey::FromPem(ss.str(), alg);
  if (!key) std::abort();
  return *key;
}

const instaccess::jose::KeyCandidates& Keys() {
  static const std::vector<RsaKey> sig{Load("rs256.pem", Alg::kRS256),
                                       Load("ps256.pem", Alg::kPS256)};
  static const std::vector<RsaKey> enc{Load("rsa_oaep.pem", Alg::kRsaOaep),
                                       Load("rsa_oaep_256.pem", Alg::kRsaOaep256),
                                       Load("rsa1_5.pem", Alg::kRsa1_5)};
  static const std::vector<instaccess::jose::SignerBounds> bounds(
      sig.size(),
      instaccess::jose::SignerBounds{{std::string(instaccess::jose::kDefaultIssuer)}, 3600});
  static const instaccess::jose::KeyCandidates keys{sig, enc, bounds};
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Keys();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  instaccess::jose::ClaimPolicy policy;
  policy.accept_unencrypted = true;
  auto opened = instaccess::jose::OpenToken(input, Keys(), policy, kNow);
  if (!opened && !instaccess::jose::TokenErrorOf(opened.error()).has_value()) std::abort();

  auto decoded = instaccess::jose::Base64UrlDecode(input);
  if (decoded && instaccess::jose::Base64UrlEncode(*decoded) != input) std::abort();
  // The secret decoder computes what the plain one looks up: same verdict, same bytes.
  auto secret = instaccess::jose::Base64UrlDecodeSecret(input);
  if (decoded.has_value() != secret.has_value()) std::abort();
  if (decoded && secret->reveal_secret_as_string() != *decoded) std::abort();

  auto json = instaccess::jose::ParseStrictJsonObject(input);
  if (json && !json->is_object()) std::abort();
  return 0;
}
