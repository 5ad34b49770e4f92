// Reading one HTTP/1.1 request from bytes already received: Beast's parser, the Request handlers
// see, and the answer to a request that cannot be parsed. The server (server.h) reads from its
// sockets with these; a fuzz target (tests/fuzz/http_fuzzer.cc) hands them bytes directly.
//
// Thread-safety: free functions over the caller's objects.
#pragma once

#include "ipc/asio.h"
#include "ipc/http_types.h"

namespace instaccess::ipc {

using RequestParser = http::request_parser<http::string_body>;

// Parses the request from what `buffer` already holds, consuming what was parsed. True when that
// settled it: the request is complete, or `ec` says what is wrong with it. False when more bytes
// must be read first. The caller sets the parser's header and body limits.
bool ParseBuffered(RequestParser& parser, beast::flat_buffer& buffer, beast::error_code& ec);

// Fills `out` from the parsed request, reusing its strings' storage, and takes the body.
void FillRequest(http::request<http::string_body>& req, Request* out);

// The answer to a request that could not be parsed; the connection closes after it.
Response ParseErrorResponse(const beast::error_code& ec);

}  // namespace instaccess::ipc
