#include "keystore/schema.h"

#include <string>

namespace instaccess::keystore {

namespace {

// Step i brings the schema from version i to i + 1.
constexpr const char* kSteps[] = {
    // -> 1
    R"sql(
PRAGMA application_id = 1229015891;
CREATE TABLE meta (
  name  TEXT PRIMARY KEY NOT NULL,
  value NOT NULL
);
CREATE TABLE keys (
  kid            TEXT PRIMARY KEY NOT NULL,
  purpose        TEXT NOT NULL CHECK (purpose IN ('sig', 'enc')),
  alg            TEXT NOT NULL,
  bits           INTEGER NOT NULL,
  origin         TEXT NOT NULL CHECK (origin IN ('generated', 'imported', 'peer')),
  state          TEXT NOT NULL
                 CHECK (state IN ('pending', 'active', 'retired', 'destroyed', 'revoked')),
  created_at     INTEGER NOT NULL,
  activate_at    INTEGER,
  retire_at      INTEGER,
  expire_at      INTEGER,
  public_jwk     TEXT NOT NULL,
  public_der     BLOB NOT NULL,
  sealed_private BLOB,
  nonce          BLOB,
  CHECK ((sealed_private IS NULL) = (nonce IS NULL))
);
-- Exactly one active key per purpose is the keyring's invariant; the store refuses a second.
CREATE UNIQUE INDEX keys_one_active ON keys (purpose) WHERE state = 'active';
CREATE TABLE audit (
  seq       INTEGER PRIMARY KEY NOT NULL,
  at        INTEGER NOT NULL,
  actor     TEXT NOT NULL,
  action    TEXT NOT NULL,
  kid       TEXT REFERENCES keys (kid),
  detail    TEXT NOT NULL,
  prev_hash BLOB NOT NULL,
  hash      BLOB NOT NULL
);
)sql",
    // -> 2
    R"sql(
ALTER TABLE keys ADD COLUMN revoked_at INTEGER;
CREATE INDEX keys_by_purpose_state ON keys (purpose, state);
)sql",
    // -> 3: integrity (integrity.h). The rows are MACed and the store sealed by the keyring,
    // which holds the master key, in its own transaction at the next open; the marker says one
    // is due (a crash between the two leaves it, and the next open does the work).
    R"sql(
ALTER TABLE keys ADD COLUMN mac BLOB;
INSERT INTO meta (name, value) VALUES ('integrity_upgrade', 1);
)sql",
    // -> 4: what a key vouches for (key_types.h: issuers, max_lifetime, pin). NULL is the
    // default of each, so the rows of an older store keep their meaning and their MACs (the MAC
    // covers these columns only when they are set: integrity.cc, RowImage).
    R"sql(
ALTER TABLE keys ADD COLUMN issuers TEXT;
ALTER TABLE keys ADD COLUMN max_lifetime INTEGER;
ALTER TABLE keys ADD COLUMN pin INTEGER CHECK (pin IS NULL OR pin = 1);
)sql",
};
static_assert(sizeof kSteps / sizeof kSteps[0] == kSchemaVersion);

}  // namespace

Result<int> CheckSchema(Db& db) {
  Result<std::int64_t> app = db.QueryInt("PRAGMA application_id");
  if (!app) return app.error();
  Result<std::int64_t> version = db.QueryInt("PRAGMA user_version");
  if (!version) return version.error();
  Result<std::int64_t> tables = db.QueryInt("SELECT count(*) FROM sqlite_schema");
  if (!tables) return tables.error();
  if (*app == 0 && *version == 0 && *tables == 0) return 0;  // empty: a new store
  if (*app != kApplicationId) {
    return FailedPrecondition(db.path() +
                              " is an SQLite database but not an instaccessd key store "
                              "(application_id " +
                              std::to_string(*app) + "); refusing to touch it");
  }
  if (*version > kSchemaVersion) {
    return FailedPrecondition(db.path() + " has schema version " + std::to_string(*version) +
                              ", newer than this instaccessd understands (" +
                              std::to_string(kSchemaVersion) +
                              "); run the newer instaccessd or restore a backup made by this one");
  }
  if (*version < 1) {
    return DataLoss(db.path() + " is marked as a key store but has no schema version");
  }
  return static_cast<int>(*version);
}

Status Migrate(Db& db, int target) {
  if (target < 1 || target > kSchemaVersion) return InvalidArgument("no such schema version");
  Result<int> current = CheckSchema(db);
  if (!current) return current.error();
  for (int v = *current; v < target; ++v) {
    Result<Txn> txn = Txn::Begin(db);
    if (!txn) return txn.error();
    INSTACCESS_RETURN_IF_ERROR(db.Exec(kSteps[v]));
    // PRAGMA takes no bound parameters; the value is our own integer.
    std::string set_version = "PRAGMA user_version = " + std::to_string(v + 1);
    INSTACCESS_RETURN_IF_ERROR(db.Exec(set_version.c_str()));
    INSTACCESS_RETURN_IF_ERROR(txn->Commit());
  }
  return Status::Ok();
}

}  // namespace instaccess::keystore
