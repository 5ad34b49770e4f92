// Text from outside (kids, process names, paths: anything a caller or a peer controls) as it may
// appear in a log line or the systemd STATUS= line: printable ASCII stays, every other byte
// (control characters, newlines, bytes of non-ASCII UTF-8) becomes \xHH, a
// backslash becomes \\, and text longer than `max_chars` bytes is cut and ends in "...". A reader
// of the journal then never sees a forged line or a terminal escape.
//
// Thread-safety: pure function.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace instaccess {

inline constexpr std::size_t kLoggedTextChars = 128;

std::string LogText(std::string_view text, std::size_t max_chars = kLoggedTextChars);

}  // namespace instaccess
