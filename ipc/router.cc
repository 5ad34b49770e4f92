#include "ipc/router.h"

#include <spdlog/spdlog.h>

#include "common/log_text.h"

namespace instaccess::ipc {

namespace {

// The non-empty segments of `path`, as views into it (no copies: this runs for every request).
std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool IsPlaceholder(const std::string& s) {
  return s.size() > 2 && s.front() == '{' && s.back() == '}';
}

bool Match(const std::vector<std::string>& pattern, const std::vector<std::string_view>& path,
           PathParams* params) {
  if (pattern.size() != path.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (IsPlaceholder(pattern[i])) {
      (*params)[pattern[i].substr(1, pattern[i].size() - 2)] = std::string(path[i]);
    } else if (pattern[i] != path[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

void Router::Add(std::string method, std::string pattern, std::optional<Role> role,
                 Handler handler) {
  std::vector<std::string> segments;
  for (std::string_view segment : Split(pattern)) segments.emplace_back(segment);
  routes_.push_back({std::move(method), std::move(segments), role, std::move(handler)});
}

Handler Cheap(std::function<Response(const Request&, const Peer&, const PathParams&)> f) {
  return [f = std::move(f)](const Request& r, const Peer& p, const PathParams& pp) -> Reply {
    return f(r, p, pp);
  };
}

Handler Expensive(std::function<Response(const Request&, const Peer&, const PathParams&)> f) {
  // The route, and so `f`, lives as long as the Router; the request and peer outlive the job.
  return [f = std::move(f)](const Request& r, const Peer& p, const PathParams& pp) -> Reply {
    return Deferred([&f, &r, &p, pp] { return f(r, p, pp); });
  };
}

Reply Router::Dispatch(const Request& request, const Peer& peer, const AccessPolicy& policy) const {
  std::vector<std::string_view> path = Split(request.path);
  bool path_known = false;
  for (const Route& route : routes_) {
    PathParams params;
    if (!Match(route.segments, path, &params)) continue;
    path_known = true;
    if (route.method != request.method) continue;
    if (route.role && !policy.Allows(peer, *route.role)) {
      // The method and path are the client's: escaped and cut (LogText), since a refused client
      // may send 8 KiB of path in every pipelined request and each refusal is a warning.
      spdlog::warn("refused {} {} from {}: no '{}' role", LogText(request.method),
                   LogText(request.path), peer.Describe(Peer::Name::kCached),
                   RoleName(*route.role));
      return JsonError(403, "forbidden",
                       "permission denied: " + peer.User(Peer::Name::kCached) + " has no '" +
                           std::string(RoleName(*route.role)) + "' role");
    }
    return route.handler(request, peer, params);
  }
  if (path_known) {
    return JsonError(405, "method_not_allowed",
                     "method " + request.method + " is not allowed on " + request.path);
  }
  return JsonError(404, "not_found", "no such endpoint: " + request.path);
}

}  // namespace instaccess::ipc
