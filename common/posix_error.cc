#include "common/posix_error.h"

#include <cerrno>
#include <cstring>

namespace instaccess {

std::string ErrnoText(int err) {
  char buf[256];
  // GNU strerror_r: returns a pointer to the text, which may or may not be buf.
  return ::strerror_r(err, buf, sizeof buf);
}

Status PosixError(Code code, std::string_view context, int err) {
  return {code, std::string(context) + ": " + ErrnoText(err)};
}

Status PosixError(std::string_view context, int err) {
  Code code = Code::kUnavailable;
  if (err == EACCES || err == EPERM || err == EROFS) code = Code::kPermissionDenied;
  if (err == ENOENT) code = Code::kNotFound;
  return PosixError(code, context, err);
}

}  // namespace instaccess
