// errno translated into a Status in one place, as leveldb's PosixError does.
//
// The code follows what the caller can do about it: EACCES, EPERM and EROFS are
// kPermissionDenied, ENOENT is kNotFound, anything else is kUnavailable (a passing or
// environmental failure: disk full, too many files, I/O error). The message is
// "<context>: <strerror text>".
//
// Thread-safety: pure functions (strerror_r).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace instaccess {

// "<context>: <strerror(err)>" with the code chosen as above.
Status PosixError(std::string_view context, int err);

// The same message under a code the caller picks (for a failure whose meaning does not depend
// on errno, such as "the process could not be made non-dumpable").
Status PosixError(Code code, std::string_view context, int err);

// strerror(err) as a std::string, thread-safe.
std::string ErrnoText(int err);

}  // namespace instaccess
