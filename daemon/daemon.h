// The daemon process: wires config, the socket server and signal handling together.
//
// Threads: `workers` threads run the one io_context (HTTP parsing, handlers, RSA work);
// signals arrive through an asio::signal_set on that io_context, so no code runs in signal
// context. SIGTERM/SIGINT drain: stop accepting, answer requests in flight, close idle
// connections, exit 0. SIGHUP re-reads the config file (log level, access lists).
#pragma once

#include <memory>
#include <string>

#include "daemon/config.h"

namespace instaccess::daemon {

// Exit codes of instaccessd (also in --help and docs/operations.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;     // start-up or run-time failure (message logged)
inline constexpr int kExitKeys = 2;        // the store or the master key is unusable (wrong key,
                                           // damaged store, newer schema, ...); nothing changed
inline constexpr int kExitUsage = 64;      // bad command line (EX_USAGE)
inline constexpr int kExitConfig = 78;     // bad configuration (EX_CONFIG)

// Runs until SIGTERM/SIGINT. `config_path` is re-read on SIGHUP; empty = nothing to re-read.
int RunDaemon(Config config, std::string config_path);

}  // namespace instaccess::daemon
