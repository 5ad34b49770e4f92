// Where the master key comes from (docs/storage.md), first found wins:
//   1. $CREDENTIALS_DIRECTORY/master-key  (systemd LoadCredential= / LoadCredentialEncrypted=)
//   2. store.master_key_file              (a configured file; missing is an error)
//   3. the embedded default only: var/master.key, generated on first use (0600 in a 0700
//      directory) with a loud warning, because a key next to the store protects nothing
//      against anyone who can read the directory.
// Any file whose length is not exactly 32 bytes is refused: a passphrase, a hex or base64 text
// or a truncated copy would otherwise become a weak or wrong key.
//
// Thread-safety: a free function; safe to call from any thread.
#pragma once

#include <string>

#include "common/secret_bytes.h"
#include "common/status.h"
#include "keystore/log.h"

namespace instaccess::keystore {

struct MasterKeyOptions {
  // The value of $CREDENTIALS_DIRECTORY (empty: not set). Passed in rather than read here so
  // tests need not touch the process environment; the daemon passes getenv's result.
  std::string credentials_directory;
  // store.master_key_file; empty when not configured.
  std::string configured_file;
  // True only when the daemon runs on its embedded default configuration: then, and only then,
  // a development key may be generated.
  bool embedded_default = false;
  // Where the development key lives (the embedded default keeps its state in ./var/,
  // docs/config.md).
  std::string dev_key_file = "var/master.key";
  // The key store the key is for. A development key is generated only while no store exists:
  // a store without its key was sealed under a key that is gone, and a new one would not open it.
  std::string store_path;
  // Receives the loud warning about a development key, and permission warnings.
  LogFn log;
};

struct MasterKey {
  SecretBytes key;     // 32 bytes
  std::string source;  // "credential <path>", "file <path>", "development key <path>"
  // Non-empty when the operator should act (development key in use, loose permissions); the
  // daemon shows it in /api/v1/status as well as logging it.
  std::string warning;
};

Result<MasterKey> LoadMasterKey(const MasterKeyOptions& options);

// Reads one master key file: exactly 32 bytes, else a clear error naming the file and length.
Result<SecretBytes> ReadMasterKeyFile(const std::string& path);

// Writes a new random master key to `path` (0600, O_EXCL: never replaces a file), fsynced.
// Used for the development key and by `instaccessd rekey` tooling/tests.
Status WriteNewMasterKeyFile(const std::string& path, const SecretBytes& key);

}  // namespace instaccess::keystore
