// The daemon's log: spdlog to stderr, in one of two forms.
//   - stderr is journald's stream (systemd set JOURNAL_STREAM to its device and inode): every
//     line starts with its syslog priority as sd-daemon(3) defines it ("<3>" error, "<4>"
//     warning, "<6>" info, ...) and has no timestamp, since journald stamps it; `journalctl -p
//     warning` then finds the warnings.
//   - anything else (a terminal, a file, a pipe): "2026-01-02T03:04:05.678Z warning message".
// A JOURNAL_STREAM inherited by a process whose stderr went elsewhere is ignored, as
// sd_journal_stream_fd(3) advises.
//
// Thread-safety: SetUpLogging once, before other threads log; the rest from any thread.
#pragma once

#include <spdlog/common.h>

#include <string>
#include <string_view>

namespace instaccess::daemon {

void SetUpLogging(const std::string& level);
void SetLogLevel(const std::string& level);

// Whether JOURNAL_STREAM names the device and inode of stderr (fd 2).
bool StderrIsJournal();

// `text` as journald's stream takes it at `level`'s priority: every line of it starts with
// "<N>" (a message of several lines stays at its priority throughout) and ends in '\n'.
std::string JournalLines(spdlog::level::level_enum level, std::string_view text);

// One message written straight to stderr, with its priority prefix when stderr is the journal:
// for the commands that report on stderr without the logger (a configuration that cannot be
// read, the offline commands).
void PrintLine(spdlog::level::level_enum level, std::string_view text);

}  // namespace instaccess::daemon
