#include "api/caller_claims.h"

#include <string>
#include <string_view>

#include "jose/token.h"

namespace instaccess::api {

namespace {

// Canvas's claims with a fixed type (docs/tokens.md, "Claims"); anything else the caller sends is
// passed on as it came.
enum class ClaimType { kString, kInteger, kBoolean, kDecimalString, kIntegerOrString };
struct KnownClaim {
  std::string_view name;
  ClaimType type;
};
constexpr KnownClaim kKnownClaims[] = {
    {"sub", ClaimType::kString},
    {"acct", ClaimType::kString},
    {"canvas_domain", ClaimType::kString},
    {"masq_sub", ClaimType::kString},
    {"masq_shard", ClaimType::kInteger},
    {"debug_user_global_id", ClaimType::kDecimalString},
    {"debug_masq_global_id", ClaimType::kDecimalString},
    {"region", ClaimType::kString},
    // Canvas sends a developer key's global id (an integer, often past 2^32) or a string.
    {"client_id", ClaimType::kIntegerOrString},
    {"instructure_service", ClaimType::kBoolean},
    {"canvas_shard_id", ClaimType::kInteger},
};

// What is wrong with one claim's type; empty when it fits.
std::string TypeProblem(const nlohmann::json& v, ClaimType type) {
  switch (type) {
    case ClaimType::kString:
      return v.is_string() ? "" : "must be a string";
    case ClaimType::kInteger:
      return v.is_number_integer() ? "" : "must be an integer";
    case ClaimType::kIntegerOrString:
      // A JSON integer of up to 64 bits, signed or unsigned; a number with a fraction or an
      // exponent, or past 2^64 - 1, is a float and refused.
      return v.is_number_integer() || v.is_string() ? "" : "must be an integer or a string";
    case ClaimType::kBoolean:
      return v.is_boolean() ? "" : "must be a boolean";
    case ClaimType::kDecimalString: {
      bool ok =
          v.is_string() && !v.get_ref<const std::string&>().empty() &&
          v.get_ref<const std::string&>().find_first_not_of("0123456789") == std::string::npos;
      return ok ? "" : "must be a string of decimal digits";
    }
  }
  return "has an unknown type";
}

}  // namespace

Status CheckCallerClaims(const nlohmann::json& claims, const TokenSettings& tokens) {
  if (!claims.is_object()) return InvalidArgument("claims must be a JSON object");
  for (std::string_view reserved : jose::kReservedClaims) {
    if (claims.contains(reserved)) {
      return InvalidArgument("claims." + std::string(reserved) +
                             " is set by instaccessd and may not be given");
    }
  }
  for (const std::string& name : tokens.required_claims) {
    auto it = claims.find(name);
    if (it == claims.end() || it->is_null()) {
      return InvalidArgument("claims." + name + " is required");
    }
  }
  for (const KnownClaim& k : kKnownClaims) {
    auto it = claims.find(k.name);
    if (it == claims.end()) continue;
    if (std::string p = TypeProblem(*it, k.type); !p.empty()) {
      return InvalidArgument("claims." + std::string(k.name) + " " + p);
    }
  }
  return Status::Ok();
}

}  // namespace instaccess::api
