#include "common/ssl_error.h"

#include <openssl/err.h>

namespace instaccess {

std::string DrainSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

void ClearSslErrors() { ERR_clear_error(); }

Status SslError(std::string_view what) {
  std::string msg(what);
  std::string queue = DrainSslErrors();
  if (!queue.empty()) msg += ": " + queue;
  return Internal(std::move(msg));
}

}  // namespace instaccess
