// Maps (method, path) to a handler and the role it needs. Paths are literal segments or
// "{name}" placeholder segments, e.g. "/api/v1/keys/{kid}/revoke". Unknown path -> 404; known
// path, other method -> 405; a peer without the route's role -> 403 (logged with the peer).
//
// Thread-safety: build it before serving; Dispatch is then safe from many threads at once.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ipc/access.h"
#include "ipc/http_types.h"
#include "ipc/peer.h"

namespace instaccess::ipc {

using PathParams = std::map<std::string, std::string, std::less<>>;

// Work a handler leaves for later because it is expensive (RSA). The server runs it as a counted,
// queued job on the connection's event loop; it may refer to the request and the peer, which live
// until the answer is sent. What the handler computed to decide (a parsed body, a cache key) is
// captured, not computed again.
using Deferred = std::function<Response()>;
// What a handler gives at once: the answer (health, JWKS, status, cache hits, every refusal) or
// the job that will make it.
using Reply = std::variant<Response, Deferred>;

using Handler = std::function<Reply(const Request&, const Peer&, const PathParams&)>;

// Wraps a handler that is always cheap: it answers at once.
Handler Cheap(std::function<Response(const Request&, const Peer&, const PathParams&)> f);
// Wraps a handler that is always expensive: all of it is the deferred job.
Handler Expensive(std::function<Response(const Request&, const Peer&, const PathParams&)> f);

class Router {
 public:
  // role: what the peer must hold; nullopt = anyone who can reach the socket.
  void Add(std::string method, std::string pattern, std::optional<Role> role, Handler handler);
  // `route`, when given, is set to the pattern of the route that took the request (as given to
  // Add, e.g. "/api/v1/keys/{kid}"; also when it answered 403), and left as it was when none did
  // (404, 405, a malformed path): a name from a fixed set, for metrics. It views the Router's
  // own string, valid while the Router lives unchanged.
  Reply Dispatch(const Request& request, const Peer& peer, const AccessPolicy& policy,
                 std::string_view* route = nullptr) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    std::optional<Role> role;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace instaccess::ipc
