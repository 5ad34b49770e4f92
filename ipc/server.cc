#include "ipc/server.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "ipc/http_parse.h"

namespace instaccess::ipc {

namespace {

using asio::use_awaitable;

// What a connection is doing: only an idle one may be closed by Drain().
enum class Phase { kIdle, kReading, kHandling };

// A connection keeps its last request's and answer's storage for the next ones: a decrypt's
// body (a 1.4 KB token) and an issue's answer are past malloc's per-thread cache, and allocating
// the body each time took 3.5 us of a cold decrypt while the decrypt cache grew the heap (perf).
// Kept only up to this size, so 1,000 idle connections hold a few MB at most.
constexpr std::size_t kKeptCapacity = 4096;

// The most one read of a request asks for (what Beast's async_read reads at a time).
constexpr std::size_t kReadSize = 64 * 1024;

void ReleaseIfLarge(std::string& s) {
  if (s.capacity() > kKeptCapacity) std::string().swap(s);
}

// Writes `response` whole (one string: Beast's serializer walked its header fields for every
// answer, a measurable share of a cached decrypt). The socket is non-blocking: what fits in its
// buffer, almost always all of it, is sent at once, and only the rest waits for the event loop
// (an asynchronous write that completes at once still takes a trip through the loop's queue).
// `bytes` is the connection's output buffer, reused: an issue's answer (1.4 KB) is past malloc's
// per-thread cache.
asio::awaitable<void> Write(UnixSocket& socket, const Response& response, bool keep_alive,
                            std::string& bytes, beast::error_code& ec) {
  bytes.clear();
  AppendResponse(response, keep_alive, &bytes);
  std::size_t sent = socket.write_some(asio::buffer(bytes), ec);
  if (ec == asio::error::would_block) {
    sent = 0;
    ec.clear();
  }
  if (ec || sent == bytes.size()) co_return;
  co_await asio::async_write(socket, asio::buffer(bytes) + sent,
                             asio::redirect_error(use_awaitable, ec));
}

// The first pause after a failed accept, and the longest (see Server).
constexpr std::chrono::milliseconds kFirstBackoff{10};
constexpr std::chrono::milliseconds kMaxBackoff{1000};

bool Counted(PeerClass c) { return c == PeerClass::kWorker || c == PeerClass::kTrusted; }

Response Overloaded(std::string message) {
  Response r = JsonError(503, "overloaded", std::move(message));
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

bool IsDisconnect(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
         ec == asio::error::broken_pipe;
}

}  // namespace

// Touched only on the connection's event loop.
struct Server::Connection {
  explicit Connection(UnixSocket s) : socket(std::move(s)), watch(socket.get_executor()) {}
  // Sets the time by which the current wait, read or write must be done. A plain store: Beast's
  // basic_stream armed a timer for every read and write, a timer-queue update and often a
  // timerfd_settime call each, a measurable share of a request (docs/performance.md).
  void ExpiresAfter(std::chrono::milliseconds timeout) { deadline = Clock::now() + timeout; }
  void NoDeadline() { deadline = Clock::time_point::max(); }

  using Clock = std::chrono::steady_clock;
  UnixSocket socket;
  Peer peer;                                // Set at accept.
  PeerClass peer_class = PeerClass::kNone;  // Set at accept.
  bool admitted = false;                    // Counted against its bounds; guarded by mu_.
  asio::steady_timer watch;                 // Wakes Watch() every tick.
  Clock::time_point deadline = Clock::time_point::max();
  Phase phase = Phase::kIdle;
};

// An io_context run by one thread (concurrency hint 1 lets Asio queue the thread's own work
// privately, without waking anyone) and that thread. The work guard keeps it running while it
// has no connection.
struct Server::Loop {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::thread thread;
  // steady_clock ticks of the last heartbeat the loop ran (Heartbeat()).
  std::atomic<std::chrono::steady_clock::rep> beat{
      std::chrono::steady_clock::now().time_since_epoch().count()};
};

Server::Server(asio::io_context& io, UniqueFd listener, ServerLimits limits, RequestHandler handler,
               RequestObserver observer, PeerClassifier classify)
    : acceptor_(asio::make_strand(io)),
      backoff_timer_(acceptor_.get_executor()),
      limits_(limits),
      tick_(std::max(std::chrono::milliseconds(10),
                     std::min(limits.read_timeout, limits.idle_timeout) / 4)),
      handler_(std::move(handler)),
      observer_(std::move(observer)),
      classify_(classify ? std::move(classify) : [euid = geteuid()](const Peer& peer) {
        return peer.uid == 0 || peer.uid == euid ? PeerClass::kTrusted : PeerClass::kWorker;
      }),
      max_queue_per_uid_(std::max<std::size_t>(1, limits.max_queue / 4)) {
  acceptor_.assign(asio::local::stream_protocol(), listener.release());
  for (std::size_t i = 0; i < std::max<std::size_t>(1, limits_.threads); ++i) {
    loops_.push_back(std::make_unique<Loop>());
  }
}

Server::~Server() {
  for (auto& loop : loops_) {
    if (!loop->thread.joinable()) continue;
    loop->io.stop();
    loop->thread.join();
  }
}

void Server::Start() {
  for (auto& loop : loops_) loop->thread = std::thread([&io = loop->io] { io.run(); });
  asio::co_spawn(acceptor_.get_executor(), Accept(), asio::detached);
}

void Server::Drain() {
  draining_ = true;
  // On the acceptor's strand, so no connection can be half handed to a loop meanwhile.
  asio::post(acceptor_.get_executor(), [this] {
    beast::error_code ec;
    acceptor_.close(ec);
    backoff_timer_.cancel();
    for (auto& loop : loops_) loop->work.reset();
  });
  std::scoped_lock lock(mu_);
  for (const auto& conn : connections_) {
    // Runs on the connection's loop, so it cannot interleave with the coroutine's own steps.
    asio::post(conn->socket.get_executor(), [conn] {
      beast::error_code ignored;
      if (conn->phase == Phase::kIdle) conn->socket.cancel(ignored);
    });
  }
}

bool Server::Heartbeat(std::chrono::steady_clock::duration within) {
  using std::chrono::steady_clock;
  const steady_clock::rep now = steady_clock::now().time_since_epoch().count();
  bool all_alive = true;
  for (auto& loop : loops_) {
    all_alive &= steady_clock::duration(now - loop->beat.load()) <= within;
    asio::post(loop->io,
               [&beat = loop->beat] { beat = steady_clock::now().time_since_epoch().count(); });
  }
  return all_alive;
}

void Server::Join() {
  for (auto& loop : loops_) {
    if (loop->thread.joinable()) loop->thread.join();
  }
}

asio::awaitable<void> Server::Accept() {
  for (;;) {
    // Round robin: with keep-alive clients this spreads connections, and so work, evenly.
    Loop& loop = *loops_[next_loop_++ % loops_.size()];
    UnixSocket socket(loop.io);
    beast::error_code ec;
    co_await acceptor_.async_accept(socket, asio::redirect_error(use_awaitable, ec));
    if (draining_ || ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {
      // EMFILE and friends: the connection waits in the listen queue, and accepting again at
      // once would fail again at once (a busy loop), so pause first.
      if (!co_await BackOff(ec)) co_return;
      continue;
    }
    if (failed_accepts_ > 0) {
      spdlog::warn("accepting again after {} failed accept(s)", failed_accepts_);
      failed_accepts_ = 0;
      backoff_ = std::chrono::milliseconds(0);
    }
    // An exception here (libstdc++ throws when reading /proc/PID/comm of a process exiting at
    // that moment) costs this connection, never the accept loop.
    std::shared_ptr<Connection> conn;
    try {
      auto peer = PeerOf(socket.native_handle());
      if (!peer) {
        spdlog::error("dropping connection: {}", peer.error().ToString());
        continue;  // `socket` closes
      }
      conn = std::make_shared<Connection>(std::move(socket));
      conn->peer = std::move(*peer);
      conn->peer_class = classify_(conn->peer);
    } catch (const std::exception& e) {
      spdlog::error("dropping connection: {}", e.what());
      continue;
    }
    // Decided here, where connections arrive one at a time: a check in Serve() would run on the
    // loops, after later arrivals were counted, and could turn away connections within the limit.
    std::string refusal;
    {
      std::scoped_lock lock(mu_);
      connections_.insert(conn);
      refusal = Admit(*conn);
    }
    if (!refusal.empty()) refused_connections_.fetch_add(1, std::memory_order_relaxed);
    live_++;
    asio::co_spawn(conn->socket.get_executor(), Watch(conn), asio::detached);
    // Serve ends with Forget(conn). An exception (bad_alloc in the parser, say) skips that, and
    // `detached` would drop it silently: the slot, the descriptor and the watch would leak.
    asio::co_spawn(conn->socket.get_executor(), Serve(conn, std::move(refusal)),
                   [this, conn](std::exception_ptr failure) {
                     if (!failure) return;
                     try {
                       std::rethrow_exception(failure);
                     } catch (const std::exception& e) {
                       spdlog::error("dropping connection: {}", e.what());
                     } catch (...) {
                       spdlog::error("dropping connection: unknown exception");
                     }
                     Forget(conn);
                   });
  }
}

asio::awaitable<bool> Server::BackOff(const beast::error_code& ec) {
  ++failed_accepts_;
  if (backoff_.count() == 0) {
    backoff_ = kFirstBackoff;
    spdlog::warn(
        "accept failed: {}; pausing accepts ({} ms, doubling up to {} ms) until one succeeds",
        ec.message(), kFirstBackoff.count(), kMaxBackoff.count());
  } else {
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  }
  backoff_timer_.expires_after(backoff_);
  beast::error_code ignored;
  co_await backoff_timer_.async_wait(asio::redirect_error(use_awaitable, ignored));
  co_return !draining_ && acceptor_.is_open();
}

std::string Server::Admit(Connection& conn) {
  const bool counted = Counted(conn.peer_class);
  std::size_t& pool = counted ? worker_connections_ : other_connections_;
  const std::size_t pool_max = counted ? limits_.max_connections : limits_.max_other_connections;
  if (pool >= pool_max) {
    return counted ? "already " + std::to_string(pool) + " open, the limit"
                   : "already " + std::to_string(pool) +
                         " open of peers without the issue or decrypt role, the limit";
  }
  if (conn.peer_class != PeerClass::kTrusted) {
    auto [it, added] = uid_connections_.try_emplace(conn.peer.uid, 0);
    if (it->second >= limits_.max_connections_per_uid) {
      if (added) uid_connections_.erase(it);
      return "uid " + std::to_string(conn.peer.uid) + " already has " +
             std::to_string(limits_.max_connections_per_uid) + " open, the limit per uid";
    }
    ++it->second;
  }
  ++pool;
  conn.admitted = true;
  return {};
}

asio::awaitable<Response> Server::Handle(const std::shared_ptr<Connection>& conn,
                                         const Request& request, const Peer& peer) {
  auto started = std::chrono::steady_clock::now();
  // A handler bug must cost one request, not the daemon.
  auto internal_error = [&request](const char* what) {
    spdlog::error("handler failed for {} {}: {}", request.method, request.path, what);
    return JsonError(500, "internal", "internal error");
  };
  Reply reply = Response();
  std::string_view route;
  try {
    reply = handler_(request, peer, &route);
  } catch (const std::exception& e) {
    reply = internal_error(e.what());
  }
  Response response;
  if (auto* job = std::get_if<Deferred>(&reply)) {
    // Expensive: go to the back of the loop's queue, behind the requests of its other
    // connections that are already read, in FIFO order. The count of jobs posted and not yet
    // started, over all loops, is the work queue; past max_queue, or past a bounded uid's
    // share of it, the answer is 503 at once.
    const bool bounded = conn->peer_class != PeerClass::kTrusted;
    bool full = queued_.fetch_add(1) >= limits_.max_queue;
    bool uid_full = false;
    if (!full && bounded) {
      std::scoped_lock lock(queue_mu_);
      auto [it, added] = uid_queued_.try_emplace(peer.uid, 0);
      uid_full = it->second >= max_queue_per_uid_;
      if (!uid_full) {
        ++it->second;
      } else if (added) {
        uid_queued_.erase(it);
      }
    }
    if (full || uid_full) {
      queued_--;
      refused_requests_.fetch_add(1, std::memory_order_relaxed);
      response = Overloaded(full ? "server is busy; retry shortly"
                                 : "too many requests of " + peer.User(Peer::Name::kCached) +
                                       " are queued; retry shortly");
    } else {
      co_await asio::post(conn->socket.get_executor(), use_awaitable);
      queued_--;
      if (bounded) {
        std::scoped_lock lock(queue_mu_);
        auto it = uid_queued_.find(peer.uid);
        if (--it->second == 0) uid_queued_.erase(it);
      }
      try {
        response = (*job)();
      } catch (const std::exception& e) {
        response = internal_error(e.what());
      }
    }
  } else {
    response = std::move(std::get<Response>(reply));
  }
  if (observer_) {
    observer_(request, response, route,
              std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - started));
  }
  co_return response;
}

asio::awaitable<void> Server::Watch(std::shared_ptr<Connection> conn) {
  beast::error_code ec;
  while (conn->socket.is_open()) {
    conn->watch.expires_after(tick_);
    co_await conn->watch.async_wait(asio::redirect_error(use_awaitable, ec));
    // Past its deadline, the connection's pending read or write ends with operation_aborted and
    // Serve() closes it; when none is pending the connection is busy with a request, not late.
    if (conn->socket.is_open() && Connection::Clock::now() >= conn->deadline) {
      conn->socket.cancel(ec);
    }
  }
}

void Server::Forget(const std::shared_ptr<Connection>& conn) {
  beast::error_code ec;
  conn->socket.shutdown(asio::socket_base::shutdown_both, ec);
  conn->socket.close(ec);
  conn->watch.cancel();
  live_--;
  std::scoped_lock lock(mu_);
  connections_.erase(conn);
  if (!conn->admitted) return;
  conn->admitted = false;
  --(Counted(conn->peer_class) ? worker_connections_ : other_connections_);
  if (conn->peer_class != PeerClass::kTrusted) {
    auto it = uid_connections_.find(conn->peer.uid);
    if (--it->second == 0) uid_connections_.erase(it);
  }
}

asio::awaitable<void> Server::Serve(std::shared_ptr<Connection> conn, std::string refusal) {
  UnixSocket& socket = conn->socket;
  beast::error_code ec;
  // Write() sends at once what fits in the socket's buffer and must never block the loop.
  socket.non_blocking(true, ec);
  if (ec) {
    spdlog::error("dropping connection: cannot make its socket non-blocking: {}", ec.message());
    Forget(conn);
    co_return;
  }

  if (!refusal.empty()) {
    spdlog::warn("refusing connection from {}: {}", conn->peer.Describe(Peer::Name::kCached),
                 refusal);
    const Response answer = Overloaded("too many connections");
    conn->ExpiresAfter(limits_.read_timeout);
    std::string bytes;
    co_await Write(socket, answer, false, bytes, ec);
    Forget(conn);
    co_return;
  }
  const Peer& peer = conn->peer;
  // A peer without any role may not hold a connection open between requests.
  const bool one_request = conn->peer_class == PeerClass::kNone;

  // Capped: Beast limits a request's header and body, but not the line that announces a chunk,
  // so a client could otherwise grow this buffer without end (by gigabytes within one read
  // timeout over a Unix socket). The parser consumes what it has parsed, so the buffer never
  // needs more than a header and one read beyond it; past the cap the read fails with
  // buffer_overflow and the client gets a 400.
  beast::flat_buffer buffer(limits_.max_header + limits_.max_body + kReadSize);
  Request request;    // reused: see kKeptCapacity
  std::string bytes;  // the answer being written, reused too
  while (!draining_) {
    // Wait for the first byte of the next request under the idle timeout...
    // (A read, not a wait: Asio re-arms epoll with a system call for every wait, while a read
    // tried at once costs one only when nothing has come yet.)
    conn->phase = Phase::kIdle;
    if (buffer.size() == 0) {
      conn->ExpiresAfter(limits_.idle_timeout);
      std::size_t n = co_await socket.async_read_some(buffer.prepare(4096),
                                                      asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      buffer.commit(n);
    }
    // ...then the whole request under the (shorter) read timeout.
    conn->phase = Phase::kReading;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits_.max_header));
    parser.body_limit(limits_.max_body);
    request.body.clear();
    parser.get().body().swap(request.body);  // the parser appends to it
    conn->ExpiresAfter(limits_.read_timeout);
    if (!ParseBuffered(parser, buffer, ec)) {
      co_await http::async_read(socket, buffer, parser, asio::redirect_error(use_awaitable, ec));
    }
    if (ec) {
      // Watch() cancelled the read at the deadline: the request did not arrive in time. The
      // client gets an error (408, docs/api.md), unlike one that merely went away.
      const bool too_slow =
          ec == asio::error::operation_aborted && Connection::Clock::now() >= conn->deadline;
      if (too_slow || !IsDisconnect(ec)) {
        // A named local, not a ?: temporary inside the co_await: g++ 12 destroys such a
        // temporary twice in a coroutine (a double free).
        const Response error = too_slow
                                   ? JsonError(408, "request_timeout",
                                               "the request did not arrive within the read timeout")
                                   : ParseErrorResponse(ec);
        conn->ExpiresAfter(limits_.read_timeout);
        co_await Write(socket, error, false, bytes, ec);
      }
      break;
    }

    conn->phase = Phase::kHandling;
    conn->NoDeadline();
    bool keep_alive = parser.get().keep_alive();
    FillRequest(parser.get(), &request);
    Response response = co_await Handle(conn, request, peer);
    keep_alive = keep_alive && !draining_ && !one_request;
    conn->ExpiresAfter(limits_.read_timeout);
    co_await Write(socket, response, keep_alive, bytes, ec);
    if (ec || !keep_alive) break;
    ReleaseIfLarge(request.body);
    ReleaseIfLarge(bytes);
    // After an answer, the back of the loop's queue: a client that sends requests back to back
    // takes turns with the loop's other connections, and a client that waited for its answer
    // has usually sent its next request by the time this connection reads again (reading at
    // once finds nothing: a wasted system call, and fewer answers per wake-up of the client).
    // (A Drain() meanwhile is seen by the loop's condition.)
    co_await asio::post(socket.get_executor(), use_awaitable);
  }
  Forget(conn);
}

}  // namespace instaccess::ipc
