#include "jose/json_strict.h"

#include <array>
#include <charconv>
#include <string>
#include <vector>

namespace instaccess::jose {

namespace {

using Json = nlohmann::json;

// Builds the document from nlohmann's SAX events, as its own DOM parser does, and stops at the
// first duplicate member name or container nested kMaxJsonDepth deep. nlohmann's callback parser
// did the same checks with a copy of every key and a std::set of names per object: about 30 heap
// allocations for a token's claims, a quarter of what a decrypt allocates outside OpenSSL.
class StrictBuilder {
 public:
  explicit StrictBuilder(Json& root) : root_(root) {}

  const char* failure() const { return failure_; }

  bool null() { return Value(nullptr); }
  bool boolean(bool v) { return Value(v); }
  bool number_integer(Json::number_integer_t v) { return Value(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return Value(v); }
  bool number_float(Json::number_float_t v, const std::string& /*text*/) { return Value(v); }
  bool string(std::string& v) { return Value(v); }
  bool binary(Json::binary_t& /*v*/) { return Fail("binary value in JSON"); }  // JSON has none

  bool start_object(std::size_t /*size*/) { return Open(Json::value_t::object); }
  bool start_array(std::size_t /*size*/) { return Open(Json::value_t::array); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }

  bool key(std::string& name) {
    auto [it, inserted] = open_.back()->get_ref<Json::object_t&>().try_emplace(name);
    if (!inserted) return Fail("JSON with duplicate members");
    member_ = &it->second;
    return true;
  }

  bool parse_error(std::size_t /*position*/, const std::string& /*token*/,
                   const nlohmann::detail::exception& /*error*/) {
    return Fail("malformed JSON");
  }

 private:
  // Places `v` where the document expects the next value; returns where it went.
  template <typename V>
  Json* Place(V&& v) {
    if (open_.empty()) {
      root_ = Json(std::forward<V>(v));
      return &root_;
    }
    if (open_.back()->is_array()) {
      auto& array = open_.back()->get_ref<Json::array_t&>();
      array.emplace_back(std::forward<V>(v));
      return &array.back();
    }
    *member_ = Json(std::forward<V>(v));
    return member_;
  }

  template <typename V>
  bool Value(V&& v) {
    Place(std::forward<V>(v));
    return true;
  }

  bool Open(Json::value_t type) {
    if (open_.size() >= static_cast<std::size_t>(kMaxJsonDepth)) {
      return Fail("JSON nested too deep");
    }
    open_.push_back(Place(type));
    return true;
  }

  bool Close() {
    open_.pop_back();
    return true;
  }

  bool Fail(const char* why) {
    failure_ = why;
    return false;  // stops the parse
  }

  Json& root_;
  std::vector<Json*> open_;  // the containers being filled, innermost last
  Json* member_ = nullptr;   // the value slot of the object member whose key came last
  const char* failure_ = nullptr;
};

// nlohmann's own serialization of one value (compact, UTF-8 kept, invalid UTF-8 throws).
std::string NlohmannDump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::strict);
}

// Printable ASCII other than '"' and '\\' is written as it is; anything else (escapes, UTF-8,
// which must also be validated) is left to nlohmann.
bool WrittenAsIs(std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

// Writes `s` quoted when it needs no escaping; false, and nothing written, otherwise.
bool AppendPlainString(std::string_view s, std::string* out) {
  if (!WrittenAsIs(s)) return false;
  *out += '"';
  *out += s;
  *out += '"';
  return true;
}

void AppendString(std::string_view s, std::string* out) {
  if (!AppendPlainString(s, out)) *out += NlohmannDump(Json(s));
}

// The bytes nlohmann's dump() writes, without its per-character UTF-8 state machine for plain
// strings and its doubling output string: a token's claims and two headers cost 10k instructions
// that way (callgrind), a tenth of an issue's work outside OpenSSL. Floats keep nlohmann's shortest
// round-trip form by going through it.
void AppendJson(const Json& value, std::string* out) {
  switch (value.type()) {
    case Json::value_t::object: {
      *out += '{';
      bool first = true;
      for (const auto& [name, member] : value.get_ref<const Json::object_t&>()) {
        if (!first) *out += ',';
        first = false;
        AppendString(name, out);
        *out += ':';
        AppendJson(member, out);
      }
      *out += '}';
      return;
    }
    case Json::value_t::array: {
      *out += '[';
      bool first = true;
      for (const Json& element : value.get_ref<const Json::array_t&>()) {
        if (!first) *out += ',';
        first = false;
        AppendJson(element, out);
      }
      *out += ']';
      return;
    }
    case Json::value_t::string:
      AppendString(value.get_ref<const std::string&>(), out);
      return;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: {
      std::array<char, 24> digits{};
      char* const first = digits.data();
      char* const last = digits.data() + digits.size();
      const auto end = value.is_number_unsigned()
                           ? std::to_chars(first, last, value.get<std::uint64_t>())
                           : std::to_chars(first, last, value.get<std::int64_t>());
      out->append(digits.data(), end.ptr);
      return;
    }
    case Json::value_t::boolean:
      *out += value.get<bool>() ? "true" : "false";
      return;
    case Json::value_t::null:
      *out += "null";
      return;
    default:  // floats, binary, discarded
      *out += NlohmannDump(value);
      return;
  }
}

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  if (!AppendPlainString(s, out)) {
    *out += Json(s).dump(-1, ' ', false, Json::error_handler_t::replace);
  }
}

Result<nlohmann::json> ParseStrictJsonObject(std::string_view text) {
  // nlohmann silently skips a UTF-8 byte order mark; RFC 8259 §8.1 says not to send one.
  if (text.starts_with("\xEF\xBB\xBF")) return InvalidArgument("JSON with a byte order mark");
  // Cheap early refusal of non-objects (the parse below would reject them too, after the work).
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] != '{') {
    return InvalidArgument("JSON is not an object");
  }
  Json value;
  StrictBuilder builder(value);
  bool ok = false;
  try {
    ok = Json::sax_parse(text.begin(), text.end(), &builder, Json::input_format_t::json,
                         /*strict=*/true, /*ignore_comments=*/false);
  } catch (const std::exception&) {  // allocation failure; parse errors do not throw here
    return InvalidArgument("JSON could not be parsed");
  }
  if (!ok) return InvalidArgument(builder.failure() ? builder.failure() : "malformed JSON");
  if (!value.is_object()) return InvalidArgument("JSON is not an object");
  return value;
}

Result<std::string> DumpJson(const nlohmann::json& value) {
  try {
    std::string out;
    out.reserve(256);  // a token's claims: one allocation instead of a doubling series
    AppendJson(value, &out);
    return out;
  } catch (const std::exception&) {
    return InvalidArgument("JSON contains a string that is not valid UTF-8");
  }
}

}  // namespace instaccess::jose
