// RSA keys for the peers suites, made once per process (key generation would otherwise be most
// of the run time), and JWKS documents made of them.
#pragma once

#include <boost/test/unit_test.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "jose/rsa_key.h"

namespace instaccess::peers::testkeys {

// The i-th RSA-2048 key of the pool, bound to `alg` and named kid-<i>.
inline jose::RsaKey PoolKey(std::size_t i, jose::Alg alg) {
  static std::mutex mu;
  static std::vector<jose::RsaKey> pool;
  std::scoped_lock lock(mu);
  while (pool.size() <= i) {
    auto key = jose::RsaKey::Generate(2048, jose::Alg::kRS256);
    BOOST_REQUIRE(key.has_value());
    pool.push_back(*key);
  }
  auto der = pool[i].PublicSpkiDer();
  auto rebound = jose::RsaKey::FromPublicDer(der, alg, "kid-" + std::to_string(i));
  BOOST_REQUIRE(rebound.has_value());
  return *rebound;
}

inline nlohmann::json PoolJwk(std::size_t i, jose::Alg alg) { return PoolKey(i, alg).PublicJwk(); }

inline std::string Jwks(const std::vector<nlohmann::json>& keys) {
  return nlohmann::json{{"keys", keys}}.dump();
}

}  // namespace instaccess::peers::testkeys
