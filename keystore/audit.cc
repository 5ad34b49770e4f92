#include "keystore/audit.h"

#include <sodium.h>

#include <cstdlib>

namespace instaccess::keystore {

namespace {

constexpr std::size_t kHashBytes = crypto_hash_sha256_BYTES;

void PutU64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void PutField(std::vector<std::uint8_t>& out, std::string_view s) {
  PutU64(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

}  // namespace

std::vector<std::uint8_t> AuditHash(const SecretBytes* key, const AuditEntry& e) {
  if (sodium_init() < 0) std::abort();
  std::vector<std::uint8_t> canon;
  PutU64(canon, static_cast<std::uint64_t>(e.seq));
  PutU64(canon, static_cast<std::uint64_t>(e.at));
  PutField(canon, e.actor);
  PutField(canon, e.action);
  canon.push_back(e.kid.has_value() ? 1 : 0);
  PutField(canon, e.kid.value_or(""));
  PutField(canon, e.detail);
  if (key != nullptr) {
    static_assert(crypto_auth_hmacsha256_BYTES == kHashBytes);
    if (key->size() != crypto_auth_hmacsha256_KEYBYTES) std::abort();
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key->reveal_secret().data(), key->size());
    crypto_auth_hmacsha256_update(&st, e.prev_hash.data(), e.prev_hash.size());
    crypto_auth_hmacsha256_update(&st, canon.data(), canon.size());
    std::vector<std::uint8_t> out(kHashBytes);
    crypto_auth_hmacsha256_final(&st, out.data());
    return out;
  }
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, e.prev_hash.data(), e.prev_hash.size());
  crypto_hash_sha256_update(&st, canon.data(), canon.size());
  std::vector<std::uint8_t> out(kHashBytes);
  crypto_hash_sha256_final(&st, out.data());
  return out;
}

Status AppendAudit(Store& store, const SecretBytes& key, UnixTime at, std::string_view actor,
                   std::string_view action, std::optional<std::string_view> kid,
                   std::string_view detail) {
  AuditEntry e;
  e.at = at;
  e.actor = actor;
  e.action = action;
  if (kid.has_value()) e.kid = std::string(*kid);
  e.detail = detail;
  Result<std::optional<AuditEntry>> last = store.LastAuditRow();
  if (!last) return last.error();
  if (last->has_value()) {
    e.seq = (*last)->seq + 1;
    e.prev_hash = (*last)->hash;
  } else {
    e.seq = 1;
    e.prev_hash.assign(kHashBytes, 0);
  }
  e.hash = AuditHash(&key, e);
  return store.InsertAuditRow(e);
}

Result<std::vector<AuditEntry>> ReadAudit(Store& store, std::int64_t after_seq,
                                          std::int64_t limit) {
  return store.ReadAuditRows(after_seq, limit);
}

Result<AuditVerification> VerifyAudit(Store& store, const SecretBytes* key) {
  AuditVerification v;
  std::vector<std::uint8_t> prev(kHashBytes, 0);
  std::int64_t expected_seq = 1;
  std::int64_t after = 0;
  constexpr std::int64_t kBatch = 1000;
  while (true) {
    Result<std::vector<AuditEntry>> batch = store.ReadAuditRows(after, kBatch);
    if (!batch) return batch.error();
    if (batch->empty()) break;
    for (const AuditEntry& e : *batch) {
      std::string where = "audit row " + std::to_string(e.seq);
      if (e.seq != expected_seq) {
        v.first_broken_seq = e.seq;
        v.reason = where + ": expected seq " + std::to_string(expected_seq) +
                   " (rows missing or renumbered)";
        return v;
      }
      if (e.prev_hash != prev) {
        v.first_broken_seq = e.seq;
        v.reason = where + ": prev_hash does not match the hash of the row before it";
        return v;
      }
      if (AuditHash(key, e) != e.hash) {
        v.first_broken_seq = e.seq;
        v.reason = where + ": hash does not match its contents (row altered)";
        return v;
      }
      prev = e.hash;
      ++expected_seq;
      ++v.entries;
      after = e.seq;
    }
  }
  return v;
}

Status RechainAudit(Store& store, const SecretBytes& key) {
  std::vector<std::uint8_t> prev(kHashBytes, 0);
  std::int64_t after = 0;
  constexpr std::int64_t kBatch = 1000;
  while (true) {
    Result<std::vector<AuditEntry>> batch = store.ReadAuditRows(after, kBatch);
    if (!batch) return batch.error();
    if (batch->empty()) return Status::Ok();
    for (AuditEntry& e : *batch) {
      e.prev_hash = prev;
      e.hash = AuditHash(&key, e);
      INSTACCESS_RETURN_IF_ERROR(store.UpdateAuditLinks(e.seq, e.prev_hash, e.hash));
      prev = e.hash;
      after = e.seq;
    }
  }
}

}  // namespace instaccess::keystore
