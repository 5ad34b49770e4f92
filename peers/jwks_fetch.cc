#include "peers/jwks_fetch.h"

#include <curl/curl.h>

#include <cctype>
#include <memory>
#include <mutex>
#include <string_view>

#include "peers/curl_handles.h"
#include "peers/peer_config.h"
#include "peers/refresh_policy.h"

namespace instaccess::peers {
namespace {

// An ETag is a short quoted string; one longer than this, or with bytes outside visible ASCII,
// is not echoed back to the peer.
constexpr std::size_t kMaxEtag = 256;

using internal::CurlPtr;
using internal::SlistPtr;

// curl_global_init is not thread-safe before libcurl 7.84; once per process, never cleaned up
// (other threads may still hold handles at exit).
CURLcode GlobalInit() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return result;
}

struct Transfer {
  const std::atomic<bool>* cancelled = nullptr;
  std::size_t max_body = 0;
  bool too_big = false;
  std::string body;
  std::string etag;
  std::string cache_control;
};

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (n > t->max_body - t->body.size()) {
    t->too_big = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  t->body.append(data, n);
  return n;
}

// Non-zero aborts the transfer (CURLE_ABORTED_BY_CALLBACK).
int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* t = static_cast<const Transfer*>(user);
  return t->cancelled != nullptr && t->cancelled->load() ? 1 : 0;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool HeaderIs(std::string_view name, std::string_view want) {
  if (name.size() != want.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(name[i])) != want[i]) return false;
  }
  return true;
}

bool UsableEtag(std::string_view etag) {
  if (etag.empty() || etag.size() > kMaxEtag) return false;
  for (char c : etag) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// Called once per header line, the status line included; libcurl bounds a line's length.
std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  const std::string_view line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response: forget the previous one's headers
    t->etag.clear();
    t->cache_control.clear();
    return n;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = Trim(line.substr(colon + 1));
  if (HeaderIs(name, "etag")) {
    t->etag = UsableEtag(value) ? std::string(value) : std::string();
  } else if (HeaderIs(name, "cache-control")) {
    if (!t->cache_control.empty()) t->cache_control += ",";
    t->cache_control += value;
  }
  return n;
}

// Sets every option; the first one libcurl refuses is reported.
Status Configure(CURL* curl, const FetchRequest& request, Transfer* transfer, curl_slist* headers,
                 char* error_buffer) {
  const bool https = request.unix_socket.empty();
  auto set = [&](CURLoption option, auto value) -> Status {
    if (curl_easy_setopt(curl, option, value) != CURLE_OK) {
      return Internal("libcurl refused option " + std::to_string(static_cast<int>(option)));
    }
    return Status::Ok();
  };
  INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_ERRORBUFFER, error_buffer));
  INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_URL, request.url.c_str()));
  INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_PROTOCOLS_STR, https ? "https" : "http"));
  INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_FOLLOWLOCATION, 0L));
  INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_NOSIGNAL, 1L));  // threads: no SIGALRM for DNS timeouts
  INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_PROXY, ""));     // never http_proxy from the environment
  INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_NETRC, static_cast<long>(CURL_NETRC_IGNORED)));
  INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_HTTPGET, 1L));
  INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_USERAGENT, "instaccessd-peers"));
  INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_HTTPHEADER, headers));
  INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_SSL_VERIFYPEER, 1L));
  INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_SSL_VERIFYHOST, 2L));
  if (!request.ca_file.empty()) {
    INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_CAINFO, request.ca_file.c_str()));
  }
  if (!https) {
    INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_UNIX_SOCKET_PATH, request.unix_socket.c_str()));
  }
  const FetchLimits& limits = request.limits;
  INSTACCESS_RETURN_IF_ERROR(
      set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits.max_body)));
  INSTACCESS_RETURN_IF_ERROR(
      set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(limits.connect_timeout.count())));
  INSTACCESS_RETURN_IF_ERROR(
      set(CURLOPT_TIMEOUT_MS, static_cast<long>(limits.total_timeout.count())));
  INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_LOW_SPEED_LIMIT, limits.low_speed_bytes));
  INSTACCESS_RETURN_IF_ERROR(
      set(CURLOPT_LOW_SPEED_TIME, static_cast<long>(limits.low_speed_time.count())));
  INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_WRITEFUNCTION, &OnBody));
  INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_WRITEDATA, static_cast<void*>(transfer)));
  INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_HEADERFUNCTION, &OnHeader));
  INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_HEADERDATA, static_cast<void*>(transfer)));
  INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_NOPROGRESS, 0L));
  INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_XFERINFOFUNCTION, &OnProgress));
  INSTACCESS_RETURN_IF_ERROR(set(CURLOPT_XFERINFODATA, static_cast<void*>(transfer)));
  return Status::Ok();
}

}  // namespace

Result<FetchReply> FetchJwks(const FetchRequest& request) {
  INSTACCESS_RETURN_IF_ERROR(ValidatePeerUrl(request.url, request.unix_socket));
  if (GlobalInit() != CURLE_OK) return Internal("curl_global_init failed");
  CurlPtr curl(curl_easy_init());
  if (!curl) return Internal("curl_easy_init failed");

  SlistPtr headers;
  if (!request.if_none_match.empty() && UsableEtag(request.if_none_match)) {
    const std::string line = "If-None-Match: " + request.if_none_match;
    headers.reset(curl_slist_append(nullptr, line.c_str()));
    if (!headers) return Internal("curl_slist_append: out of memory");
  }
  Transfer transfer;
  transfer.max_body = request.limits.max_body;
  transfer.cancelled = request.cancelled;
  char error_buffer[CURL_ERROR_SIZE] = {};
  INSTACCESS_RETURN_IF_ERROR(
      Configure(curl.get(), request, &transfer, headers.get(), error_buffer));

  if (request.cancelled != nullptr && request.cancelled->load()) {
    return Unavailable("JWKS fetch cancelled");
  }
  const CURLcode rc = curl_easy_perform(curl.get());
  if (rc == CURLE_ABORTED_BY_CALLBACK) return Unavailable("JWKS fetch cancelled");
  if (transfer.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
    return Unavailable("JWKS body is larger than " + std::to_string(request.limits.max_body) +
                       " bytes");
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return Unavailable("JWKS fetch timed out or was too slow: " + std::string(error_buffer));
  }
  if (rc != CURLE_OK) {
    // Over a socket libcurl speaks of "localhost port 80"; name the socket instead.
    const std::string over =
        request.unix_socket.empty() ? "" : " over socket " + request.unix_socket;
    return Unavailable("JWKS fetch" + over + " failed: " +
                       std::string(error_buffer[0] ? error_buffer : curl_easy_strerror(rc)));
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  FetchReply reply;
  reply.etag = std::move(transfer.etag);
  reply.max_age = ParseMaxAge(transfer.cache_control);
  if (status == 304 && !request.if_none_match.empty()) {
    reply.not_modified = true;
    return reply;
  }
  if (status >= 300 && status < 400) {
    return Unavailable("JWKS fetch answered HTTP " + std::to_string(status) +
                       ": redirects are not followed");
  }
  if (status != 200) return Unavailable("JWKS fetch answered HTTP " + std::to_string(status));
  reply.body = std::move(transfer.body);
  return reply;
}

}  // namespace instaccess::peers
