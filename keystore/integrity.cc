#include "keystore/integrity.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>

#include "keystore/audit.h"

namespace instaccess::keystore {

namespace {

// One crypto_kdf context per use (8 bytes each): a key derived for one use is never valid for
// another.
constexpr char kRowContext[crypto_kdf_CONTEXTBYTES + 1] = "iarowmac";
constexpr char kStoreContext[crypto_kdf_CONTEXTBYTES + 1] = "iastore_";
constexpr char kAuditContext[crypto_kdf_CONTEXTBYTES + 1] = "iaaudit_";
static_assert(crypto_kdf_KEYBYTES == 32);

// Domain strings: a row MAC can never be taken for a seal MAC, whatever the bytes.
constexpr std::string_view kRowDomain = "instaccessd key row v1";
constexpr std::string_view kSealDomain = "instaccessd store seal v1";

// The first kBaseColumnCount columns (KeyColumn) are always part of a row's image; the later
// ones (schema v4 and on) only when they are not NULL (RowImage).
constexpr std::size_t kBaseColumnCount = kColIssuers;

// The seal is small and read from a file an attacker may have written: bound what is parsed.
constexpr std::size_t kMaxSealBytes = 16 << 20;

SecretBytes DeriveKey(const SecretBytes& master, const char* context) {
  SecretBytes out = SecretBytes::Random(kMacBytes);  // overwritten below
  if (crypto_kdf_derive_from_key(out.reveal_secret().data(), kMacBytes, 1, context,
                                 master.reveal_secret().data()) != 0) {
    std::abort();  // only for sizes out of range, which the static_assert excludes
  }
  return out;
}

void PutU64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void PutBytes(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> b) {
  PutU64(out, b.size());
  out.insert(out.end(), b.begin(), b.end());
}

void PutText(std::vector<std::uint8_t>& out, std::string_view s) {
  PutBytes(out, {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
}

// A cursor over the seal's bytes that fails, rather than reads past the end, on a short field.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
  bool U64(std::uint64_t* v) {
    if (in_.size() - pos_ < 8) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i) *v = (*v << 8) | in_[pos_++];
    return true;
  }
  bool Bytes(std::vector<std::uint8_t>* b) {
    std::uint64_t n = 0;
    if (!U64(&n) || n > in_.size() - pos_) return false;
    b->assign(in_.begin() + static_cast<std::ptrdiff_t>(pos_),
              in_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
    pos_ += n;
    return true;
  }
  bool AtEnd() const { return pos_ == in_.size(); }

 private:
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

void PutColumn(std::vector<std::uint8_t>& out, const Value& v) {
  out.push_back(static_cast<std::uint8_t>(v.kind));
  switch (v.kind) {
    case Value::Kind::kNull:
      break;
    case Value::Kind::kInteger:
      PutU64(out, static_cast<std::uint64_t>(v.integer));
      break;
    default:  // text, blob, and a real as its text: none of our columns holds a real
      PutBytes(out, v.bytes);
      break;
  }
}

// The row's columns as stored, each with its kind: a column changed from text '5' to integer 5,
// or from '' to NULL, changes the MAC. The base columns come first, each tagged with its kind;
// then each later column that is not NULL, as a marker byte naming the column and the same
// tagged value. The image stays parseable (so two different rows never share one), and the row
// of an older schema, whose later columns are all NULL, keeps the image and the MAC it had.
std::vector<std::uint8_t> RowImage(const KeyRow& row) {
  std::vector<std::uint8_t> out;
  PutText(out, kRowDomain);
  for (std::size_t c = 0; c < kBaseColumnCount; ++c) PutColumn(out, row.columns[c]);
  for (std::size_t c = kBaseColumnCount; c < kKeyColumnCount; ++c) {
    if (row.columns[c].is_null()) continue;
    out.push_back(static_cast<std::uint8_t>(0xe0 + c));
    PutColumn(out, row.columns[c]);
  }
  return out;
}

struct Seal {
  std::uint64_t counter = 0;
  std::optional<UnixTime> lost_at;
  std::vector<std::pair<std::string, std::vector<std::uint8_t>>> manifest;  // sorted by kid
  std::int64_t audit_seq = 0;
  std::vector<std::uint8_t> audit_hash;
};

std::vector<std::uint8_t> EncodeSeal(const Seal& seal) {
  std::vector<std::uint8_t> out;
  PutU64(out, seal.counter);
  PutU64(out, seal.lost_at ? 1 : 0);
  PutU64(out, static_cast<std::uint64_t>(seal.lost_at.value_or(0)));
  PutU64(out, seal.manifest.size());
  for (const auto& [kid, mac] : seal.manifest) {
    PutText(out, kid);
    PutBytes(out, mac);
  }
  PutU64(out, static_cast<std::uint64_t>(seal.audit_seq));
  PutBytes(out, seal.audit_hash);
  return out;
}

std::optional<Seal> DecodeSeal(std::span<const std::uint8_t> in) {
  Reader r(in);
  Seal seal;
  std::uint64_t lost = 0, lost_at = 0, n = 0, audit_seq = 0;
  if (!r.U64(&seal.counter) || !r.U64(&lost) || !r.U64(&lost_at) || !r.U64(&n)) return {};
  if (lost > 1) return {};
  if (lost == 1) seal.lost_at = static_cast<UnixTime>(lost_at);
  for (std::uint64_t i = 0; i < n; ++i) {
    std::vector<std::uint8_t> kid, mac;
    if (!r.Bytes(&kid) || !r.Bytes(&mac)) return {};
    seal.manifest.emplace_back(std::string(kid.begin(), kid.end()), std::move(mac));
  }
  if (!r.U64(&audit_seq) || !r.Bytes(&seal.audit_hash) || !r.AtEnd()) return {};
  seal.audit_seq = static_cast<std::int64_t>(audit_seq);
  return seal;
}

std::vector<std::uint8_t> SealMac(const IntegrityKeys& keys, std::span<const std::uint8_t> seal) {
  std::vector<std::uint8_t> data;
  PutText(data, kSealDomain);
  PutBytes(data, seal);
  return Hmac(keys.store(), data);
}

Result<std::vector<std::uint8_t>> MetaBlob(Store& store, std::string_view name) {
  Result<std::optional<Value>> v = store.ReadMeta(name);
  if (!v) return v.error();
  if (!v->has_value() || (*v)->kind != Value::Kind::kBlob) return std::vector<std::uint8_t>{};
  return (*v)->bytes;
}

struct AuditHead {
  std::int64_t seq = 0;
  std::vector<std::uint8_t> hash;
};

Result<AuditHead> ReadAuditHead(Store& store) {
  Result<std::optional<AuditEntry>> last = store.LastAuditRow();
  if (!last) return last.error();
  if (!last->has_value()) return AuditHead{};
  return AuditHead{(*last)->seq, (*last)->hash};
}

bool SameMac(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == kMacBytes && b.size() == kMacBytes &&
         sodium_memcmp(a.data(), b.data(), kMacBytes) == 0;
}

}  // namespace

IntegrityKeys IntegrityKeys::Derive(const SecretBytes& master_key) {
  if (sodium_init() < 0 || master_key.size() != crypto_kdf_KEYBYTES) std::abort();
  return IntegrityKeys(DeriveKey(master_key, kRowContext), DeriveKey(master_key, kStoreContext),
                       DeriveKey(master_key, kAuditContext));
}

std::vector<std::uint8_t> Hmac(const SecretBytes& key, std::span<const std::uint8_t> data) {
  static_assert(crypto_auth_hmacsha256_BYTES == kMacBytes);
  if (key.size() != crypto_auth_hmacsha256_KEYBYTES) std::abort();
  std::vector<std::uint8_t> out(kMacBytes);
  crypto_auth_hmacsha256(out.data(), data.data(), data.size(), key.reveal_secret().data());
  return out;
}

std::vector<std::uint8_t> RowMac(const IntegrityKeys& keys, const KeyRow& row) {
  return Hmac(keys.row(), RowImage(row));
}

Status WriteRowMac(Store& store, const IntegrityKeys& keys, std::string_view kid) {
  Result<std::vector<KeyRow>> rows = store.ReadKeyRows(kid);
  if (!rows) return rows.error();
  if (rows->empty()) {
    return Internal("key " + std::string(kid) + " vanished before its MAC was written");
  }
  return store.SetKeyRowMac(kid, RowMac(keys, rows->front()));
}

Status WriteAllRowMacs(Store& store, const IntegrityKeys& keys) {
  Result<std::vector<KeyRow>> rows = store.ReadKeyRows(std::nullopt);
  if (!rows) return rows.error();
  for (const KeyRow& row : *rows) {
    INSTACCESS_RETURN_IF_ERROR(store.SetKeyRowMac(row.kid(), RowMac(keys, row)));
  }
  return Status::Ok();
}

Status SealStore(Store& store, const IntegrityKeys& keys, const std::set<std::string>& excluded,
                 std::optional<UnixTime> replay_protection_lost_at) {
  Seal seal;
  // The previous counter is read without trusting it: a counter set back by hand only makes
  // the next one smaller, and the seal's MAC still covers whatever is written.
  Result<std::vector<std::uint8_t>> old = MetaBlob(store, "seal");
  if (!old) return old.error();
  if (std::optional<Seal> previous = DecodeSeal(*old)) seal.counter = previous->counter;
  ++seal.counter;
  seal.lost_at = replay_protection_lost_at;
  Result<std::vector<KeyRow>> rows = store.ReadKeyRows(std::nullopt);
  if (!rows) return rows.error();
  for (KeyRow& row : *rows) {
    std::string kid = row.kid();
    if (!row.mac.is_null() && excluded.count(kid) == 0) {
      seal.manifest.emplace_back(std::move(kid), std::move(row.mac.bytes));
    }
  }
  Result<AuditHead> head = ReadAuditHead(store);
  if (!head) return head.error();
  seal.audit_seq = head->seq;
  seal.audit_hash = head->hash;
  const std::vector<std::uint8_t> encoded = EncodeSeal(seal);
  INSTACCESS_RETURN_IF_ERROR(store.WriteMeta("seal", Value::Blob(encoded)));
  return store.WriteMeta("seal_mac", Value::Blob(SealMac(keys, encoded)));
}

Result<IntegrityReport> CheckIntegrity(Store& store, const IntegrityKeys& keys) {
  IntegrityReport report;

  // The seal first: what the rows must match.
  Result<std::vector<std::uint8_t>> encoded = MetaBlob(store, "seal");
  if (!encoded) return encoded.error();
  Result<std::vector<std::uint8_t>> mac = MetaBlob(store, "seal_mac");
  if (!mac) return mac.error();
  std::optional<Seal> seal;
  if (encoded->size() <= kMaxSealBytes && SameMac(*mac, SealMac(keys, *encoded))) {
    seal = DecodeSeal(*encoded);
  }
  report.seal_ok = seal.has_value();
  if (!seal) {
    report.problems.push_back(
        "the store's seal is missing or does not authenticate under the master key: rows "
        "added, deleted or replaced by older copies cannot be told apart");
  } else {
    report.counter = seal->counter;
    report.replay_protection_lost_at = seal->lost_at;
  }
  std::map<std::string, std::vector<std::uint8_t>> manifest;
  if (seal) manifest.insert(seal->manifest.begin(), seal->manifest.end());

  // Each row against its own MAC, then against the manifest.
  Result<std::vector<KeyRow>> rows = store.ReadKeyRows(std::nullopt);
  if (!rows) return rows.error();
  for (const KeyRow& row : *rows) {
    const std::string kid = row.kid();
    const std::vector<std::uint8_t> expected = RowMac(keys, row);
    if (row.mac.kind != Value::Kind::kBlob || !SameMac(row.mac.bytes, expected)) {
      report.refused[kid] = "key " + kid +
                            " refused: its row does not authenticate under the master key "
                            "(altered, or inserted by hand)";
    } else if (seal) {
      auto it = manifest.find(kid);
      if (it == manifest.end()) {
        report.refused[kid] = "key " + kid +
                              " refused: its row is not in the store's seal "
                              "(inserted from another store or an old copy)";
      } else if (!SameMac(it->second, expected)) {
        report.refused[kid] = "key " + kid +
                              " refused: its row is an older copy of itself "
                              "(replayed)";
      }
    }
    manifest.erase(kid);
  }
  for (const auto& [kid, unused] : manifest) {
    report.problems.push_back("key " + kid + " was deleted from the store by hand");
  }

  // The audit trail: its keyed chain, and its head against the seal's.
  Result<AuditVerification> chain = VerifyAudit(store, &keys.audit());
  if (!chain) return chain.error();
  if (!chain->ok()) report.problems.push_back("the audit trail is broken: " + chain->reason);
  Result<AuditHead> head = ReadAuditHead(store);
  if (!head) return head.error();
  report.audit_head = head->hash;
  if (seal && (head->seq != seal->audit_seq || head->hash != seal->audit_hash)) {
    report.problems.push_back("the audit trail ends at row " + std::to_string(head->seq) +
                              " but was sealed at row " + std::to_string(seal->audit_seq) +
                              " (rows removed, added or altered by hand)");
  }
  return report;
}

Result<std::optional<std::string>> UpgradeIntegrityIfDue(Store& store, const IntegrityKeys& keys,
                                                         UnixTime now, std::string_view actor) {
  Result<std::optional<Value>> due = store.ReadMeta("integrity_upgrade");
  if (!due) return due.error();
  if (!due->has_value()) return std::optional<std::string>();
  Result<AuditVerification> legacy = VerifyAudit(store, nullptr);
  if (!legacy) return legacy.error();
  Result<std::vector<KeyRow>> rows = store.ReadKeyRows(std::nullopt);
  if (!rows) return rows.error();
  Result<StoreTxn> txn = StoreTxn::Begin(store);
  if (!txn) return txn.error();
  INSTACCESS_RETURN_IF_ERROR(WriteAllRowMacs(store, keys));
  INSTACCESS_RETURN_IF_ERROR(RechainAudit(store, keys.audit()));
  INSTACCESS_RETURN_IF_ERROR(store.DeleteMeta("integrity_upgrade"));
  std::optional<std::string> detail;
  if (!rows->empty() || legacy->entries > 0) {
    detail = "store upgraded to integrity protection: " + std::to_string(rows->size()) +
             " key rows MACed, " + std::to_string(legacy->entries) + " audit rows re-chained " +
             (legacy->ok() ? std::string("(the unkeyed chain verified)")
                           : "(the unkeyed chain was already broken: " + legacy->reason + ")");
    INSTACCESS_RETURN_IF_ERROR(
        AppendAudit(store, keys.audit(), now, actor, "integrity", std::nullopt, *detail));
  }
  INSTACCESS_RETURN_IF_ERROR(SealStore(store, keys, {}, std::nullopt));
  INSTACCESS_RETURN_IF_ERROR(txn->Commit());
  return detail;
}

}  // namespace instaccess::keystore
