// A small HTTP/1.1 client over a Unix socket for tests (Boost.Beast, blocking, with a receive
// timeout so a misbehaving daemon fails the test instead of hanging it).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace instaccess::testing {

struct HttpReply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  bool keep_alive = false;
};

class UnixHttpConnection {
 public:
  // Throws std::runtime_error when it cannot connect.
  explicit UnixHttpConnection(const std::string& socket_path,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~UnixHttpConnection();

  void SendRaw(const std::string& bytes);
  // The next response, or nullopt if the server closed the connection (or timed out).
  std::optional<HttpReply> Read();
  // True when the server closes the connection within the timeout.
  bool ServerClosed();
  HttpReply Request(const std::string& method, const std::string& target,
                    const std::string& body = "", const std::string& content_type = "");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One request on a fresh connection.
HttpReply HttpGet(const std::string& socket_path, const std::string& target);
HttpReply HttpPost(const std::string& socket_path, const std::string& target,
                   const std::string& body, const std::string& content_type = "application/json");

// True when something accepts connections on the path.
bool CanConnect(const std::string& socket_path);

}  // namespace instaccess::testing
