// User and group lookups through NSS, in one place (the reentrant calls: the plain getpw*/getgr*
// share a static buffer and are not thread-safe).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace instaccess::ipc {

std::optional<uid_t> LookUpUserId(const std::string& name);
std::optional<gid_t> LookUpGroupId(const std::string& name);
// The user's name, or empty when the uid has none.
std::string LookUpUserName(uid_t uid);
// LookUpUserName through a cache that keeps each answer for a minute. Refused requests name
// their user in the log line and the answer, on the event loop: a lookup each time (a round trip
// to sssd or LDAP, where NSS asks one) would let any local user slow the loop by knocking.
std::string CachedUserName(uid_t uid);

namespace internal {

// The cache behind CachedUserName, with the lookup and the clock given, for tests.
class UserNameCache {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::duration kKeep = std::chrono::minutes(1);
  // Past this many uids the cache starts again empty (a host has far fewer users that connect).
  static constexpr std::size_t kMaxEntries = 4096;

  explicit UserNameCache(std::function<std::string(uid_t)> look_up)
      : look_up_(std::move(look_up)) {}
  std::string Get(uid_t uid, Clock::time_point now);

 private:
  struct Entry {
    std::string name;
    Clock::time_point fetched;
  };
  std::function<std::string(uid_t)> look_up_;
  std::mutex mu_;
  std::unordered_map<uid_t, Entry> entries_;  // guarded by mu_
};

// Upper bound of the buffer an entry may need: far beyond any real group, small enough that a
// broken NSS module answering ERANGE forever cannot take the daemon's memory.
inline constexpr std::size_t kMaxNssBuffer = 1 << 20;
// Calls `lookup` (a get*_r call) with a buffer of `initial` bytes, doubled while it answers
// ERANGE, up to kMaxNssBuffer. True when it answered 0.
bool CallWithGrowingBuffer(std::size_t initial,
                           const std::function<int(char* buffer, std::size_t size)>& lookup);
}  // namespace internal

}  // namespace instaccess::ipc
