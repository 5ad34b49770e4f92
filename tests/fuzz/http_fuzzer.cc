// libFuzzer target over the request path: bytes as a client would send them on the socket, read
// by the server's own parser (ipc/http_parse.h), routed and handled by the real Service over a
// real keyring (service_harness.h), answered as the server serialises answers. No socket.
//
// Invariants beyond "no crash, no sanitizer report":
//   - every answer has the API's shape (CheckResponse: errors are JSON, never a 500);
//   - the bytes of every answer parse back as one HTTP/1.1 response with the same status and body.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ipc/http_parse.h"
#include "tests/fuzz/service_harness.h"

namespace {

namespace ipc = instaccess::ipc;
namespace fuzz = instaccess::fuzz;

// The server's defaults (ipc/server.h ServerLimits).
constexpr std::size_t kMaxHeader = 8 * 1024;
constexpr std::size_t kMaxBody = 64 * 1024;
// Pipelined requests answered per input: enough for keep-alive paths, bounded for speed.
constexpr int kMaxRequests = 4;

void CheckWire(const std::string& bytes, const ipc::Response& response) {
  ipc::http::response_parser<ipc::http::string_body> parser;
  parser.eager(true);
  parser.body_limit(bytes.size());
  ipc::beast::error_code ec;
  const std::size_t used = parser.put(ipc::asio::buffer(bytes), ec);
  if (ec || !parser.is_done() || used != bytes.size()) std::abort();
  if (parser.get().result_int() != static_cast<unsigned>(response.status)) std::abort();
  if (parser.get().body() != response.body) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::ServiceHarness::Get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::ServiceHarness& harness = fuzz::ServiceHarness::Get();
  ipc::beast::flat_buffer buffer;
  buffer.commit(ipc::asio::buffer_copy(buffer.prepare(size), ipc::asio::buffer(data, size)));
  ipc::Request request;
  for (int i = 0; i < kMaxRequests; ++i) {
    ipc::RequestParser parser;
    parser.header_limit(static_cast<std::uint32_t>(kMaxHeader));
    parser.body_limit(kMaxBody);
    ipc::beast::error_code ec;
    // Not settled: the client stopped half-way, and the server would wait for the rest.
    if (!ipc::ParseBuffered(parser, buffer, ec)) break;
    if (ec) {
      const ipc::Response error = ipc::ParseErrorResponse(ec);
      fuzz::CheckResponse(error);
      CheckWire(ipc::SerializeResponse(error, false), error);
      break;
    }
    const bool keep_alive = parser.get().keep_alive();
    ipc::FillRequest(parser.get(), &request);
    const ipc::Response response = harness.Call(request);
    fuzz::CheckResponse(response);
    CheckWire(ipc::SerializeResponse(response, keep_alive), response);
    if (!keep_alive) break;
  }
  return 0;
}
