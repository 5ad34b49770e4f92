#include "jose/pkcs1.h"

#include "jose/constant_time.h"

namespace instaccess::jose::internal {

std::uint32_t Pkcs1Type2Mask(std::span<const std::uint8_t> em, std::size_t message_size) {
  const std::size_t k = em.size();
  if (k < message_size + 11) return 0;  // public sizes
  std::uint32_t good = CtIsZero(em[0]) & CtEq(em[1], 2);
  const std::size_t sep = k - message_size - 1;
  for (std::size_t i = 2; i < sep; ++i) good &= ~CtIsZero(em[i]);
  good &= CtIsZero(em[sep]);
  return good;
}

}  // namespace instaccess::jose::internal
