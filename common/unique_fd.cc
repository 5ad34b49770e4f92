#include "common/unique_fd.h"

#include <unistd.h>

namespace instaccess {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    Close();
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

UniqueFd::~UniqueFd() { Close(); }

int UniqueFd::Close() {
  if (fd_ < 0) return 0;
  // Linux releases the descriptor even when close fails (EINTR included): never retry.
  return ::close(std::exchange(fd_, -1));
}

}  // namespace instaccess
