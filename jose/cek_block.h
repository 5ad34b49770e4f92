// Internal: the part of UnwrapCek (jwe.h) after the RSA private operation. It decodes the block
// with the key's padding and takes the real CEK or the random stand-in by mask, with no branch and
// no memory access that depends on the block. It is split out so that
// tests/jose/constant_time_check.cc can run it under memcheck on secret blocks, good and bad.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <span>

namespace instaccess::jose::internal {

// `em` is the k-byte output of RSADP; `oaep_md` the OAEP hash, or nullptr for RSA1_5 (both
// public facts of the key); `rsa_ok` an all-ones mask when the RSA step itself succeeded. Writes
// to `out` the last out.size() bytes of the decoded block when all of it is right, `fallback`
// (as long as `out`) otherwise, and returns the mask that chose: all-ones for the real CEK. Sizes
// that do not fit (a CEK longer than the block, a stand-in of another length) write nothing and
// return all-zeros.
std::uint32_t SelectCekFromBlock(std::span<std::uint8_t> em, const EVP_MD* oaep_md,
                                 std::uint32_t rsa_ok, std::span<const std::uint8_t> fallback,
                                 std::span<std::uint8_t> out);

}  // namespace instaccess::jose::internal
