// spdlog to stderr. Under systemd (JOURNAL_STREAM set) journald stamps the time, so lines carry
// only level and message; by hand they carry a UTC timestamp too.
#pragma once

#include <string>

namespace instaccess::daemon {

void SetUpLogging(const std::string& level);
void SetLogLevel(const std::string& level);

}  // namespace instaccess::daemon
