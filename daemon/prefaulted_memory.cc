#include "daemon/prefaulted_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <new>

namespace instaccess::daemon {

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

}  // namespace

PrefaultedMemory::~PrefaultedMemory() {
  // The region list lives inside the regions: read the link before unmapping.
  for (Region* r = regions_; r != nullptr;) {
    Region* next = r->next;
    munmap(r->base, kRegionBytes);
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
    void* p = MapPopulated(RoundToPages(bytes));
    std::scoped_lock lock(mu_);
    mapped_bytes_ += RoundToPages(bytes);
    return p;
  }
  std::scoped_lock lock(mu_);
  const std::size_t pad = (alignment - reinterpret_cast<std::uintptr_t>(free_) % alignment) % alignment;
  if (free_ == nullptr || pad + bytes > free_bytes_) {
    void* base = MapPopulated(kRegionBytes);
    auto* region = static_cast<Region*>(base);
    region->base = base;
    region->next = regions_;
    regions_ = region;
    mapped_bytes_ += kRegionBytes;
    // The link takes the region's first bytes; a block starts past them, aligned to `alignment`.
    const std::size_t header = (sizeof(Region) + alignment - 1) / alignment * alignment;
    free_ = static_cast<std::byte*>(base) + header;
    free_bytes_ = kRegionBytes - header;
    void* p = free_;
    free_ += bytes;
    free_bytes_ -= bytes;
    return p;
  }
  void* p = free_ + pad;
  free_ += pad + bytes;
  free_bytes_ -= pad + bytes;
  return p;
}

void PrefaultedMemory::do_deallocate(void* p, std::size_t bytes, std::size_t /*alignment*/) {
  if (bytes <= kPooledBytes) return;  // carved from a shared region: kept (see the header)
  munmap(p, RoundToPages(bytes));
  std::scoped_lock lock(mu_);
  mapped_bytes_ -= RoundToPages(bytes);
}

}  // namespace instaccess::daemon
