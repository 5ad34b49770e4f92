#include "jose/compact.h"

#include "jose/base64url.h"
#include "jose/json_strict.h"

namespace instaccess::jose {

namespace {

// RFC 7515/7516 members that name key material or change processing in ways we never allow.
constexpr std::string_view kForbiddenMembers[] = {"zip", "crit", "jku", "jwk", "x5u", "x5c"};

Result<std::optional<std::string>> OptionalString(const nlohmann::json& header, const char* name) {
  auto it = header.find(name);
  if (it == header.end()) return std::optional<std::string>();
  if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
    return InvalidArgument(std::string("header member must be a non-empty string: ") + name);
  }
  return std::optional<std::string>(it->get<std::string>());
}

}  // namespace

std::size_t CountCompactParts(std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenSize) return 0;
  std::size_t parts = 1;
  for (char c : token) parts += c == '.' ? 1 : 0;
  return parts;
}

Result<std::vector<std::string_view>> SplitCompact(std::string_view token, std::size_t parts) {
  if (token.size() > kMaxTokenSize) return InvalidArgument("token too large");
  if (CountCompactParts(token) != parts) return InvalidArgument("wrong number of token parts");
  std::vector<std::string_view> out;
  out.reserve(parts);
  std::size_t start = 0;
  for (std::size_t i = 0; i + 1 < parts; ++i) {
    std::size_t dot = token.find('.', start);
    out.push_back(token.substr(start, dot - start));
    start = dot + 1;
  }
  out.push_back(token.substr(start));
  return out;
}

Result<ProtectedHeader> ParseProtectedHeader(std::string_view header_b64u, HeaderKind kind) {
  auto text = Base64UrlDecode(header_b64u);
  if (!text) return InvalidArgument("header is not base64url");
  auto json = ParseStrictJsonObject(*text);
  if (!json) return json.error();
  ProtectedHeader h;
  h.json = std::move(*json);
  for (std::string_view m : kForbiddenMembers) {
    if (h.json.contains(m)) return InvalidArgument("forbidden header member: " + std::string(m));
  }
  auto alg = h.json.find("alg");
  if (alg == h.json.end() || !alg->is_string()) return InvalidArgument("header without alg");
  auto parsed = ParseAlg(alg->get_ref<const std::string&>());
  if (!parsed) return parsed.error();
  h.alg = *parsed;
  const Use want = kind == HeaderKind::kJws ? Use::kSig : Use::kEnc;
  if (UseOf(h.alg) != want) return InvalidArgument("alg of the wrong use for this structure");

  auto enc = h.json.find("enc");
  if (kind == HeaderKind::kJwe) {
    if (enc == h.json.end() || !enc->is_string()) return InvalidArgument("JWE header without enc");
    auto e = ParseContentEnc(enc->get_ref<const std::string&>());
    if (!e) return e.error();
    h.enc = *e;
  } else if (enc != h.json.end()) {
    return InvalidArgument("enc in a JWS header");
  }

  auto kid = OptionalString(h.json, "kid");
  if (!kid) return kid.error();
  h.kid = std::move(*kid);
  auto typ = OptionalString(h.json, "typ");
  if (!typ) return typ.error();
  auto cty = OptionalString(h.json, "cty");
  if (!cty) return cty.error();
  h.cty = std::move(*cty);
  if (h.cty) {
    if (kind == HeaderKind::kJws) return InvalidArgument("cty in a JWS header");
    if (*h.cty != "JWT") return InvalidArgument("JWE cty other than JWT");
  }
  return h;
}

}  // namespace instaccess::jose
