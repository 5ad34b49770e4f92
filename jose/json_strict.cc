#include "jose/json_strict.h"

#include <set>
#include <string>
#include <vector>

namespace instaccess::jose {

Result<nlohmann::json> ParseStrictJsonObject(std::string_view text) {
  // nlohmann silently skips a UTF-8 byte order mark; RFC 8259 §8.1 says not to send one.
  if (text.starts_with("\xEF\xBB\xBF")) return InvalidArgument("JSON with a byte order mark");
  // Cheap early refusal of non-objects (the parse below would reject them too, after the work).
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] != '{') {
    return InvalidArgument("JSON is not an object");
  }
  // One set of member names per object currently open.
  std::vector<std::set<std::string, std::less<>>> open;
  bool bad = false;
  using Event = nlohmann::json::parse_event_t;
  auto check = [&](int depth, Event event, nlohmann::json& parsed) -> bool {
    switch (event) {
      case Event::object_start:
        if (depth >= kMaxJsonDepth) bad = true;
        open.emplace_back();
        break;
      case Event::array_start:
        if (depth >= kMaxJsonDepth) bad = true;
        break;
      case Event::key:
        if (open.empty() || !parsed.is_string() ||
            !open.back().insert(parsed.get_ref<const std::string&>()).second) {
          bad = true;
        }
        break;
      case Event::object_end:
        if (!open.empty()) open.pop_back();
        break;
      default:
        break;
    }
    return true;
  };
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text.begin(), text.end(), check, /*allow_exceptions=*/false,
                                  /*ignore_comments=*/false);
  } catch (const std::exception&) {  // allocation failure; parse errors do not throw here
    return InvalidArgument("JSON could not be parsed");
  }
  if (value.is_discarded()) return InvalidArgument("malformed JSON");
  if (bad) return InvalidArgument("JSON with duplicate members or nested too deep");
  if (!value.is_object()) return InvalidArgument("JSON is not an object");
  return value;
}

Result<std::string> DumpJson(const nlohmann::json& value) {
  try {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
  } catch (const std::exception&) {
    return InvalidArgument("JSON contains a string that is not valid UTF-8");
  }
}

}  // namespace instaccess::jose
