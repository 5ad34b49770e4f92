// Maps (method, path) to a handler. Paths are literal segments or one "{name}" placeholder
// segment, e.g. "/api/v1/keys/{kid}/revoke". Unknown path -> 404; known path, other method -> 405.
//
// Thread-safety: build it before serving; Dispatch is then safe from many threads at once.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/http_types.h"
#include "ipc/peer.h"

namespace instaccess::ipc {

using PathParams = std::map<std::string, std::string, std::less<>>;
using Handler = std::function<Response(const Request&, const Peer&, const PathParams&)>;

class Router {
 public:
  void Add(std::string method, std::string pattern, Handler handler);
  Response Dispatch(const Request& request, const Peer& peer) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace instaccess::ipc
