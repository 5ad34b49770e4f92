#include "keystore/pg_store.h"

#include <libpq-fe.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "keystore/seal.h"

// A statement parameter: text, or NULL. pqxx sends parameters as text; a bytea travels in its
// hex form ('\x...'), integers in decimal.
namespace instaccess::keystore::internal {
struct PgParam {
  std::optional<std::string> text;
};
}  // namespace instaccess::keystore::internal

namespace pqxx {
template <>
struct string_traits<instaccess::keystore::internal::PgParam> {
  using Param = instaccess::keystore::internal::PgParam;
  static constexpr const char* name() noexcept { return "PgParam"; }
  static constexpr bool has_null() noexcept { return true; }
  static bool is_null(const Param& p) { return !p.text.has_value(); }
  static Param null() { return {}; }
  static void from_string(const char s[], Param& p) { p.text = s; }
  static std::string to_string(const Param& p) { return *p.text; }
};
}  // namespace pqxx

namespace instaccess::keystore {

using internal::PgParam;

namespace {

// Step i brings the schema from version i to i + 1, in one transaction under the writer lock.
// The columns and their kinds are those of the SQLite store at its schema 4 (schema.cc), so that
// rows, their MACs and the seal are the same in both (store.h, KeyColumn).
constexpr const char* kPgSteps[] = {
    // -> 1
    R"sql(
CREATE TABLE instaccess_schema (
  one     boolean PRIMARY KEY DEFAULT true CHECK (one),
  app     text NOT NULL CHECK (app = 'instaccessd key store'),
  version integer NOT NULL
);
INSERT INTO instaccess_schema (app, version) VALUES ('instaccessd key store', 0);
CREATE TABLE meta (
  name      text PRIMARY KEY,
  blob      bytea,
  int_value bigint,
  CHECK ((blob IS NULL) <> (int_value IS NULL))
);
CREATE TABLE keys (
  kid            text PRIMARY KEY,
  purpose        text NOT NULL CHECK (purpose IN ('sig', 'enc')),
  alg            text NOT NULL,
  bits           bigint NOT NULL,
  origin         text NOT NULL CHECK (origin IN ('generated', 'imported', 'peer')),
  state          text NOT NULL
                 CHECK (state IN ('pending', 'active', 'retired', 'destroyed', 'revoked')),
  created_at     bigint NOT NULL,
  activate_at    bigint,
  retire_at      bigint,
  expire_at      bigint,
  revoked_at     bigint,
  public_jwk     text NOT NULL,
  public_der     bytea NOT NULL,
  sealed_private bytea,
  nonce          bytea,
  issuers        text,
  max_lifetime   bigint,
  pin            bigint CHECK (pin IS NULL OR pin = 1),
  mac            bytea,
  CHECK ((sealed_private IS NULL) = (nonce IS NULL))
);
-- One active key per purpose at every instant, whichever host writes.
CREATE UNIQUE INDEX keys_one_active ON keys (purpose) WHERE state = 'active';
CREATE INDEX keys_by_purpose_state ON keys (purpose, state);
CREATE TABLE audit (
  seq       bigint PRIMARY KEY,
  at        bigint NOT NULL,
  actor     text NOT NULL,
  action    text NOT NULL,
  kid       text REFERENCES keys (kid),
  detail    text NOT NULL,
  prev_hash bytea NOT NULL,
  hash      bytea NOT NULL
);
CREATE TABLE fence (
  one     boolean PRIMARY KEY DEFAULT true CHECK (one),
  counter bigint NOT NULL
);
INSERT INTO fence (counter) VALUES (0);
)sql",
};
static_assert(sizeof kPgSteps / sizeof kPgSteps[0] == kPgSchemaVersion);

// The kind each key column is stored as (the PostgreSQL column types above).
constexpr Value::Kind kColumnKinds[kKeyColumnCount] = {
    Value::Kind::kText,     // kid
    Value::Kind::kText,     // purpose
    Value::Kind::kText,     // alg
    Value::Kind::kInteger,  // bits
    Value::Kind::kText,     // origin
    Value::Kind::kText,     // state
    Value::Kind::kInteger,  // created_at
    Value::Kind::kInteger,  // activate_at
    Value::Kind::kInteger,  // retire_at
    Value::Kind::kInteger,  // expire_at
    Value::Kind::kInteger,  // revoked_at
    Value::Kind::kText,     // public_jwk
    Value::Kind::kBlob,     // public_der
    Value::Kind::kBlob,     // sealed_private
    Value::Kind::kBlob,     // nonce
    Value::Kind::kText,     // issuers
    Value::Kind::kInteger,  // max_lifetime
    Value::Kind::kInteger,  // pin
};

std::string Hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\\x";
  for (std::uint8_t b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

PgParam Param(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull:
      return {};
    case Value::Kind::kInteger:
      return {std::to_string(v.integer)};
    case Value::Kind::kBlob:
      return {Hex(v.bytes)};
    default:
      return {v.text()};
  }
}
PgParam Param(std::string_view text) { return {std::string(text)}; }
PgParam Param(std::int64_t v) { return {std::to_string(v)}; }
PgParam Blob(std::span<const std::uint8_t> b) { return {Hex(b)}; }

std::vector<std::uint8_t> BytesOf(const pqxx::field& f) {
  pqxx::binarystring b(f);
  return std::vector<std::uint8_t>(b.data(), b.data() + b.size());
}

Value FieldValue(const pqxx::field& f, Value::Kind kind) {
  if (f.is_null()) return Value::Null();
  switch (kind) {
    case Value::Kind::kInteger:
      return Value::Int(f.as<std::int64_t>());
    case Value::Kind::kBlob:
      return Value::Blob(BytesOf(f));
    default:
      return Value::Text(f.c_str());
  }
}

AuditEntry AuditRow(const pqxx::row& r) {
  AuditEntry e;
  e.seq = r[0].as<std::int64_t>();
  e.at = r[1].as<std::int64_t>();
  e.actor = r[2].c_str();
  e.action = r[3].c_str();
  if (!r[4].is_null()) e.kid = r[4].c_str();
  e.detail = r[5].c_str();
  e.prev_hash = BytesOf(r[6]);
  e.hash = BytesOf(r[7]);
  return e;
}

constexpr const char* kAuditColumns = "seq, at, actor, action, kid, detail, prev_hash, hash";

// key='value' for a libpq conninfo string (single quotes and backslashes escaped).
std::string ConninfoPair(const char* key, std::string_view value) {
  std::string out = std::string(key) + "='";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "' ";
}

struct ConninfoOptionsDeleter {
  void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};

// The conninfo string libpq connects with: the URL's settings, the password, a connect
// timeout. Refuses a password in the URL.
Result<std::string> Conninfo(const PgStoreOptions& options) {
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, ConninfoOptionsDeleter> parsed(
      PQconninfoParse(options.url.c_str(), &err));
  if (!parsed) {
    std::string why = err != nullptr ? err : "out of memory";
    PQfreemem(err);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    return InvalidArgument("store.url is not a libpq connection URI: " + why);
  }
  std::string conninfo;
  bool has_timeout = false;
  for (PQconninfoOption* o = parsed.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    std::string_view key = o->keyword;
    if (key == "password") {
      return InvalidArgument(
          "store.url holds a password; remove it and give the password in the credential "
          "\"pg-password\" or in store.password_file");
    }
    if (key == "connect_timeout") has_timeout = true;
    conninfo += ConninfoPair(o->keyword, o->val);
  }
  if (!has_timeout) {
    conninfo += ConninfoPair("connect_timeout", std::to_string(options.connect_timeout_s));
  }
  if (!options.password.empty()) conninfo += ConninfoPair("password", options.password);
  // Our name in pg_stat_activity, so an operator sees which sessions are the fleet's.
  conninfo += ConninfoPair("application_name", "instaccessd");
  return conninfo;
}

void Wipe(std::string& s) {
  sodium_memzero(s.data(), s.size());
  s.clear();
}

}  // namespace

std::string RedactedUrl(const std::string& url) {
  // Up to the query; user info other than the user name dropped.
  std::string out = url.substr(0, url.find('?'));
  const std::size_t scheme = out.find("://");
  const std::size_t at = out.find('@');
  if (scheme != std::string::npos && at != std::string::npos && at > scheme) {
    const std::size_t colon = out.find(':', scheme + 3);
    if (colon != std::string::npos && colon < at) out.erase(colon, at - colon);
  }
  return out;
}

struct PgStore::Session {
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<pqxx::work> txn;  // the open write transaction
};

PgStore::PgStore(const PgStoreOptions& options)
    : options_(options), session_(std::make_unique<Session>()) {}

PgStore::~PgStore() { Rollback(); }

template <typename Fn>
Status PgStore::Run(const char* what, Fn&& fn) {
  try {
    if (!session_->conn) INSTACCESS_RETURN_IF_ERROR(Connect());
    if (session_->txn) return fn(*session_->txn);
    pqxx::work w(*session_->conn);
    Status s = fn(w);
    if (s.ok()) w.commit();
    return s;
  } catch (const pqxx::broken_connection& e) {
    session_->txn.reset();
    session_->conn.reset();
    return Unavailable(std::string(what) + ": lost the connection to " + Describe() + ": " +
                       e.what());
  } catch (const pqxx::in_doubt_error& e) {
    session_->txn.reset();
    session_->conn.reset();
    return Unavailable(std::string(what) +
                       ": the commit's outcome is unknown (connection lost): " + e.what());
  } catch (const pqxx::sql_error& e) {
    session_->txn.reset();
    const std::string state = e.sqlstate();
    // 55P03 lock_not_available (lock_timeout), 40001/40P01 serialization failure / deadlock.
    Code code = state == "55P03" || state.rfind("40", 0) == 0            ? Code::kUnavailable
                : state == "23505"                                       ? Code::kAlreadyExists
                : state.rfind("42", 0) == 0 || state.rfind("28", 0) == 0 ? Code::kFailedPrecondition
                                                                         : Code::kInternal;
    std::string msg = e.what();
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    return Status(code, std::string(what) + " on " + Describe() + ": " + msg);
  } catch (const std::exception& e) {
    session_->txn.reset();
    return Internal(std::string(what) + " on " + Describe() + ": " + e.what());
  }
}

Status PgStore::Connect() {
  Result<std::string> conninfo = Conninfo(options_);
  if (!conninfo) return conninfo.error();
  try {
    session_->conn = std::make_unique<pqxx::connection>(*conninfo);
  } catch (const std::exception& e) {
    Wipe(*conninfo);
    std::string msg = e.what();
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    return Unavailable("cannot connect to PostgreSQL at " + Describe() + ": " + msg);
  }
  Wipe(*conninfo);
  // A transaction-mode pooler hands each transaction to whichever server session is free: the
  // session of one transaction is not the next one's. Seen as a different backend, or as a
  // session setting that does not survive to the next transaction.
  std::string probe(16, '\0');
  randombytes_buf(probe.data(), probe.size());
  probe = Hex({reinterpret_cast<const std::uint8_t*>(probe.data()), probe.size()}).substr(2);
  int pid_a = 0, pid_b = 0;
  std::string seen;
  try {
    {
      pqxx::work w(*session_->conn);
      pqxx::row r = w.exec_params1(
          "SELECT pg_backend_pid(), set_config('instaccess.session_probe', $1, false)", probe);
      pid_a = r[0].as<int>();
      w.commit();
    }
    {
      pqxx::work w(*session_->conn);
      pqxx::row r =
          w.exec1("SELECT pg_backend_pid(), current_setting('instaccess.session_probe', true)");
      pid_b = r[0].as<int>();
      seen = r[1].is_null() ? "" : r[1].c_str();
      w.commit();
    }
  } catch (const std::exception& e) {
    session_->conn.reset();
    return Unavailable("cannot set up the session with PostgreSQL at " + Describe() + ": " +
                       e.what());
  }
  if (pid_a != pid_b || seen != probe) {
    session_->conn.reset();
    return FailedPrecondition(
        "the connection to " + Describe() +
        " does not keep its session between transactions: a transaction-mode pooler "
        "(pgbouncer pool_mode=transaction, say) is in the way. Connect instaccessd to "
        "PostgreSQL directly, or through a pool in session mode");
  }
  backend_pid_ = pid_a;
  return Status::Ok();
}

Result<std::unique_ptr<PgStore>> PgStore::Open(const PgStoreOptions& options,
                                               const SecretBytes& master_key) {
  std::unique_ptr<PgStore> store(new PgStore(options));
  INSTACCESS_RETURN_IF_ERROR(store->Connect());
  // Schema: each step under the writer lock, re-reading the version inside it, so that hosts
  // starting together migrate once.
  for (;;) {
    int version = 0;
    bool done = false;
    Status s = store->Run("migrating the schema", [&](pqxx::work& w) -> Status {
      w.exec_params("SELECT pg_advisory_xact_lock($1)", kWriterLock);
      pqxx::row have = w.exec1(
          "SELECT to_regclass('instaccess_schema') IS NOT NULL, "
          "to_regclass('keys') IS NOT NULL OR to_regclass('audit') IS NOT NULL OR "
          "to_regclass('meta') IS NOT NULL");
      if (have[0].as<bool>()) {
        version = w.exec1("SELECT version FROM instaccess_schema")[0].as<int>();
      } else if (have[1].as<bool>()) {
        return FailedPrecondition(store->Describe() +
                                  " has tables named keys, audit or meta but is not an "
                                  "instaccessd key store; refusing to touch it");
      } else if (!options.create_if_missing) {
        return NotFound(store->Describe() + " holds no instaccessd key store");
      }
      if (version > kPgSchemaVersion) {
        return FailedPrecondition(store->Describe() + " has schema version " +
                                  std::to_string(version) +
                                  ", newer than this instaccessd understands (" +
                                  std::to_string(kPgSchemaVersion) + "); run the newer one");
      }
      if (version == kPgSchemaVersion) {
        done = true;
        return Status::Ok();
      }
      w.exec(kPgSteps[version]);
      w.exec_params("UPDATE instaccess_schema SET version = $1", version + 1);
      if (version == 0) {
        // A new store: its master key check value, in the transaction that made it.
        w.exec_params("INSERT INTO meta (name, blob) VALUES ('master_key_check', $1)",
                      Blob(MasterKeyCheckValue(master_key)));
        // The rows are sealed by the keyring at its first open (integrity.h).
        w.exec("INSERT INTO meta (name, int_value) VALUES ('integrity_upgrade', 1)");
      }
      return Status::Ok();
    });
    INSTACCESS_RETURN_IF_ERROR(s);
    if (done) break;
  }
  Result<std::optional<Value>> check = store->ReadMeta("master_key_check");
  if (!check) return check.error();
  if (!check->has_value() || (*check)->kind != Value::Kind::kBlob) {
    return DataLoss(store->Describe() + " has no master key check value; it is damaged");
  }
  if (!MatchesMasterKeyCheck(master_key, (*check)->bytes)) {
    return PermissionDenied(
        "the master key does not match key store " + store->Describe() +
        " (wrong master key: check store.master_key_file or the systemd credential "
        "\"master-key\"); nothing was changed");
  }
  return store;
}

Status PgStore::Begin() {
  if (session_->txn) return Internal("a transaction is already open on " + Describe());
  try {
    if (!session_->conn) INSTACCESS_RETURN_IF_ERROR(Connect());
    session_->txn = std::make_unique<pqxx::work>(*session_->conn);
  } catch (const std::exception& e) {
    session_->conn.reset();
    return Unavailable("cannot begin a transaction on " + Describe() + ": " + e.what());
  }
  fence_.reset();
  return Run("taking the writer lock", [&](pqxx::work& w) -> Status {
    w.exec("SET LOCAL lock_timeout = " + std::to_string(options_.lock_timeout_ms));
    pqxx::row r = w.exec_params1("SELECT pg_advisory_xact_lock($1), pg_backend_pid()", kWriterLock);
    if (r[1].as<int>() != backend_pid_) {
      return FailedPrecondition(
          "the PostgreSQL session changed between transactions: a transaction-mode pooler is "
          "in the way; connect instaccessd to PostgreSQL directly");
    }
    fence_ = w.exec1("SELECT counter FROM fence")[0].as<std::int64_t>();
    return Status::Ok();
  });
}

Status PgStore::Commit() {
  if (!session_->txn || !fence_) return Internal("no transaction is open on " + Describe());
  const std::int64_t expected = *fence_;
  Status s = Run("committing", [&](pqxx::work& w) -> Status {
    pqxx::result r = w.exec_params(
        "UPDATE fence SET counter = counter + 1 WHERE counter = $1 RETURNING counter", expected);
    if (r.size() != 1) {
      return Unavailable("another host changed the keyring first (fence moved past " +
                         std::to_string(expected) + "); nothing was written");
    }
    w.exec_params("SELECT pg_notify($1, $2)", std::string(kNotifyChannel),
                  std::to_string(expected + 1));
    w.commit();
    return Status::Ok();
  });
  session_->txn.reset();
  fence_.reset();
  return s;
}

void PgStore::Rollback() {
  try {
    if (session_->txn) session_->txn->abort();
  } catch (const std::exception&) {
    session_->conn.reset();  // the connection is in an unknown state: start over
  }
  session_->txn.reset();
  fence_.reset();
}

Result<std::int64_t> PgStore::ChangeCounter() {
  if (session_->txn && fence_) return *fence_;
  std::int64_t counter = 0;
  Status s = Run("reading the change counter", [&](pqxx::work& w) -> Status {
    counter = w.exec1("SELECT counter FROM fence")[0].as<std::int64_t>();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return counter;
}

Result<std::vector<KeyRow>> PgStore::ReadKeyRows(std::optional<std::string_view> kid) {
  std::vector<KeyRow> rows;
  Status s = Run("reading key rows", [&](pqxx::work& w) -> Status {
    // Ordered as SQLite orders them (bytewise), whatever the database's collation.
    std::string sql = "SELECT " + KeyColumnList() + ", mac FROM keys";
    pqxx::result r = kid.has_value() ? w.exec_params(sql + " WHERE kid = $1", std::string(*kid))
                                     : w.exec(sql + " ORDER BY kid COLLATE \"C\"");
    for (const pqxx::row& row : r) {
      KeyRow k;
      for (std::size_t c = 0; c < kKeyColumnCount; ++c) {
        k.columns[c] = FieldValue(row[static_cast<int>(c)], kColumnKinds[c]);
      }
      k.mac = FieldValue(row[static_cast<int>(kKeyColumnCount)], Value::Kind::kBlob);
      rows.push_back(std::move(k));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return rows;
}

namespace {

// Refuses a value whose kind the column cannot hold: PostgreSQL would convert it, and the row
// MAC (computed from what is read back) would then vouch for a value we never meant.
Status CheckKinds(const KeyRow& row) {
  for (std::size_t c = 0; c < kKeyColumnCount; ++c) {
    if (!row.columns[c].is_null() && row.columns[c].kind != kColumnKinds[c]) {
      return InvalidArgument(std::string("key column ") + kKeyColumnNames[c] +
                             " holds a value of another kind than PostgreSQL stores");
    }
  }
  return Status::Ok();
}

std::vector<PgParam> RowParams(const KeyRow& row) {
  std::vector<PgParam> params;
  for (const Value& v : row.columns) params.push_back(Param(v));
  return params;
}

}  // namespace

Status PgStore::InsertKeyRow(const KeyRow& row) {
  INSTACCESS_RETURN_IF_ERROR(CheckKinds(row));
  return Run("inserting a key row", [&](pqxx::work& w) -> Status {
    std::string sql = "INSERT INTO keys (" + KeyColumnList() + ") VALUES (";
    for (std::size_t c = 0; c < kKeyColumnCount; ++c) {
      sql += (c ? ", $" : "$") + std::to_string(c + 1);
    }
    const std::vector<PgParam> params = RowParams(row);
    w.exec_params(sql + ")", pqxx::prepare::make_dynamic_params(params));
    return Status::Ok();
  });
}

Status PgStore::UpdateKeyRow(const KeyRow& row) {
  INSTACCESS_RETURN_IF_ERROR(CheckKinds(row));
  return Run("updating a key row", [&](pqxx::work& w) -> Status {
    std::string sql = "UPDATE keys SET ";
    for (std::size_t c = 1; c < kKeyColumnCount; ++c) {
      sql += std::string(c > 1 ? ", " : "") + kKeyColumnNames[c] + " = $" + std::to_string(c + 1);
    }
    const std::vector<PgParam> params = RowParams(row);
    pqxx::result r =
        w.exec_params(sql + " WHERE kid = $1", pqxx::prepare::make_dynamic_params(params));
    if (r.affected_rows() != 1) return NotFound("no key row " + row.kid() + " to update");
    return Status::Ok();
  });
}

Status PgStore::SetKeyRowMac(std::string_view kid, std::span<const std::uint8_t> mac) {
  return Run("writing a row MAC", [&](pqxx::work& w) -> Status {
    w.exec_params("UPDATE keys SET mac = $2 WHERE kid = $1", Param(kid), Blob(mac));
    return Status::Ok();
  });
}

Result<std::vector<AuditEntry>> PgStore::ReadAuditRows(std::int64_t after_seq, std::int64_t limit) {
  std::vector<AuditEntry> out;
  Status s = Run("reading the audit trail", [&](pqxx::work& w) -> Status {
    pqxx::result r = w.exec_params(
        std::string("SELECT ") + kAuditColumns + " FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
        after_seq, limit);
    for (const pqxx::row& row : r) out.push_back(AuditRow(row));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::optional<AuditEntry>> PgStore::LastAuditRow() {
  std::optional<AuditEntry> last;
  Status s = Run("reading the audit trail", [&](pqxx::work& w) -> Status {
    pqxx::result r =
        w.exec(std::string("SELECT ") + kAuditColumns + " FROM audit ORDER BY seq DESC LIMIT 1");
    if (!r.empty()) last = AuditRow(r[0]);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return last;
}

Status PgStore::InsertAuditRow(const AuditEntry& e) {
  return Run("appending to the audit trail", [&](pqxx::work& w) -> Status {
    w.exec_params(std::string("INSERT INTO audit (") + kAuditColumns +
                      ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                  Param(e.seq), Param(e.at), Param(e.actor), Param(e.action),
                  e.kid ? Param(*e.kid) : PgParam{}, Param(e.detail), Blob(e.prev_hash),
                  Blob(e.hash));
    return Status::Ok();
  });
}

Status PgStore::UpdateAuditLinks(std::int64_t seq, std::span<const std::uint8_t> prev_hash,
                                 std::span<const std::uint8_t> hash) {
  return Run("re-chaining the audit trail", [&](pqxx::work& w) -> Status {
    w.exec_params("UPDATE audit SET prev_hash = $2, hash = $3 WHERE seq = $1", Param(seq),
                  Blob(prev_hash), Blob(hash));
    return Status::Ok();
  });
}

Result<bool> PgStore::HasAuditRow(std::string_view action, std::string_view detail) {
  bool found = false;
  Status s = Run("reading the audit trail", [&](pqxx::work& w) -> Status {
    found = !w.exec_params("SELECT 1 FROM audit WHERE action = $1 AND detail = $2 LIMIT 1",
                           Param(action), Param(detail))
                 .empty();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return found;
}

Result<std::optional<Value>> PgStore::ReadMeta(std::string_view name) {
  std::optional<Value> value;
  Status s = Run("reading meta", [&](pqxx::work& w) -> Status {
    pqxx::result r = w.exec_params("SELECT blob, int_value FROM meta WHERE name = $1", Param(name));
    if (r.empty()) return Status::Ok();
    value = r[0][0].is_null() ? FieldValue(r[0][1], Value::Kind::kInteger)
                              : FieldValue(r[0][0], Value::Kind::kBlob);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return value;
}

Status PgStore::WriteMeta(std::string_view name, const Value& value) {
  if (value.kind != Value::Kind::kBlob && value.kind != Value::Kind::kInteger) {
    return InvalidArgument("meta " + std::string(name) + ": only blobs and integers are stored");
  }
  return Run("writing meta", [&](pqxx::work& w) -> Status {
    const bool blob = value.kind == Value::Kind::kBlob;
    w.exec_params(
        "INSERT INTO meta (name, blob, int_value) VALUES ($1, $2, $3) "
        "ON CONFLICT (name) DO UPDATE SET blob = excluded.blob, int_value = excluded.int_value",
        Param(name), blob ? Param(value) : PgParam{}, blob ? PgParam{} : Param(value));
    return Status::Ok();
  });
}

Status PgStore::DeleteMeta(std::string_view name) {
  return Run("writing meta", [&](pqxx::work& w) -> Status {
    w.exec_params("DELETE FROM meta WHERE name = $1", Param(name));
    return Status::Ok();
  });
}

namespace {

class HintReceiver final : public pqxx::notification_receiver {
 public:
  HintReceiver(pqxx::connection_base& c, std::function<void()>& on_change)
      : pqxx::notification_receiver(c, kNotifyChannel), on_change_(on_change) {}
  void operator()(const std::string&, int) override { on_change_(); }

 private:
  std::function<void()>& on_change_;
};

}  // namespace

PgListener::PgListener(PgStoreOptions options, std::function<void()> on_change)
    : options_(std::move(options)), on_change_(std::move(on_change)) {
  thread_ = std::thread([this] { Run(); });
}

PgListener::~PgListener() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void PgListener::Run() {
  std::function<void()> hint = on_change_;
  int pause_s = 1;
  while (!stopping_) {
    try {
      Result<std::string> conninfo = Conninfo(options_);
      if (!conninfo) return;  // the store refused the same options already
      pqxx::connection conn(*conninfo);
      Wipe(*conninfo);
      HintReceiver receiver(conn, hint);
      hint();  // hints may have been missed while not listening
      pause_s = 1;
      while (!stopping_) conn.await_notification(1, 0);
    } catch (const std::exception&) {
      // Lost or refused: try again after a pause, still answering a stop within a second.
      for (int i = 0; i < pause_s && !stopping_; ++i) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
      }
      pause_s = std::min(pause_s * 2, 30);
    }
  }
}

Status PgStore::CopyTo(const std::string& dest_path) {
  (void)dest_path;
  return FailedPrecondition(
      "a keyring on PostgreSQL is backed up with the database (pg_dump), or copied to an "
      "SQLite file with instaccessd migrate --to PATH");
}

}  // namespace instaccess::keystore
