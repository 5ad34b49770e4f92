// instaccessd: command line in, exit code out. Everything else lives in the daemon library.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "daemon/config.h"
#include "daemon/config_check.h"
#include "daemon/daemon.h"
#include "daemon/logging.h"
#include "daemon/offline.h"

namespace {

constexpr const char* kFooter = R"(
Without --config, instaccessd runs the embedded default: settings from ./instaccessd.toml if
present, state in ./var (socket var/instaccessd.sock, store var/keys.db). A configuration file
that group or others may write, or that belongs to a user other than root and the one running
instaccessd, is refused.

--check-config also checks the host for the user running it (run it as the daemon's user, with
its master key credential): users and groups named in [access] exist, the master key is
readable and exactly 32 bytes, the store's directory exists (or, for the embedded default, can
be made) and is writable.

Offline commands (stop the daemon first):
  instaccessd rekey --new-key FILE   re-seal every private key under a new 32-byte master key
  instaccessd migrate --to URL|PATH  copy the store into a new PostgreSQL database or SQLite file
                                     (every key and audit row, MACs checked at both ends)
  instaccessd restore BACKUP         replace the store with a backup (GET /api/v1/backup); a
                                     backup that fails its integrity checks is refused, and one
                                     that brings back revoked keys needs --allow-unrevoke
Run them as the daemon's user (docs/operations.md shows systemd-run with its credential) or as
root: the files they make take the store's owner, group and mode. restore keeps the store it
replaces as STORE.replaced-<unix time> (then -2, -3, ... for more restores in that second).

The master key: $CREDENTIALS_DIRECTORY/master-key (systemd LoadCredentialEncrypted=, the file
made with systemd-creds encrypt --name=master-key), else the file store.master_key_file names;
the embedded default alone makes a development key, var/master.key.

The daemon logs to stderr, each line with a UTC timestamp and its level. When JOURNAL_STREAM
names stderr (systemd connected it to the journal), every line it and the offline commands
write starts instead with the priority journald reads: <2> crit, <3> err, <4> warning,
<6> info, <7> debug.

Exit codes: 0 ok, 1 start-up or run-time failure, 2 key store or master key unusable (missing,
not 32 bytes, or not the store's; nothing was changed), 64 bad command line, 78 bad
configuration.
Signals: SIGTERM/SIGINT drain and exit 0; SIGHUP re-reads the configuration.
Configuration reference: docs/config.md.)";

}  // namespace

int main(int argc, char** argv) {
  using namespace instaccess::daemon;
  CLI::App app{"instaccessd: host-local key vault and InstAccess token service"};
  app.footer(kFooter);
  std::string config_path;
  bool check_config = false;
  app.add_option("-c,--config", config_path, "Configuration file (TOML)")->check(CLI::ExistingFile);
  app.add_flag("--check-config", check_config,
               "Validate the configuration and what it names on this host, and exit");
  app.set_version_flag("--version", std::string("instaccessd ") + INSTACCESS_VERSION);
  std::string new_key_file, backup_file;
  CLI::App* rekey = app.add_subcommand("rekey", "Re-seal every private key under a new master key");
  rekey->add_option("--new-key", new_key_file, "File with the new 32-byte master key")
      ->required()
      ->check(CLI::ExistingFile);
  CLI::App* restore = app.add_subcommand("restore", "Replace the key store with a backup");
  restore->add_option("backup", backup_file, "Backup file taken with GET /api/v1/backup")
      ->required()
      ->check(CLI::ExistingFile);
  std::string migrate_target;
  CLI::App* migrate =
      app.add_subcommand("migrate", "Copy the key store into a new PostgreSQL or SQLite store");
  migrate->add_option("--to", migrate_target, "postgresql:// URI (empty database) or a new path")
      ->required();
  bool allow_unrevoke = false;
  restore->add_flag("--allow-unrevoke", allow_unrevoke,
                    "Restore even if the backup brings back keys revoked in the current store");
  app.require_subcommand(0, 1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version go to stdout; a usage error goes to stderr like every other message.
    std::ostringstream err;
    int rc = app.exit(e, std::cout, err);
    std::string text = err.str();
    while (text.ends_with('\n')) text.pop_back();
    if (!text.empty()) PrintLine(spdlog::level::err, text);
    return rc == 0 ? kExitOk : kExitUsage;
  }

  bool embedded = config_path.empty();
  if (embedded && std::filesystem::exists("instaccessd.toml")) config_path = "instaccessd.toml";
  auto config = config_path.empty() ? instaccess::Result<Config>(DefaultConfig(true))
                                    : LoadTrustedConfigFile(config_path, embedded);
  if (!config) {
    PrintLine(spdlog::level::err, "instaccessd: " + config.error().message());
    return kExitConfig;
  }
  if (check_config) {
    const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");
    const std::vector<std::string> problems =
        CheckHost(*config, credentials != nullptr ? credentials : "");
    for (const std::string& p : problems) PrintLine(spdlog::level::err, "instaccessd: " + p);
    if (!problems.empty()) return kExitConfig;
    std::cout << "configuration OK"
              << (config_path.empty() ? " (embedded default)" : ": " + config_path) << "\n";
    return kExitOk;
  }
  if (rekey->parsed()) return RunRekey(*config, new_key_file);
  if (restore->parsed()) return RunRestore(*config, backup_file, allow_unrevoke);
  if (migrate->parsed()) return RunMigrate(*config, migrate_target);
  SetUpLogging(config->daemon.log_level);
  return RunDaemon(std::move(*config), config_path);
}
