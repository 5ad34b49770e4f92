// HTTP/1.1 over a listening Unix stream socket.
//
// The listening socket is served on the caller's io_context; each accepted connection is handed,
// in turn, to one of `threads` event loops, each a single-threaded io_context on a thread of its
// own (the daemon runs one per core). A connection's coroutine runs on its loop from then on, so
// requests on different connections are handled in parallel, and one request never changes
// thread. Expensive work (RSA) is posted to the back of the loop's queue as a job of its own and
// counted: the count over all loops is the work queue, bounded by max_queue. The same threads do
// I/O and RSA, and a loop needs no locks or wake-ups of other threads (measured on 2 cores: one
// io_context run by every thread, with strands, cost 0.66 context switches per issue request;
// see docs/performance.md).
// Keep-alive and pipelining are supported: bytes after one request stay in the connection's
// buffer for the next.
//
// Every byte from the socket is hostile: header and body sizes are bounded before parsing
// completes, a request must arrive within read_timeout once started, an idle connection closes
// after idle_timeout (each checked every quarter of the shorter timeout, so enforced within a
// quarter of it), and past max_connections new connections get 503 and are closed. A bad
// request gets an error answer (400/413/431) and its connection is closed; the server goes on.
//
// Thread-safety: Start() once; Drain() from any thread; Join() once, from the thread that owns
// the Server; connections() and queued() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "ipc/asio.h"
#include "ipc/http_types.h"
#include "ipc/peer.h"
#include "ipc/router.h"
#include "ipc/unix_socket.h"

namespace instaccess::ipc {

struct ServerLimits {
  // A token is at most 16 KiB (docs/api.md), so 64 KiB bodies and 8 KiB headers leave room for
  // every legitimate request while bounding what one connection can make us hold.
  std::size_t max_header = 8 * 1024;
  std::size_t max_body = 64 * 1024;
  // Each connection costs a socket and a small buffer; this bounds both.
  std::size_t max_connections = 1024;
  // The same per uid, for uids the server bounds (see Server).
  std::size_t max_connections_per_uid = 64;
  // Time for a whole request once its first byte arrived (defeats slowloris).
  std::chrono::milliseconds read_timeout{10'000};
  // Time a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout{60'000};
  // Expensive requests waiting for a thread; past this they get 503 overloaded + Retry-After.
  // 256 is about 30 ms of RSA-2048 work on 2 cores: beyond that, waiting helps nobody.
  std::size_t max_queue = 256;
  // Event loops (threads) that serve connections and do their RSA work; at least 1.
  std::size_t threads = 1;
};

// Called as soon as a request is read. A Deferred reply is queued as expensive work and run when
// the connection's event loop reaches it.
using RequestHandler = std::function<Reply(const Request&, const Peer&)>;
// Told about every answered request, for metrics and logs.
using RequestObserver =
    std::function<void(const Request&, const Response&, std::chrono::microseconds elapsed)>;

class Server {
 public:
  // `io` only accepts; whoever runs it must also run it to the end of a Drain().
  Server(asio::io_context& io, UniqueFd listener, ServerLimits limits, RequestHandler handler,
         RequestObserver observer = nullptr);
  // Without Drain() and Join() first, stops the event loops where they are.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts accepting and the event loops' threads.
  void Start();
  // Stops accepting, lets requests in flight finish and be answered, closes idle connections.
  // The server then holds no more work on `io`, and each event loop ends with its last connection.
  void Drain();
  // Waits, after Drain(), for the event loops to end.
  void Join();
  // For a watchdog: true when every event loop has run the heartbeat posted to it by the previous
  // call (or been started) within `within`; then posts the next heartbeat. A loop stuck in one
  // job makes it false.
  bool Heartbeat(std::chrono::steady_clock::duration within);
  std::size_t connections() const { return live_.load(); }
  // Expensive requests queued and not yet started.
  std::size_t queued() const { return queued_.load(); }

 private:
  struct Connection;
  struct Loop;
  asio::awaitable<void> Accept();
  asio::awaitable<void> Serve(std::shared_ptr<Connection> conn, bool over_limit);
  // Cuts the connection's pending read or write off once it is past its deadline; ends when the
  // connection is closed.
  asio::awaitable<void> Watch(std::shared_ptr<Connection> conn);
  // `request` is the caller's and outlives the call (a deferred job may point into its body).
  asio::awaitable<Response> Handle(const std::shared_ptr<Connection>& conn, const Request& request,
                                   const Peer& peer);
  void Forget(const std::shared_ptr<Connection>& conn);

  asio::local::stream_protocol::acceptor acceptor_;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::size_t next_loop_ = 0;  // Touched only on the acceptor's strand.
  const ServerLimits limits_;
  const std::chrono::milliseconds tick_;  // How often Watch() looks at a deadline.
  const RequestHandler handler_;
  const RequestObserver observer_;
  std::atomic<bool> draining_{false};
  std::atomic<std::size_t> live_{0};
  std::atomic<std::size_t> queued_{0};
  std::mutex mu_;
  std::unordered_set<std::shared_ptr<Connection>> connections_;  // Guarded by mu_.
};

}  // namespace instaccess::ipc
