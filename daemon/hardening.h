// Process hardening done before any key is loaded, because memory will hold private keys in
// clear (as ssh-agent does): no core files, not dumpable (no ptrace by the same uid, /proc/PID
// files root-owned), OpenSSL's secure heap for private key material, and a umask of 0077 so
// every file the process makes is its user's alone.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace instaccess::daemon {

// Fails only when the process cannot be made non-dumpable or core-less; a secure heap that
// cannot be mlock'ed is a warning in `warnings` (the heap still keeps secrets apart and wiped).
Status HardenProcess(std::vector<std::string>* warnings);

// OpenSSL's secure heap: its size and the bytes in use now; both 0 when there is none.
struct SecureHeapUse {
  std::size_t used = 0;
  std::size_t size = 0;
};
SecureHeapUse SecureHeapInUse();

// A status warning once the heap is 90 % full, before it runs out. It holds every loaded private
// key, a copy of each per worker thread that uses it (jose/key_context.h: made only while one
// free 64 KiB block is left) and each thread's random generators; a key made or loaded when it
// finds no room is refused.
std::optional<std::string> SecureHeapWarning(SecureHeapUse use);

}  // namespace instaccess::daemon
