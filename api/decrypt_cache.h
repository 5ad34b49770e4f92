// The decrypt cache (docs/performance.md): gateways present the same token on every request, so
// the verified answer is kept, keyed by SHA-256 of the token, until the token's exp (plus clock
// skew), but never past iat plus its signing key's max_lifetime (jose::OpenedToken::keep_until).
// Memory only, bounded (oldest entries leave first), and every entry made with a revoked key is
// dropped.
//
// An entry exists only for a token that fully verified; a hit still checks keep_until against the
// caller's now, so an entry never outlives its token. Answers longer than kMaxAnswer are not
// kept, so `capacity` entries bound the memory too.
//
// Revocation races a decrypt in flight: a token opened with a key snapshot taken before the
// revoke must not be inserted after DropKid has run. Callers read Generation() before taking
// their key snapshot and hand it to Insert, which keeps nothing if a DropKid ran since.
//
// Thread-safety: all methods from any thread; the map is split in shards with a mutex each.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <memory_resource>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/ssl_ptr.h"

namespace instaccess::api {

class DecryptCache {
 public:
  struct Entry {
    std::string_view response_body;  // the 200 answer, ready to send (the cache keeps a copy)
    std::string_view sig_kid;        // the keys that made the token, for DropKid
    std::string_view enc_kid;
    std::int64_t keep_until = 0;  // answered while now < keep_until
  };

  // Canvas-sized answers (claims and two kids) are about 0.5 KB; a client that mints tokens with
  // large claims gets them decrypted every time instead of filling the cache with them. With its
  // terminating NUL an answer then fits the pool's 1 KiB blocks: an entry is at most about 1.2 KB
  // with its node and its place in the eviction order.
  static constexpr std::size_t kMaxAnswer = 1000;

  // capacity 0 turns the cache off.
  explicit DecryptCache(std::size_t capacity);

  // Raw SHA-256 of a token, held by value: a std::string of 32 bytes would be a heap allocation,
  // three per cold decrypt (lookup, map key, eviction order).
  using Key = std::array<unsigned char, 32>;
  // Computed once per request: the lookup and a later insert use the same key. `variant` keeps
  // different answers about one token apart (0: SHA-256 of the token alone; else of the variant
  // byte followed by the token).
  Key KeyOf(std::string_view token, std::uint8_t variant = 0) const;

  // The answer for the token if cached and now < keep_until (an expired one is dropped).
  std::optional<std::string> Find(const Key& key, std::int64_t now);
  // Changes whenever DropKid runs. Read it before taking the key snapshot a token is opened with.
  std::uint64_t Generation() const { return generation_.load(); }
  // Keeps `entry` unless DropKid ran after `generation` was read, or the answer is longer than
  // kMaxAnswer.
  void Insert(const Key& key, Entry entry, std::uint64_t generation);
  // Drops every entry made with `kid` (as signing or encryption key). Returns how many.
  std::size_t DropKid(std::string_view kid);

  std::size_t size() const;
  std::size_t capacity() const { return capacity_; }
  std::uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  std::uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::size_t kShards = 16;
  // The key is uniformly random already: eight of its bytes are a fine bucket hash. noexcept, so
  // libstdc++ recomputes it from the key instead of storing it in each node: a miss then reads
  // one cache line of each node in the bucket, not two (the stored code sits after the value).
  struct KeyHash {
    std::size_t operator()(const Key& d) const noexcept {
      std::size_t h = 0;
      std::memcpy(&h, d.data() + 8, sizeof h);  // bytes 0.. choose the shard
      return h;
    }
  };

  // The kids are kept as hashes: two strings fewer to allocate on every insert and to copy on
  // every hit. Two kids with one hash only make DropKid drop an entry too many, which costs that
  // token one full decrypt.
  struct Stored {
    std::pmr::string response_body;  // in the shard's pool
    std::size_t sig_kid_hash = 0;
    std::size_t enc_kid_hash = 0;
    std::int64_t keep_until = 0;
  };
  static std::size_t KidHash(std::string_view kid) { return std::hash<std::string_view>{}(kid); }

  // Entries live in memory that was faulted in ahead of use (prefaulted_memory.h): growing the
  // cache through malloc's heap made every cold decrypt ~5% dearer. The pool reuses what
  // evictions free (blocks up to PrefaultedMemory::kPooledBytes).
  static std::pmr::memory_resource* EntryMemory();
  static std::pmr::pool_options PoolOptions();
  struct Shard {
    mutable std::mutex mu;
    std::pmr::unsynchronized_pool_resource pool{PoolOptions(), EntryMemory()};  // Guarded by mu.
    std::pmr::unordered_map<Key, Stored, KeyHash> map{&pool};                   // Guarded by mu.
    std::pmr::deque<Key> order{&pool};  // Guarded by mu. Insertion order, for eviction.
  };

  Shard& ShardFor(const Key& d) { return shards_[d[0] % kShards]; }

  // Fetched once: OpenSSL 3's implicit fetch per digest is a locked lookup. OpenSSL's SHA-256
  // (SHA-NI where the CPU has it) is several times faster than a portable one on ~1 KB tokens.
  EvpMdPtr sha256_;
  const std::size_t capacity_;
  const std::size_t per_shard_;
  std::array<Shard, kShards> shards_;
  std::atomic<std::uint64_t> generation_{0};  // sequentially consistent: see Insert
  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> misses_{0};
};

}  // namespace instaccess::api
