#include "keystore/store_copy.h"

#include <vector>

#include "keystore/integrity.h"

namespace instaccess::keystore {

namespace {

// Meta values a store carries (integrity.h, store_keyring.cc); nothing else is copied.
constexpr const char* kMetaNames[] = {"master_key_check", "seal", "seal_mac", "clock_high_water"};

// The integrity findings of `store` as one message; empty when it is sound.
Result<std::string> Findings(Store& store, const IntegrityKeys& keys) {
  Result<std::optional<Value>> upgrade = store.ReadMeta("integrity_upgrade");
  if (!upgrade) return upgrade.error();
  if (upgrade->has_value()) {
    return std::string(
        "it has not been opened since integrity protection came (schema 3); "
        "start instaccessd on it once first");
  }
  Result<IntegrityReport> report = CheckIntegrity(store, keys);
  if (!report) return report.error();
  std::string out;
  for (const auto& [kid, why] : report->refused) out += (out.empty() ? "" : "; ") + why;
  for (const std::string& p : report->problems) out += (out.empty() ? "" : "; ") + p;
  if (report->replay_protection_lost_at) {
    out += std::string(out.empty() ? "" : "; ") + "its seal was once found broken";
  }
  return out;
}

}  // namespace

bool IsDatabaseUrl(const std::string& target) {
  return target.rfind("postgresql://", 0) == 0 || target.rfind("postgres://", 0) == 0 ||
         target.find('=') != std::string::npos;
}

Result<CopyReport> CopyStore(Store& from, Store& to, const SecretBytes& master_key) {
  const IntegrityKeys keys = IntegrityKeys::Derive(master_key);
  Result<std::string> source = Findings(from, keys);
  if (!source) return source.error();
  if (!source->empty()) {
    return DataLoss(from.Describe() + " fails its integrity checks: " + *source +
                    "; nothing was copied");
  }
  Result<std::vector<KeyRow>> rows = from.ReadKeyRows(std::nullopt);
  if (!rows) return rows.error();

  Result<StoreTxn> txn = StoreTxn::Begin(to);
  if (!txn) return txn.error();
  Result<std::vector<KeyRow>> existing = to.ReadKeyRows(std::nullopt);
  if (!existing) return existing.error();
  Result<std::optional<AuditEntry>> last = to.LastAuditRow();
  if (!last) return last.error();
  if (!existing->empty() || last->has_value()) {
    return FailedPrecondition(to.Describe() +
                              " already holds keys or audit rows; migrate only into a new store");
  }
  CopyReport report;
  for (const KeyRow& row : *rows) {
    INSTACCESS_RETURN_IF_ERROR(to.InsertKeyRow(row));
    INSTACCESS_RETURN_IF_ERROR(to.SetKeyRowMac(row.kid(), row.mac.bytes));
    ++report.keys;
  }
  constexpr std::int64_t kBatch = 1000;
  for (std::int64_t after = 0;;) {
    Result<std::vector<AuditEntry>> batch = from.ReadAuditRows(after, kBatch);
    if (!batch) return batch.error();
    if (batch->empty()) break;
    for (const AuditEntry& e : *batch) {
      INSTACCESS_RETURN_IF_ERROR(to.InsertAuditRow(e));
      after = e.seq;
      ++report.audit_rows;
    }
  }
  for (const char* name : kMetaNames) {
    Result<std::optional<Value>> v = from.ReadMeta(name);
    if (!v) return v.error();
    if (v->has_value()) INSTACCESS_RETURN_IF_ERROR(to.WriteMeta(name, **v));
  }
  // A new store waits for its first open to be sealed; this one arrives sealed.
  INSTACCESS_RETURN_IF_ERROR(to.DeleteMeta("integrity_upgrade"));
  Result<std::string> copied = Findings(to, keys);
  if (!copied) return copied.error();
  if (!copied->empty()) {
    return Internal("the copy in " + to.Describe() + " does not check out: " + *copied +
                    "; nothing was committed");
  }
  INSTACCESS_RETURN_IF_ERROR(txn->Commit());
  return report;
}

}  // namespace instaccess::keystore
