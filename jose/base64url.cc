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

// Writes exactly DecodedSize() bytes to `out`. Timing depends only on the length: the key material
// decoded here (JWK "d", "p", ...) must not leak through table lookups keyed by branch outcomes.
bool DecodeInto(std::string_view text, std::uint8_t* out) {
  // Every table value is ORed into `seen`: only 0xff (outside the alphabet) sets bit 6 or 7.
  // A bad character also spills bits into its neighbours in `n`; the output is then refused.
  std::uint32_t seen = 0;
  std::uint32_t tail_bits = 0;  // non-canonical bits in the last character
  std::size_t o = 0;
  std::size_t i = 0;
  auto val = [&](std::size_t k) {
    std::uint32_t v = kDecode[static_cast<unsigned char>(text[k])];
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
  return ((seen & 0xc0) | tail_bits) == 0;
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
    std::uint32_t n = std::uint32_t{bytes[i]} << 16 | std::uint32_t{bytes[i + 1]} << 8 | bytes[i + 2];
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
  if (!DecodeInto(text, reinterpret_cast<std::uint8_t*>(out.data()))) {
    return InvalidArgument("bad base64url");
  }
  return out;
}

Result<SecretBytes> Base64UrlDecodeSecret(std::string_view text) {
  std::size_t n = 0;
  if (!DecodedSize(text.size(), &n)) return InvalidArgument("bad base64url");
  SecretBytes out(n);
  if (!DecodeInto(text, out.reveal_secret().data())) return InvalidArgument("bad base64url");
  return out;
}

}  // namespace instaccess::jose
