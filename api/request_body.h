// Strict reading of JSON request bodies: the media type, duplicate members, unknown members and
// member types are all checked, and every complaint names the field.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "ipc/http_types.h"

namespace instaccess::api {

// The body as a JSON object whose members are all in `allowed`. `required_body` false lets an
// empty body read as {}.
Result<nlohmann::json> ReadJsonBody(const ipc::Request& req,
                                    std::initializer_list<std::string_view> allowed,
                                    bool required_body = true);

// The token of the body every gateway sends, {"token":"<compact token>"}, found without a JSON
// parser: the decrypt cache answers repeats in a few microseconds, and a general parse would be
// most of them. Only that exact shape qualifies (one member; base64url and dots need no
// escaping), so the answer is the same as the strict parser's; for anything else nullopt, and the
// caller takes ReadJsonBody's path.
std::optional<std::string_view> PlainTokenBody(std::string_view body);

// Whether `status` is ReadJsonBody's refusal of a body that is not application/json (415).
bool IsWrongMediaType(const Status& status);

}  // namespace instaccess::api
