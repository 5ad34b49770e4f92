#include "api/error_response.h"

#include <spdlog/spdlog.h>

#include "api/request_body.h"
#include "jose/token.h"

namespace instaccess::api {

ipc::Response ErrorResponse(const Status& status, std::string_view action) {
  switch (status.code()) {
    case Code::kUnauthenticated:
      switch (jose::TokenErrorOf(status).value_or(jose::TokenError::kInvalidToken)) {
        case jose::TokenError::kTokenExpired:
          return ipc::JsonError(401, "token_expired", "token has expired");
        case jose::TokenError::kTokenNotYetValid:
          return ipc::JsonError(401, "token_not_yet_valid", "token is not valid yet");
        case jose::TokenError::kInvalidToken:
          break;
      }
      return ipc::JsonError(401, "invalid_token", "token is invalid");
    case Code::kFailedPrecondition:
      if (IsWrongMediaType(status)) {
        return ipc::JsonError(415, "unsupported_media_type", status.message());
      }
      break;
    case Code::kInternal:
    case Code::kDataLoss:
      spdlog::error("{} failed: {}", action, status.ToString());
      break;
    default:
      break;
  }
  return ipc::ErrorFromStatus(status);
}

}  // namespace instaccess::api
