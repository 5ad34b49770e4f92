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

Status AppendAudit(Db& db, const SecretBytes& key, UnixTime at, std::string_view actor,
                   std::string_view action, std::optional<std::string_view> kid,
                   std::string_view detail) {
  AuditEntry e;
  e.at = at;
  e.actor = actor;
  e.action = action;
  if (kid.has_value()) e.kid = std::string(*kid);
  e.detail = detail;
  {
    Result<Stmt> last = db.Prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
    if (!last) return last.error();
    Result<bool> row = last->Step();
    if (!row) return row.error();
    if (*row) {
      e.seq = last->Int(0) + 1;
      e.prev_hash = last->Blob(1);
    } else {
      e.seq = 1;
      e.prev_hash.assign(kHashBytes, 0);
    }
  }
  e.hash = AuditHash(&key, e);
  Result<Stmt> ins = db.Prepare(
      "INSERT INTO audit (seq, at, actor, action, kid, detail, prev_hash, hash) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!ins) return ins.error();
  ins->Bind(1, e.seq).Bind(2, e.at).Bind(3, e.actor).Bind(4, e.action);
  if (e.kid.has_value()) {
    ins->Bind(5, std::string_view(*e.kid));
  } else {
    ins->BindNull(5);
  }
  ins->Bind(6, e.detail).BindBlob(7, e.prev_hash).BindBlob(8, e.hash);
  return ins->Run();
}

Result<std::vector<AuditEntry>> ReadAudit(Db& db, std::int64_t after_seq, std::int64_t limit) {
  Result<Stmt> s = db.Prepare(
      "SELECT seq, at, actor, action, kid, detail, prev_hash, hash FROM audit "
      "WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  if (!s) return s.error();
  s->Bind(1, after_seq).Bind(2, limit);
  std::vector<AuditEntry> out;
  while (true) {
    Result<bool> row = s->Step();
    if (!row) return row.error();
    if (!*row) break;
    AuditEntry e;
    e.seq = s->Int(0);
    e.at = s->Int(1);
    e.actor = s->Text(2);
    e.action = s->Text(3);
    if (!s->IsNull(4)) e.kid = s->Text(4);
    e.detail = s->Text(5);
    e.prev_hash = s->Blob(6);
    e.hash = s->Blob(7);
    out.push_back(std::move(e));
  }
  return out;
}

Result<AuditVerification> VerifyAudit(Db& db, const SecretBytes* key) {
  AuditVerification v;
  std::vector<std::uint8_t> prev(kHashBytes, 0);
  std::int64_t expected_seq = 1;
  std::int64_t after = 0;
  constexpr std::int64_t kBatch = 1000;
  while (true) {
    Result<std::vector<AuditEntry>> batch = ReadAudit(db, after, kBatch);
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

Status RechainAudit(Db& db, const SecretBytes& key) {
  std::vector<std::uint8_t> prev(kHashBytes, 0);
  std::int64_t after = 0;
  constexpr std::int64_t kBatch = 1000;
  while (true) {
    Result<std::vector<AuditEntry>> batch = ReadAudit(db, after, kBatch);
    if (!batch) return batch.error();
    if (batch->empty()) return Status::Ok();
    for (AuditEntry& e : *batch) {
      e.prev_hash = prev;
      e.hash = AuditHash(&key, e);
      Result<Stmt> u = db.Prepare("UPDATE audit SET prev_hash = ?2, hash = ?3 WHERE seq = ?1");
      if (!u) return u.error();
      u->Bind(1, e.seq).BindBlob(2, e.prev_hash).BindBlob(3, e.hash);
      INSTACCESS_RETURN_IF_ERROR(u->Run());
      prev = e.hash;
      after = e.seq;
    }
  }
}

}  // namespace instaccess::keystore
