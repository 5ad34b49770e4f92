// Sealing of private keys at rest (docs/storage.md): XChaCha20-Poly1305 (libsodium, IETF variant)
// under the 32-byte master key, AAD = kid|purpose|alg so a sealed row cannot be moved to another
// key or reinterpreted for another algorithm, and a fresh random 24-byte nonce per row (192-bit
// nonces make random choice safe for any number of rows).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret_bytes.h"
#include "common/status.h"
#include "keystore/key_types.h"

namespace instaccess::keystore {

// The master key's only accepted length: the XChaCha20-Poly1305 key size.
inline constexpr std::size_t kMasterKeyBytes = 32;

struct Sealed {
  std::vector<std::uint8_t> ciphertext;  // includes the 16-byte Poly1305 tag
  std::vector<std::uint8_t> nonce;       // 24 bytes
};

// "kid|purpose|alg".
std::string SealAad(std::string_view kid, Purpose purpose, std::string_view alg);

Result<Sealed> Seal(const SecretBytes& master_key, std::span<const std::uint8_t> plaintext,
                    std::string_view aad);

// DataLoss when the ciphertext does not authenticate (wrong master key, tampered or moved row).
// The plaintext exists only in sodium_malloc memory.
Result<SecretBytes> Unseal(const SecretBytes& master_key, std::span<const std::uint8_t> ciphertext,
                           std::span<const std::uint8_t> nonce, std::string_view aad);

// A check value stored in `meta` so that a wrong master key is detected before anything is read
// or written: keyed BLAKE2b-256 of a fixed label. It is a PRF output, so it reveals nothing
// about the key beyond letting a holder of a candidate key test it (which unsealing a row would
// allow anyway).
std::vector<std::uint8_t> MasterKeyCheckValue(const SecretBytes& master_key);
// Constant-time comparison against a stored check value.
bool MatchesMasterKeyCheck(const SecretBytes& master_key, std::span<const std::uint8_t> check);

}  // namespace instaccess::keystore
