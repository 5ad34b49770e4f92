#include "jose/oaep.h"

#include <algorithm>
#include <array>

#include "common/ssl_ptr.h"
#include "jose/constant_time.h"

namespace instaccess::jose::internal {

namespace {

// out ^= MGF1(seed, out.size()) (RFC 8017 B.2.1): Hash(seed || counter) for counter = 0, 1, ...
bool XorMgf1(EVP_MD_CTX* ctx, const EVP_MD* md, std::span<const std::uint8_t> seed,
             std::span<std::uint8_t> out) {
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> block{};
  const auto h_len = static_cast<std::size_t>(EVP_MD_get_size(md));
  for (std::uint32_t counter = 0; counter * h_len < out.size(); ++counter) {
    const std::array<std::uint8_t, 4> c = {
        static_cast<std::uint8_t>(counter >> 24), static_cast<std::uint8_t>(counter >> 16),
        static_cast<std::uint8_t>(counter >> 8), static_cast<std::uint8_t>(counter)};
    if (EVP_DigestInit_ex2(ctx, md, nullptr) != 1 ||
        EVP_DigestUpdate(ctx, seed.data(), seed.size()) != 1 ||
        EVP_DigestUpdate(ctx, c.data(), c.size()) != 1 ||
        EVP_DigestFinal_ex(ctx, block.data(), nullptr) != 1) {
      return false;
    }
    const std::size_t at = counter * h_len;
    const std::size_t n = std::min(h_len, out.size() - at);
    for (std::size_t i = 0; i < n; ++i) out[at + i] ^= block[i];
  }
  return true;
}

}  // namespace

bool OaepEncode(std::span<const std::uint8_t> message, std::span<const std::uint8_t> seed,
                const EVP_MD* md, std::span<std::uint8_t> em) {
  if (md == nullptr) return false;
  const auto h_len = static_cast<std::size_t>(EVP_MD_get_size(md));
  const std::size_t k = em.size();
  if (h_len == 0 || seed.size() != h_len || k < 2 * h_len + 2 ||
      message.size() > k - 2 * h_len - 2) {
    return false;
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  const std::span<std::uint8_t> masked_seed = em.subspan(1, h_len);
  const std::span<std::uint8_t> db = em.subspan(1 + h_len);
  // DB = lHash || PS (zeros) || 0x01 || M, with lHash the hash of the empty label.
  std::fill(em.begin(), em.end(), std::uint8_t{0});
  if (EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), db.data(), nullptr) != 1) {
    return false;
  }
  db[db.size() - message.size() - 1] = 0x01;
  std::copy(message.begin(), message.end(), db.end() - static_cast<std::ptrdiff_t>(message.size()));
  std::copy(seed.begin(), seed.end(), masked_seed.begin());
  return XorMgf1(ctx.get(), md, seed, db) && XorMgf1(ctx.get(), md, db, masked_seed);
}

std::uint32_t OaepDecodeMask(std::span<std::uint8_t> em, std::size_t message_size,
                             const EVP_MD* md) {
  // Only public sizes decide these branches.
  if (md == nullptr) return 0;
  const auto h_len = static_cast<std::size_t>(EVP_MD_get_size(md));
  const std::size_t k = em.size();
  if (h_len == 0 || h_len > EVP_MAX_MD_SIZE || k < 2 * h_len + 2 ||
      message_size > k - 2 * h_len - 2) {
    return 0;
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> l_hash{};
  if (!ctx || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), l_hash.data(), nullptr) != 1) {
    return 0;
  }
  const std::span<std::uint8_t> seed = em.subspan(1, h_len);
  const std::span<std::uint8_t> db = em.subspan(1 + h_len);
  // seed = maskedSeed ^ MGF1(maskedDB), then DB = maskedDB ^ MGF1(seed). Hashing is
  // constant-time in the data; whether it fails does not depend on the data.
  if (!XorMgf1(ctx.get(), md, db, seed) || !XorMgf1(ctx.get(), md, seed, db)) return 0;
  // Every difference from the expected layout is ORed into `diff`.
  const std::size_t separator = db.size() - message_size - 1;
  std::uint32_t diff = em[0];
  for (std::size_t i = 0; i < h_len; ++i) diff |= static_cast<std::uint32_t>(db[i] ^ l_hash[i]);
  for (std::size_t i = h_len; i < separator; ++i) diff |= db[i];
  diff |= static_cast<std::uint32_t>(db[separator] ^ 0x01u);
  return CtIsZero(diff);
}

}  // namespace instaccess::jose::internal
