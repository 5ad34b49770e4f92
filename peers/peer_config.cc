#include "peers/peer_config.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>

#include "keystore/key_types.h"
#include "peers/curl_handles.h"

namespace instaccess::peers {
namespace {

// A JWKS URL is an address an operator types; anything longer is a mistake or an attack.
constexpr std::size_t kMaxUrlLength = 2048;

using internal::CurlString;
using internal::CurluPtr;

// One part of a parsed URL; empty when the URL has none.
std::string Part(CURLU* url, CURLUPart part) {
  char* raw = nullptr;
  if (curl_url_get(url, part, &raw, 0) != CURLUE_OK || raw == nullptr) return {};
  CurlString owned(raw);
  return std::string(owned.get());
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

}  // namespace

std::string_view PeerUseName(PeerUse use) { return use == PeerUse::kEnc ? "enc" : "sig"; }

Result<PeerUse> ParsePeerUse(std::string_view s) {
  if (s == "enc") return PeerUse::kEnc;
  if (s == "sig") return PeerUse::kSig;
  return InvalidArgument("use must be \"enc\" or \"sig\"");
}

Status ValidatePeerUrl(std::string_view url, std::string_view unix_socket) {
  if (url.empty()) return InvalidArgument("jwks_url is empty");
  if (url.size() > kMaxUrlLength) return InvalidArgument("jwks_url is longer than 2048 bytes");
  // The same parser that will fetch it, so that the check and the fetch cannot disagree.
  CurluPtr parsed(curl_url());
  if (!parsed) return Internal("curl_url: out of memory");
  const std::string text(url);
  if (curl_url_set(parsed.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    return InvalidArgument("jwks_url is not a URL");
  }
  if (!Part(parsed.get(), CURLUPART_USER).empty() ||
      !Part(parsed.get(), CURLUPART_PASSWORD).empty()) {
    return InvalidArgument("jwks_url must not carry credentials");
  }
  const std::string scheme = Part(parsed.get(), CURLUPART_SCHEME);
  const std::string host = Part(parsed.get(), CURLUPART_HOST);
  if (scheme == "https") {
    if (!unix_socket.empty()) {
      return InvalidArgument("unix_socket goes with an http://localhost/... jwks_url, not https");
    }
    return Status::Ok();
  }
  if (scheme == "http") {
    if (unix_socket.empty() || !EqualsNoCase(host, "localhost")) {
      return InvalidArgument(
          "jwks_url must be https; http only as http://localhost/... together with unix_socket");
    }
    return Status::Ok();
  }
  return InvalidArgument("jwks_url must be https (or http://localhost/... with unix_socket)");
}

Status ValidatePeerConfig(const PeerConfig& config) {
  if (!keystore::IsValidKid(config.name)) {
    return InvalidArgument("peer name must be 1 to 128 characters of [A-Za-z0-9._~-]");
  }
  INSTACCESS_RETURN_IF_ERROR(ValidatePeerUrl(config.jwks_url, config.unix_socket));
  if (!config.unix_socket.empty() && config.unix_socket.front() != '/') {
    return InvalidArgument("unix_socket must be an absolute path");
  }
  if (!config.ca_file.empty() && config.ca_file.front() != '/') {
    return InvalidArgument("ca_file must be an absolute path");
  }
  if (config.use == PeerUse::kSig) {
    if (config.issuers.empty()) {
      return InvalidArgument("a peer with use = \"sig\" needs issuers (the iss values it signs)");
    }
    for (const std::string& iss : config.issuers) {
      if (iss.empty()) return InvalidArgument("issuers holds an empty string");
    }
  } else if (!config.issuers.empty()) {
    return InvalidArgument("issuers is for use = \"sig\" only");
  }
  if (config.refresh < kMinRefresh || config.refresh > kMaxRefresh) {
    return InvalidArgument("refresh must be between 5s and 24h");
  }
  if (config.use == PeerUse::kEnc) {
    if (config.enc_algs.empty()) return InvalidArgument("no encryption algorithm is allowed");
    for (jose::Alg alg : config.enc_algs) {
      if (jose::UseOf(alg) != jose::Use::kEnc) {
        return InvalidArgument("enc_algs holds a signing algorithm");
      }
    }
  }
  return Status::Ok();
}

}  // namespace instaccess::peers
