#include "instaccess/claims.h"

#include <nlohmann/json.hpp>

namespace instaccess::client {

namespace {

using nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The stored text is always one valid JSON value (only this file writes it).
json Load(const std::string& text) { return json::parse(text, nullptr, false); }

}  // namespace

Claims::Claims(std::initializer_list<std::pair<std::string, std::string>> strings) {
  for (const auto& [name, value] : strings) SetString(name, value);
}

Result<Claims> Claims::FromJson(std::string_view json_object) {
  json j = json::parse(json_object, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error(ErrorKind::kInvalidArgument, "claims must be a JSON object");
  }
  Claims c;
  for (auto it = j.begin(); it != j.end(); ++it) c.values_[it.key()] = Dump(it.value());
  return c;
}

Claims& Claims::SetString(std::string name, std::string_view value) {
  values_[std::move(name)] = Dump(json(std::string(value)));
  return *this;
}

Claims& Claims::SetInt(std::string name, std::int64_t value) {
  values_[std::move(name)] = Dump(json(value));
  return *this;
}

Claims& Claims::SetBool(std::string name, bool value) {
  values_[std::move(name)] = Dump(json(value));
  return *this;
}

bool Claims::SetJson(std::string name, std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return false;
  values_[std::move(name)] = Dump(j);
  return true;
}

std::optional<std::string> Claims::GetString(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  json j = Load(it->second);
  if (!j.is_string()) return std::nullopt;
  return j.get<std::string>();
}

std::optional<std::int64_t> Claims::GetInt(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  json j = Load(it->second);
  if (!j.is_number_integer()) return std::nullopt;
  return j.get<std::int64_t>();
}

std::optional<bool> Claims::GetBool(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  json j = Load(it->second);
  if (!j.is_boolean()) return std::nullopt;
  return j.get<bool>();
}

std::optional<std::string> Claims::GetJson(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Claims::Names() const {
  std::vector<std::string> out;
  out.reserve(values_.size());
  for (const auto& [name, value] : values_) out.push_back(name);
  return out;
}

std::string Claims::ToJson() const {
  json j = json::object();
  for (const auto& [name, value] : values_) j[name] = Load(value);
  return Dump(j);
}

}  // namespace instaccess::client
