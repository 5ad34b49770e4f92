// What every fuzz target shares: the fixed "now", the test keys of keys/, and files of this
// directory (INSTACCESS_FUZZ_DIR, set by CMake).
#pragma once

#include <cstdint>
#include <string>

#include "jose/rsa_key.h"
#include "jose/token.h"

namespace instaccess::fuzz {

// The fixed "now" of every target: the seed tokens were issued at this instant with a one-hour
// lifetime (make_corpus.sh), so they stay valid here.
inline constexpr std::int64_t kFuzzNow = 1'700'000'000;

// A whole file of tests/fuzz/; aborts when it cannot be read.
std::string ReadFuzzFile(const std::string& path);

// The test key keys/<file> bound to `alg`; aborts when it cannot be read.
jose::RsaKey LoadTestKey(const std::string& file, jose::Alg alg);

// Every test key as OpenToken's candidates: rs256.pem (RS256) and ps256.pem (PS256) verify, each
// for the default issuer and one hour; rsa_oaep.pem (RSA-OAEP), rsa_oaep_256.pem (RSA-OAEP-256)
// and rsa1_5.pem (RSA1_5) decrypt. Made on first use, kept for the process.
const jose::KeyCandidates& TestKeys();

}  // namespace instaccess::fuzz
