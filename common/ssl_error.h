// OpenSSL's thread-local error queue, drained into one message in one place.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace instaccess {

// Empties this thread's OpenSSL error queue and returns its entries joined by "; ".
// Callers that must not reveal why (token checks) call ClearSslErrors() instead.
std::string DrainSslErrors();

// Empties the queue without reading it, so a later failure is not blamed on an old entry.
void ClearSslErrors();

// Internal(what + ": " + drained queue).
Status SslError(std::string_view what);

}  // namespace instaccess
