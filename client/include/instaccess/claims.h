// The claims of a token: what a caller asks to be signed, and what a decrypted token says.
//
// A flat map from claim name to its JSON value, kept as JSON text so that no JSON library
// appears in this installed header. Typed setters and getters cover Canvas's claims (strings,
// integers, booleans); SetJson/GetJson carry anything else (arrays, objects, null).
//
// Thread-safety: a plain value; const methods may be called from many threads.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "instaccess/error.h"

namespace instaccess::client {

class Claims {
 public:
  Claims() = default;
  // String claims: Claims{{"sub", "42"}, {"acct", "7"}}.
  Claims(std::initializer_list<std::pair<std::string, std::string>> strings);

  // A JSON object's text, e.g. R"({"sub": "42", "masq_shard": 3})". kInvalidArgument when it
  // is not a JSON object.
  static Result<Claims> FromJson(std::string_view json_object);

  Claims& SetString(std::string name, std::string_view value);
  Claims& SetInt(std::string name, std::int64_t value);
  Claims& SetBool(std::string name, bool value);
  // `json` must be one JSON value; false (and no change) when it is not.
  bool SetJson(std::string name, std::string_view json);
  void Erase(const std::string& name) { values_.erase(name); }

  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  // nullopt when absent or of another JSON type.
  std::optional<std::string> GetString(const std::string& name) const;
  std::optional<std::int64_t> GetInt(const std::string& name) const;
  std::optional<bool> GetBool(const std::string& name) const;
  // The value's JSON text (compact), or nullopt when absent.
  std::optional<std::string> GetJson(const std::string& name) const;

  std::vector<std::string> Names() const;  // sorted
  std::size_t size() const { return values_.size(); }
  bool empty() const { return values_.empty(); }
  // The claims as one compact JSON object.
  std::string ToJson() const;

  friend bool operator==(const Claims& a, const Claims& b) { return a.values_ == b.values_; }

 private:
  std::map<std::string, std::string> values_;  // name -> compact JSON text of the value
};

}  // namespace instaccess::client
