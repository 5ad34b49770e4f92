// The daemon's configuration: every key of docs/config.md, each with a default.
//
// Two sets of defaults: the embedded default (no --config; state under ./var, dev master key
// allowed) and the system default (--config given; paths under /run and /var/lib). A TOML file
// overrides any subset. An unknown key, a wrong type or a bad value is an error that names the
// key and its line.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/service_options.h"
#include "common/status.h"
#include "peers/peer_config.h"

namespace instaccess::daemon {

using Seconds = std::chrono::seconds;

struct RotationConfig {
  std::string alg;
  std::string content;  // enc only: the content encryption of issued tokens
  int bits = 2048;      // RSA-2048 is what Canvas uses; 3072/4096 cost 3-8x per token
  Seconds period{0};
  Seconds prepublish{Seconds(3600)};  // verifiers fetch JWKS at least hourly

  bool operator==(const RotationConfig&) const = default;
};

struct Config {
  struct Daemon {
    std::string socket;
    mode_t socket_mode = 0660;  // owner and the clients' group only
    std::string socket_group;   // empty: keep the daemon's group (systemd's socket unit sets one)
    int workers = 0;            // 0 = one per core: the RSA work is CPU-bound
    std::string log_level = "info";
    bool operator==(const Daemon&) const = default;
  } daemon;
  struct Store {
    // "sqlite" (one host, the file at `path`) or "postgresql" (a fleet shares the database at
    // `url`; docs/operations.md, "A fleet on PostgreSQL").
    std::string backend = "sqlite";
    std::string path;
    std::string master_key_file;  // empty: credential dir only (or the dev key when embedded)
    // postgresql: a libpq URI without a password; the password comes from the credential
    // "pg-password" ($CREDENTIALS_DIRECTORY) or password_file (none: peer or certificate auth).
    std::string url;
    std::string password_file;
    // postgresql: how often a host re-reads the keyring for other hosts' changes. Each change
    // also notifies the others at once; this bounds how late a missed hint is made up for.
    Seconds poll{30};
    bool operator==(const Store&) const = default;
  } store;
  api::TokenSettings tokens;
  RotationConfig rotation_sig{"RS256", "", 2048, Seconds(24 * 3600), Seconds(3600)};
  RotationConfig rotation_enc{"RSA-OAEP", "A128CBC-HS256", 2048, Seconds(7 * 24 * 3600),
                              Seconds(3600)};
  struct Cache {
    // About 50 MB full with Canvas-sized answers, 120 MB at worst (answers over 1,000 bytes are
    // not kept); gateways repeat the same tokens.
    std::size_t entries = 100000;
    bool operator==(const Cache&) const = default;
  } cache;
  struct Access {
    std::vector<std::string> issue, decrypt, admin, read;
    bool operator==(const Access&) const = default;
  } access;
  struct Limits {
    std::size_t max_body = 64 * 1024;
    std::size_t max_header = 8 * 1024;
    std::size_t max_token = 16 * 1024;
    std::size_t max_connections = 1024;
    // Per uid (root and the daemon's own user are not bounded per uid): one local user can never
    // take the connections that issuers and gateways need. A gateway with many keep-alive
    // connections (nginx `keepalive` per worker) gets a higher value.
    std::size_t max_connections_per_uid = 64;
    Seconds read_timeout{10};
    Seconds idle_timeout{60};
    bool operator==(const Limits&) const = default;
  } limits;
  // [[peers]]: parties whose JWKS this daemon follows (peers/peer_config.h). Names are unique;
  // at most one has use "enc" (new tokens are encrypted to one party's key).
  std::vector<peers::PeerConfig> peers;

  bool embedded = true;  // no --config: the embedded default

  // Every key compared (tests/daemon/shipped_config_test.cc: the shipped file is the defaults).
  bool operator==(const Config&) const = default;
};

// The defaults alone. embedded: state under ./var; otherwise the system paths.
Config DefaultConfig(bool embedded);

// Parses TOML text over the defaults. `source` names the text in messages ("FILE:LINE: ...").
// Two defaults follow what the file sets: tokens.accepted_issuers, when not set, is
// [tokens.issuer]; tokens.default_ttl, when not set, is at most tokens.max_lifetime (a
// default_ttl that is set and exceeds max_lifetime is an error).
Result<Config> ParseConfig(std::string_view toml_text, std::string_view source, bool embedded);

// Reads and parses a file.
Result<Config> LoadConfigFile(const std::string& path, bool embedded);

// "90s", "15m", "24h", "7d", or combined "1h30m". Positive, at most ten years.
Result<Seconds> ParseDuration(std::string_view text);
// "65536", "64KiB", "1MiB", "1GiB".
Result<std::size_t> ParseSize(std::string_view text);

// The keyring's schedule: [rotation.sig], [rotation.enc] and the token lifetimes.
keystore::SchedulePolicy SchedulePolicyFrom(const Config& config);
// What the request layer (api/) needs of the configuration.
api::ServiceOptions ServiceOptionsFrom(const Config& config);

}  // namespace instaccess::daemon
