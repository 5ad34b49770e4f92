#include "jose/cek_block.h"

#include "jose/oaep.h"
#include "jose/pkcs1.h"

namespace instaccess::jose::internal {

std::uint32_t SelectCekFromBlock(std::span<std::uint8_t> em, const EVP_MD* oaep_md,
                                 std::uint32_t rsa_ok, std::span<const std::uint8_t> fallback,
                                 std::span<std::uint8_t> out) {
  // Public sizes; UnwrapCek never passes these (its `usable`), and its stand-in is in place.
  if (out.size() > em.size() || fallback.size() != out.size()) return 0;
  // Which decoder runs depends on the key's algorithm only.
  const std::uint32_t padding_ok =
      oaep_md != nullptr ? OaepDecodeMask(em, out.size(), oaep_md) : Pkcs1Type2Mask(em, out.size());
  const std::uint32_t good = rsa_ok & padding_ok;
  // Both decoders leave the message at the end of the block.
  const std::size_t offset = em.size() - out.size();
  const auto mask = static_cast<std::uint8_t>(good);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::uint8_t>((em[offset + i] & mask) | (fallback[i] & ~mask));
  }
  return good;
}

}  // namespace instaccess::jose::internal
