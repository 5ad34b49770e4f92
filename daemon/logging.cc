#include "daemon/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

namespace instaccess::daemon {

void SetUpLogging(const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("instaccessd");
  if (std::getenv("JOURNAL_STREAM") != nullptr) {
    logger->set_pattern("<%l> %v");
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  }
  spdlog::set_default_logger(logger);
  // Errors are rare and matter; flush them at once so a crash right after keeps them.
  spdlog::flush_on(spdlog::level::warn);
  SetLogLevel(level);
}

void SetLogLevel(const std::string& level) { spdlog::set_level(spdlog::level::from_str(level)); }

}  // namespace instaccess::daemon
