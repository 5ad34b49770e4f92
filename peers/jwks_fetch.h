// FetchJwks: one HTTP GET of a peer's JWKS with libcurl, bounded in every dimension.
//
// Guarantees:
//   - https only, with the peer's certificate and host name always verified (the system's CAs
//     plus ca_file); or http://localhost/... over a Unix socket (ValidatePeerUrl). No proxy from
//     the environment, no netrc, no compressed bodies.
//   - Redirects are not followed: a 3xx is an error, as is any status but 200 (and 304 when
//     if_none_match was sent).
//   - The body is bounded (max_body: the transfer is aborted past it), and so are the connect
//     time, the total time and the transfer speed (a peer that drips bytes is cut off).
// It does not parse the body (ParsePeerJwks does) and does not retry (the follower does).
// Errors are Unavailable (the peer could not be fetched, or the fetch was cancelled) or
// InvalidArgument (the URL breaks the rule); the message never holds the body.
//
// Thread-safety: may be called from several threads at once; each call has its own handle.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "common/status.h"

namespace instaccess::peers {

struct FetchLimits {
  // Our own JWKS with a dozen RSA-4096 keys is under 10 KiB.
  std::size_t max_body = 64 * 1024;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds total_timeout{15000};
  // Under low_speed_bytes per second for low_speed_time: a slow drip, cut off.
  long low_speed_bytes = 1024;
  std::chrono::seconds low_speed_time{5};
};

struct FetchRequest {
  std::string url;
  std::string unix_socket;    // empty: over the network
  std::string ca_file;        // empty: the system's CAs only
  std::string if_none_match;  // the ETag of the set held; empty: none
  FetchLimits limits;
  // When set and true, the fetch ends within about a second (libcurl's progress callback runs
  // at least that often), also in the middle of a slow transfer: the daemon's shutdown.
  const std::atomic<bool>* cancelled = nullptr;
};

struct FetchReply {
  bool not_modified = false;  // 304: the set held is current
  std::string body;           // 200 only
  std::string etag;           // empty when the peer sent none (or an unusable one)
  std::optional<std::chrono::seconds> max_age;  // from Cache-Control
};

Result<FetchReply> FetchJwks(const FetchRequest& request);

}  // namespace instaccess::peers
