#include "tests/fuzz/fuzz_files.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace instaccess::fuzz {

std::string ReadFuzzFile(const std::string& path) {
  std::ifstream in(std::string(INSTACCESS_FUZZ_DIR) + "/" + path, std::ios::binary);
  if (!in) std::abort();
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

jose::RsaKey LoadTestKey(const std::string& file, jose::Alg alg) {
  auto key = jose::RsaKey::FromPem(ReadFuzzFile("keys/" + file), alg);
  if (!key) std::abort();
  return *key;
}

const jose::KeyCandidates& TestKeys() {
  using jose::Alg;
  static const std::vector<jose::RsaKey> sig{LoadTestKey("rs256.pem", Alg::kRS256),
                                             LoadTestKey("ps256.pem", Alg::kPS256)};
  static const std::vector<jose::RsaKey> enc{LoadTestKey("rsa_oaep.pem", Alg::kRsaOaep),
                                             LoadTestKey("rsa_oaep_256.pem", Alg::kRsaOaep256),
                                             LoadTestKey("rsa1_5.pem", Alg::kRsa1_5)};
  static const std::vector<jose::SignerBounds> bounds(
      sig.size(), jose::SignerBounds{{std::string(jose::kDefaultIssuer)}, 3600});
  static const jose::KeyCandidates keys{sig, enc, bounds};
  return keys;
}

}  // namespace instaccess::fuzz
