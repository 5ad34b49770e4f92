// Status and Result<T>: expected failures as values.
//
// Result<T> names its members like std::expected (has_value, operator*, value, error) so that
// moving to C++23 later is an alias. Exceptions never cross a library boundary; a function that
// can fail for reasons the caller must handle returns one of these.
//
// Thread-safety: plain values; safe to copy between threads.
#pragma once

#include <cassert>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace instaccess {

// A short canonical list. ipc/ maps each to one HTTP status in one place.
enum class Code {
  kOk,
  kInvalidArgument,     // the caller's input is malformed or out of range
  kNotFound,            // the named thing does not exist
  kAlreadyExists,       // creating something that is there already
  kPermissionDenied,    // the caller may not do this
  kFailedPrecondition,  // the system is not in a state that allows this
  kUnauthenticated,     // a token failed its cryptographic or format checks
  kUnavailable,         // try again later (overload, store not ready)
  kDataLoss,            // stored data is damaged or does not authenticate
  kInternal,            // a bug or an unexpected library failure
};

std::string_view CodeName(Code code);
std::ostream& operator<<(std::ostream& os, Code code);  // for test diagnostics

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_argument: message" for logs and CLI output.
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
inline Status FailedPrecondition(std::string m) {
  return {Code::kFailedPrecondition, std::move(m)};
}
inline Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
inline Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status DataLoss(std::string m) { return {Code::kDataLoss, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

// Either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit on purpose, like expected
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "a Result needs a value or an error");
  }

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Status& error() const { return std::get<1>(v_); }
  // The status: OK when a value is held.
  Status status() const { return has_value() ? Status::Ok() : error(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace instaccess

// Early return for Status-returning expressions inside functions returning Status or Result<T>.
#define INSTACCESS_RETURN_IF_ERROR(expr)                     \
  do {                                                       \
    ::instaccess::Status instaccess_status_ = (expr);        \
    if (!instaccess_status_.ok()) return instaccess_status_; \
  } while (0)
