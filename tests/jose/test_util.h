// Helpers shared by the jose suites: vector files and hex.
#pragma once

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace instaccess::jose::testing {

inline nlohmann::json LoadVector(const std::string& name) {
  std::ifstream in(std::string(INSTACCESS_VECTORS_DIR) + "/" + name);
  if (!in) throw std::runtime_error("cannot open vector " + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

inline std::string FromHex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

inline std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

}  // namespace instaccess::jose::testing

#include "jose/rsa_key.h"

namespace instaccess::jose::testing {

// Keys generated once per test process (RSA generation is the slow part of these suites).
struct TestKeys {
  RsaKey rs256, rs256_other, ps256;
  RsaKey oaep, oaep_other, oaep256, rsa1_5;
};

inline const TestKeys& Keys() {
  static const TestKeys keys = [] {
    auto gen = [](Alg alg) {
      auto k = RsaKey::Generate(2048, alg);
      if (!k) throw std::runtime_error("keygen: " + k.error().ToString());
      return *k;
    };
    return TestKeys{gen(Alg::kRS256),   gen(Alg::kRS256),      gen(Alg::kPS256), gen(Alg::kRsaOaep),
                    gen(Alg::kRsaOaep), gen(Alg::kRsaOaep256), gen(Alg::kRsa1_5)};
  }();
  return keys;
}

}  // namespace instaccess::jose::testing
