// User and group lookups through NSS, in one place (the reentrant calls: the plain getpw*/getgr*
// share a static buffer and are not thread-safe).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

namespace instaccess::ipc {

std::optional<uid_t> LookUpUserId(const std::string& name);
std::optional<gid_t> LookUpGroupId(const std::string& name);
// The user's name, or empty when the uid has none.
std::string LookUpUserName(uid_t uid);

namespace internal {
// Upper bound of the buffer an entry may need: far beyond any real group, small enough that a
// broken NSS module answering ERANGE forever cannot take the daemon's memory.
inline constexpr std::size_t kMaxNssBuffer = 1 << 20;
// Calls `lookup` (a get*_r call) with a buffer of `initial` bytes, doubled while it answers
// ERANGE, up to kMaxNssBuffer. True when it answered 0.
bool CallWithGrowingBuffer(std::size_t initial,
                           const std::function<int(char* buffer, std::size_t size)>& lookup);
}  // namespace internal

}  // namespace instaccess::ipc
