// libFuzzer target over the JSON request bodies of every endpoint that reads one: the body goes
// through the router to the real handler (service_harness.h), as application/json unless the
// input asks otherwise, so the strict body reader and each handler's own reading of its members
// are reached without the HTTP framing in the way.
//
// Input: [endpoint][body...]. endpoint bits 0-6 pick a row of kEndpoints; bit 7 sends the body as
// text/plain. GET /api/v1/auth takes its token from the Authorization header instead.
//
// Invariants beyond "no crash, no sanitizer report":
//   - every answer has the API's shape (CheckResponse: errors are JSON, never a 500);
//   - the fast reading of a decrypt body (PlainTokenBody) agrees with the strict one: a body it
//     takes a token from reads as {"token": that token}.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/request_body.h"
#include "tests/fuzz/service_harness.h"

namespace {

namespace api = instaccess::api;
namespace ipc = instaccess::ipc;
namespace fuzz = instaccess::fuzz;

struct Endpoint {
  const char* method;
  const char* path;
};

constexpr Endpoint kEndpoints[] = {
    {"POST", "/api/v1/inst_access_tokens"},
    {"POST", "/api/v1/inst_access_tokens/decrypt"},
    {"GET", "/api/v1/auth"},
    {"POST", "/api/v1/keys/import"},
    {"POST", "/api/v1/keys/rotate"},
    {"POST", "/api/v1/keys/no-such-key/revoke"},
    {"POST", "/api/v1/schedule/accept-clock"},
};

void CheckPlainTokenBody(const ipc::Request& request) {
  std::optional<std::string_view> token = api::PlainTokenBody(request.body);
  if (!token) return;
  auto body = api::ReadJsonBody(request, {"token"});
  if (!body || body->size() != 1 || !(*body)["token"].is_string() ||
      (*body)["token"].get<std::string>() != *token) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::ServiceHarness::Get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return -1;
  const Endpoint& endpoint = kEndpoints[(data[0] & 0x7f) % std::size(kEndpoints)];
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  ipc::Request request;
  request.method = endpoint.method;
  request.target = endpoint.path;
  request.path = endpoint.path;
  if (request.method == "GET") {
    request.authorization = body;
  } else {
    request.content_type = (data[0] & 0x80) ? "text/plain" : "application/json";
    request.body = body;
    if (!(data[0] & 0x80)) CheckPlainTokenBody(request);
  }
  fuzz::CheckResponse(fuzz::ServiceHarness::Get().Call(request));
  return 0;
}
