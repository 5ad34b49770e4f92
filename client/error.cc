#include "instaccess/error.h"

namespace instaccess::client {

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kUnreachable:
      return "unreachable";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kProtocol:
      return "protocol_error";
    case ErrorKind::kBadRequest:
      return "bad_request";
    case ErrorKind::kInvalidToken:
      return "invalid_token";
    case ErrorKind::kTokenExpired:
      return "token_expired";
    case ErrorKind::kTokenNotYetValid:
      return "token_not_yet_valid";
    case ErrorKind::kForbidden:
      return "forbidden";
    case ErrorKind::kNotFound:
      return "not_found";
    case ErrorKind::kConflict:
      return "conflict";
    case ErrorKind::kOverloaded:
      return "overloaded";
    case ErrorKind::kUnavailable:
      return "unavailable";
    case ErrorKind::kInternal:
      return "internal";
    case ErrorKind::kInvalidArgument:
      return "invalid_argument";
    case ErrorKind::kLocal:
      return "local_error";
  }
  return "unknown";
}

Error::Error(ErrorKind kind, std::string message, std::string code, int http_status,
             std::optional<int> retry_after_seconds)
    : kind_(kind),
      code_(code.empty() ? std::string(ErrorKindName(kind)) : std::move(code)),
      message_(std::move(message)),
      http_status_(http_status),
      retry_after_(retry_after_seconds) {}

bool Error::IsTokenError() const {
  return kind_ == ErrorKind::kInvalidToken || kind_ == ErrorKind::kTokenExpired ||
         kind_ == ErrorKind::kTokenNotYetValid;
}

std::string Error::ToString() const { return code_ + ": " + message_; }

}  // namespace instaccess::client
