// Process hardening done before any key is loaded, because memory will hold private keys in
// clear (as ssh-agent does): no core files, not dumpable (no ptrace by the same uid, /proc/PID
// files root-owned), OpenSSL's secure heap for private key material, and a umask of 0077 so
// every file the process makes is its user's alone.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace instaccess::daemon {

// Fails only when the process cannot be made non-dumpable or core-less; a secure heap that
// cannot be mlock'ed is a warning in `warnings` (the heap still keeps secrets apart and wiped).
Status HardenProcess(std::vector<std::string>* warnings);

}  // namespace instaccess::daemon
