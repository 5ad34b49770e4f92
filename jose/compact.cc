#include "jose/compact.h"

#include <array>

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
  // find() is memchr: a few dots in 1-2 KB are found far faster than by a loop over each byte.
  std::size_t parts = 1;
  for (std::size_t dot = token.find('.'); dot != std::string_view::npos;
       dot = token.find('.', dot + 1)) {
    ++parts;
  }
  return parts;
}

Result<std::vector<std::string_view>> SplitCompact(std::string_view token, std::size_t parts) {
  if (token.size() > kMaxTokenSize) return InvalidArgument("token too large");
  std::vector<std::string_view> out;
  out.reserve(parts);
  std::size_t start = 0;
  for (std::size_t dot = token.find('.'); dot != std::string_view::npos;
       dot = token.find('.', start)) {
    if (out.size() + 1 == parts) return InvalidArgument("wrong number of token parts");
    out.push_back(token.substr(start, dot - start));
    start = dot + 1;
  }
  out.push_back(token.substr(start));
  if (token.empty() || out.size() != parts) return InvalidArgument("wrong number of token parts");
  return out;
}

namespace {

// The rules of compact.h, without the memory of ParseProtectedHeader.
Result<ProtectedHeader> ParseHeader(std::string_view header_b64u, HeaderKind kind) {
  auto text = Base64UrlDecode(header_b64u);
  if (!text) return InvalidArgument("header is not base64url");
  auto parsed_json = ParseStrictJsonObject(*text);
  if (!parsed_json) return parsed_json.error();
  const nlohmann::json& json = *parsed_json;
  ProtectedHeader h;
  for (std::string_view m : kForbiddenMembers) {
    if (json.contains(m)) return InvalidArgument("forbidden header member: " + std::string(m));
  }
  auto alg = json.find("alg");
  if (alg == json.end() || !alg->is_string()) return InvalidArgument("header without alg");
  auto parsed = ParseAlg(alg->get_ref<const std::string&>());
  if (!parsed) return parsed.error();
  h.alg = *parsed;
  const Use want = kind == HeaderKind::kJws ? Use::kSig : Use::kEnc;
  if (UseOf(h.alg) != want) return InvalidArgument("alg of the wrong use for this structure");

  auto enc = json.find("enc");
  if (kind == HeaderKind::kJwe) {
    if (enc == json.end() || !enc->is_string()) return InvalidArgument("JWE header without enc");
    auto e = ParseContentEnc(enc->get_ref<const std::string&>());
    if (!e) return e.error();
    h.enc = *e;
  } else if (enc != json.end()) {
    return InvalidArgument("enc in a JWS header");
  }

  auto kid = OptionalString(json, "kid");
  if (!kid) return kid.error();
  h.kid = std::move(*kid);
  auto typ = OptionalString(json, "typ");
  if (!typ) return typ.error();
  auto cty = OptionalString(json, "cty");
  if (!cty) return cty.error();
  h.cty = std::move(*cty);
  if (h.cty) {
    if (kind == HeaderKind::kJws) return InvalidArgument("cty in a JWS header");
    if (*h.cty != "JWT") return InvalidArgument("JWE cty other than JWT");
  }
  return h;
}

}  // namespace

Result<ProtectedHeader> ParseProtectedHeader(std::string_view header_b64u, HeaderKind kind) {
  struct Remembered {
    std::string b64u;
    ProtectedHeader header;
  };
  thread_local std::array<std::optional<Remembered>, 2> last;
  auto& memo = last[kind == HeaderKind::kJws ? 0 : 1];
  if (memo && memo->b64u == header_b64u) return memo->header;
  auto header = ParseHeader(header_b64u, kind);
  if (header) memo = Remembered{std::string(header_b64u), *header};
  return header;
}

}  // namespace instaccess::jose
