// Internal: RSAES-PKCS1-v1_5 decoding (RFC 8017 §7.2.2 step 3) for RSA1_5 key unwrapping, in
// constant time (docs/tokens.md). A JWE's CEK length is fixed by `enc`, a public fact, so the
// separator's place is known in advance and the check is a fixed run of masks over the block:
// "wrong CEK length" shows up as a zero inside the padding string or a non-zero separator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace instaccess::jose::internal {

// Returns an all-ones mask when the k-byte block `em` (the output of RSADP, k = em.size()) is
//   0x00 || 0x02 || PS (k - message_size - 3 non-zero bytes) || 0x00 || M (message_size bytes),
// all-zeros otherwise. Time and memory accesses depend only on k and `message_size`, never on the
// bytes of `em`. Sizes that leave PS shorter than the 8 bytes RFC 8017 requires give all-zeros.
std::uint32_t Pkcs1Type2Mask(std::span<const std::uint8_t> em, std::size_t message_size);

}  // namespace instaccess::jose::internal
