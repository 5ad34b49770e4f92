#include "ipc/http_types.h"

#include <nlohmann/json.hpp>

namespace instaccess::ipc {

Response JsonError(int status, std::string_view code, std::string_view message) {
  nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
  Response r;
  r.status = status;
  // Replacement characters instead of a throw: a message may quote hostile input.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response ErrorFromStatus(const Status& status) {
  switch (status.code()) {
    case Code::kInvalidArgument: return JsonError(400, "bad_request", status.message());
    case Code::kNotFound: return JsonError(404, "not_found", status.message());
    // DESIGN.md §5 has no 409: a request that conflicts with the state is a bad request.
    case Code::kAlreadyExists: return JsonError(400, "bad_request", status.message());
    case Code::kPermissionDenied: return JsonError(403, "forbidden", status.message());
    case Code::kFailedPrecondition: return JsonError(400, "bad_request", status.message());
    case Code::kUnauthenticated: return JsonError(401, "invalid_token", "invalid token");
    case Code::kUnavailable: return JsonError(503, "unavailable", status.message());
    case Code::kOk:
    case Code::kDataLoss:
    case Code::kInternal: break;
  }
  return JsonError(500, "internal", "internal error");
}

Response JsonOk(std::string body, int status) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace instaccess::ipc
