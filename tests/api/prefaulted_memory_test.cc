#include "api/prefaulted_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

namespace instaccess::api {
namespace {

const std::size_t kPage = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));

// Whether every page of [p, p + bytes) is in memory now (mincore), i.e. touching it will not fault.
bool Resident(void* p, std::size_t bytes) {
  auto* start =
      reinterpret_cast<unsigned char*>(reinterpret_cast<std::uintptr_t>(p) / kPage * kPage);
  const std::size_t len = static_cast<std::size_t>(static_cast<unsigned char*>(p) - start) + bytes;
  std::vector<unsigned char> pages((len + kPage - 1) / kPage);
  if (mincore(start, len, pages.data()) != 0) return false;
  for (unsigned char v : pages) {
    if ((v & 1) == 0) return false;
  }
  return true;
}

BOOST_AUTO_TEST_SUITE(prefaulted_memory)

BOOST_AUTO_TEST_CASE(small_blocks_share_a_resident_region_and_do_not_overlap) {
  PrefaultedMemory memory;
  BOOST_TEST(memory.mapped_bytes() == 0u);  // nothing mapped before the first request
  std::vector<unsigned char*> blocks;
  for (int i = 0; i < 100; ++i) {
    auto* b = static_cast<unsigned char*>(memory.allocate(100, 16));
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(b) % 16 == 0u);
    BOOST_TEST(Resident(b, 100));  // before anything touched it
    std::memset(b, i, 100);
    blocks.push_back(b);
  }
  BOOST_TEST(memory.mapped_bytes() == PrefaultedMemory::kRegionBytes);
  for (int i = 0; i < 100; ++i) {
    BOOST_TEST(blocks[static_cast<std::size_t>(i)][0] == i);
    BOOST_TEST(blocks[static_cast<std::size_t>(i)][99] == i);
  }
}

BOOST_AUTO_TEST_CASE(a_full_region_is_followed_by_a_new_one) {
  PrefaultedMemory memory;
  const std::size_t block = PrefaultedMemory::kPooledBytes;
  const std::size_t per_region = PrefaultedMemory::kRegionBytes / block;  // one fewer fits
  void* last = nullptr;
  for (std::size_t i = 0; i < per_region + 1; ++i) last = memory.allocate(block, 8);
  BOOST_TEST(memory.mapped_bytes() == 2 * PrefaultedMemory::kRegionBytes);
  BOOST_TEST(Resident(last, block));
  std::memset(last, 0xab, block);  // the new region is writable
}

BOOST_AUTO_TEST_CASE(a_large_block_is_its_own_mapping_and_is_unmapped_when_freed) {
  PrefaultedMemory memory;
  const std::size_t bytes = 3 * kPage + 1;
  void* p = memory.allocate(bytes, alignof(std::max_align_t));
  BOOST_TEST(reinterpret_cast<std::uintptr_t>(p) % kPage == 0u);
  BOOST_TEST(memory.mapped_bytes() == 4 * kPage);
  BOOST_TEST(Resident(p, bytes));
  std::memset(p, 1, bytes);
  memory.deallocate(p, bytes, alignof(std::max_align_t));
  BOOST_TEST(memory.mapped_bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(an_alignment_above_a_page_is_refused) {
  PrefaultedMemory memory;
  BOOST_CHECK_THROW(static_cast<void>(memory.allocate(64, 2 * kPage)), std::bad_alloc);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::api
