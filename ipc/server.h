// HTTP/1.1 over a listening Unix stream socket.
//
// Every connection is a coroutine on its own strand; the io_context may be run by many threads
// (the daemon runs one per core), so requests on different connections are handled in parallel.
// Expensive work (RSA) is posted to the io_context as a job of its own and counted: the count is
// the work queue, bounded by max_queue. The same threads do I/O and RSA, so a request costs
// no hand-off between thread pools (measured: ~0.7 context switches per issue request against
// ~3 with a separate worker pool, and ~9% more tokens per second on 2 cores).
// Keep-alive and pipelining are supported: bytes after one request stay in the connection's
// buffer for the next.
//
// Every byte from the socket is hostile: header and body sizes are bounded before parsing
// completes, a request must arrive within read_timeout once started, an idle connection closes
// after idle_timeout, and past max_connections new connections get 503 and are closed. A bad
// request gets an error answer (400/413/431) and its connection is closed; the server goes on.
//
// Thread-safety: Start() once; Drain() from any thread; connections() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "ipc/asio.h"
#include "ipc/http_types.h"
#include "ipc/peer.h"
#include "ipc/router.h"
#include "ipc/unix_socket.h"

namespace instaccess::ipc {

struct ServerLimits {
  // DESIGN.md §5: a token is at most 16 KiB, so 64 KiB bodies and 8 KiB headers leave room for
  // every legitimate request while bounding what one connection can make us hold.
  std::size_t max_header = 8 * 1024;
  std::size_t max_body = 64 * 1024;
  // Each connection costs a socket and a small buffer; this bounds both.
  std::size_t max_connections = 1024;
  // Time for a whole request once its first byte arrived (defeats slowloris).
  std::chrono::milliseconds read_timeout{10'000};
  // Time a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout{60'000};
  // Expensive requests waiting for a thread; past this they get 503 overloaded + Retry-After.
  // 256 is about 30 ms of RSA-2048 work on 2 cores: beyond that, waiting helps nobody.
  std::size_t max_queue = 256;
};

// Called first on the connection's strand (Stage::kIoThread); returning nullopt queues the
// request as expensive work, and the handler is called again (Stage::kWorker) on whichever
// thread of the io_context takes it, where it must answer.
using RequestHandler = std::function<std::optional<Response>(const Request&, const Peer&, Stage)>;
// Told about every answered request, for metrics and logs.
using RequestObserver =
    std::function<void(const Request&, const Response&, std::chrono::microseconds elapsed)>;

class Server {
 public:
  Server(asio::io_context& io, UniqueFd listener, ServerLimits limits, RequestHandler handler,
         RequestObserver observer = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void Start();
  // Stops accepting, lets requests in flight finish and be answered, closes idle connections.
  // When the last connection is gone the server holds no more work on the io_context.
  void Drain();
  std::size_t connections() const { return live_.load(); }
  // Expensive requests queued and not yet started.
  std::size_t queued() const { return queued_.load(); }

 private:
  struct Connection;
  asio::awaitable<void> Accept();
  asio::awaitable<void> Serve(std::shared_ptr<Connection> conn);
  asio::awaitable<Response> Handle(const std::shared_ptr<Connection>& conn, Request request,
                                   const Peer& peer);
  void Forget(const std::shared_ptr<Connection>& conn);

  asio::io_context& io_;
  asio::local::stream_protocol::acceptor acceptor_;
  const ServerLimits limits_;
  const RequestHandler handler_;
  const RequestObserver observer_;
  std::atomic<bool> draining_{false};
  std::atomic<std::size_t> live_{0};
  std::atomic<std::size_t> queued_{0};
  std::mutex mu_;
  std::unordered_set<std::shared_ptr<Connection>> connections_;  // Guarded by mu_.
};

}  // namespace instaccess::ipc
