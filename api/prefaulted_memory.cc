#include "api/prefaulted_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <new>

namespace instaccess::api {

namespace {

std::size_t PageSize() {
  static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

std::size_t RoundToPages(std::size_t bytes) {
  const std::size_t page = PageSize();
  return (bytes + page - 1) / page * page;
}

// Readable, writable, private, every page present; throws std::bad_alloc as operator new does.
void* MapPopulated(std::size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                 -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return p;
}

// Bytes to skip at `at` for a block aligned to `alignment` (a power of two).
std::size_t PadFor(const std::byte* at, std::size_t alignment) {
  return (alignment - reinterpret_cast<std::uintptr_t>(at) % alignment) % alignment;
}

}  // namespace

PrefaultedMemory::~PrefaultedMemory() {
  // The list lives inside the regions: read the link before unmapping.
  for (Region* r = regions_; r != nullptr;) {
    Region* next = r->next;
    munmap(r, kRegionBytes);
    r = next;
  }
}

std::size_t PrefaultedMemory::mapped_bytes() const {
  std::scoped_lock lock(mu_);
  return mapped_bytes_;
}

void* PrefaultedMemory::do_allocate(std::size_t bytes, std::size_t alignment) {
  if (alignment > PageSize()) throw std::bad_alloc();
  if (bytes > kPooledBytes) {
    const std::size_t mapped = RoundToPages(bytes);
    void* p = MapPopulated(mapped);
    std::scoped_lock lock(mu_);
    mapped_bytes_ += mapped;
    return p;
  }
  std::scoped_lock lock(mu_);
  std::size_t pad = PadFor(free_, alignment);
  if (free_ == nullptr || pad + bytes > free_bytes_) {
    // A new region; its first bytes link it to the one before.
    auto* region = new (MapPopulated(kRegionBytes)) Region{regions_};
    regions_ = region;
    mapped_bytes_ += kRegionBytes;
    free_ = reinterpret_cast<std::byte*>(region + 1);
    free_bytes_ = kRegionBytes - sizeof(Region);
    pad = PadFor(free_, alignment);
  }
  void* p = free_ + pad;
  free_ += pad + bytes;
  free_bytes_ -= pad + bytes;
  return p;
}

void PrefaultedMemory::do_deallocate(void* p, std::size_t bytes, std::size_t /*alignment*/) {
  if (bytes <= kPooledBytes) return;  // carved from a shared region: kept (see the header)
  const std::size_t mapped = RoundToPages(bytes);
  munmap(p, mapped);
  std::scoped_lock lock(mu_);
  mapped_bytes_ -= mapped;
}

}  // namespace instaccess::api
