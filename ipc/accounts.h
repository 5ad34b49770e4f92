// User and group lookups through NSS, in one place (the reentrant calls: the plain getpw*/getgr*
// share a static buffer and are not thread-safe).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace instaccess::ipc {

std::optional<uid_t> LookUpUserId(const std::string& name);
std::optional<gid_t> LookUpGroupId(const std::string& name);
// The user's name, or empty when the uid has none.
std::string LookUpUserName(uid_t uid);

}  // namespace instaccess::ipc
