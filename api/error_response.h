// Every error answer of the API is made here, from a Status (docs/api.md, "Errors").
//
// The code decides the answer: a token's failure (kUnauthenticated; jose::TokenErrorOf tells
// expired and not-yet-valid apart) is 401 with a fixed message that says nothing of which check
// failed; a body that is not application/json is 415; kInternal and kDataLoss are logged with
// `action` and answered 500 with no detail; the rest as ipc::ErrorFromStatus maps them (400, 403,
// 404, 503), with the Status's message, which names the field at fault.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "ipc/http_types.h"

namespace instaccess::api {

ipc::Response ErrorResponse(const Status& status, std::string_view action = "request");

// 400 bad_request: the caller's input, with a message that names the field.
inline ipc::Response BadRequest(std::string message) {
  return ErrorResponse(InvalidArgument(std::move(message)));
}

}  // namespace instaccess::api
