// Memory for data that grows on the request path and stays (the decrypt cache), taken from the
// kernel in regions whose pages are all faulted in by one call (MAP_POPULATE).
//
// Why: on the VMs this was measured on, a page's first touch costs ~10 µs, and the work after
// it runs slower too. While the decrypt cache grew through malloc's heap (0.11 new pages per
// cold decrypt), the daemon used ~5% more CPU per cold decrypt than with the same pages faulted
// in beforehand, and a signature check took 24-28 µs instead of 19-20 µs (docs/performance.md,
// "What each mechanism buys"). Populating a region costs ~0.5 µs a page, once.
//
// Requests up to kPooledBytes are carved from shared 1 MiB regions and never given back: they
// are meant for a std::pmr pool resource whose pooled blocks go no larger (pool_options), which
// keeps its chunks until it is destroyed and reuses freed blocks itself. Larger requests get a
// mapping of their own, unmapped when they are deallocated.
#pragma once

#include <cstddef>
#include <memory_resource>
#include <mutex>

namespace instaccess::api {

class PrefaultedMemory final : public std::pmr::memory_resource {
 public:
  static constexpr std::size_t kRegionBytes = std::size_t{1} << 20;
  static constexpr std::size_t kPooledBytes = 2048;  // larger: a mapping of its own

  PrefaultedMemory() = default;
  PrefaultedMemory(const PrefaultedMemory&) = delete;
  PrefaultedMemory& operator=(const PrefaultedMemory&) = delete;
  ~PrefaultedMemory() override;  // unmaps the shared regions; the others belong to their owners

  // Bytes mapped now: shared regions and live own mappings.
  std::size_t mapped_bytes() const;

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment) override;
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment) override;
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

  // The head of each shared region.
  struct Region {
    Region* next;  // the region mapped before it, for the destructor
  };

  mutable std::mutex mu_;
  Region* regions_ = nullptr;     // Guarded by mu_. The newest first.
  std::byte* free_ = nullptr;     // Guarded by mu_. The unused tail of the newest region.
  std::size_t free_bytes_ = 0;    // Guarded by mu_.
  std::size_t mapped_bytes_ = 0;  // Guarded by mu_.
};

}  // namespace instaccess::api
