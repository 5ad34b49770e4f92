#include "daemon/request_body.h"

#include <algorithm>

#include "jose/json_strict.h"

namespace instaccess::daemon {

namespace {
// Marks the one Status ReadJsonBody returns for a wrong media type.
constexpr std::string_view kMediaTypeMessage = "request body must be application/json";
}  // namespace

Result<nlohmann::json> ReadJsonBody(const ipc::Request& req,
                                    std::initializer_list<std::string_view> allowed,
                                    bool required_body) {
  if (req.body.empty()) {
    if (!required_body) return nlohmann::json::object();
    return InvalidArgument("request body is required (a JSON object)");
  }
  if (req.content_type != "application/json") {
    return Status(Code::kFailedPrecondition, std::string(kMediaTypeMessage));
  }
  auto body = jose::ParseStrictJsonObject(req.body);
  if (!body) return InvalidArgument("request body is not a valid JSON object: " + body.error().message());
  for (auto it = body->begin(); it != body->end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) {
      return InvalidArgument("unknown member '" + it.key() + "'");
    }
  }
  return body;
}

ipc::Response BodyErrorResponse(const Status& status) {
  if (status.code() == Code::kFailedPrecondition && status.message() == kMediaTypeMessage) {
    return ipc::JsonError(415, "unsupported_media_type", status.message());
  }
  return ipc::JsonError(400, "bad_request", status.message());
}

}  // namespace instaccess::daemon
