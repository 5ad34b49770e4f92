#include "tests/support/unix_http.h"

#include <sys/socket.h>

#include <stdexcept>

#include "ipc/asio.h"

namespace instaccess::testing {

using namespace instaccess::ipc;  // asio, beast, http

struct UnixHttpConnection::Impl {
  asio::io_context io;
  UnixSocket socket{io};
  beast::flat_buffer buffer;
};

UnixHttpConnection::UnixHttpConnection(const std::string& socket_path,
                                       std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  beast::error_code ec;
  impl_->socket.connect(asio::local::stream_protocol::endpoint(socket_path), ec);
  if (ec) throw std::runtime_error("cannot connect to " + socket_path + ": " + ec.message());
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(impl_->socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(impl_->socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

UnixHttpConnection::~UnixHttpConnection() = default;

void UnixHttpConnection::SendRaw(const std::string& bytes) {
  beast::error_code ec;
  asio::write(impl_->socket, asio::buffer(bytes), ec);
  // A server that closes early (413, 431) may make the send fail; the reply tells the story.
}

std::optional<HttpReply> UnixHttpConnection::Read() {
  http::response_parser<http::string_body> parser;
  parser.body_limit(16 * 1024 * 1024);
  beast::error_code ec;
  http::read(impl_->socket, impl_->buffer, parser, ec);
  if (ec) return std::nullopt;
  auto& res = parser.get();
  HttpReply reply;
  reply.status = static_cast<int>(res.result_int());
  reply.body = res.body();
  reply.keep_alive = res.keep_alive();
  for (auto& field : res) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(field.value());
  }
  return reply;
}

bool UnixHttpConnection::ServerClosed() {
  char byte;
  beast::error_code ec;
  impl_->socket.read_some(asio::buffer(&byte, 1), ec);
  return ec == asio::error::eof || ec == asio::error::connection_reset;
}

HttpReply UnixHttpConnection::Request(const std::string& method, const std::string& target,
                                      const std::string& body, const std::string& content_type) {
  std::string raw = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n";
  if (!content_type.empty()) raw += "Content-Type: " + content_type + "\r\n";
  if (!body.empty() || method == "POST")
    raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  raw += "\r\n" + body;
  SendRaw(raw);
  auto reply = Read();
  if (!reply) throw std::runtime_error("no reply to " + method + " " + target);
  return *reply;
}

HttpReply HttpGet(const std::string& socket_path, const std::string& target) {
  return UnixHttpConnection(socket_path).Request("GET", target);
}

HttpReply HttpPost(const std::string& socket_path, const std::string& target,
                   const std::string& body, const std::string& content_type) {
  return UnixHttpConnection(socket_path).Request("POST", target, body, content_type);
}

bool CanConnect(const std::string& socket_path) {
  asio::io_context io;
  UnixSocket s(io);
  beast::error_code ec;
  s.connect(asio::local::stream_protocol::endpoint(socket_path), ec);
  return !ec;
}

}  // namespace instaccess::testing
