#include "api/decrypt_cache.h"

#include <openssl/evp.h>

#include <cstdlib>

#include "api/prefaulted_memory.h"

namespace instaccess::api {

std::pmr::memory_resource* DecryptCache::EntryMemory() {
  // One for the process, never destroyed: caches of any lifetime draw from it.
  static auto* const memory = new PrefaultedMemory();
  return memory;
}

std::pmr::pool_options DecryptCache::PoolOptions() {
  std::pmr::pool_options options;
  options.largest_required_pool_block = PrefaultedMemory::kPooledBytes;
  // A pool's chunks grow up to this many blocks: it bounds the slack a shard keeps mapped.
  options.max_blocks_per_chunk = 256;
  return options;
}

DecryptCache::DecryptCache(std::size_t capacity)
    : sha256_(EVP_MD_fetch(nullptr, "SHA256", nullptr)),
      capacity_(capacity),
      per_shard_(capacity == 0 ? 0 : (capacity + kShards - 1) / kShards) {}

DecryptCache::Key DecryptCache::KeyOf(std::string_view token, std::uint8_t variant) const {
  Key d{};
  // Without SHA-256 the cache could confuse tokens; a process in that state must not serve.
  if (sha256_ == nullptr) std::abort();
  if (variant == 0) {
    if (EVP_Digest(token.data(), token.size(), d.data(), nullptr, sha256_.get(), nullptr) != 1) {
      std::abort();
    }
    return d;
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), sha256_.get(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), &variant, 1) != 1 ||
      EVP_DigestUpdate(ctx.get(), token.data(), token.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), d.data(), nullptr) != 1) {
    std::abort();
  }
  return d;
}

std::optional<std::string> DecryptCache::Find(const Key& d, std::int64_t now) {
  if (capacity_ == 0) return std::nullopt;
  Shard& s = ShardFor(d);
  std::scoped_lock lock(s.mu);
  auto it = s.map.find(d);
  if (it == s.map.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  if (now >= it->second.keep_until) {
    // Expired: the slow path will say token_expired after verifying again. The deque keeps a
    // stale digest, skipped when it reaches the front.
    s.map.erase(it);
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  hits_.fetch_add(1, std::memory_order_relaxed);
  return std::string(it->second.response_body);
}

void DecryptCache::Insert(const Key& d, Entry entry, std::uint64_t generation) {
  if (capacity_ == 0 || entry.response_body.size() > kMaxAnswer) return;
  Shard& s = ShardFor(d);
  std::scoped_lock lock(s.mu);
  // Checked under the shard's lock, which DropKid takes after it changes the generation: either
  // this sees the change and keeps nothing, or DropKid's pass over this shard comes after the
  // insert and erases it. (A caller that read the generation after the change took its key
  // snapshot after the revoke was published, so it cannot have used the revoked key.)
  if (generation != generation_.load()) return;
  // One lookup: a node for `d` is made unless one exists (each lookup in a large cache is a few
  // cache misses). The oldest leave after, so the limit holds once this returns.
  // (The answer is copied into the pool first; the node takes it with the pool as its allocator.)
  const bool inserted =
      s.map
          .try_emplace(d, Stored{std::pmr::string(entry.response_body, &s.pool),
                                 KidHash(entry.sig_kid), KidHash(entry.enc_kid), entry.keep_until})
          .second;
  if (!inserted) return;
  while (s.map.size() > per_shard_ && !s.order.empty()) {
    // A stale copy of `d` (its entry expired or was revoked, and the token came back) must not
    // take the new entry with it.
    if (s.order.front() != d) s.map.erase(s.order.front());
    s.order.pop_front();
  }
  // Stale digests (erased on expiry or revoke) must not make the deque grow without bound.
  if (s.order.size() > 2 * per_shard_ + 16) {
    std::pmr::deque<Key> live(&s.pool);
    for (auto& k : s.order) {
      if (s.map.contains(k)) live.push_back(std::move(k));
    }
    s.order.swap(live);
  }
  s.order.push_back(d);
}

std::size_t DecryptCache::DropKid(std::string_view kid) {
  generation_.fetch_add(1);  // before any shard is cleared: see Insert
  std::size_t dropped = 0;
  const std::size_t hash = KidHash(kid);
  for (Shard& s : shards_) {
    std::scoped_lock lock(s.mu);
    dropped += std::erase_if(s.map, [&](const auto& kv) {
      return kv.second.sig_kid_hash == hash || kv.second.enc_kid_hash == hash;
    });
  }
  return dropped;
}

std::size_t DecryptCache::size() const {
  std::size_t n = 0;
  for (const Shard& s : shards_) {
    std::scoped_lock lock(s.mu);
    n += s.map.size();
  }
  return n;
}

}  // namespace instaccess::api
