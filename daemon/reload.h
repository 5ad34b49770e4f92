// SIGHUP's blocking work, kept off the main thread's event loop (which accepts connections and
// runs the watchdog): reading the file, parsing it and resolving the [access] names through NSS
// happen on a thread of their own; the daemon applies the result back on its loop.
//
// What a reload changes: daemon.log_level and [access]. Every other key takes effect only at a
// restart; RestartOnlyChanges names those that differ so the daemon can say so.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "daemon/config.h"
#include "ipc/access.h"

namespace instaccess::daemon {

struct ReloadResult {
  Result<Config> config;  // the new configuration, or why the file was refused
  // Built from config->access when the file was accepted; null otherwise.
  std::shared_ptr<const ipc::AccessPolicy> policy;
  // One line per [access] entry that names no user or group (it grants nothing).
  std::vector<std::string> policy_problems;
};

// Reads and checks the file (LoadTrustedConfigFile) and builds its access policy. Blocks on the
// file system and NSS; logs nothing.
ReloadResult ReadForReload(const std::string& path, bool embedded);

// The keys whose values differ between `running` and `fresh` and that a reload does not apply
// ("daemon.socket", "limits.max_body", ...), in the order of docs/config.md.
std::vector<std::string> RestartOnlyChanges(const Config& running, const Config& fresh);

// Runs ReadForReload on a short-lived thread per Start() and passes the result to `deliver` on
// that thread (the daemon's `deliver` posts it to its event loop). Once the Reloader is
// destroyed `deliver` is never called again: a read still under way (a file on a hung mount)
// finishes on its detached thread and its result is dropped, so shutdown never waits for it.
class Reloader {
 public:
  using Deliver = std::function<void(ReloadResult)>;
  explicit Reloader(Deliver deliver);
  ~Reloader();
  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

  void Start(const std::string& path, bool embedded);

 private:
  struct Channel {
    std::mutex mu;
    Deliver deliver;  // guarded by mu; empty once the Reloader is gone
  };
  std::shared_ptr<Channel> channel_;
};

}  // namespace instaccess::daemon
