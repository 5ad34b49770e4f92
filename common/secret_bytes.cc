#include "common/secret_bytes.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <utility>

namespace instaccess {

namespace {
void EnsureSodium() {
  // sodium_init is idempotent and thread-safe; a failure means no usable CSPRNG.
  if (sodium_init() < 0) std::abort();
}
}  // namespace

SecretBytes::SecretBytes(std::size_t size) : size_(size) {
  if (size == 0) return;
  EnsureSodium();
  data_ = static_cast<std::uint8_t*>(sodium_malloc(size));
  if (data_ == nullptr) std::abort();
  std::memset(data_, 0, size);
}

SecretBytes SecretBytes::CopyFrom(std::span<const std::uint8_t> bytes) {
  SecretBytes s(bytes.size());
  if (!bytes.empty()) std::memcpy(s.data_, bytes.data(), bytes.size());
  return s;
}

SecretBytes SecretBytes::Random(std::size_t size) {
  SecretBytes s(size);
  if (size != 0) randombytes_buf(s.data_, size);
  return s;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) sodium_free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecretBytes::~SecretBytes() {
  // sodium_free wipes the region before unmapping it.
  if (data_ != nullptr) sodium_free(data_);
}

bool SecretBytes::Equals(const SecretBytes& other) const {
  if (size_ != other.size_) return false;
  if (size_ == 0) return true;
  return sodium_memcmp(data_, other.data_, size_) == 0;
}

void WipeMemory(void* p, std::size_t n) {
  if (p != nullptr && n != 0) sodium_memzero(p, n);
}

}  // namespace instaccess
