// Property test of SqliteKeyring (issue 24): random sequences of scheduled transitions, rotations,
// imports, revocations, reopens and raw-SQL tampering of the closed store, with the keyring's
// invariants checked after every step. Each sequence is replayable from its seed (printed in the
// failure context together with the step that broke and the steps before it).
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "keystore/sqlite_keyring.h"
#include "tests/keystore/test_util.h"

namespace instaccess::keystore {
namespace {

using testing::FixedMasterKey;
using testing::PoolFactory;
using testing::TempDir;

constexpr UnixTime kT0 = 1'700'000'000;
constexpr std::int64_t kHour = 3600;
constexpr int kSequences = 20;
constexpr int kSteps = 40;
constexpr std::size_t kImportKeys = 10;  // pool keys 0..9 are imported; the factory starts at 10

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

// One row of `keys` as SQL literals (quote() of each column), by column name.
using SavedRow = std::map<std::string, std::string>;

struct Sequence {
  explicit Sequence(std::uint32_t seed) : rng(seed) {}

  TempDir dir;
  std::string path = dir / "keys.db";
  PoolFactory pool{kImportKeys};
  std::mt19937 rng;
  std::unique_ptr<SqliteKeyring> ring;
  UnixTime now = kT0;
  std::vector<std::string> trace;  // the steps so far, for the failure context

  std::set<std::string> tampered;    // kids whose rows were tampered with (never to be used)
  std::set<std::string> table_kids;  // kids in the table as of the last tamper step
  bool audit_tampered = false;
  int new_kids = 0;
  std::vector<std::pair<std::string, SavedRow>> saved;  // older copies of rows, for replays

  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
  bool AnyTamper() const { return !tampered.empty() || audit_tampered; }

  SqliteKeyringOptions Options() {
    SqliteKeyringOptions o = testing::Options(path, pool);
    o.schedule.sig = {"RS256", 2048, 2 * kHour, kHour};
    o.schedule.enc = {"RSA-OAEP", 2048, 4 * kHour, kHour};
    o.schedule.max_lifetime = kHour;
    return o;
  }

  void Open() {
    ring.reset();
    auto r = SqliteKeyring::Open(Options(), FixedMasterKey(1));
    BOOST_REQUIRE_MESSAGE(r.has_value(), r.status().ToString());
    ring = std::move(*r);
  }

  // ---- raw SQL on the closed store ----

  std::vector<std::string> Columns(Db& db) {
    std::vector<std::string> cols;
    Result<Stmt> s = db.Prepare("PRAGMA table_info(keys)");
    BOOST_REQUIRE(s.has_value());
    while (*s->Step()) cols.push_back(s->Text(1));
    return cols;
  }

  std::map<std::string, SavedRow> Rows(Db& db) {
    std::vector<std::string> cols = Columns(db);
    std::string sql = "SELECT kid";
    for (const std::string& c : cols) sql += ", quote(" + c + ")";
    Result<Stmt> s = db.Prepare(sql + " FROM keys ORDER BY kid");
    BOOST_REQUIRE(s.has_value());
    std::map<std::string, SavedRow> rows;
    while (*s->Step()) {
      SavedRow& row = rows[s->Text(0)];
      for (std::size_t i = 0; i < cols.size(); ++i) {
        row[cols[i]] = s->Text(static_cast<int>(i) + 1);
      }
    }
    return rows;
  }

  std::vector<std::int64_t> AuditSeqs(Db& db) {
    Result<Stmt> s = db.Prepare("SELECT seq FROM audit ORDER BY seq");
    BOOST_REQUIRE(s.has_value());
    std::vector<std::int64_t> seqs;
    while (*s->Step()) seqs.push_back(s->Int(0));
    return seqs;
  }

  // Runs one statement; true when it changed exactly one row (a constraint failure changes
  // nothing, and then nothing was tampered with).
  bool Change(Db& db, const std::string& sql) {
    if (!db.Exec(sql.c_str()).ok()) return false;
    Result<std::int64_t> n = db.QueryInt("SELECT changes()");
    return n.has_value() && *n == 1;
  }

  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(Uniform(0, static_cast<int>(v.size()) - 1))];
  }

  // Returns a description of what was done.
  std::string Tamper() {
    ring.reset();
    Result<Db> opened = Db::Open(path, SQLITE_OPEN_READWRITE);
    BOOST_REQUIRE(opened.has_value());
    Db& db = *opened;
    std::map<std::string, SavedRow> rows = Rows(db);
    for (const auto& [kid, row] : rows) saved.emplace_back(kid, row);
    std::vector<std::string> kids, active;
    for (const auto& [kid, row] : rows) {
      kids.push_back(kid);
      if (row.at("state") == "'active'") active.push_back(kid);
    }
    // Half the edits and deletions hit an active key: the keyring must put a good one in its place.
    auto pick_row = [&]() -> std::string {
      return !active.empty() && Uniform(0, 1) == 0 ? Pick(active) : Pick(kids);
    };
    std::string what = "tamper: nothing";
    const int kind = Uniform(0, 4);
    if (kind == 0 && !kids.empty()) {  // edit a column
      static const std::vector<std::string> kEdits = {
          "alg = alg || 'x'",
          "bits = bits + 1024",
          "origin = CASE origin WHEN 'peer' THEN 'imported' ELSE 'peer' END",
          "purpose = CASE purpose WHEN 'sig' THEN 'enc' ELSE 'sig' END",
          "state = 'active'",
          "state = 'pending'",
          "state = 'retired'",
          "state = 'destroyed'",
          "state = 'revoked'",
          "created_at = created_at - 1",
          "activate_at = coalesce(activate_at, 0) + 1",
          "retire_at = coalesce(retire_at, 0) + 1",
          "expire_at = coalesce(expire_at, 0) + 1",
          "revoked_at = coalesce(revoked_at, 0) + 1",
          "public_jwk = public_jwk || ' '",
          "nonce = randomblob(24)",
          "mac = randomblob(32)",
      };
      const std::string kid = pick_row();
      const std::string edit = Pick(kEdits);
      // A state set to the one it has changes nothing.
      const bool same = edit.rfind("state = ", 0) == 0 &&
                        rows[kid]["state"] == edit.substr(std::string("state = ").size());
      if (!same && Change(db, "UPDATE keys SET " + edit + " WHERE kid = " + Quote(kid))) {
        tampered.insert(kid);
        what = "tamper: UPDATE keys SET " + edit + " WHERE kid = " + kid;
      }
    } else if (kind == 1 && !kids.empty()) {  // a copy of a row under a new kid
      const std::string from = Pick(kids);
      const std::string kid = "tamper-" + std::to_string(++new_kids);
      std::string cols, vals;
      for (const auto& [col, val] : rows[from]) {
        cols += (cols.empty() ? "" : ", ") + col;
        std::string v = val;
        if (col == "kid") v = Quote(kid);
        if (col == "state" && v == "'active'") v = "'retired'";  // one active per purpose
        vals += (vals.empty() ? "" : ", ") + v;
      }
      if (Change(db, "INSERT INTO keys (" + cols + ") VALUES (" + vals + ")")) {
        tampered.insert(kid);
        what = "tamper: copy of row " + from + " inserted as " + kid;
      }
    } else if (kind == 2 && !kids.empty()) {  // delete a row
      const std::string kid = pick_row();
      if (Change(db, "DELETE FROM keys WHERE kid = " + Quote(kid))) {
        tampered.insert(kid);
        what = "tamper: DELETE row " + kid;
      }
    } else if (kind == 3 && !saved.empty()) {  // replay an older copy of a row
      std::vector<std::size_t> differing;
      for (std::size_t i = 0; i < saved.size(); ++i) {
        auto it = rows.find(saved[i].first);
        if (it == rows.end() || it->second != saved[i].second) differing.push_back(i);
      }
      if (!differing.empty()) {
        const auto& [kid, old] = saved[Pick(differing)];
        std::string sql;
        if (rows.count(kid) != 0) {
          for (const auto& [col, val] : old) sql += (sql.empty() ? "" : ", ") + col + " = " + val;
          sql = "UPDATE keys SET " + sql + " WHERE kid = " + Quote(kid);
        } else {
          std::string cols, vals;
          for (const auto& [col, val] : old) {
            cols += (cols.empty() ? "" : ", ") + col;
            vals += (vals.empty() ? "" : ", ") + val;
          }
          sql = "INSERT INTO keys (" + cols + ") VALUES (" + vals + ")";
        }
        if (Change(db, sql)) {
          tampered.insert(kid);
          what =
              "tamper: older copy of row " + kid + " (state " + old.at("state") + ") written back";
        }
      }
    } else {  // edit or delete an audit row
      std::vector<std::int64_t> seqs = AuditSeqs(db);
      if (!seqs.empty()) {
        const std::int64_t seq = Pick(seqs);
        const bool del = Uniform(0, 1) == 0;
        const std::string sql =
            del ? "DELETE FROM audit WHERE seq = " + std::to_string(seq)
                : "UPDATE audit SET detail = coalesce(detail, '') || 'x' WHERE seq = " +
                      std::to_string(seq);
        if (Change(db, sql)) {
          audit_tampered = true;
          what = "tamper: " + sql;
        }
      }
    }
    table_kids.clear();
    for (const auto& [kid, row] : Rows(db)) table_kids.insert(kid);
    return what;
  }

  // ---- invariants ----

  void CheckKidUsable(const KeySet& ks, const std::string& kid, const char* where) {
    BOOST_TEST_CONTEXT(where << " kid " << kid) {
      BOOST_TEST(ks.FindInfo(kid) != nullptr);
      BOOST_TEST(tampered.count(kid) == 0u);
    }
  }

  void CheckInvariants() {
    std::shared_ptr<const KeySet> ks = ring->Snapshot();
    BOOST_REQUIRE(ks != nullptr);
    const Health h = ring->GetHealth();
    BOOST_TEST(h.store_open);
    for (Purpose p : kAllPurposes) {
      const int active = testing::CountState(*ks, p, KeyState::kActive);
      BOOST_TEST_CONTEXT("purpose " << PurposeName(p)) {
        BOOST_TEST(active <= 1);
        const bool healthy = p == Purpose::kSig ? h.active_sig : h.active_enc;
        const auto& key = p == Purpose::kSig ? ks->active_sig : ks->active_enc;
        if (healthy) {
          BOOST_TEST(active == 1);
          BOOST_TEST(key.has_value());
        }
        if (key.has_value()) {
          const KeyInfo* info = ks->FindInfo(key->kid());
          BOOST_TEST(info != nullptr);
          if (info != nullptr) {
            BOOST_TEST((info->state == KeyState::kActive));
            BOOST_TEST((info->purpose == p));
          }
          if (p == Purpose::kSig) BOOST_TEST(key->has_private());
        }
      }
    }
    if (ks->active_sig) CheckKidUsable(*ks, ks->active_sig->kid(), "active_sig");
    if (ks->active_enc) CheckKidUsable(*ks, ks->active_enc->kid(), "active_enc");
    for (const jose::RsaKey& k : ks->verify) CheckKidUsable(*ks, k.kid(), "verify");
    for (const jose::RsaKey& k : ks->decrypt) CheckKidUsable(*ks, k.kid(), "decrypt");
    BOOST_TEST(ks->jwks.contains("keys"));
    for (const auto& jwk : ks->jwks["keys"]) {
      BOOST_TEST(jwk.contains("kid"));
      BOOST_TEST(!jwk.contains("d"));
      if (jwk.contains("kid")) CheckKidUsable(*ks, jwk["kid"].get<std::string>(), "jwks");
    }
    // Tampered rows are not even listed; those still in the table are named and counted.
    std::size_t in_table = 0;
    for (const std::string& kid : tampered) {
      BOOST_TEST_CONTEXT("tampered kid " << kid) {
        BOOST_TEST(ks->FindInfo(kid) == nullptr);
        if (table_kids.count(kid) == 0) continue;
        ++in_table;
        bool named = false;
        for (const std::string& p : ks->problems) named = named || p.find(kid) != std::string::npos;
        BOOST_TEST(named);
      }
    }
    BOOST_TEST(ks->tampered_rows == in_table);
    if (!AnyTamper()) {
      Result<AuditVerification> v = ring->VerifyAuditChain();
      BOOST_TEST(v.has_value());
      if (v.has_value()) BOOST_TEST(v->ok(), v->reason);
      BOOST_TEST(ks->problems.empty());
      BOOST_TEST(ks->tampered_rows == 0u);
    }
  }

  // ---- steps ----

  // Advances the clock by 0..3 h as the daemon's scheduler would: a pass at every NextDueTime,
  // and at least every max_lifetime / 2 (a larger gap is a clock fault, not this test's subject).
  std::string Advance() {
    const UnixTime target = now + Uniform(0, 3 * static_cast<int>(kHour));
    int passes = 0, applied = 0;
    do {
      std::optional<UnixTime> due = ring->NextDueTime(now);
      UnixTime next = std::min(target, now + kHour / 2);
      if (due.has_value()) {
        BOOST_TEST(*due >= now);
        next = std::min(next, std::max(*due, now));
      }
      now = next;
      Result<int> n = ring->ApplyDue(now, "property");
      BOOST_TEST(n.has_value(), (n ? "" : n.status().ToString()));
      if (n.has_value()) {
        BOOST_TEST(*n >= 0);
        applied += *n;
      }
      ++passes;
    } while (now < target);
    return "advance to T0+" + std::to_string(now - kT0) + " in " + std::to_string(passes) +
           " ApplyDue passes (" + std::to_string(applied) + " applied)";
  }

  std::string Rotate() {
    const int which = Uniform(0, 2);
    std::optional<Purpose> p;
    if (which == 0) p = Purpose::kSig;
    if (which == 1) p = Purpose::kEnc;
    Result<std::vector<std::string>> kids = ring->Rotate(p, now, "property");
    const std::string what = "rotate " + std::string(p ? PurposeName(*p) : "both");
    BOOST_TEST(kids.has_value(), (kids ? "" : kids.status().ToString()));
    if (kids.has_value()) {
      BOOST_TEST(kids->size() == (p ? 1u : 2u));
      auto ks = ring->Snapshot();
      for (const std::string& kid : *kids) {
        const KeyInfo* info = ks->FindInfo(kid);
        BOOST_TEST(info != nullptr);
        if (info != nullptr) BOOST_TEST((info->state == KeyState::kActive));
      }
    }
    return what;
  }

  std::string Import() {
    const std::size_t i = static_cast<std::size_t>(Uniform(0, static_cast<int>(kImportKeys) - 1));
    ImportRequest req;
    req.purpose = Uniform(0, 1) == 0 ? Purpose::kSig : Purpose::kEnc;
    const jose::Alg alg = req.purpose == Purpose::kSig ? jose::Alg::kRS256 : jose::Alg::kRsaOaep;
    const jose::RsaKey key = testing::KeyPool::Get().Key(i, alg);
    const bool peer = Uniform(0, 1) == 0;
    if (peer) {
      req.jwk = key.PublicJwk();
    } else {
      req.pem = testing::PrivatePem(i);
    }
    req.activate = Uniform(0, 2) == 0;
    std::ostringstream what;
    what << "import pool key " << i << " (" << key.kid() << ") " << (peer ? "public" : "private")
         << " for " << PurposeName(req.purpose) << (req.activate ? " with activate" : "");
    // A kid that was tampered with (its row perhaps deleted) is not brought back by hand.
    if (tampered.count(key.kid()) != 0) return what.str() + ": skipped, tampered kid";
    auto before = ring->Snapshot();
    Result<KeyInfo> r = ring->Import(req, now, "property");
    if (!r.has_value()) {
      BOOST_TEST(ring->Snapshot()->keys == before->keys);
      return what.str() + ": refused (" + r.status().ToString() + ")";
    }
    BOOST_TEST(r->kid == key.kid());
    BOOST_TEST((r->purpose == req.purpose));
    BOOST_TEST((r->origin == (peer ? KeyOrigin::kPeer : KeyOrigin::kImported)));
    BOOST_TEST((r->state == (req.activate ? KeyState::kActive : KeyState::kRetired)));
    BOOST_TEST(!(peer && req.activate && req.purpose == Purpose::kSig));
    const KeyInfo* info = ring->Snapshot()->FindInfo(key.kid());
    BOOST_TEST(info != nullptr);
    if (info != nullptr) BOOST_TEST((info->state == r->state));
    return what.str();
  }

  std::string Revoke() {
    auto before = ring->Snapshot();
    if (before->keys.empty()) return "revoke: no keys";
    const KeyInfo target = Pick(before->keys);
    Result<KeyInfo> r = ring->Revoke(target.kid, now, "property");
    std::string what = "revoke " + target.kid + " (" + std::string(StateName(target.state)) + ")";
    if (!r.has_value()) {
      auto after = ring->Snapshot();
      BOOST_TEST(after->keys == before->keys);
      BOOST_TEST(after->generation == before->generation);
      return what + ": refused (" + r.status().ToString() + ")";
    }
    BOOST_TEST(r->kid == target.kid);
    BOOST_TEST((r->state == KeyState::kRevoked));
    BOOST_TEST(!r->has_private);
    auto ks = ring->Snapshot();
    const KeyInfo* info = ks->FindInfo(target.kid);
    BOOST_TEST(info != nullptr);
    if (info != nullptr) BOOST_TEST((info->state == KeyState::kRevoked));
    BOOST_TEST(ks->FindVerify(target.kid) == nullptr);
    BOOST_TEST(ks->FindDecrypt(target.kid) == nullptr);
    return what;
  }

  void Run(bool may_tamper) {
    Open();
    BOOST_REQUIRE(ring->ApplyDue(now, "property").has_value());
    CheckInvariants();
    for (int step = 0; step < kSteps; ++step) {
      const int roll = Uniform(0, 99);
      std::string what;
      if (roll < 30) {
        what = Advance();
      } else if (roll < 42) {
        what = Rotate();
      } else if (roll < 56) {
        what = Import();
      } else if (roll < 70) {
        what = Revoke();
      } else if (roll < 80 || !may_tamper) {
        Open();
        what = "close and reopen";
      } else {
        what = Tamper();
        Open();
        what += ", reopen";
      }
      trace.push_back("step " + std::to_string(step) + ": " + what);
      std::string history;
      for (const std::string& t : trace) history += "\n  " + t;
      BOOST_TEST_CONTEXT("after" << history) { CheckInvariants(); }
    }
    std::string history;
    for (const std::string& t : trace) history += "\n  " + t;
    BOOST_TEST_MESSAGE(trace.size()
                       << " steps to T0+" << (now - kT0) << ", " << tampered.size()
                       << " kids tampered with, " << ring->Snapshot()->keys.size() << " keys listed"
                       << (audit_tampered ? ", audit edited" : "") << history);
  }
};

BOOST_AUTO_TEST_SUITE(keystore_property)

BOOST_AUTO_TEST_CASE(random_operations_and_tampering_keep_the_invariants) {
  for (std::uint32_t seed = 1; seed <= kSequences; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      Sequence s(seed);
      // Every fourth sequence has no tampering, so the audit chain is checked all the way.
      s.Run(/*may_tamper=*/seed % 4 != 0);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::keystore
