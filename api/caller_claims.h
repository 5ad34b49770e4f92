// The claims a caller of POST /api/v1/inst_access_tokens may ask for (docs/tokens.md, "Claims").
//
// The daemon sets iss, iat, exp and jti itself; a caller naming one of them (or nbf) is refused.
// [tokens] required_claims must be present and not null. Canvas's own claims must have the JSON
// type Canvas gives them (client_id: an integer or a string); any other claim passes through
// untouched, its JSON type kept.
#pragma once

#include <nlohmann/json.hpp>

#include "api/service_options.h"
#include "common/status.h"

namespace instaccess::api {

// OK when `claims` may be signed; otherwise InvalidArgument naming the claim ("claims.sub is
// required").
Status CheckCallerClaims(const nlohmann::json& claims, const TokenSettings& tokens);

}  // namespace instaccess::api
