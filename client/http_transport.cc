#include "client/http_transport.h"

#include <poll.h>
#include <pwd.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "ipc/asio.h"

namespace instaccess::client::internal {

namespace asio = ipc::asio;
namespace beast = ipc::beast;
namespace http = ipc::http;

namespace {

constexpr std::string_view kDaemonHint = "is instaccessd running? try systemctl status instaccessd";

std::string UserDescription() {
  uid_t uid = geteuid();
  std::string out = "uid " + std::to_string(uid);
  // getpwuid_r: the plain one is not thread-safe.
  passwd pw{};
  passwd* found = nullptr;
  char buf[1024];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found != nullptr) {
    out += " (" + std::string(found->pw_name) + ")";
  }
  return out;
}

// Runs the operation `start` begins on the connection's own io_context until it completes.
template <typename Start>
beast::error_code RunOne(asio::io_context& io, Start start) {
  beast::error_code result = asio::error::would_block;
  start(result);
  io.restart();
  io.run();
  return result;
}

bool IsClosedByPeer(const beast::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == http::error::end_of_stream;
}

// Methods that ask the daemon for nothing but an answer: sending one twice changes nothing.
bool IsSafeToResend(std::string_view method) { return method == "GET" || method == "HEAD"; }

}  // namespace

struct Transport::Connection {
  asio::io_context io{1};
  ipc::UnixStream stream{io};
  beast::flat_buffer buffer;
  bool reused = false;     // taken from the pool: may have been closed while idle
  bool keep_open = false;  // the last answer allows another request on this connection
};

Error ConnectError(const std::string& socket_path, int errno_value) {
  std::string prefix = "cannot connect to " + socket_path + ": ";
  switch (errno_value) {
    case ENOENT:
      return Error(ErrorKind::kUnreachable,
                   prefix + "no such file (" + std::string(kDaemonHint) + ")");
    case ECONNREFUSED:
      return Error(ErrorKind::kUnreachable, prefix + "connection refused, nothing listens there (" +
                                                std::string(kDaemonHint) + ")");
    case EACCES:
    case EPERM:
      return Error(
          ErrorKind::kUnreachable,
          prefix + "permission denied for " + UserDescription() +
              " (the socket is open to the daemon's user and its group, daemon.socket_group)");
    case ENOTDIR:
      return Error(ErrorKind::kUnreachable, prefix + "a part of the path is not a directory");
    case ENAMETOOLONG:
      return Error(ErrorKind::kUnreachable, prefix + "path too long for a Unix socket");
    case EAGAIN:
      return Error(ErrorKind::kUnreachable,
                   prefix + "the daemon's listen queue is full (overloaded)");
    default:
      return Error(ErrorKind::kUnreachable, prefix + std::strerror(errno_value));
  }
}

Transport::Transport(std::string socket_path, ClientOptions options)
    : socket_path_(std::move(socket_path)), options_(options) {}

Transport::~Transport() = default;

Result<std::unique_ptr<Transport::Connection>> Transport::Connect() {
  if (socket_path_.empty()) return ConnectError("\"\"", ENOENT);
  if (socket_path_.size() >= sizeof(sockaddr_un::sun_path)) {
    return ConnectError(socket_path_, ENAMETOOLONG);
  }
  auto conn = std::make_unique<Connection>();
  asio::local::stream_protocol::endpoint endpoint(socket_path_);
  conn->stream.expires_after(options_.connect_timeout);
  beast::error_code ec = RunOne(conn->io, [&](beast::error_code& out) {
    conn->stream.async_connect(endpoint, [&out](beast::error_code e) { out = e; });
  });
  if (ec == beast::error::timeout) {
    return Error(ErrorKind::kUnreachable, "cannot connect to " + socket_path_ +
                                              ": no answer within " +
                                              std::to_string(options_.connect_timeout.count()) +
                                              " ms (" + std::string(kDaemonHint) + ")");
  }
  if (ec) {
    int e = ec.category() == beast::system_category() ? ec.value() : 0;
    if (e == 0) {
      return Error(ErrorKind::kUnreachable,
                   "cannot connect to " + socket_path_ + ": " + ec.message());
    }
    return ConnectError(socket_path_, e);
  }
  return conn;
}

std::unique_ptr<Transport::Connection> Transport::TakeIdle() {
  for (;;) {
    std::unique_ptr<Connection> conn;
    {
      std::scoped_lock lock(mu_);
      if (idle_.empty()) return nullptr;
      conn = std::move(idle_.back());
      idle_.pop_back();
    }
    // An idle connection with something to read has been closed by the daemon (idle timeout,
    // restart, drain): drop it rather than learn that from a failed request.
    pollfd p{conn->stream.socket().native_handle(), POLLIN, 0};
    if (poll(&p, 1, 0) == 0) {
      conn->reused = true;
      return conn;
    }
  }
}

void Transport::GiveBack(std::unique_ptr<Connection> conn) {
  std::scoped_lock lock(mu_);
  if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(conn));
}

Transport::Outcome Transport::Exchange(Connection& conn, std::string_view method,
                                       std::string_view target, const std::string& body,
                                       std::string_view accept, HttpAnswer* answer,
                                       std::optional<Error>* error) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "localhost");
  req.set(http::field::user_agent, "instaccess-client/" INSTACCESS_VERSION);
  if (!accept.empty()) req.set(http::field::accept, accept);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.keep_alive(true);
  req.prepare_payload();

  // One deadline for the whole exchange: writing, the daemon's work, reading.
  conn.stream.expires_after(options_.request_timeout);
  std::size_t written = 0;
  beast::error_code ec = RunOne(conn.io, [&](beast::error_code& out) {
    http::async_write(conn.stream, req, [&out, &written](beast::error_code e, std::size_t n) {
      out = e;
      written = n;
    });
  });
  auto timeout_error = [&] {
    return Error(ErrorKind::kTimeout, "no answer from instaccessd on " + socket_path_ + " within " +
                                          std::to_string(options_.request_timeout.count()) + " ms");
  };
  // A daemon that answers before reading the whole request (503 at its connection limit, 413)
  // and closes makes the write fail; its answer may still be waiting to be read.
  bool write_failed = false;
  if (ec) {
    if (ec == beast::error::timeout) {
      *error = timeout_error();
      return Outcome::kFailed;
    }
    if (!IsClosedByPeer(ec)) {
      *error = Error(ErrorKind::kUnreachable,
                     "sending to instaccessd on " + socket_path_ + " failed: " + ec.message());
      return Outcome::kFailed;
    }
    // A kept-alive connection the daemon closed while it sat in the pool: nothing of this
    // request reached the daemon, and any answer waiting there cannot be to it.
    if (conn.reused && written == 0) return Outcome::kNotSent;
    write_failed = true;
  }

  http::response_parser<http::string_body> parser;
  parser.body_limit(options_.max_response_bytes);
  ec = RunOne(conn.io, [&](beast::error_code& out) {
    http::async_read(conn.stream, conn.buffer, parser,
                     [&out](beast::error_code e, std::size_t) { out = e; });
  });
  if (ec) {
    if (conn.reused && IsClosedByPeer(ec) && !parser.got_some() && conn.buffer.size() == 0) {
      return Outcome::kClosedBeforeAnswer;
    }
    if (ec == beast::error::timeout) {
      *error = timeout_error();
    } else if (IsClosedByPeer(ec) || write_failed) {
      *error = Error(ErrorKind::kUnavailable,
                     "instaccessd closed the connection on " + socket_path_ + " without an answer");
    } else if (ec == http::error::body_limit) {
      *error =
          Error(ErrorKind::kProtocol, "the answer is larger than " +
                                          std::to_string(options_.max_response_bytes) + " bytes");
    } else {
      *error = Error(ErrorKind::kProtocol, "unreadable answer on " + socket_path_ +
                                               " (is it instaccessd's socket?): " + ec.message());
    }
    return Outcome::kFailed;
  }
  auto& res = parser.get();
  answer->status = static_cast<int>(res.result_int());
  answer->content_type = std::string(res[http::field::content_type]);
  if (auto it = res.find(http::field::retry_after); it != res.end()) {
    std::string v(it->value());
    if (!v.empty() && v.size() < 6 && v.find_first_not_of("0123456789") == std::string::npos) {
      answer->retry_after = std::stoi(v);
    }
  }
  answer->body = std::move(res.body());
  // Reusable only when the daemon keeps it open, took the whole request, and nothing
  // unasked-for is buffered.
  conn.keep_open = res.keep_alive() && !write_failed && conn.buffer.size() == 0;
  return Outcome::kAnswered;
}

Result<HttpAnswer> Transport::Call(std::string_view method, std::string_view target,
                                   std::string body, std::string_view accept) {
  try {
    // Two rounds at most: a reused connection found closed is replaced once by a fresh one when
    // the request may be sent again (see the header).
    for (int round = 0; round < 2; ++round) {
      std::unique_ptr<Connection> conn = round == 0 ? TakeIdle() : nullptr;
      if (!conn) {
        auto fresh = Connect();
        if (!fresh) return fresh.error();
        conn = std::move(*fresh);
      }
      HttpAnswer answer;
      std::optional<Error> error;
      Outcome outcome = Exchange(*conn, method, target, body, accept, &answer, &error);
      if (outcome == Outcome::kNotSent) continue;
      if (outcome == Outcome::kClosedBeforeAnswer) {
        if (IsSafeToResend(method)) continue;
        return Error(ErrorKind::kUnavailable,
                     "instaccessd closed the connection on " + socket_path_ + " after " +
                         std::string(method) +
                         " was sent and before any answer; not sent again, since the daemon may "
                         "have acted on it");
      }
      if (outcome == Outcome::kFailed) return *error;
      if (conn->keep_open && conn->stream.socket().is_open()) GiveBack(std::move(conn));
      return answer;
    }
    return Error(ErrorKind::kUnavailable, "instaccessd on " + socket_path_ +
                                              " closed the connection twice without an answer");
  } catch (const std::exception& e) {
    // Asio reports failures through error codes here; only resource exhaustion throws.
    return Error(ErrorKind::kInternal, std::string("client failure: ") + e.what());
  }
}

}  // namespace instaccess::client::internal
