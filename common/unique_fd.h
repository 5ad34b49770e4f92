// UniqueFd owns one file descriptor and closes it when it goes (RAII for every descriptor the
// project opens: sockets, key files, directories being fsync'ed).
//
// Thread-safety: none of its own; one owner at a time, like std::unique_ptr.
#pragma once

#include <utility>

namespace instaccess {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  // Gives the descriptor up without closing it.
  int release() { return std::exchange(fd_, -1); }
  bool valid() const { return fd_ >= 0; }
  // Closes now; the result of close(2), for callers that must know a write reached the file.
  // Errno is kept from close. Closing an empty UniqueFd returns 0.
  int Close();

 private:
  int fd_ = -1;
};

}  // namespace instaccess
