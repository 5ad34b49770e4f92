#include "keystore/master_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "common/posix_error.h"
#include "common/unique_fd.h"
#include "keystore/seal.h"

namespace instaccess::keystore {

namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Parent directories made 0700: the key file's directory must not be listable by others.
Status MakeParentDirs(const std::string& file) {
  std::filesystem::path parent = std::filesystem::path(file).parent_path();
  if (parent.empty()) return Status::Ok();
  std::filesystem::path so_far;
  for (const auto& part : parent) {
    so_far /= part;
    if (::mkdir(so_far.c_str(), 0700) != 0 && errno != EEXIST) {
      return PosixError("cannot create directory " + so_far.string() + " for the master key",
                        errno);
    }
  }
  return Status::Ok();
}

std::string LoosePermissionWarning(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return {};
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return "master key file " + path + " has mode " + mode +
           "; it should be readable by the daemon's user only (chmod 0600)";
  }
  return {};
}

void Log(const LogFn& log, LogLevel level, const std::string& msg) {
  if (log && !msg.empty()) log(level, msg);
}

}  // namespace

Result<SecretBytes> ReadMasterKeyFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return PosixError("cannot open master key file " + path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return PosixError("cannot stat master key file " + path, errno);
  if (!S_ISREG(st.st_mode) || st.st_size != static_cast<off_t>(kMasterKeyBytes)) {
    return InvalidArgument("master key file " + path + " is " + std::to_string(st.st_size) +
                           " bytes; it must hold exactly 32 raw random bytes (for example "
                           "`head -c 32 /dev/urandom > FILE`), not a passphrase or hex text");
  }
  SecretBytes key(kMasterKeyBytes);
  std::size_t got = 0;
  while (got < kMasterKeyBytes) {
    ssize_t n = ::read(fd.get(), key.reveal_secret().data() + got, kMasterKeyBytes - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return PosixError("cannot read master key file " + path, n < 0 ? errno : EIO);
    got += static_cast<std::size_t>(n);
  }
  // One more byte means the file grew since fstat: refuse rather than use a prefix.
  char extra;
  ssize_t n = ::read(fd.get(), &extra, 1);
  if (n != 0) {
    return InvalidArgument("master key file " + path +
                           " is longer than 32 bytes; it must hold exactly 32 raw bytes");
  }
  return key;
}

Status WriteNewMasterKeyFile(const std::string& path, const SecretBytes& key) {
  if (key.size() != kMasterKeyBytes) return InvalidArgument("master key must be 32 bytes");
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return PosixError("cannot create master key file " + path, errno);
  // A file that did not get the whole key is removed: the next start must not read a prefix.
  auto fail = [&](std::string_view what, int err) {
    fd.Close();
    ::unlink(path.c_str());
    return PosixError(std::string(what) + " master key file " + path, err);
  };
  std::size_t done = 0;
  auto bytes = key.reveal_secret();
  while (done < bytes.size()) {
    ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("cannot write", errno);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("cannot sync", errno);
  fd.Close();
  // The new name must survive a crash too.
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  UniqueFd dir(::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.valid()) ::fsync(dir.get());
  return Status::Ok();
}

Result<MasterKey> LoadMasterKey(const MasterKeyOptions& options) {
  if (!options.credentials_directory.empty()) {
    std::string path = options.credentials_directory + "/master-key";
    if (Exists(path)) {
      Result<SecretBytes> key = ReadMasterKeyFile(path);
      if (!key) return key.error();
      return MasterKey{std::move(*key), "credential " + path, ""};
    }
  }
  if (!options.configured_file.empty()) {
    Result<SecretBytes> key = ReadMasterKeyFile(options.configured_file);
    if (!key) {
      if (key.error().code() == Code::kNotFound) {
        return NotFound("master key file " + options.configured_file +
                        " (store.master_key_file) does not exist");
      }
      return key.error();
    }
    std::string warning = LoosePermissionWarning(options.configured_file);
    Log(options.log, LogLevel::kWarning, warning);
    return MasterKey{std::move(*key), "file " + options.configured_file, warning};
  }
  if (!options.embedded_default && !options.credentials_directory.empty()) {
    // Under systemd: the unit has credentials, but not this one.
    return FailedPrecondition("no master key: the systemd credential \"master-key\" is not in " +
                              options.credentials_directory +
                              " and store.master_key_file is not set: give the unit "
                              "LoadCredentialEncrypted=master-key:FILE, FILE made with "
                              "systemd-creds encrypt --name=master-key");
  }
  if (!options.embedded_default) {
    return FailedPrecondition(
        "no master key: set store.master_key_file or provide the systemd credential "
        "\"master-key\" (LoadCredential= or LoadCredentialEncrypted=)");
  }
  const std::string& path = options.dev_key_file;
  std::string warning =
      "USING A DEVELOPMENT MASTER KEY (" + path +
      "), stored next to the key store: anyone who can read it can unseal every private key. "
      "For production set store.master_key_file or use systemd LoadCredentialEncrypted=.";
  if (!Exists(path)) {
    if (!options.store_path.empty() && Exists(options.store_path)) {
      return NotFound("the development master key " + path + " is missing, but the key store " +
                      options.store_path +
                      " exists and was sealed under it: put the key back "
                      "(or restore both from a backup); no new key was generated");
    }
    INSTACCESS_RETURN_IF_ERROR(MakeParentDirs(path));
    SecretBytes fresh = SecretBytes::Random(kMasterKeyBytes);
    INSTACCESS_RETURN_IF_ERROR(WriteNewMasterKeyFile(path, fresh));
    warning = "GENERATED A NEW " + warning;
  }
  Result<SecretBytes> key = ReadMasterKeyFile(path);
  if (!key) return key.error();
  Log(options.log, LogLevel::kWarning, warning);
  return MasterKey{std::move(*key), "development key " + path, warning};
}

}  // namespace instaccess::keystore
