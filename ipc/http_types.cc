#include "ipc/http_types.h"

#include <nlohmann/json.hpp>

#include "ipc/asio.h"

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
    case Code::kInvalidArgument:
      return JsonError(400, "bad_request", status.message());
    case Code::kNotFound:
      return JsonError(404, "not_found", status.message());
    // A key (kid or modulus) already in the store.
    case Code::kAlreadyExists:
      return JsonError(409, "conflict", status.message());
    case Code::kPermissionDenied:
      return JsonError(403, "forbidden", status.message());
    case Code::kFailedPrecondition:
      return JsonError(400, "bad_request", status.message());
    case Code::kUnauthenticated:
      return JsonError(401, "invalid_token", "invalid token");
    case Code::kUnavailable:
      return JsonError(503, "unavailable", status.message());
    case Code::kOk:
    case Code::kDataLoss:
    case Code::kInternal:
      break;
  }
  return JsonError(500, "internal", "internal error");
}

Response JsonOk(std::string body, int status) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

void AppendResponse(const Response& response, bool keep_alive, std::string* out_string) {
  std::string& out = *out_string;
  auto framing_safe = [](std::string_view text, bool is_name) {
    return text.find_first_of(is_name ? "\r\n:" : "\r\n") == std::string_view::npos &&
           !(is_name && text.empty());
  };
  const std::string_view reason = http::obsolete_reason(static_cast<http::status>(response.status));
  out.reserve(out.size() + 160 + response.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(response.status);
  out += ' ';
  out += reason.empty() ? std::string_view("Unknown") : reason;
  out += "\r\nServer: instaccessd\r\n";
  // 204 and 304 carry no body, so neither header (RFC 9110 §8.6: no Content-Length in a 204; in
  // a 304 it would describe the representation not sent).
  const bool bodiless = response.status == 204 || response.status == 304;
  if (!bodiless) {
    out += "Content-Type: ";
    out += framing_safe(response.content_type, false)
               ? std::string_view(response.content_type)
               : std::string_view("application/octet-stream");
    out += "\r\nContent-Length: ";
    out += std::to_string(response.body.size());
    out += "\r\n";
  }
  for (const auto& [name, value] : response.headers) {
    if (!framing_safe(name, true) || !framing_safe(value, false)) continue;
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  if (!bodiless) out += response.body;
}

std::string SerializeResponse(const Response& response, bool keep_alive) {
  std::string out;
  AppendResponse(response, keep_alive, &out);
  return out;
}

}  // namespace instaccess::ipc
