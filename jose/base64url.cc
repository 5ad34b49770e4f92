#include "jose/base64url.h"

#include <array>
#include <cstring>

namespace instaccess::jose {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// 0xff marks bytes outside the alphabet.
constexpr std::array<std::uint8_t, 256> MakeDecodeTable() {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = 0xff;
  for (std::uint8_t i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = i;
  return t;
}
constexpr std::array<std::uint8_t, 256> kDecode = MakeDecodeTable();

// Decoded length, or false when no canonical encoding has this length.
bool DecodedSize(std::size_t text_len, std::size_t* out) {
  if (text_len % 4 == 1) return false;
  *out = text_len / 4 * 3 + (text_len % 4 == 0 ? 0 : text_len % 4 - 1);
  return true;
}

// The value of an alphabet character, 0xff for any other byte, from a 256-byte table, so the cache
// line read depends on the character. For tokens: their parts are public, or (the claims inside a
// JWE) parsed as JSON next, which branches on every character anyway.
std::uint32_t TableValue(char c) { return kDecode[static_cast<unsigned char>(c)]; }

// -1 (all bits set) when lo <= c <= hi, else 0: (c - lo) and (hi - c) are both non-negative only
// inside the range, so the sign bit of their OR says it without a comparison.
std::int32_t InRange(std::int32_t c, std::int32_t lo, std::int32_t hi) {
  return ~((c - lo) | (hi - c)) >> 31;
}

// The same values as TableValue, computed with no branch and no memory access keyed by the
// character: for private key members, which must not choose what the CPU reads or where it jumps.
std::uint32_t ComputedValue(char ch) {
  const std::int32_t c = static_cast<unsigned char>(ch);
  const std::int32_t upper = InRange(c, 'A', 'Z');
  const std::int32_t lower = InRange(c, 'a', 'z');
  const std::int32_t digit = InRange(c, '0', '9');
  const std::int32_t dash = InRange(c, '-', '-');
  const std::int32_t underscore = InRange(c, '_', '_');
  const std::int32_t value = (upper & (c - 'A')) | (lower & (c - 'a' + 26)) |
                             (digit & (c - '0' + 52)) | (dash & 62) | (underscore & 63);
  const std::int32_t valid = upper | lower | digit | dash | underscore;
  return static_cast<std::uint32_t>(value | (~valid & 0xff));
}

// Writes exactly DecodedSize() bytes to `out`; returns 0 when `text` is canonical. Branches only
// on the length; Value decides whether a character can pick an address (TableValue) or not.
template <std::uint32_t (*Value)(char)>
std::uint32_t DecodeInto(std::string_view text, std::uint8_t* out) {
  // Every character's value is ORed into `seen`: only 0xff (outside the alphabet) sets bit 6 or 7.
  // A bad character also spills bits into its neighbours in `n`; the output is then refused.
  std::uint32_t seen = 0;
  std::uint32_t tail_bits = 0;  // non-canonical bits in the last character
  std::size_t o = 0;
  std::size_t i = 0;
  auto val = [&](std::size_t k) {
    const std::uint32_t v = Value(text[k]);
    seen |= v;
    return v;
  };
  for (; i + 4 <= text.size(); i += 4) {
    const std::uint32_t n = val(i) << 18 | val(i + 1) << 12 | val(i + 2) << 6 | val(i + 3);
    out[o++] = static_cast<std::uint8_t>(n >> 16);
    out[o++] = static_cast<std::uint8_t>(n >> 8);
    out[o++] = static_cast<std::uint8_t>(n);
  }
  const std::size_t rest = text.size() - i;
  if (rest == 2) {
    const std::uint32_t a = val(i), b = val(i + 1);
    out[o++] = static_cast<std::uint8_t>(a << 2 | b >> 4);
    tail_bits = b & 0x0f;
  } else if (rest == 3) {
    const std::uint32_t a = val(i), b = val(i + 1), c = val(i + 2);
    out[o++] = static_cast<std::uint8_t>(a << 2 | b >> 4);
    out[o++] = static_cast<std::uint8_t>((b & 0x0f) << 4 | c >> 2);
    tail_bits = c & 0x03;
  }
  return (seen & 0xc0) | tail_bits;
}

// Two alphabet characters for each 12-bit value, so one lookup writes two characters: encoding is
// half of a token's work outside OpenSSL otherwise. Only public bytes are encoded (tokens, public
// JWK members, thumbprints), so lookups that depend on the bytes leak nothing.
constexpr std::array<std::array<char, 2>, 4096> MakePairTable() {
  std::array<std::array<char, 2>, 4096> t{};
  for (std::size_t v = 0; v < t.size(); ++v) t[v] = {kAlphabet[v >> 6], kAlphabet[v & 63]};
  return t;
}
constexpr std::array<std::array<char, 2>, 4096> kPairs = MakePairTable();

}  // namespace

void AppendBase64Url(std::string_view text, std::string* out) {
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data());
  const std::size_t size = text.size();
  const std::size_t start = out->size();
  // Written through a pointer into a string sized once: appending a character at a time costs
  // a capacity check per character (4x slower on a token's 1 KiB).
  out->resize(start + (size * 4 + 2) / 3);
  char* o = out->data() + start;
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    std::uint32_t n =
        std::uint32_t{bytes[i]} << 16 | std::uint32_t{bytes[i + 1]} << 8 | bytes[i + 2];
    std::memcpy(o, kPairs[n >> 12].data(), 2);
    std::memcpy(o + 2, kPairs[n & 0xfff].data(), 2);
    o += 4;
  }
  const std::size_t rest = size - i;
  if (rest == 1) {
    std::uint32_t n = std::uint32_t{bytes[i]} << 16;
    *o++ = kAlphabet[n >> 18 & 63];
    *o++ = kAlphabet[n >> 12 & 63];
  } else if (rest == 2) {
    std::uint32_t n = std::uint32_t{bytes[i]} << 16 | std::uint32_t{bytes[i + 1]} << 8;
    *o++ = kAlphabet[n >> 18 & 63];
    *o++ = kAlphabet[n >> 12 & 63];
    *o++ = kAlphabet[n >> 6 & 63];
  }
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  AppendBase64Url(bytes, &out);
  return out;
}

std::string Base64UrlEncode(std::span<const std::uint8_t> bytes) {
  return Base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

Result<std::string> Base64UrlDecode(std::string_view text) {
  std::size_t n = 0;
  if (!DecodedSize(text.size(), &n)) return InvalidArgument("bad base64url");
  std::string out(n, '\0');
  if (DecodeInto<TableValue>(text, reinterpret_cast<std::uint8_t*>(out.data())) != 0) {
    return InvalidArgument("bad base64url");
  }
  return out;
}

Result<SecretBytes> Base64UrlDecodeSecret(std::string_view text) {
  std::size_t n = 0;
  if (!DecodedSize(text.size(), &n)) return InvalidArgument("bad base64url");
  SecretBytes out(n);
  // The one branch on the characters: whether the text was canonical.
  if (internal::DecodeSecretInto(text, out.reveal_secret()) != 0) {
    return InvalidArgument("bad base64url");
  }
  return out;
}

namespace internal {

std::uint32_t DecodeSecretInto(std::string_view text, std::span<std::uint8_t> out) {
  std::size_t n = 0;
  if (!DecodedSize(text.size(), &n) || n != out.size()) return 0xff;
  return DecodeInto<ComputedValue>(text, out.data());
}

}  // namespace internal

}  // namespace instaccess::jose
