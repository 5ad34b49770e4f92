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
#include <vector>

#include "ipc/access.h"
#include "ipc/http_types.h"
#include "ipc/peer.h"

namespace instaccess::ipc {

using PathParams = std::map<std::string, std::string, std::less<>>;

// Where a handler runs. Every request is first offered to its handler on the connection's
// strand (kIoThread), at once; a handler whose work is expensive (RSA) returns std::nullopt
// there and is called again as queued work (kWorker), where it must answer. Only the second
// stage counts against the server's work queue.
enum class Stage { kIoThread, kWorker };

using Handler =
    std::function<std::optional<Response>(const Request&, const Peer&, const PathParams&, Stage)>;

// Wraps a handler that is always cheap: it answers on the connection's strand at once.
Handler Cheap(std::function<Response(const Request&, const Peer&, const PathParams&)> f);
// Wraps a handler that is always expensive: it answers as queued work (Stage::kWorker).
Handler Expensive(std::function<Response(const Request&, const Peer&, const PathParams&)> f);

class Router {
 public:
  // role: what the peer must hold; nullopt = anyone who can reach the socket.
  void Add(std::string method, std::string pattern, std::optional<Role> role, Handler handler);
  std::optional<Response> Dispatch(const Request& request, const Peer& peer,
                                   const AccessPolicy& policy, Stage stage) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    std::optional<Role> role;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace instaccess::ipc
