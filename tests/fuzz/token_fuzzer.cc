// libFuzzer target over the token parser and decryptor: OpenToken with the test keys (keys/),
// plus the strict base64url and JSON layers on their own.
//
// Invariants checked beyond "no crash, no sanitizer report":
//   - OpenToken's only failures are the three documented token errors;
//   - base64url decoding is canonical: whatever decodes re-encodes to the same text.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "jose/base64url.h"
#include "jose/json_strict.h"
#include "jose/token.h"
#include "tests/fuzz/fuzz_files.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  instaccess::fuzz::TestKeys();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  instaccess::jose::ClaimPolicy policy;
  policy.accept_unencrypted = true;
  auto opened = instaccess::jose::OpenToken(input, instaccess::fuzz::TestKeys(), policy,
                                            instaccess::fuzz::kFuzzNow);
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
