// Internal: constant-time primitives for the key-unwrapping code (jwe.cc, oaep.cc).
//
// Masks are all-ones or all-zeros; nothing branches on the values. The empty asm keeps the
// optimiser from proving a mask is boolean and turning selects back into branches.
#pragma once

#include <cstddef>
#include <cstdint>

namespace instaccess::jose::internal {

inline std::uint32_t Barrier(std::uint32_t v) {
  __asm__("" : "+r"(v));
  return v;
}
inline std::uint32_t CtIsZero(std::uint32_t x) { return Barrier(0u - ((~x & (x - 1)) >> 31)); }
inline std::uint32_t CtEq(std::uint32_t a, std::uint32_t b) { return CtIsZero(a ^ b); }
inline std::uint32_t CtEqSize(std::size_t a, std::size_t b) {
  // Sizes here are ≤ 2^24, so truncation cannot make unequal values equal.
  return CtEq(static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(b)) &
         CtIsZero(static_cast<std::uint32_t>((a ^ b) >> 24));
}

}  // namespace instaccess::jose::internal
