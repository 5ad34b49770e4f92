#include "keystore/store_keyring.h"

#include <openssl/evp.h>

#include <algorithm>
#include <future>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/log_text.h"
#include "keystore/seal.h"

namespace instaccess::keystore {

namespace {

// Bounds one ApplyDue call. Each step moves the schedule forward, so a catch-up needs only a
// handful (promote, generate, a few destroys); a bug must not become an endless loop.
constexpr int kMaxStepsPerApply = 256;

// While a clock jump is held, the scheduler looks this often (seconds) for the clock's return.
constexpr UnixTime kHeldRecheck = 60;

// Import bounds (docs/api.md, POST /api/v1/keys/import). RSA-4096 is the largest key we generate;
// a larger imported key would only make every token it touches slower.
constexpr int kMaxImportBits = 4096;
constexpr std::size_t kMaxIssuerLength = 256;
constexpr std::int64_t kMaxTokenLifetime = 366 * 24 * 3600;
constexpr const char* kKidRule = "A-Z a-z 0-9 . _ ~ -";

// An HTTP strong validator (RFC 9110 §8.8.3) of `body`: a quoted hex SHA-256 prefix, equal for
// equal bytes on every host and after every restart.
std::string StrongEtag(std::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(body.data(), body.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    return "";  // only on allocation failure; no ETag is then sent
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned int i = 0; i < 16 && i < size; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out + "\"";
}

// The issuers column: a JSON array of strings.
std::string IssuersText(const std::vector<std::string>& issuers) {
  return nlohmann::json(issuers).dump();
}

std::optional<std::vector<std::string>> ParseIssuers(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& item : j) {
    if (!item.is_string()) return std::nullopt;
    out.push_back(item.get<std::string>());
  }
  return out;
}

// A row as the keyring models it. The row's MAC is checked elsewhere (CheckIntegrity); this only
// refuses values no write of ours makes.
Result<KeyInfo> ParseKeyRow(const KeyRow& row) {
  KeyInfo k;
  k.kid = row.kid();
  Result<Purpose> purpose = ParsePurpose(row[kColPurpose].text());
  Result<KeyOrigin> origin = ParseOrigin(row[kColOrigin].text());
  Result<KeyState> state = ParseState(row[kColState].text());
  std::optional<std::int64_t> bits = row[kColBits].opt_int();
  std::optional<std::int64_t> created_at = row[kColCreatedAt].opt_int();
  if (!purpose || !origin || !state || !bits || !created_at) {
    return DataLoss("key " + LogText(k.kid) + " has an unreadable row");
  }
  k.purpose = *purpose;
  k.alg = row[kColAlg].text();
  k.bits = static_cast<int>(*bits);
  k.origin = *origin;
  k.state = *state;
  k.created_at = *created_at;
  k.activate_at = row[kColActivateAt].opt_int();
  k.retire_at = row[kColRetireAt].opt_int();
  k.expire_at = row[kColExpireAt].opt_int();
  k.revoked_at = row[kColRevokedAt].opt_int();
  k.has_private = !row[kColSealedPrivate].is_null();
  if (!row[kColIssuers].is_null()) {
    k.issuers = ParseIssuers(row[kColIssuers].text());
    if (!k.issuers) return DataLoss("key " + LogText(k.kid) + " has unreadable issuers");
  }
  k.max_lifetime = row[kColMaxLifetime].opt_int();
  k.pin = !row[kColPin].is_null();
  return k;
}

std::string Describe(const KeyInfo& k) {
  std::string s = "purpose=" + std::string(PurposeName(k.purpose)) + " alg=" + k.alg +
                  " bits=" + std::to_string(k.bits) +
                  " origin=" + std::string(OriginName(k.origin)) +
                  " state=" + std::string(StateName(k.state));
  auto add = [&s](const char* name, const std::optional<UnixTime>& t) {
    if (t.has_value()) s += std::string(" ") + name + "=" + std::to_string(*t);
  };
  add("activate_at", k.activate_at);
  add("retire_at", k.retire_at);
  add("expire_at", k.expire_at);
  add("revoked_at", k.revoked_at);
  add("max_lifetime", k.max_lifetime);
  if (k.issuers.has_value()) s += " issuers=" + IssuersText(*k.issuers);
  if (k.pin) s += " pin";
  return s;
}

std::string_view ActionFor(KeyState s) {
  switch (s) {
    case KeyState::kPending:
      return "pending";
    case KeyState::kActive:
      return "activate";
    case KeyState::kRetired:
      return "retire";
    case KeyState::kDestroyed:
      return "destroy";
    case KeyState::kRevoked:
      return "revoke";
  }
  return "change";
}

// The order of rows_ and of everything published from it: oldest first, kid breaking ties, so
// every host of a fleet (and every reload) lists the same keys in the same order, and their JWKS
// are the same bytes.
bool CanonicalOrder(const KeyInfo& a, const KeyInfo& b) {
  return a.created_at != b.created_at ? a.created_at < b.created_at : a.kid < b.kid;
}

const KeyInfo* FindRow(const std::vector<KeyInfo>& rows, std::string_view kid) {
  for (const KeyInfo& k : rows) {
    if (k.kid == kid) return &k;
  }
  return nullptr;
}

// Later updates of the same row replace earlier ones (revoke after the retirement that a
// replacement's activation caused).
void Merge(RowChanges& into, RowChanges from) {
  for (KeyInfo& u : from.updated) {
    auto it = std::find_if(into.updated.begin(), into.updated.end(),
                           [&](const KeyInfo& k) { return k.kid == u.kid; });
    if (it != into.updated.end()) {
      *it = std::move(u);
    } else {
      into.updated.push_back(std::move(u));
    }
  }
  if (from.inserted.has_value()) into.inserted = std::move(from.inserted);
}

// When, by whom and why a change is made: what the audit row of each key row it writes says.
// With the keys that MAC each written row and chain its audit row.
struct ChangeNote {
  UnixTime at;
  std::string_view actor;
  std::string_view why;
  const IntegrityKeys& keys;
};

// The row's new MAC (it covers what was just written) and its audit row.
Status MacAndAuditRow(Store& store, const ChangeNote& note, std::string_view action,
                      const KeyInfo& k) {
  INSTACCESS_RETURN_IF_ERROR(WriteRowMac(store, note.keys, k.kid));
  return AppendAudit(store, note.keys.audit(), note.at, note.actor, action, k.kid,
                     std::string(note.why) + "; " + Describe(k));
}

// The order in which updated rows are written: rows leaving `active` first, because the store
// allows one active key per purpose at any instant.
std::vector<const KeyInfo*> DeactivationsFirst(const std::vector<KeyInfo>& updated) {
  std::vector<const KeyInfo*> order;
  for (const KeyInfo& k : updated) {
    if (k.state != KeyState::kActive) order.push_back(&k);
  }
  for (const KeyInfo& k : updated) {
    if (k.state == KeyState::kActive) order.push_back(&k);
  }
  return order;
}

// Sets a row's state and times as `k` has them. A row that no longer has a private part
// (destroyed, revoked) loses its sealed bytes; the row stays for the audit trail.
void SetStateColumns(KeyRow& row, const KeyInfo& k) {
  row[kColState] = Value::Text(StateName(k.state));
  row[kColActivateAt] = Value::OptInt(k.activate_at);
  row[kColRetireAt] = Value::OptInt(k.retire_at);
  row[kColExpireAt] = Value::OptInt(k.expire_at);
  row[kColRevokedAt] = Value::OptInt(k.revoked_at);
  if (!k.has_private) {
    row[kColSealedPrivate] = Value::Null();
    row[kColNonce] = Value::Null();
  }
}

// Writes an existing row's new state and times, and its audit row.
Status UpdateRow(Store& store, const KeyInfo& k, const ChangeNote& note) {
  Result<std::vector<KeyRow>> rows = store.ReadKeyRows(k.kid);
  if (!rows) return rows.error();
  if (rows->empty()) return NotFound("key " + k.kid + " vanished from " + store.Describe());
  KeyRow& row = rows->front();
  SetStateColumns(row, k);
  INSTACCESS_RETURN_IF_ERROR(store.UpdateKeyRow(row));
  return MacAndAuditRow(store, note, ActionFor(k.state), k);
}

// Writes a new key's row (its public forms and, unless it is public-only, its sealed private
// part) and its audit row ("generate" or "import").
Status InsertRow(Store& store, const KeyInfo& k, std::string_view public_jwk,
                 std::span<const std::uint8_t> public_der, const std::optional<Sealed>& sealed,
                 const ChangeNote& note) {
  KeyRow row;
  row[kColKid] = Value::Text(k.kid);
  row[kColPurpose] = Value::Text(PurposeName(k.purpose));
  row[kColAlg] = Value::Text(k.alg);
  row[kColBits] = Value::Int(k.bits);
  row[kColOrigin] = Value::Text(OriginName(k.origin));
  row[kColCreatedAt] = Value::Int(k.created_at);
  row[kColPublicJwk] = Value::Text(public_jwk);
  row[kColPublicDer] = Value::Blob(public_der);
  if (sealed.has_value()) {
    row[kColSealedPrivate] = Value::Blob(sealed->ciphertext);
    row[kColNonce] = Value::Blob(sealed->nonce);
  }
  SetStateColumns(row, k);
  // Defaults stay NULL: the row's image (and MAC) then has only the columns that are set.
  if (k.issuers.has_value()) row[kColIssuers] = Value::Text(IssuersText(*k.issuers));
  row[kColMaxLifetime] = Value::OptInt(k.max_lifetime);
  if (k.pin) row[kColPin] = Value::Int(1);
  INSTACCESS_RETURN_IF_ERROR(store.InsertKeyRow(row));
  return MacAndAuditRow(store, note, k.origin == KeyOrigin::kGenerated ? "generate" : "import", k);
}

}  // namespace

struct StoreKeyring::Fresh {
  KeyInfo info;
  jose::RsaKey key;
  std::string public_jwk;
  std::vector<std::uint8_t> public_der;
  std::optional<Sealed> sealed;
};

struct StoreKeyring::Successor {
  std::string pending_kid;     // the pending key that takes over; empty when `fresh` is set
  std::optional<Fresh> fresh;  // the key generated because no pending key could take over

  const std::string& kid() const { return fresh.has_value() ? fresh->info.kid : pending_kid; }
  std::optional<KeyInfo> fresh_info() const {
    return fresh.has_value() ? std::optional<KeyInfo>(fresh->info) : std::nullopt;
  }
};

StoreKeyring::StoreKeyring(const KeyringOptions& options, SecretBytes master_key,
                           std::unique_ptr<Store> store)
    : options_(options),
      master_key_(std::move(master_key)),
      integrity_(IntegrityKeys::Derive(master_key_)),
      store_(std::move(store)) {}

StoreKeyring::~StoreKeyring() = default;

Status StoreKeyring::ValidateOptions(const KeyringOptions& options) {
  INSTACCESS_RETURN_IF_ERROR(options.schedule.Validate());
  for (Purpose p : kAllPurposes) {
    Result<jose::Alg> alg = jose::ParseAlg(options.schedule.For(p).alg);
    if (!alg) return alg.error();
    if ((jose::UseOf(*alg) == jose::Use::kSig) != (p == Purpose::kSig)) {
      return InvalidArgument("rotation." + std::string(PurposeName(p)) + ".alg " +
                             options.schedule.For(p).alg + " is not a " +
                             std::string(PurposeName(p)) + " algorithm");
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<StoreKeyring>> StoreKeyring::Open(const KeyringOptions& options,
                                                         SecretBytes master_key,
                                                         std::unique_ptr<Store> store) {
  INSTACCESS_RETURN_IF_ERROR(ValidateOptions(options));
  std::unique_ptr<StoreKeyring> ring(
      new StoreKeyring(options, std::move(master_key), std::move(store)));
  INSTACCESS_RETURN_IF_ERROR(ring->Load());
  return ring;
}

Status StoreKeyring::Load() {
  std::scoped_lock lock(mu_);
  INSTACCESS_RETURN_IF_ERROR(UpgradeIntegrityLocked());
  return ReloadLocked();
}

Status StoreKeyring::Refresh() {
  std::scoped_lock lock(mu_);
  Result<std::int64_t> counter = store_->ChangeCounter();
  Status s = !counter                      ? counter.error()
             : *counter == loaded_counter_ ? Status::Ok()
                                           : ReloadLocked();
  NoteStoreLocked(s);
  return s;
}

void StoreKeyring::NoteStoreLocked(const Status& s) {
  std::string why;
  if (s.code() == Code::kUnavailable) {
    why = "the key store cannot be reached (" + s.message() +
          "): serving with the keys held; no key changes until it is back";
  } else if (store_unreachable_.empty()) {
    return;  // it answered, as before
  }
  if (why == store_unreachable_) return;
  store_unreachable_ = std::move(why);
  PublishLocked();
}

Status StoreKeyring::ReloadLocked() {
  // Under the writer lock, so that no other host's commit lands between the reads.
  Result<StoreTxn> txn = StoreTxn::Begin(*store_);
  if (!txn) return txn.error();
  Result<std::int64_t> counter = store_->ChangeCounter();
  if (!counter) return counter.error();
  Result<IntegrityReport> report = LoadRowsLocked();
  if (!report) return report.error();
  Result<bool> wrote = RecordIntegrityFindingsLocked(*report);
  if (!wrote) return wrote.error();
  if (*wrote) {
    INSTACCESS_RETURN_IF_ERROR(txn->Commit());
    loaded_counter_ = *counter + 1;
  } else {
    loaded_counter_ = *counter;  // the transaction rolls back: it wrote nothing
  }
  PublishLocked();
  return Status::Ok();
}

Result<StoreTxn> StoreKeyring::BeginChangeLocked() {
  INSTACCESS_RETURN_IF_ERROR(store_->CheckInPlace());
  return BeginLocked();
}

Result<StoreTxn> StoreKeyring::BeginLocked() {
  Result<StoreTxn> txn = StoreTxn::Begin(*store_);
  NoteStoreLocked(txn ? Status::Ok() : txn.error());
  if (!txn) return txn.error();
  Result<std::int64_t> counter = store_->ChangeCounter();
  if (!counter) return counter.error();
  if (*counter != loaded_counter_) {
    // Another host changed the store since we read it: what is due, and what may change, is
    // decided on the rows as they are now, under the lock that keeps them so.
    Result<IntegrityReport> report = LoadRowsLocked();
    if (!report) return report.error();
    for (const auto& [kid, why] : report->refused) {
      if (options_.log) options_.log(LogLevel::kError, why);
    }
    loaded_counter_ = *counter;
    PublishLocked();
  }
  return txn;
}

Status StoreKeyring::UpgradeIntegrityLocked() {
  // The keystore takes time as a parameter elsewhere; an upgrade happens once, at open, and its
  // audit row records the wall clock.
  Result<std::optional<std::string>> upgraded =
      UpgradeIntegrityIfDue(*store_, integrity_, std::time(nullptr), "instaccessd");
  if (!upgraded) return upgraded.error();
  if (upgraded->has_value() && options_.log) options_.log(LogLevel::kInfo, **upgraded);
  return Status::Ok();
}

// A refused row that claims to be a purpose's active key still holds the store's one active
// place; when a key is made active for that purpose, the row is revoked first (it was never
// used, and stays refused).
Status StoreKeyring::RevokeTamperedActiveLocked(const RowChanges& changes, UnixTime at,
                                                std::string_view actor) {
  std::set<Purpose> activated;
  for (const KeyInfo& k : changes.updated) {
    if (k.state == KeyState::kActive) activated.insert(k.purpose);
  }
  if (changes.inserted && changes.inserted->state == KeyState::kActive) {
    activated.insert(changes.inserted->purpose);
  }
  for (const auto& [kid, why] : tampered_) {
    Result<std::vector<KeyRow>> rows = store_->ReadKeyRows(kid);
    if (!rows) return rows.error();
    if (rows->empty() || (*rows)[0][kColState].text() != "active") continue;
    KeyRow& row = (*rows)[0];
    Result<Purpose> purpose = ParsePurpose(row[kColPurpose].text());
    if (!purpose || activated.count(*purpose) == 0) continue;
    row[kColState] = Value::Text("revoked");
    row[kColRevokedAt] = Value::Int(at);
    row[kColSealedPrivate] = Value::Null();
    row[kColNonce] = Value::Null();
    INSTACCESS_RETURN_IF_ERROR(store_->UpdateKeyRow(row));
    INSTACCESS_RETURN_IF_ERROR(AppendAudit(*store_, integrity_.audit(), at, actor, "revoke", kid,
                                           "refused row taken out of the active place: " + why));
  }
  return Status::Ok();
}

std::string StoreKeyring::AuditHeadHexLocked() {
  Result<std::optional<AuditEntry>> last = store_->LastAuditRow();
  if (!last || !last->has_value()) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (std::uint8_t b : (*last)->hash) {
    hex += kHex[b >> 4];
    hex += kHex[b & 15];
  }
  return hex;
}

Status StoreKeyring::SealLocked() {
  std::set<std::string> excluded;
  for (const auto& [kid, why] : tampered_) excluded.insert(kid);
  return SealStore(*store_, integrity_, excluded, replay_protection_lost_at_);
}

Result<bool> StoreKeyring::RecordIntegrityFindingsLocked(const IntegrityReport& report) {
  if (report.ok() && !report.replay_protection_lost_at) return false;
  auto record = [&](std::optional<std::string_view> kid, const std::string& detail) -> Status {
    if (options_.log) options_.log(LogLevel::kError, detail);
    Result<bool> seen = store_->HasAuditRow("integrity", detail);
    if (!seen) return seen.error();
    if (*seen) return Status::Ok();  // audited once already
    return AppendAudit(*store_, integrity_.audit(),
                       std::max<UnixTime>(high_water_, std::time(nullptr)), "instaccessd",
                       "integrity", kid, detail);
  };
  for (const auto& [kid, why] : report.refused) INSTACCESS_RETURN_IF_ERROR(record(kid, why));
  for (const std::string& p : report.problems) INSTACCESS_RETURN_IF_ERROR(record(std::nullopt, p));
  INSTACCESS_RETURN_IF_ERROR(SealLocked());
  return true;
}

Result<IntegrityReport> StoreKeyring::LoadRowsLocked() {
  Result<IntegrityReport> integrity = CheckIntegrity(*store_, integrity_);
  if (!integrity) return integrity.error();
  tampered_ = integrity->refused;
  store_problems_ = integrity->problems;
  replay_protection_lost_at_ = integrity->replay_protection_lost_at;
  if (!integrity->seal_ok) replay_protection_lost_at_ = std::time(nullptr);
  if (integrity->seal_ok && replay_protection_lost_at_) {
    store_problems_.push_back(
        "the store's seal was found broken at unix time " +
        std::to_string(*replay_protection_lost_at_) +
        ": rows replaced by older copies before then cannot be told apart; restore a trusted "
        "backup, or run instaccessd rekey to vouch for the store as it is");
  }
  integrity_alarm_ = !integrity->seal_ok || replay_protection_lost_at_.has_value();
  Result<std::vector<KeyRow>> stored = store_->ReadKeyRows(std::nullopt);
  if (!stored) return stored.error();
  std::vector<KeyInfo> rows;
  for (const KeyRow& row : *stored) {
    Result<KeyInfo> k = ParseKeyRow(row);
    if (!k) return DataLoss(k.error().message() + " in " + store_->Describe());
    if (tampered_.count(k->kid) != 0) {
      // Never used, not even listed: its state and times may be an attacker's.
      integrity_alarm_ = integrity_alarm_ || k->state == KeyState::kActive;
      continue;
    }
    rows.push_back(std::move(*k));
  }
  std::sort(rows.begin(), rows.end(), CanonicalOrder);
  rows_ = std::move(rows);
  Result<std::optional<Value>> hw = store_->ReadMeta("clock_high_water");
  if (!hw) return hw.error();
  high_water_ = hw->has_value() ? (*hw)->opt_int().value_or(0) : 0;
  return std::move(*integrity);
}

UnixTime StoreKeyring::StampLocked(UnixTime now) {
  // A clock that went backwards must not stamp a change earlier than one already made: that
  // would shorten a retired key's life below the tokens made with it.
  return std::max(now, high_water_);
}

Result<jose::RsaKey> StoreKeyring::LoadKeyLocked(const KeyInfo& info, bool with_private) {
  auto& cache = with_private ? private_cache_ : public_cache_;
  if (auto it = cache.find(info.kid); it != cache.end()) return it->second;
  std::string what = "key " + info.kid + " (" + std::string(PurposeName(info.purpose)) + ", " +
                     std::string(StateName(info.state)) + ")";
  Result<jose::Alg> alg = jose::ParseAlg(info.alg);
  if (!alg) return DataLoss(what + ": unknown alg " + info.alg);
  Result<std::vector<KeyRow>> rows = store_->ReadKeyRows(info.kid);
  if (!rows) return rows.error();
  if (rows->empty()) return NotFound(what + ": row vanished");
  const KeyRow& row = rows->front();
  Result<jose::RsaKey> pub = jose::RsaKey::FromPublicDer(row[kColPublicDer].bytes, *alg, info.kid);
  if (!pub) return DataLoss(what + ": stored public key is unreadable: " + pub.error().message());
  if (!with_private) {
    public_cache_.emplace(info.kid, *pub);
    return *pub;
  }
  if (row[kColSealedPrivate].is_null()) {
    sealed_unusable_.insert(info.kid);
    return DataLoss(what + ": private part is missing");
  }
  Result<SecretBytes> plain =
      Unseal(master_key_, row[kColSealedPrivate].bytes, row[kColNonce].bytes,
             SealAad(info.kid, info.purpose, info.alg));
  if (!plain) {
    sealed_unusable_.insert(info.kid);
    return DataLoss(what +
                    ": sealed private key does not authenticate under the master key (the row "
                    "was altered or moved from another key); key refused");
  }
  Result<jose::RsaKey> priv = jose::RsaKey::FromPrivateDer(plain->reveal_secret(), *alg);
  if (!priv) return DataLoss(what + ": unsealed private key is unreadable");
  if (!priv->SamePublicKey(*pub)) {
    return DataLoss(what + ": private and public parts of the row do not match; key refused");
  }
  jose::RsaKey k = priv->kid() == info.kid ? *priv : priv->WithKid(info.kid);
  private_cache_.emplace(info.kid, k);
  return k;
}

void StoreKeyring::PublishLocked() {
  std::sort(rows_.begin(), rows_.end(), CanonicalOrder);
  auto ks = std::make_shared<KeySet>();
  ks->generation = ++generation_;
  ks->keys = rows_;
  ks->planned = PlanTransitions(rows_, options_.schedule);
  // Decryption keys in the order a token without kid tries them (keyring.h), then the ones it
  // never tries; JWKS entries per use. Each newest first: rows_ is oldest first.
  std::vector<jose::RsaKey> active_decrypt, pending_decrypt, retired_decrypt, kid_only_decrypt;
  nlohmann::json jwks_sig = nlohmann::json::array(), jwks_enc = nlohmann::json::array();
  for (auto it = rows_.rbegin(); it != rows_.rend(); ++it) {
    const KeyInfo& info = *it;
    if (!IsLive(info)) {
      public_cache_.erase(info.kid);
      private_cache_.erase(info.kid);
      continue;
    }
    // Private parts are unsealed where they are used (active keys sign/decrypt, pending and
    // retired enc keys decrypt) and for pending sig keys, so a damaged row is found before it is
    // promoted.
    bool need_private = info.has_private && (info.state != KeyState::kRetired || MayDecrypt(info));
    Result<jose::RsaKey> key = LoadKeyLocked(info, need_private);
    if (!key) {
      std::string msg = key.error().message();
      auto [known, added] = refused_.try_emplace(info.kid, msg);
      if ((added || known->second != msg) && options_.log) options_.log(LogLevel::kError, msg);
      known->second = msg;
      ks->problems.push_back(msg);
      continue;
    }
    refused_.erase(info.kid);
    sealed_unusable_.erase(info.kid);
    if (MayVerify(info)) {
      ks->verify.push_back(*key);
      // Unset issuers mean ours, for our own keys only: a peer's key from a store made before
      // issuer binding is bound to nothing, never to our issuer.
      std::vector<std::string> issuers =
          info.issuers
              ? *info.issuers
              : (info.origin == KeyOrigin::kPeer ? std::vector<std::string>{}
                                                 : std::vector<std::string>{options_.issuer});
      const bool unbound = issuers.empty();
      ks->verify_bounds.push_back(
          {std::move(issuers), info.max_lifetime.value_or(options_.schedule.max_lifetime)});
      if (unbound) {
        ks->problems.push_back("peer signing key " + info.kid +
                               " is bound to no issuer, so it verifies no token; revoke it and "
                               "import its successor with \"issuers\"");
      }
    }
    if (MayDecrypt(info)) {
      if (info.state == KeyState::kActive) {
        active_decrypt.push_back(*key);
      } else if (info.state == KeyState::kPending) {
        pending_decrypt.push_back(*key);
      } else if (info.expire_at.has_value()) {
        retired_decrypt.push_back(*key);
      } else {
        kid_only_decrypt.push_back(*key);
      }
    }
    if (info.state == KeyState::kActive) {
      if (info.purpose == Purpose::kSig) {
        ks->active_sig = *key;
      } else {
        ks->active_enc = *key;
      }
    }
    if (InJwks(info))
      (info.purpose == Purpose::kSig ? jwks_sig : jwks_enc).push_back(key->PublicJwk());
  }
  for (auto* group : {&active_decrypt, &pending_decrypt, &retired_decrypt}) {
    ks->decrypt.insert(ks->decrypt.end(), group->begin(), group->end());
  }
  ks->decrypt_without_kid = std::min(ks->decrypt.size(), kMaxKidlessDecryptKeys);
  ks->decrypt.insert(ks->decrypt.end(), kid_only_decrypt.begin(), kid_only_decrypt.end());
  for (auto& entry : jwks_enc) jwks_sig.push_back(std::move(entry));
  ks->jwks = nlohmann::json{{"keys", std::move(jwks_sig)}};
  ks->jwks_text = ks->jwks.dump();
  ks->jwks_etag = StrongEtag(ks->jwks_text);
  for (Purpose p : kAllPurposes) {
    bool has = p == Purpose::kSig ? ks->active_sig.has_value() : ks->active_enc.has_value();
    if (!has && std::any_of(rows_.begin(), rows_.end(), [p](const KeyInfo& k) {
          return k.purpose == p && k.state == KeyState::kActive;
        })) {
      ks->problems.push_back("the active " + std::string(PurposeName(p)) +
                             " key could not be loaded; rotate or revoke it");
    }
  }
  for (const auto& [kid, why] : tampered_) ks->problems.push_back(why);
  ks->problems.insert(ks->problems.end(), store_problems_.begin(), store_problems_.end());
  ks->tampered_rows = tampered_.size();
  ks->integrity_alarm = integrity_alarm_;
  ks->audit_head = AuditHeadHexLocked();
  ks->clock_held_since = clock_held_since_;
  if (clock_held_since_.has_value()) ks->problems.push_back(clock_hold_problem_);
  ks->store_reachable = store_unreachable_.empty();
  if (!ks->store_reachable) ks->problems.push_back(store_unreachable_);
  snapshot_.store(std::move(ks));
}

Result<StoreKeyring::Fresh> StoreKeyring::SealFreshLocked(jose::RsaKey key, Purpose purpose,
                                                          KeyOrigin origin) {
  Fresh f{KeyInfo{}, key, key.PublicJwk().dump(), key.PublicSpkiDer(), std::nullopt};
  f.info.kid = key.kid();
  f.info.purpose = purpose;
  f.info.alg = std::string(jose::AlgName(key.alg()));
  f.info.bits = key.bits();
  f.info.origin = origin;
  f.info.has_private = key.has_private();
  if (key.has_private()) {
    Result<SecretBytes> der = key.PrivatePkcs8Der();
    if (!der) return der.error();
    Result<Sealed> sealed =
        Seal(master_key_, der->reveal_secret(), SealAad(f.info.kid, purpose, f.info.alg));
    if (!sealed) return sealed.error();
    f.sealed = std::move(*sealed);
  }
  return f;
}

Result<StoreKeyring::Fresh> StoreKeyring::GenerateLocked(Purpose purpose, UnixTime at) {
  (void)at;
  const RotationPolicy& r = options_.schedule.For(purpose);
  Result<jose::Alg> alg = jose::ParseAlg(r.alg);
  if (!alg) return alg.error();
  KeyFactory factory = options_.key_factory;
  if (!factory) factory = [](int bits, jose::Alg a) { return jose::RsaKey::Generate(bits, a); };
  // RSA key generation takes from tens of milliseconds to seconds: never on the caller's
  // thread (a request or the scheduler's loop), always on a worker.
  std::future<Result<jose::RsaKey>> pending = std::async(std::launch::async, factory, r.bits, *alg);
  Result<jose::RsaKey> key = pending.get();
  if (!key) return key.error();
  if (key->alg() != *alg || !key->has_private()) {
    return Internal("key factory returned a key of the wrong kind");
  }
  if (FindRow(rows_, key->kid()) != nullptr) {
    return AlreadyExists("generated key " + key->kid() + " is already in the store");
  }
  return SealFreshLocked(std::move(*key), purpose, KeyOrigin::kGenerated);
}

Result<StoreKeyring::Successor> StoreKeyring::SuccessorLocked(Purpose purpose, UnixTime at) {
  // The oldest pending key is the one clients have had longest in the JWKS.
  const KeyInfo* pending = nullptr;
  for (const KeyInfo& k : rows_) {
    if (k.purpose == purpose && k.state == KeyState::kPending && refused_.count(k.kid) == 0 &&
        (pending == nullptr || k.created_at < pending->created_at)) {
      pending = &k;
    }
  }
  Successor next;
  if (pending != nullptr) {
    next.pending_kid = pending->kid;
    return next;
  }
  Result<Fresh> f = GenerateLocked(purpose, at);
  if (!f) return f.error();
  next.fresh = std::move(*f);
  return next;
}

Status StoreKeyring::CommitTxnLocked(StoreTxn& txn) {
  INSTACCESS_RETURN_IF_ERROR(txn.Commit());
  ++loaded_counter_;  // BeginChangeLocked saw the rows at the counter this commit raised
  return Status::Ok();
}

Status StoreKeyring::CommitLocked(StoreTxn txn, const RowChanges& changes,
                                  const std::optional<Fresh>& fresh, UnixTime at,
                                  std::string_view actor, std::string_view why) {
  if (changes.inserted.has_value() &&
      (!fresh.has_value() || fresh->info.kid != changes.inserted->kid)) {
    return Internal("inserted row without its key material");
  }
  const ChangeNote note{at, actor, why, integrity_};
  INSTACCESS_RETURN_IF_ERROR(RevokeTamperedActiveLocked(changes, at, actor));
  bool wiped = false;
  for (const KeyInfo* k : DeactivationsFirst(changes.updated)) {
    INSTACCESS_RETURN_IF_ERROR(UpdateRow(*store_, *k, note));
    wiped = wiped || !k->has_private;
  }
  if (changes.inserted.has_value()) {
    INSTACCESS_RETURN_IF_ERROR(InsertRow(*store_, *changes.inserted, fresh->public_jwk,
                                         fresh->public_der, fresh->sealed, note));
  }
  const UnixTime high_water = std::max(high_water_, at);
  // The latest time stamped on any change, so that a clock stepped back after a restart still
  // stamps no change earlier than one already made.
  INSTACCESS_RETURN_IF_ERROR(store_->WriteMeta("clock_high_water", Value::Int(high_water)));
  INSTACCESS_RETURN_IF_ERROR(SealLocked());
  INSTACCESS_RETURN_IF_ERROR(CommitTxnLocked(txn));
  high_water_ = high_water;
  if (wiped) store_->ForgetRemovedBytes();
  // Keep the parsed new key, so publishing does not unseal what we just sealed.
  if (fresh.has_value()) {
    auto& cache = fresh->key.has_private() ? private_cache_ : public_cache_;
    cache.insert_or_assign(fresh->info.kid, fresh->key);
  }
  return Status::Ok();
}

std::shared_ptr<const KeySet> StoreKeyring::Snapshot() const { return snapshot_.load(); }

std::optional<UnixTime> StoreKeyring::NextDueTime(UnixTime now) const {
  std::shared_ptr<const KeySet> ks = snapshot_.load();
  // A running scheduler passes at least every max_lifetime / 2, so a larger gap between passes
  // can only be a clock jump or a frozen host (ApplyDue); while a jump is held, look every
  // minute for the clock's return.
  UnixTime latest = now + std::max<std::int64_t>(options_.schedule.max_lifetime / 2, 1);
  if (ks->clock_held_since.has_value()) latest = std::min(latest, now + kHeldRecheck);
  if (ks->planned.empty()) return latest;
  return std::min(std::max(ks->planned.front().due_at, now), latest);
}

// A pending key whose sealed private part is missing or does not authenticate can never be
// promoted, and while it is pending the schedule publishes no other key for its purpose: every
// later rotation would promote a key nobody had seen in JWKS. So it is revoked (audited; its
// useless sealed bytes wiped like any revoked key's), and the schedule then publishes a new
// pending key. If that commit fails, the key stays pending and the next pass tries again.
void StoreKeyring::RevokeUnusablePendingLocked(UnixTime at, std::string_view actor) {
  std::vector<std::string> unusable;
  for (const KeyInfo& k : rows_) {
    if (k.state == KeyState::kPending && sealed_unusable_.count(k.kid) != 0) {
      unusable.push_back(k.kid);
    }
  }
  for (const std::string& kid : unusable) {
    auto it = refused_.find(kid);
    const std::string why = "pending key " + kid + " revoked: its row is damaged (" +
                            (it != refused_.end() ? it->second : std::string("unusable")) + ")";
    Result<StoreTxn> txn = BeginChangeLocked();
    if (!txn) {
      if (options_.log) {
        options_.log(LogLevel::kError,
                     "cannot revoke damaged pending key " + kid + ": " + txn.error().message());
      }
      return;
    }
    if (!FindRow(rows_, kid) || FindRow(rows_, kid)->state != KeyState::kPending) continue;
    Result<RowChanges> rev = ComputeRevocation(rows_, kid, at);
    Status committed =
        rev ? CommitLocked(std::move(*txn), *rev, std::nullopt, at, actor, why) : rev.error();
    if (!committed.ok()) {
      if (options_.log) {
        options_.log(LogLevel::kError,
                     "cannot revoke damaged pending key " + kid + ": " + committed.message());
      }
      continue;
    }
    ApplyChanges(rows_, *rev);
    refused_.erase(kid);
    sealed_unusable_.erase(kid);
    if (options_.log) options_.log(LogLevel::kError, why);
    PublishLocked();
  }
}

Result<int> StoreKeyring::ApplyDue(UnixTime now, std::string_view actor) {
  std::scoped_lock lock(mu_);
  // A forward jump of more than max_lifetime past the previous pass in this process: applying
  // the schedule at `now` would destroy every retired key at once and stamp new keys far ahead
  // (keyring.h). Hold until the clock comes back or an operator accepts it.
  if (last_pass_.has_value() && now > *last_pass_ + options_.schedule.max_lifetime) {
    if (!clock_held_since_.has_value()) {
      clock_held_since_ = *last_pass_;
      clock_hold_problem_ =
          "the clock jumped forward by " + std::to_string(now - *last_pass_) +
          " seconds past the last schedule pass at unix time " + std::to_string(*last_pass_) +
          "; key transitions are held until the clock comes back or an admin accepts the new "
          "time with `instaccessctl schedule accept-clock`";
      if (options_.log) options_.log(LogLevel::kError, clock_hold_problem_);
      PublishLocked();
    }
    return 0;
  }
  if (clock_held_since_.has_value()) {
    if (options_.log) {
      options_.log(LogLevel::kInfo,
                   "the clock is back within max_lifetime of the last schedule "
                   "pass at unix time " +
                       std::to_string(*last_pass_) + "; key transitions resume");
    }
    clock_held_since_.reset();
    clock_hold_problem_.clear();
    PublishLocked();
  }
  last_pass_ = std::max(now, last_pass_.value_or(now));
  UnixTime at = StampLocked(now);
  // Remember the latest time the scheduler has seen, so that after a clock step backwards the
  // next change is still stamped no earlier than tokens issued before the step. Persisted with
  // the next change.
  high_water_ = at;
  RevokeUnusablePendingLocked(at, actor);
  int applied = 0;
  for (; applied < kMaxStepsPerApply; ++applied) {
    // "Still due" is decided under the writer lock, on the rows as they are now: when another
    // host has applied it already, nothing is.
    Result<StoreTxn> txn = BeginChangeLocked();
    if (!txn) return txn.error();
    std::optional<Transition> next = keystore::NextDue(rows_, options_.schedule, now);
    if (!next.has_value()) break;
    Transition t = *next;
    // A pending key whose sealed row is damaged is never promoted: a fresh key takes its turn.
    if (t.kind == TransitionKind::kPromote && refused_.count(t.kid) != 0) t.kid.clear();
    std::optional<Fresh> fresh;
    if (t.kind == TransitionKind::kGenerate ||
        (t.kind == TransitionKind::kPromote && t.kid.empty())) {
      Result<Fresh> f = GenerateLocked(t.purpose, at);
      if (!f) return f.error();
      fresh = std::move(*f);
    }
    Result<RowChanges> changes =
        ComputeTransition(rows_, t, at, options_.schedule,
                          fresh.has_value() ? std::optional<KeyInfo>(fresh->info) : std::nullopt);
    if (!changes) return changes.error();
    std::string why = "scheduled " + std::string(TransitionName(t.kind)) + " (" +
                      std::string(PurposeName(t.purpose)) + ", due at " + std::to_string(t.due_at) +
                      ")";
    INSTACCESS_RETURN_IF_ERROR(CommitLocked(std::move(*txn), *changes, fresh, at, actor, why));
    ApplyChanges(rows_, *changes);
    PublishLocked();
  }
  return applied;
}

Result<std::vector<std::string>> StoreKeyring::Rotate(std::optional<Purpose> purpose, UnixTime now,
                                                      std::string_view actor) {
  std::scoped_lock lock(mu_);
  UnixTime at = StampLocked(now);
  std::vector<Purpose> purposes;
  if (purpose.has_value()) {
    purposes.push_back(*purpose);
  } else {
    purposes = {Purpose::kSig, Purpose::kEnc};
  }
  std::vector<std::string> kids;
  for (Purpose p : purposes) {
    Result<StoreTxn> txn = BeginChangeLocked();
    if (!txn) return txn.error();
    Result<Successor> next = SuccessorLocked(p, at);
    if (!next) return next.error();
    Result<RowChanges> changes =
        ComputeActivation(rows_, p, next->pending_kid, at, options_.schedule, next->fresh_info());
    if (!changes) return changes.error();
    INSTACCESS_RETURN_IF_ERROR(
        CommitLocked(std::move(*txn), *changes, next->fresh, at, actor, "manual rotation"));
    ApplyChanges(rows_, *changes);
    // Each purpose is published as it commits: if the next one fails, readers must still see
    // the rotation that happened, not sign with the key it retired.
    PublishLocked();
    kids.push_back(next->kid());
  }
  return kids;
}

Status StoreKeyring::CheckNewModulusLocked(const jose::RsaKey& key) {
  const std::vector<std::uint8_t> modulus = key.Modulus();
  if (modulus.empty()) return InvalidArgument("the key's modulus cannot be read");
  // Every row, whatever its state or integrity: a modulus once in the store is never a new key.
  Result<std::vector<KeyRow>> rows = store_->ReadKeyRows(std::nullopt);
  if (!rows) return rows.error();
  for (const KeyRow& row : *rows) {
    Result<jose::Alg> alg = jose::ParseAlg(row[kColAlg].text());
    if (!alg) continue;
    Result<jose::RsaKey> stored =
        jose::RsaKey::FromPublicDer(row[kColPublicDer].bytes, *alg, row.kid());
    if (stored && stored->Modulus() == modulus) {
      return AlreadyExists("this RSA key (its modulus) is already in the store as key " +
                           LogText(row.kid()) + "; one modulus is one key");
    }
  }
  return Status::Ok();
}

Result<jose::RsaKey> StoreKeyring::CheckImportLocked(const ImportRequest& request,
                                                     jose::RsaKey key) {
  if (key.bits() > kMaxImportBits) {
    return InvalidArgument("imported keys are at most 4096 bits; this one has " +
                           std::to_string(key.bits()));
  }
  if (request.kid.has_value()) {
    if (!IsValidKid(*request.kid)) {
      return InvalidArgument("kid \"" + LogText(*request.kid) + "\" is not 1 to 128 of " +
                             kKidRule);
    }
    key = key.WithKid(*request.kid);
  } else if (!IsValidKid(key.kid())) {
    return InvalidArgument("the key's kid \"" + LogText(key.kid()) + "\" is not 1 to 128 of " +
                           kKidRule + "; give \"kid\" in the request to name the key");
  }
  const bool public_sig = request.purpose == Purpose::kSig && !key.has_private();
  if (public_sig && (!request.issuers.has_value() || request.issuers->empty())) {
    return InvalidArgument(
        "a public signing key needs \"issuers\": the token issuers (iss) it may sign for");
  }
  if (!public_sig && request.issuers.has_value()) {
    return InvalidArgument(
        "\"issuers\" is only for a public signing key: our own keys sign for "
        "tokens.issuer, and encryption keys sign nothing");
  }
  if (request.issuers.has_value()) {
    for (const std::string& issuer : *request.issuers) {
      if (issuer.empty() || issuer.size() > kMaxIssuerLength) {
        return InvalidArgument("each issuer must be 1 to 256 characters");
      }
      if (issuer == options_.issuer && !request.allow_own_issuer) {
        return InvalidArgument(
            "issuers names our own issuer \"" + LogText(issuer) +
            "\": this key could then sign tokens in our name; set \"allow_own_issuer\": true "
            "if that is intended (a stock Canvas that uses the same issuer)");
      }
    }
  }
  if (request.max_lifetime.has_value()) {
    if (request.purpose != Purpose::kSig) {
      return InvalidArgument("max_lifetime bounds the tokens a signing key signs; not for enc");
    }
    if (*request.max_lifetime <= 0 || *request.max_lifetime > kMaxTokenLifetime) {
      return InvalidArgument("max_lifetime must be from 1 second to 366 days");
    }
  }
  // The request is well formed; does it conflict with the store?
  if (FindRow(rows_, key.kid()) != nullptr) {
    return AlreadyExists("a key with kid " + key.kid() + " is already in the store");
  }
  INSTACCESS_RETURN_IF_ERROR(CheckNewModulusLocked(key));
  return key;
}

Result<KeyInfo> StoreKeyring::Import(const ImportRequest& request, UnixTime now,
                                     std::string_view actor) {
  if (request.pem.empty() == !request.jwk.has_value()) {
    return InvalidArgument("import needs exactly one of pem or jwk");
  }
  std::optional<jose::Alg> alg = request.alg;
  bool jwk_names_alg =
      request.jwk.has_value() && request.jwk->is_object() && request.jwk->contains("alg");
  if (!alg.has_value() && !jwk_names_alg) {
    Result<jose::Alg> configured = jose::ParseAlg(options_.schedule.For(request.purpose).alg);
    if (!configured) return configured.error();
    alg = *configured;
  }
  Result<jose::RsaKey> parsed = Status(Code::kInternal, "unset");
  if (request.jwk.has_value()) {
    parsed = jose::RsaKey::FromJwk(*request.jwk, alg);
  } else {
    parsed = jose::RsaKey::FromPem(request.pem, *alg);
  }
  if (!parsed) return parsed.error();
  if ((parsed->use() == jose::Use::kSig) != (request.purpose == Purpose::kSig)) {
    return InvalidArgument("alg " + std::string(jose::AlgName(parsed->alg())) + " is not a " +
                           std::string(PurposeName(request.purpose)) + " algorithm");
  }
  std::scoped_lock lock(mu_);
  Result<StoreTxn> txn = BeginChangeLocked();
  if (!txn) return txn.error();
  UnixTime at = StampLocked(now);
  Result<jose::RsaKey> key = CheckImportLocked(request, std::move(*parsed));
  if (!key) return key.error();
  KeyOrigin origin = key->has_private() ? KeyOrigin::kImported : KeyOrigin::kPeer;
  Result<Fresh> fresh = SealFreshLocked(*key, request.purpose, origin);
  if (!fresh) return fresh.error();
  fresh->info.issuers = request.issuers;
  fresh->info.max_lifetime = request.max_lifetime;
  fresh->info.pin = request.pin;
  RowChanges changes;
  if (request.activate) {
    Result<RowChanges> c =
        ComputeActivation(rows_, request.purpose, "", at, options_.schedule, fresh->info);
    if (!c) return c.error();
    changes = std::move(*c);
  } else {
    KeyInfo k = fresh->info;
    k.state = KeyState::kRetired;  // accepted until revoked, never used for new tokens
    k.created_at = at;
    k.retire_at = at;
    changes.inserted = std::move(k);
  }
  KeyInfo result = *changes.inserted;
  std::optional<Fresh> f = std::move(*fresh);
  INSTACCESS_RETURN_IF_ERROR(CommitLocked(std::move(*txn), changes, f, at, actor, "import"));
  ApplyChanges(rows_, changes);
  PublishLocked();
  return result;
}

Result<KeyInfo> StoreKeyring::Revoke(const std::string& kid, UnixTime now, std::string_view actor) {
  std::scoped_lock lock(mu_);
  Result<StoreTxn> txn = BeginChangeLocked();
  if (!txn) return txn.error();
  UnixTime at = StampLocked(now);
  const KeyInfo* target = FindRow(rows_, kid);
  if (target == nullptr) return NotFound("no key with kid " + kid);
  if (target->state == KeyState::kRevoked)
    return FailedPrecondition("key " + kid + " is already revoked");
  std::vector<KeyInfo> model = rows_;
  RowChanges all;
  std::optional<Fresh> fresh;
  if (target->state == KeyState::kActive) {
    const Purpose p = target->purpose;
    Result<Successor> next = SuccessorLocked(p, at);
    if (!next) return next.error();
    Result<RowChanges> act =
        ComputeActivation(model, p, next->pending_kid, at, options_.schedule, next->fresh_info());
    if (!act) return act.error();
    ApplyChanges(model, *act);
    Merge(all, std::move(*act));
    fresh = std::move(next->fresh);
  }
  Result<RowChanges> rev = ComputeRevocation(model, kid, at);
  if (!rev) return rev.error();
  KeyInfo result = rev->updated.front();
  Merge(all, std::move(*rev));
  INSTACCESS_RETURN_IF_ERROR(CommitLocked(std::move(*txn), all, fresh, at, actor, "revoke " + kid));
  ApplyChanges(rows_, all);
  public_cache_.erase(kid);
  private_cache_.erase(kid);
  PublishLocked();
  return result;
}

Status StoreKeyring::Backup(const std::string& dest_path, UnixTime now, std::string_view actor) {
  std::scoped_lock lock(mu_);
  INSTACCESS_RETURN_IF_ERROR(store_->CopyTo(dest_path));
  Result<StoreTxn> txn = BeginLocked();
  if (!txn) return txn.error();
  UnixTime at = StampLocked(now);
  INSTACCESS_RETURN_IF_ERROR(AppendAudit(*store_, integrity_.audit(), at, actor, "backup",
                                         std::nullopt, "backup written to " + dest_path));
  INSTACCESS_RETURN_IF_ERROR(SealLocked());
  return CommitTxnLocked(*txn);
}

Result<UnixTime> StoreKeyring::AcceptClock(UnixTime now, std::string_view actor) {
  std::scoped_lock lock(mu_);
  if (!clock_held_since_.has_value()) return FailedPrecondition("no clock jump is held");
  const UnixTime held_since = *clock_held_since_;
  Result<StoreTxn> txn = BeginChangeLocked();
  if (!txn) return txn.error();
  const UnixTime at = StampLocked(now);
  INSTACCESS_RETURN_IF_ERROR(
      AppendAudit(*store_, integrity_.audit(), at, actor, "accept-clock", std::nullopt,
                  "clock accepted: last schedule pass at unix time " + std::to_string(held_since) +
                      ", new time " + std::to_string(now)));
  INSTACCESS_RETURN_IF_ERROR(SealLocked());
  INSTACCESS_RETURN_IF_ERROR(CommitTxnLocked(*txn));
  if (options_.log) {
    options_.log(LogLevel::kInfo, "clock jump accepted by " + std::string(actor) +
                                      ": last schedule pass at unix time " +
                                      std::to_string(held_since) + ", new time " +
                                      std::to_string(now));
  }
  clock_held_since_.reset();
  clock_hold_problem_.clear();
  last_pass_ = now;
  PublishLocked();
  return now;
}

Result<AuditVerification> StoreKeyring::VerifyAuditChain() {
  std::scoped_lock lock(mu_);
  return VerifyAudit(*store_, &integrity_.audit());
}

Result<std::vector<AuditEntry>> StoreKeyring::ReadAuditLog(std::int64_t after_seq,
                                                           std::int64_t limit) {
  std::scoped_lock lock(mu_);
  return ReadAudit(*store_, after_seq, limit);
}

Health StoreKeyring::GetHealth() const {
  std::shared_ptr<const KeySet> ks = snapshot_.load();
  Health h;
  h.store_open = true;
  h.active_sig = ks->active_sig.has_value() && ks->active_sig->has_private();
  h.active_enc = ks->active_enc.has_value();
  h.integrity = !ks->integrity_alarm;
  if (!h.active_sig) h.message += "no usable active signing key; ";
  if (!h.active_enc) h.message += "no usable active encryption key; ";
  for (const std::string& p : ks->problems) h.message += p + "; ";
  if (!h.message.empty()) h.message.resize(h.message.size() - 2);
  return h;
}

const jose::RsaKey* KeySet::FindVerify(std::string_view kid) const {
  for (const jose::RsaKey& k : verify) {
    if (k.kid() == kid) return &k;
  }
  return nullptr;
}

const jose::RsaKey* KeySet::FindDecrypt(std::string_view kid) const {
  for (const jose::RsaKey& k : decrypt) {
    if (k.kid() == kid) return &k;
  }
  return nullptr;
}

const KeyInfo* KeySet::FindInfo(std::string_view kid) const { return FindRow(keys, kid); }

}  // namespace instaccess::keystore
