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
// quarter of it). A bad request gets an error answer (400/413/431) and its connection is closed;
// the server goes on.
//
// Fairness. At accept the peer's credentials are read and classified (PeerClassifier, from the
// access policy current at that moment; the class holds for the connection's life, while each
// request is still checked against the policy current when it arrives):
// - Connections of peers that hold issue or decrypt (kWorker, kTrusted) count against
//   max_connections. Connections of peers that hold neither (kLimited, kNone) count against
//   max_other_connections instead, all such peers together: they never take a slot that the
//   holders of issue or decrypt could use.
// - A uid other than root and the daemon's own (kTrusted) also has at most
//   max_connections_per_uid connections open.
// Past a bound, the new connection gets 503 overloaded with Retry-After: 1 and is closed; it is
// counted against nothing but overloads(). A peer that holds no role at all (kNone) gets the answer
// to its first request with Connection: close, and the connection is closed. Expensive work: at
// most max_queue jobs are queued over all uids, and at most a quarter of max_queue (at least 1) for
// any one uid other than root and the daemon's own; past either, the answer is 503 overloaded with
// Retry-After: 1. So no one uid can fill the queue. These two kinds of refusal are the only 503
// overloaded answers the server makes, and overloads() counts them (a handler's own 503 answers are
// not counted). Accept failures (EMFILE, ENFILE, ENOBUFS, ENOMEM: out of descriptors or memory)
// pause accepting for 10 ms, doubling up to 1 s while they last, back to 10 ms after an accept
// succeeds; one warning starts such an episode and one ends it. (Linux fails accept with EMFILE
// at the descriptor limit even when no connection waits, so an episode may start with the last
// descriptor taken and end only at the next accept that succeeds.)
//
// Thread-safety: Start() once; Drain() from any thread; Join() once, from the thread that owns
// the Server; connections(), queued() and overloads() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
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
  // Connections of all peers that hold neither issue nor decrypt, together (see Server).
  std::size_t max_other_connections = 64;
  // Time for a whole request once its first byte arrived (defeats slowloris).
  std::chrono::milliseconds read_timeout{10'000};
  // Time a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout{60'000};
  // Expensive requests waiting for a thread; past this they get 503 overloaded + Retry-After.
  // 256 is about 30 ms of RSA-2048 work on 2 cores: beyond that, waiting helps nobody. One uid
  // other than root and the daemon's own may have a quarter of it queued (see Server).
  std::size_t max_queue = 256;
  // Event loops (threads) that serve connections and do their RSA work; at least 1.
  std::size_t threads = 1;
};

// Called as soon as a request is read. A Deferred reply is queued as expensive work and run when
// the connection's event loop reaches it. The handler may set `*route` to the name of the route
// that took the request (Router::Dispatch does), which must outlive the server.
using RequestHandler = std::function<Reply(const Request&, const Peer&, std::string_view* route)>;
// Told about every answered request (those refused at accept and those that could not be parsed
// are not requests), with the handler's route (empty if it set none), for metrics and logs.
using RequestObserver = std::function<void(const Request&, const Response&, std::string_view route,
                                           std::chrono::microseconds elapsed)>;

// Refusals of the server's own for overload (503 overloaded), since it was made.
struct OverloadCounts {
  std::uint64_t connections = 0;  // connections past a connection bound, refused at accept
  std::uint64_t queue = 0;        // expensive requests past the work queue's bounds
};
// Classifies a connection's peer once, at accept, on the accepting thread (see Server).
using PeerClassifier = std::function<PeerClass(const Peer&)>;

class Server {
 public:
  // `io` only accepts; whoever runs it must also run it to the end of a Drain(). Without
  // `classify`, root and the server's own euid are kTrusted and every other peer kWorker.
  Server(asio::io_context& io, UniqueFd listener, ServerLimits limits, RequestHandler handler,
         RequestObserver observer = nullptr, PeerClassifier classify = nullptr);
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
  OverloadCounts overloads() const {
    return {refused_connections_.load(std::memory_order_relaxed),
            refused_requests_.load(std::memory_order_relaxed)};
  }

 private:
  struct Connection;
  struct Loop;
  asio::awaitable<void> Accept();
  // Waits before the next accept after a failed one (see Server); false when draining.
  asio::awaitable<bool> BackOff(const beast::error_code& ec);
  // Counts `conn` against its bounds, or gives the reason it is refused (empty: admitted).
  std::string Admit(Connection& conn);
  asio::awaitable<void> Serve(std::shared_ptr<Connection> conn, std::string refusal);
  // Cuts the connection's pending read or write off once it is past its deadline; ends when the
  // connection is closed.
  asio::awaitable<void> Watch(std::shared_ptr<Connection> conn);
  // `request` is the caller's and outlives the call (a deferred job may point into its body).
  asio::awaitable<Response> Handle(const std::shared_ptr<Connection>& conn, const Request& request,
                                   const Peer& peer);
  void Forget(const std::shared_ptr<Connection>& conn);

  asio::local::stream_protocol::acceptor acceptor_;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::size_t next_loop_ = 0;             // Touched only on the acceptor's strand.
  asio::steady_timer backoff_timer_;      // On the acceptor's strand.
  std::chrono::milliseconds backoff_{0};  // Current pause; 0 outside a failure episode.
  std::size_t failed_accepts_ = 0;        // In the current episode.
  const ServerLimits limits_;
  const std::chrono::milliseconds tick_;  // How often Watch() looks at a deadline.
  const RequestHandler handler_;
  const RequestObserver observer_;
  const PeerClassifier classify_;
  const std::size_t max_queue_per_uid_;
  std::atomic<bool> draining_{false};
  std::atomic<std::size_t> live_{0};
  std::atomic<std::size_t> queued_{0};
  std::atomic<std::uint64_t> refused_connections_{0};
  std::atomic<std::uint64_t> refused_requests_{0};
  std::mutex mu_;
  std::unordered_set<std::shared_ptr<Connection>> connections_;  // Guarded by mu_.
  // Admitted connections: of holders of issue or decrypt, of the others, and per bounded uid.
  std::size_t worker_connections_ = 0;                      // Guarded by mu_.
  std::size_t other_connections_ = 0;                       // Guarded by mu_.
  std::unordered_map<uid_t, std::size_t> uid_connections_;  // Guarded by mu_.
  std::mutex queue_mu_;
  // Queued jobs per bounded uid.
  std::unordered_map<uid_t, std::size_t> uid_queued_;  // Guarded by queue_mu_.
};

}  // namespace instaccess::ipc
