// The keystore does not log by itself: it hands messages to a callback the daemon routes to
// its logger (spdlog), so the library has no logging dependency and tests can capture output.
#pragma once

#include <functional>
#include <string_view>

namespace instaccess::keystore {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Called synchronously from whichever thread produced the message; must not call back into the
// keystore. An empty function discards messages.
using LogFn = std::function<void(LogLevel level, std::string_view message)>;

}  // namespace instaccess::keystore
