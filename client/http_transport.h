// HTTP/1.1 over the daemon's Unix socket for the client library: a small pool of keep-alive
// connections, timeouts on every exchange.
//
// A request is sent a second time, once, on a fresh connection, only when that cannot make the
// daemon act twice: when a reused (kept-alive) connection was found closed before any byte of the
// request was written (the daemon cannot have read it), or, for GET and HEAD only, when a reused
// connection was closed after the request was sent and before any byte of an answer arrived. A
// POST of which any byte was sent is never sent again: the daemon may have read and acted on it
// (issued a token, rotated a key) before the connection was lost; that is an Error
// (kUnavailable). A connection that cannot be made is an Error and nothing is sent.
//
// Each connection has its own io_context and is used by one thread at a time (taken from the
// pool for the length of one exchange), so no Asio object is ever shared between threads.
//
// Thread-safety: Call may be used from many threads at once.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "instaccess/client.h"

namespace instaccess::client::internal {

struct HttpAnswer {
  int status = 0;
  std::string body;
  std::string content_type;        // as sent
  std::optional<int> retry_after;  // seconds, from Retry-After
};

class Transport {
 public:
  Transport(std::string socket_path, ClientOptions options);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // One request; `body` non-empty is sent as application/json, `accept` non-empty as the Accept
  // header. Any HTTP status is an answer: only failing to talk to the daemon is an Error here.
  Result<HttpAnswer> Call(std::string_view method, std::string_view target, std::string body,
                          std::string_view accept = {});

  const std::string& socket_path() const { return socket_path_; }

 private:
  struct Connection;
  enum class Outcome {
    kAnswered,
    kNotSent,             // reused connection closed before any byte of the request was written
    kClosedBeforeAnswer,  // reused connection closed after the request, before any answer byte
    kFailed,
  };

  Result<std::unique_ptr<Connection>> Connect();
  std::unique_ptr<Connection> TakeIdle();
  void GiveBack(std::unique_ptr<Connection> conn);
  Outcome Exchange(Connection& conn, std::string_view method, std::string_view target,
                   const std::string& body, std::string_view accept, HttpAnswer* answer,
                   std::optional<Error>* error);

  const std::string socket_path_;
  const ClientOptions options_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;  // Guarded by mu_.
};

// "cannot connect to PATH: no such file (is instaccessd running? ...)" for a connect errno.
Error ConnectError(const std::string& socket_path, int errno_value);

}  // namespace instaccess::client::internal
