#include "daemon/logging.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>

namespace instaccess::daemon {

namespace {

// syslog(3) priorities, as sd-daemon(3) spells them: spdlog has no "notice", and trace is debug.
char Priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical:
      return '2';
    case spdlog::level::err:
      return '3';
    case spdlog::level::warn:
      return '4';
    case spdlog::level::trace:
    case spdlog::level::debug:
      return '7';
    default:
      return '6';
  }
}

// An unsigned decimal that is all of `text`.
bool ParseWhole(std::string_view text, unsigned long long* value) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *value);
  return !text.empty() && ec == std::errc() && ptr == end;
}

// stderr is unbuffered: each message reaches fd 2 in one fwrite, under the sink's mutex, so the
// lines of two threads never interleave.
void WriteStderr(std::string_view text) { std::fwrite(text.data(), 1, text.size(), stderr); }

class StderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit StderrSink(bool journal) : journal_(journal) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    const std::string_view text(formatted.data(), formatted.size());
    if (journal_) {
      WriteStderr(JournalLines(msg.level, text));
    } else {
      WriteStderr(text);
    }
  }
  void flush_() override { std::fflush(stderr); }

 private:
  const bool journal_;
};

}  // namespace

bool StderrIsJournal() {
  // systemd.exec(5): "DEVICE:INODE" of the stream it connected, both decimal.
  const char* value = std::getenv("JOURNAL_STREAM");
  if (value == nullptr) return false;
  const std::string_view stream(value);
  const std::size_t colon = stream.find(':');
  unsigned long long device = 0, inode = 0;
  if (colon == std::string_view::npos || !ParseWhole(stream.substr(0, colon), &device) ||
      !ParseWhole(stream.substr(colon + 1), &inode)) {
    return false;
  }
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return st.st_dev == device && st.st_ino == inode;
}

std::string JournalLines(spdlog::level::level_enum level, std::string_view text) {
  if (text.ends_with('\n')) text.remove_suffix(1);
  const char prefix[] = {'<', Priority(level), '>'};
  std::string out;
  out.reserve(text.size() + sizeof prefix + 1);
  while (true) {
    const std::size_t nl = text.find('\n');
    out.append(prefix, sizeof prefix);
    out.append(text.substr(0, nl));
    out += '\n';
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

void PrintLine(spdlog::level::level_enum level, std::string_view text) {
  if (StderrIsJournal()) {
    WriteStderr(JournalLines(level, text));
  } else {
    WriteStderr(std::string(text) + "\n");
  }
}

void SetUpLogging(const std::string& level) {
  const bool journal = StderrIsJournal();
  auto logger =
      std::make_shared<spdlog::logger>("instaccessd", std::make_shared<StderrSink>(journal));
  if (journal) {
    logger->set_pattern("%v");  // the priority goes before each line; journald adds the time
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
