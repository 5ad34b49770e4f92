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

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 §2.1 percent-decoding of one segment; nullopt for a '%' not followed by two hex
// digits. A decoded '/' stays part of its segment.
std::optional<std::string> PercentDecode(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (std::size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') {
      out += segment[i];
      continue;
    }
    if (i + 2 >= segment.size()) return std::nullopt;
    const int hi = HexValue(segment[i + 1]), lo = HexValue(segment[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
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
  routes_.push_back(
      {std::move(method), std::move(pattern), std::move(segments), role, std::move(handler)});
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

Reply Router::Dispatch(const Request& request, const Peer& peer, const AccessPolicy& policy,
                       std::string_view* route_taken) const {
  std::vector<std::string_view> path = Split(request.path);
  bool path_known = false;
  // Segments are matched and handed to handlers percent-decoded, so a kid with any character can
  // be named in a path. Most paths have no '%' and are matched as they are, without copies.
  std::vector<std::string> decoded;
  if (request.path.find('%') != std::string::npos) {
    for (std::string_view& segment : path) {
      std::optional<std::string> d = PercentDecode(segment);
      if (!d) return JsonError(400, "bad_request", "malformed percent-encoding in the path");
      decoded.push_back(std::move(*d));
    }
    for (std::size_t i = 0; i < path.size(); ++i) path[i] = decoded[i];
  }
  for (const Route& route : routes_) {
    PathParams params;
    if (!Match(route.segments, path, &params)) continue;
    path_known = true;
    if (route.method != request.method) continue;
    if (route_taken) *route_taken = route.pattern;
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
