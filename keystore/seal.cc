#include "keystore/seal.h"

#include <sodium.h>

#include <cstdlib>

namespace instaccess::keystore {

namespace {

constexpr char kCheckLabel[] = "instaccessd master key check v1";

void EnsureSodium() {
  if (sodium_init() < 0) std::abort();  // no CSPRNG: nothing safe can be done
}

std::span<const std::uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

std::string SealAad(std::string_view kid, Purpose purpose, std::string_view alg) {
  std::string aad(kid);
  aad += '|';
  aad += PurposeName(purpose);
  aad += '|';
  aad += alg;
  return aad;
}

Result<Sealed> Seal(const SecretBytes& master_key, std::span<const std::uint8_t> plaintext,
                    std::string_view aad) {
  EnsureSodium();
  if (master_key.size() != kMasterKeyBytes) return InvalidArgument("master key must be 32 bytes");
  Sealed out;
  out.nonce.resize(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  randombytes_buf(out.nonce.data(), out.nonce.size());
  out.ciphertext.resize(plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long clen = 0;
  std::span<const std::uint8_t> a = AsBytes(aad);
  if (crypto_aead_xchacha20poly1305_ietf_encrypt(
          out.ciphertext.data(), &clen, plaintext.data(), plaintext.size(), a.data(), a.size(),
          nullptr, out.nonce.data(), master_key.reveal_secret().data()) != 0) {
    return Internal("sealing failed");
  }
  out.ciphertext.resize(static_cast<std::size_t>(clen));
  return out;
}

Result<SecretBytes> Unseal(const SecretBytes& master_key, std::span<const std::uint8_t> ciphertext,
                           std::span<const std::uint8_t> nonce, std::string_view aad) {
  EnsureSodium();
  if (master_key.size() != kMasterKeyBytes) return InvalidArgument("master key must be 32 bytes");
  if (nonce.size() != crypto_aead_xchacha20poly1305_ietf_NPUBBYTES ||
      ciphertext.size() < crypto_aead_xchacha20poly1305_ietf_ABYTES) {
    return DataLoss("sealed private key is truncated");
  }
  SecretBytes plain(ciphertext.size() - crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long plen = 0;
  std::span<const std::uint8_t> a = AsBytes(aad);
  // An empty SecretBytes has no buffer; libsodium still needs a valid pointer.
  std::uint8_t dummy = 0;
  std::uint8_t* out = plain.empty() ? &dummy : plain.reveal_secret().data();
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          out, &plen, nullptr, ciphertext.data(), ciphertext.size(), a.data(), a.size(),
          nonce.data(), master_key.reveal_secret().data()) != 0) {
    return DataLoss("sealed private key does not authenticate");
  }
  return plain;
}

std::vector<std::uint8_t> MasterKeyCheckValue(const SecretBytes& master_key) {
  EnsureSodium();
  std::vector<std::uint8_t> out(32);
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(kCheckLabel),
                     sizeof kCheckLabel - 1, master_key.reveal_secret().data(), master_key.size());
  return out;
}

bool MatchesMasterKeyCheck(const SecretBytes& master_key, std::span<const std::uint8_t> check) {
  if (master_key.size() != kMasterKeyBytes) return false;
  std::vector<std::uint8_t> expected = MasterKeyCheckValue(master_key);
  if (check.size() != expected.size()) return false;
  return sodium_memcmp(expected.data(), check.data(), expected.size()) == 0;
}

}  // namespace instaccess::keystore
