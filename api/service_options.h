// What the request layer needs to know of the configuration: the [tokens] policy, the
// algorithms and schedule keys are made under, and the bounds of the decrypt path. The daemon
// fills it from its Config (daemon/config.h); tests fill it directly.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "keystore/schedule.h"

namespace instaccess::api {

// [tokens]: what issued tokens carry and what a decrypted token must satisfy (docs/tokens.md).
struct TokenSettings {
  std::string issuer = "instructure:inst_access";
  std::vector<std::string> accepted_issuers = {"instructure:inst_access"};
  std::vector<std::string> required_claims = {"sub", "acct"};  // as Canvas requires
  std::chrono::seconds default_ttl{3600};
  std::chrono::seconds max_lifetime{3600};  // Canvas's tokens live one hour
  std::chrono::seconds clock_skew{60};
  bool include_kid = true;  // false: exactly Canvas's header shape (no kid, no cty)
  bool allow_unencrypted = false;
  bool accept_unencrypted = false;

  bool operator==(const TokenSettings&) const = default;
};

struct ServiceOptions {
  TokenSettings tokens;
  // The keyring's schedule: the alg of each purpose (the default alg of an import) and the
  // period and prepublish that status uses to say when the next rotation comes.
  keystore::SchedulePolicy schedule;
  // [rotation.enc] content: the content encryption of issued tokens.
  std::string content_enc = "A128CBC-HS256";
  // [cache] entries: about 50 MB full with Canvas-sized answers.
  std::size_t cache_entries = 100000;
  // [limits] max_token: a longer token is refused before any work.
  std::size_t max_token = 16 * 1024;
  // [store] path: shown in status; the online backup is written beside it, then read back.
  std::string store_path;
};

}  // namespace instaccess::api
