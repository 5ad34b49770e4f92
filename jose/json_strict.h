// Strict JSON for JOSE headers and JWT claims (RFC 7515 §4, RFC 7519 §4).
//
// RFC 7515 lets a parser either reject duplicate member names or take the last one; taking the last
// one is how two libraries come to disagree about what a header says, so we reject. The input must
// be valid UTF-8 JSON with an object at the top, nothing after it, and nesting under kMaxJsonDepth.
//
// Thread-safety: pure function.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "common/status.h"

namespace instaccess::jose {

// Claims are flat in practice; deep nesting only serves to exhaust a recursive consumer.
inline constexpr int kMaxJsonDepth = 16;

// InvalidArgument on any deviation. Never throws.
Result<nlohmann::json> ParseStrictJsonObject(std::string_view text);

// Compact serialization of `value` (no whitespace). InvalidArgument if a string in it is not valid
// UTF-8 (nlohmann would throw). Never throws.
Result<std::string> DumpJson(const nlohmann::json& value);

// Appends `s` to `out` as a JSON string, with the bytes DumpJson would write; invalid UTF-8
// becomes U+FFFD instead of an error. For names the daemon holds itself, such as kids. Never throws
// (but on allocation failure).
void AppendJsonString(std::string_view s, std::string* out);

}  // namespace instaccess::jose
