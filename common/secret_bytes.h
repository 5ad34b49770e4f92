// SecretBytes: bytes that must not outlive their use (private keys in clear, CEKs, master keys).
//
// Held in sodium_malloc memory (guard pages, mlock'ed where the limit allows, excluded from
// core dumps), wiped on destruction, compared in constant time, never printable. Read through
// the deliberately greppable reveal_secret() accessors.
//
// Thread-safety: like std::vector; distinct objects may be used from distinct threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace instaccess {

class SecretBytes {
 public:
  SecretBytes() = default;
  // Zero-filled secret of `size` bytes. Aborts if the secure allocator fails: a process that
  // cannot protect its secrets must not continue with unprotected copies.
  explicit SecretBytes(std::size_t size);
  // Copies `bytes` in; the caller wipes its own copy.
  static SecretBytes CopyFrom(std::span<const std::uint8_t> bytes);
  // Fills `size` bytes from the system CSPRNG.
  static SecretBytes Random(std::size_t size);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  std::span<std::uint8_t> reveal_secret() { return {data_, size_}; }
  std::span<const std::uint8_t> reveal_secret() const { return {data_, size_}; }
  std::string_view reveal_secret_as_string() const {
    return {reinterpret_cast<const char*>(data_), size_};
  }

  // Constant-time in the contents (sizes are not secret).
  bool Equals(const SecretBytes& other) const;

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

// Overwrites memory in a way the compiler may not elide.
void WipeMemory(void* p, std::size_t n);

}  // namespace instaccess
