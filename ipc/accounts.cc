#include "ipc/accounts.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace instaccess::ipc {

namespace internal {

bool CallWithGrowingBuffer(std::size_t initial,
                           const std::function<int(char* buffer, std::size_t size)>& lookup) {
  std::vector<char> buffer(initial > 0 ? initial : 1024);
  for (;;) {
    const int rc = lookup(buffer.data(), buffer.size());
    if (rc != ERANGE) return rc == 0;
    if (buffer.size() >= kMaxNssBuffer) return false;
    buffer.resize(buffer.size() * 2);
  }
}

std::string UserNameCache::Get(uid_t uid, Clock::time_point now) {
  {
    const std::lock_guard lock(mu_);
    auto it = entries_.find(uid);
    if (it != entries_.end() && now - it->second.fetched < kKeep) return it->second.name;
  }
  // Looked up outside the lock, so one slow answer holds up no other uid. Two threads missing
  // the same uid at once both ask; either answer is right.
  std::string name = look_up_(uid);
  const std::lock_guard lock(mu_);
  if (entries_.size() >= kMaxEntries) entries_.clear();
  entries_.insert_or_assign(uid, Entry{name, now});
  return name;
}

}  // namespace internal

namespace {

// sysconf's size is only where to start: glibc says 1024 for groups, and a group with a long
// member list (or one from LDAP) needs more.
std::size_t StartSize(int which) {
  const long size = sysconf(which);
  return size > 0 ? static_cast<std::size_t>(size) : 16384u;
}

}  // namespace

// One get*_r lookup with a growing buffer. The strings in the entry point into the buffer, which
// is gone once this returns: `take` copies out what is needed while it lives.
template <typename Entry, typename Call, typename Take>
void LookUp(int size_hint, Call call, Take take) {
  internal::CallWithGrowingBuffer(StartSize(size_hint), [&](char* buffer, std::size_t size) {
    Entry entry{};
    Entry* found = nullptr;
    const int rc = call(&entry, buffer, size, &found);
    if (rc == 0 && found != nullptr) take(entry);
    return rc;
  });
}

std::optional<uid_t> LookUpUserId(const std::string& name) {
  std::optional<uid_t> uid;
  LookUp<passwd>(
      _SC_GETPW_R_SIZE_MAX,
      [&](passwd* e, char* b, std::size_t n, passwd** f) {
        return getpwnam_r(name.c_str(), e, b, n, f);
      },
      [&](const passwd& pw) { uid = pw.pw_uid; });
  return uid;
}

std::optional<gid_t> LookUpGroupId(const std::string& name) {
  std::optional<gid_t> gid;
  LookUp<group>(
      _SC_GETGR_R_SIZE_MAX,
      [&](group* e, char* b, std::size_t n, group** f) {
        return getgrnam_r(name.c_str(), e, b, n, f);
      },
      [&](const group& gr) { gid = gr.gr_gid; });
  return gid;
}

std::string LookUpUserName(uid_t uid) {
  std::string user;
  LookUp<passwd>(
      _SC_GETPW_R_SIZE_MAX,
      [&](passwd* e, char* b, std::size_t n, passwd** f) { return getpwuid_r(uid, e, b, n, f); },
      [&](const passwd& pw) { user = pw.pw_name; });
  return user;
}

std::string CachedUserName(uid_t uid) {
  // Never destroyed: a loop thread may still refuse a request while static objects are torn
  // down at exit.
  static internal::UserNameCache* const cache = new internal::UserNameCache(LookUpUserName);
  return cache->Get(uid, internal::UserNameCache::Clock::now());
}

}  // namespace instaccess::ipc
