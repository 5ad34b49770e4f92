#include "ipc/http_parse.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace instaccess::ipc {

namespace {

// The media type, lower-case, without parameters, into `out`.
void LowerMediaType(std::string_view content_type, std::string* out) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  out->assign(media);
  std::transform(out->begin(), out->end(), out->begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
}

}  // namespace

// (Beast's async_read does the same as ParseBuffered, and then takes a trip through the loop's
// queue even when it read nothing.)
bool ParseBuffered(RequestParser& parser, beast::flat_buffer& buffer, beast::error_code& ec) {
  parser.eager(true);  // header and body in one go, as async_read does
  buffer.consume(parser.put(buffer.data(), ec));
  if (ec == http::error::need_more) {
    ec.clear();
    return false;
  }
  return ec || parser.is_done();
}

void FillRequest(http::request<http::string_body>& req, Request* out) {
  out->method.assign(req.method_string());
  out->target.assign(req.target());
  out->path.assign(out->target, 0, out->target.find('?'));
  LowerMediaType(req[http::field::content_type], &out->content_type);
  out->accept.assign(req[http::field::accept]);
  out->if_none_match.assign(req[http::field::if_none_match]);
  out->authorization.assign(req[http::field::authorization]);
  out->body.swap(req.body());
}

Response ParseErrorResponse(const beast::error_code& ec) {
  if (ec == http::error::header_limit) {
    return JsonError(431, "request_header_fields_too_large", "request header too large");
  }
  if (ec == http::error::body_limit) {
    return JsonError(413, "payload_too_large", "request body too large");
  }
  if (ec == http::error::buffer_overflow) {
    return JsonError(400, "bad_request", "a line of the request is too long");
  }
  return JsonError(400, "bad_request", "malformed HTTP request");
}

}  // namespace instaccess::ipc
