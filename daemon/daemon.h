// The daemon process: wires config, the socket server and signal handling together.
//
// Threads: `workers` threads (default one per core) run the one io_context: accept, HTTP,
// cheap handlers on each connection's strand, and the queued RSA work (issue, cold decrypt, key
// actions) as jobs of their own; the scheduler thread applies key transitions; the keyring
// generates keys on a thread of its own. Signals arrive through an asio::signal_set
// on the io_context, so no code runs in signal context. SIGTERM/SIGINT drain: stop accepting,
// answer requests in flight, close idle connections, exit 0. SIGHUP re-reads the config file (log
// level, access lists).
#pragma once

#include <memory>
#include <string>

#include "daemon/config.h"

namespace instaccess::daemon {

// Exit codes of instaccessd (also in --help and docs/operations.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // start-up or run-time failure (message logged)
inline constexpr int kExitKeys = 2;     // the store or the master key is unusable (wrong key,
                                        // damaged store, newer schema, ...); nothing changed
inline constexpr int kExitUsage = 64;   // bad command line (EX_USAGE)
inline constexpr int kExitConfig = 78;  // bad configuration (EX_CONFIG)

// Runs until SIGTERM/SIGINT. `config_path` is re-read on SIGHUP; empty = nothing to re-read.
int RunDaemon(Config config, std::string config_path);

}  // namespace instaccess::daemon
