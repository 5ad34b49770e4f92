// The daemon process: wires the configuration, the key store, the socket server, the
// scheduler, signals and systemd together. No request handling or policy lives here (api/ does).
//
// Threads:
//   - the main thread runs its own io_context: signals (through an asio::signal_set, so no code
//     runs in signal context) and the systemd watchdog;
//   - `workers` event-loop threads (default one per core), each a single-threaded io_context
//     (ipc/server.h): connections are handed to them in turn, and each serves its connections'
//     requests and their queued RSA work (issue, cold decrypt, key actions);
//   - the scheduler thread applies key transitions when they fall due (daemon/scheduler.h);
//   - one thread per [[peers]] entry fetches that peer's JWKS when due and brings its keys into
//     the keyring (daemon/peer_threads.h);
//   - the keyring makes each new RSA key on a short-lived thread of its own and waits for it.
// SIGTERM/SIGINT drain: stop accepting, answer requests in flight, close idle connections, exit
// 0. SIGHUP re-reads the config file (log level, access lists).
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
