// Owners for libcurl's handles: one unique_ptr type per kind, released the way libcurl says.
#pragma once

#include <curl/curl.h>

#include <memory>

namespace instaccess::peers::internal {

struct CurlEasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlFreeDeleter {
  void operator()(char* s) const { curl_free(s); }
};

using CurlPtr = std::unique_ptr<CURL, CurlEasyDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, CurlSlistDeleter>;
using CurluPtr = std::unique_ptr<CURLU, CurlUrlDeleter>;
using CurlString = std::unique_ptr<char, CurlFreeDeleter>;

}  // namespace instaccess::peers::internal
