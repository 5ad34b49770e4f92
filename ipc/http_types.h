// The request and response shapes handlers see: plain values, no Beast types, so handlers and
// their tests do not depend on the transport.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace instaccess::ipc {

struct Request {
  std::string method;        // "GET", "POST", ...
  std::string target;        // as sent, e.g. "/api/v1/keys?x=1"
  std::string path;          // target without the query
  std::string content_type;  // media type only, lower-case, parameters dropped
  // The few request headers handlers read, as sent (empty when absent).
  std::string accept;
  std::string if_none_match;
  std::string authorization;
  std::string body;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Extra headers, e.g. Retry-After. Names are the handler's constants (string literals, which
  // live for the program), so setting one allocates nothing.
  std::vector<std::pair<std::string_view, std::string>> headers;
};

// {"error": {"code": code, "message": message}} with `status`: the API's only error shape
// (docs/api.md).
Response JsonError(int status, std::string_view code, std::string_view message);

// The one mapping from a Status to an HTTP error response. Internal errors never carry details
// to the client (they are for the log).
Response ErrorFromStatus(const Status& status);

// 200 with a JSON body.
Response JsonOk(std::string body, int status = 200);

// The HTTP/1.1 bytes of `response`: status line, Server, Content-Type, Content-Length, the extra
// headers, Connection: close unless `keep_alive`, then the body. One string, written with one
// system call. Extra headers whose name or value could break the framing (CR, LF, ':' in a name)
// are dropped: handlers set them from constants, so one would be a bug, not an attack.
std::string SerializeResponse(const Response& response, bool keep_alive);
// The same, appended to `out` (a connection reuses one string for its answers).
void AppendResponse(const Response& response, bool keep_alive, std::string* out);

}  // namespace instaccess::ipc
