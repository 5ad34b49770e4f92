#include "daemon/routes.h"

namespace instaccess::daemon {

ipc::Router BuildRouter() {
  ipc::Router router;
  router.Add("GET", "/healthz", std::nullopt, [](const ipc::Request&, const ipc::Peer&, const ipc::PathParams&) {
    ipc::Response r;
    r.content_type = "text/plain";
    r.body = "ok\n";
    return r;
  });
  return router;
}

}  // namespace instaccess::daemon
