// Errors of the instaccessd client library: values, never exceptions.
//
// An Error says what kind of failure happened (so a caller can tell an expired token from a
// forged one, a refusal from a daemon that is not running) and carries the daemon's own error
// code and message when the daemon answered (docs/api.md: {"error": {"code", "message"}}).
//
// Result<T> names its members like std::expected (has_value, operator*, value, error), as
// instaccess::Result does inside the daemon, but is self-contained: this header is installed
// and must not pull in the daemon's headers.
//
// Thread-safety: plain values; safe to copy between threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace instaccess::client {

enum class ErrorKind {
  // No answer from the daemon.
  kUnreachable,  // cannot connect: no socket file, nothing listening, no permission on the file
  kTimeout,      // connected, but no complete answer within ClientOptions::request_timeout
  kProtocol,     // the peer's answer is not the daemon's HTTP/JSON (or is larger than allowed)
  // The daemon answered with an error; Error::code() is its snake_case code.
  kBadRequest,        // 400 bad_request (also 405, 413, 415, 431: the request was malformed)
  kInvalidToken,      // 401 invalid_token: any cryptographic or format failure
  kTokenExpired,      // 401 token_expired: the signature verified, `exp` has passed
  kTokenNotYetValid,  // 401 token_not_yet_valid: the signature verified, `iat`/`nbf` is ahead
  kForbidden,         // 403 forbidden: the caller's uid/groups lack the role
  kNotFound,          // 404 not_found (e.g. revoking an unknown kid)
  kConflict,          // 409 conflict: an import of a key already in the store (kid or modulus)
  kOverloaded,        // 503 overloaded: retry after Error::retry_after_seconds()
  kUnavailable,       // 503 unavailable: no store or no active key
  kInternal,          // 500 internal (details only in the daemon's log), or any other 5xx
  // Not the daemon's fault nor the connection's.
  kInvalidArgument,  // the library refused the call before sending it (e.g. an empty kid)
  kLocal,            // a local operation failed (e.g. writing the backup file)
};

// "unreachable", "token_expired", ...: the same spelling as the daemon's codes.
std::string_view ErrorKindName(ErrorKind kind);

class Error {
 public:
  Error(ErrorKind kind, std::string message, std::string code = {}, int http_status = 0,
        std::optional<int> retry_after_seconds = std::nullopt);

  ErrorKind kind() const { return kind_; }
  // The daemon's error code as sent (e.g. "payload_too_large"), or ErrorKindName(kind()) when
  // the daemon did not answer.
  const std::string& code() const { return code_; }
  // Human text, fit to show an operator: the daemon's message, or what went wrong locally
  // with a hint ("... (is instaccessd running? try systemctl status instaccessd)").
  const std::string& message() const { return message_; }
  int http_status() const { return http_status_; }  // 0 when the daemon did not answer
  std::optional<int> retry_after_seconds() const { return retry_after_; }

  // True for the three token refusals (invalid, expired, not yet valid).
  bool IsTokenError() const;
  // "forbidden: permission denied: uid 1001 (alice) has no 'admin' role".
  std::string ToString() const;

 private:
  ErrorKind kind_;
  std::string code_;
  std::string message_;
  int http_status_ = 0;
  std::optional<int> retry_after_;
};

// Either a T or an Error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit on purpose, like expected
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

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

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace instaccess::client
