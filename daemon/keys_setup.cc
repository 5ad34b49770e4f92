#include "daemon/keys_setup.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "common/posix_error.h"
#include "common/unique_fd.h"
#include "daemon/peer_threads.h"
#include "keystore/pg_keyring.h"
#include "keystore/sqlite_keyring.h"

namespace instaccess::daemon {

keystore::LogFn KeystoreLog() {
  return [](keystore::LogLevel level, std::string_view message) {
    switch (level) {
      case keystore::LogLevel::kDebug:
        spdlog::debug("{}", message);
        break;
      case keystore::LogLevel::kInfo:
        spdlog::info("{}", message);
        break;
      case keystore::LogLevel::kWarning:
        spdlog::warn("{}", message);
        break;
      case keystore::LogLevel::kError:
        spdlog::error("{}", message);
        break;
    }
  };
}

keystore::MasterKeyOptions MasterKeyOptionsFrom(const Config& c) {
  keystore::MasterKeyOptions o;
  if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY")) o.credentials_directory = dir;
  o.configured_file = c.store.master_key_file;
  // A fleet shares one master key that the operator gives every host: never a development key
  // made up by one of them.
  o.embedded_default = c.embedded && c.store.backend != "postgresql";
  // The development key lives beside the store, in the embedded default's ./var.
  o.dev_key_file = (std::filesystem::path(c.store.path).parent_path() / "master.key").string();
  o.store_path = c.store.path;
  o.log = KeystoreLog();
  return o;
}

namespace {

// A password is short; anything longer is not the file we mean.
constexpr std::size_t kMaxPasswordBytes = 1024;

// While the fleet's database cannot be reached at start-up: wait this long first, doubling up
// to the cap, for as long as it takes (systemd's start timeout, or an operator, ends it).
constexpr std::chrono::seconds kFirstRetry{1};
constexpr std::chrono::seconds kMaxRetry{30};

Result<std::string> ReadPasswordFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return PosixError("cannot read the PostgreSQL password file " + path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return PosixError("cannot stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return FailedPrecondition(path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    return PermissionDenied("the PostgreSQL password file " + path +
                            " may be read by others; chmod 600 it");
  }
  std::string out(kMaxPasswordBytes + 1, '\0');
  const ssize_t n = ::read(fd.get(), out.data(), out.size());
  if (n < 0) return PosixError("cannot read " + path, errno);
  if (static_cast<std::size_t>(n) > kMaxPasswordBytes) {
    return InvalidArgument("the PostgreSQL password file " + path + " is longer than 1 KiB");
  }
  out.resize(static_cast<std::size_t>(n));
  if (!out.empty() && out.back() == '\n') out.pop_back();
  if (out.find_first_of("\r\n") != std::string::npos || out.find('\0') != std::string::npos) {
    return InvalidArgument("the PostgreSQL password file " + path + " holds more than one line");
  }
  return out;
}

Result<std::unique_ptr<keystore::StoreKeyring>> OpenPg(const Config& config,
                                                       const keystore::KeyringOptions& base,
                                                       SecretBytes master_key) {
  Result<std::string> password = LoadPgPassword(config);
  if (!password) return password.error();
  keystore::PgKeyringOptions options;
  static_cast<keystore::KeyringOptions&>(options) = base;
  options.store.url = config.store.url;
  options.store.password = std::move(*password);
  options.store.create_if_missing = true;
  std::chrono::seconds wait = kFirstRetry;
  for (;;) {
    auto ring = keystore::OpenPgKeyring(options, SecretBytes::CopyFrom(master_key.reveal_secret()));
    if (ring || ring.error().code() != Code::kUnavailable) return ring;
    spdlog::warn(
        "waiting for the key database ({}); this host makes no keys of its own and starts "
        "once it is reached; next try in {}s",
        ring.error().message(), wait.count());
    std::this_thread::sleep_for(wait);
    wait = std::min(wait * 2, kMaxRetry);
  }
}

}  // namespace

Result<std::string> LoadPgPassword(const Config& config) {
  if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY")) {
    const std::string path = std::string(dir) + "/pg-password";
    if (::access(path.c_str(), F_OK) == 0) return ReadPasswordFile(path);
  }
  if (!config.store.password_file.empty()) return ReadPasswordFile(config.store.password_file);
  return std::string();
}

Result<OpenedKeyring> OpenKeyring(const Config& config, const Clock& clock) {
  auto master = keystore::LoadMasterKey(MasterKeyOptionsFrom(config));
  if (!master) return master.error();

  keystore::KeyringOptions base;
  base.schedule = SchedulePolicyFrom(config);
  base.issuer = config.tokens.issuer;
  base.log = KeystoreLog();
  Result<std::unique_ptr<keystore::StoreKeyring>> keyring = Status(Code::kInternal, "unset");
  if (config.store.backend == "postgresql") {
    keyring = OpenPg(config, base, std::move(master->key));
  } else {
    keystore::SqliteKeyringOptions options;
    static_cast<keystore::KeyringOptions&>(options) = base;
    options.path = config.store.path;
    auto sqlite = keystore::SqliteKeyring::Open(options, std::move(master->key));
    if (!sqlite) return sqlite.error();
    keyring = std::unique_ptr<keystore::StoreKeyring>(std::move(*sqlite));
  }
  if (!keyring) return keyring.error();

  auto applied = (*keyring)->ApplyDue(clock.NowUnix(), "startup");
  if (!applied) return applied.error();
  if (*applied > 0) spdlog::info("applied {} key transition(s) due at start-up", *applied);
  if (Status s = FollowGatewayAtStart(config, **keyring, clock); !s.ok()) return s;
  keystore::Health health = (*keyring)->GetHealth();
  if (!health.ok()) return FailedPrecondition("the key store is not usable: " + health.message);
  return OpenedKeyring{std::move(*keyring), master->source, master->warning};
}

}  // namespace instaccess::daemon
