#include "daemon/config_check.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "common/posix_error.h"
#include "common/unique_fd.h"
#include "daemon/keys_setup.h"
#include "ipc/access.h"
#include "ipc/accounts.h"

namespace instaccess::daemon {

namespace {

constexpr off_t kMasterKeyBytes = 32;

std::string Octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// "uid 1001 (alice)", or "uid 1001" when the uid has no name.
std::string UidText(uid_t uid) {
  std::string s = "uid " + std::to_string(uid);
  if (std::string name = ipc::LookUpUserName(uid); !name.empty()) s += " (" + name + ")";
  return s;
}

std::string Me() { return UidText(geteuid()); }

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Whether the effective user may access `path` as `mode` (R_OK, W_OK, X_OK).
bool MayAccess(const std::string& path, int mode) {
  return ::faccessat(AT_FDCWD, path.c_str(), mode, AT_EACCESS) == 0;
}

// A master key file: readable by us and exactly 32 bytes. The key itself is not read.
std::string CheckKeyFile(const std::string& what, const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) {
    const int err = errno;
    if (err == ENOENT) {
      return what + ": " + path +
             " does not exist: write 32 random bytes to it (umask 077; head -c 32 /dev/urandom > " +
             path + ")";
    }
    return what + ": cannot read " + path + " as " + Me() + ": " + ErrnoText(err) +
           ": make it readable by the daemon's user only (chown that user, chmod 0600)";
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return what + ": cannot stat " + path + ": " + ErrnoText(errno);
  if (!S_ISREG(st.st_mode) || st.st_size != kMasterKeyBytes) {
    return what + ": " + path + " is " + std::to_string(st.st_size) +
           " bytes; it must hold exactly 32 raw random bytes (head -c 32 /dev/urandom > FILE), "
           "not a passphrase or hex text";
  }
  return {};
}

// The master key the daemon would load, in keystore::LoadMasterKey's order.
std::string CheckMasterKey(const Config& config, const std::string& credentials_directory) {
  if (!credentials_directory.empty()) {
    const std::string credential = credentials_directory + "/master-key";
    if (Exists(credential)) return CheckKeyFile("master key (systemd credential)", credential);
  }
  if (!config.store.master_key_file.empty()) {
    return CheckKeyFile("store.master_key_file", config.store.master_key_file);
  }
  if (!config.embedded || config.store.backend == "postgresql") {
    return "store.master_key_file: no master key: the key is not set and there is no "
           "$CREDENTIALS_DIRECTORY/master-key; set store.master_key_file, or run the "
           "check with the service's credential (systemd-run -p "
           "LoadCredentialEncrypted=master-key:FILE, docs/operations.md)";
  }
  const std::string dev_key =
      (std::filesystem::path(config.store.path).parent_path() / "master.key").string();
  if (Exists(dev_key)) return CheckKeyFile("master key (development key)", dev_key);
  if (Exists(config.store.path)) {
    return "master key (development key): " + dev_key + " is missing, but the key store " +
           config.store.path +
           " exists and was sealed under it: put the key back (or restore both from a backup)";
  }
  return {};  // made at the first start, beside a new store
}

// The store's directory (SQLite makes its journal and lock files there) and the store itself.
std::string CheckStore(const Config& config) {
  namespace fs = std::filesystem;
  const fs::path store(config.store.path);
  const std::string dir = store.has_parent_path() ? store.parent_path().string() : ".";
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    const int err = errno;
    if (err != ENOENT) {
      return "store.path: cannot look at the directory " + dir + ": " + ErrnoText(err);
    }
    if (!config.embedded) {
      return "store.path: the directory " + dir +
             " does not exist: create it for the daemon's user, mode 0700 (systemd-tmpfiles "
             "--create makes /var/lib/instaccessd)";
    }
    // The embedded default makes its state directory: the nearest existing ancestor must let it.
    fs::path ancestor = fs::path(dir).parent_path();
    while (!ancestor.empty() && !Exists(ancestor.string())) ancestor = ancestor.parent_path();
    const std::string where = ancestor.empty() ? "." : ancestor.string();
    if (!MayAccess(where, W_OK | X_OK)) {
      return "store.path: the directory " + dir + " does not exist and " + Me() +
             " cannot create it (" + where + " is not writable): create it, mode 0700";
    }
    return {};
  }
  if (!S_ISDIR(st.st_mode)) return "store.path: " + dir + " is not a directory";
  if (!MayAccess(dir, W_OK | X_OK)) {
    return "store.path: the directory " + dir + " is not writable by " + Me() +
           " (the store, its journal and its lock are made there): give it to the daemon's user "
           "(chown USER " +
           dir + "; chmod 0700 " + dir + ")";
  }
  if (Exists(config.store.path) && !MayAccess(config.store.path, R_OK | W_OK)) {
    return "store.path: " + config.store.path + " is not readable and writable by " + Me() +
           ": give it to the daemon's user (chown USER " + config.store.path + ")";
  }
  return {};
}

// [[peers]]: each ca_file readable by us (the fetch would fail on every attempt otherwise).
void CheckPeers(const Config& config, std::vector<std::string>* problems) {
  for (std::size_t i = 0; i < config.peers.size(); ++i) {
    const peers::PeerConfig& peer = config.peers[i];
    if (peer.ca_file.empty() || MayAccess(peer.ca_file, R_OK)) continue;
    const int err = errno;
    problems->push_back("peers[" + std::to_string(i) + "].ca_file: cannot read " + peer.ca_file +
                        " as " + Me() + ": " + ErrnoText(err) +
                        ": give it the PEM CA that signed peer " + peer.name + "'s certificate");
  }
}

}  // namespace

Result<Config> LoadTrustedConfigFile(const std::string& path, bool embedded) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) return PosixError("cannot read config file " + path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return PosixError("cannot stat config file " + path, errno);
  if (!S_ISREG(st.st_mode)) return FailedPrecondition("config file " + path + " is not a file");
  if ((st.st_mode & 022) != 0) {
    return FailedPrecondition("config file " + path + " has mode " + Octal(st.st_mode) +
                              ": group or others may write it, and whoever writes it decides "
                              "who may issue and decrypt tokens; run chmod go-w " +
                              path);
  }
  if (st.st_uid != 0 && st.st_uid != geteuid()) {
    return FailedPrecondition("config file " + path + " is owned by " + UidText(st.st_uid) +
                              ", neither root nor the user instaccessd runs as (" + Me() +
                              "): run chown root " + path);
  }
  std::string text;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PosixError("cannot read config file " + path, errno);
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return ParseConfig(text, path, embedded);
}

std::vector<std::string> CheckHost(const Config& config, const std::string& credentials_directory) {
  std::vector<std::string> problems;
  std::vector<std::string> unknown;
  const Config::Access& a = config.access;
  ipc::AccessPolicy::Build({a.issue, a.decrypt, a.admin, a.read}, geteuid(), &unknown);
  for (const std::string& u : unknown) {
    problems.push_back(u + ": create it, or remove the entry (it would grant nothing)");
  }
  if (std::string p = CheckMasterKey(config, credentials_directory); !p.empty()) {
    problems.push_back(std::move(p));
  }
  if (config.store.backend == "postgresql") {
    // The database itself is not reached here (it may be down while a host is set up); its
    // password source is checked as the daemon reads it.
    Result<std::string> password = LoadPgPassword(config);
    if (!password) problems.push_back("store.password_file: " + password.error().message());
    return problems;
  }
  if (std::string p = CheckStore(config); !p.empty()) problems.push_back(std::move(p));
  CheckPeers(config, &problems);
  return problems;
}

}  // namespace instaccess::daemon
