// Shared helpers for the keystore suites: a pool of RSA keys made once per process (so tests
// are not mostly key generation), file comparison; temp directories from tests/support.
#pragma once

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/secret_bytes.h"
#include "jose/rsa_key.h"
#include "keystore/integrity.h"
#include "keystore/sqlite.h"
#include "keystore/sqlite_keyring.h"
#include "tests/support/temp_dir.h"

namespace instaccess::keystore::testing {

// Directories for tests come from the shared test support (one TempDir for every suite).
using TempDir = instaccess::testing::TempDir;

inline std::vector<std::uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void WriteAll(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

inline bool Exists(const std::string& path) { return std::filesystem::exists(path); }

// RSA-2048 private keys as PKCS#8 DER, generated on first use and shared by every test of the
// process. A key can be bound to any alg (FromPrivateDer), so one pool serves both purposes.
class KeyPool {
 public:
  static KeyPool& Get() {
    static KeyPool* pool = new KeyPool();
    return *pool;
  }
  // The i-th key bound to `alg`.
  jose::RsaKey Key(std::size_t i, jose::Alg alg) {
    std::scoped_lock lock(mu_);
    while (ders_.size() <= i) {
      Result<jose::RsaKey> k = jose::RsaKey::Generate(2048, jose::Alg::kRS256);
      if (!k) std::abort();
      Result<SecretBytes> der = k->PrivatePkcs8Der();
      if (!der) std::abort();
      ders_.push_back(std::move(*der));
    }
    Result<jose::RsaKey> k = jose::RsaKey::FromPrivateDer(ders_[i].reveal_secret(), alg);
    if (!k) std::abort();
    return *k;
  }
  void Warm(std::size_t n) { (void)Key(n - 1, jose::Alg::kRS256); }

 private:
  std::mutex mu_;
  std::vector<SecretBytes> ders_;  // Guarded by mu_.
};

// A KeyFactory handing out pool keys in order, skipping kids in `used`; thread-safe.
class PoolFactory {
 public:
  explicit PoolFactory(std::size_t start = 0, std::set<std::string> used = {})
      : state_(std::make_shared<State>()) {
    state_->next = start;
    state_->used = std::move(used);
  }
  KeyFactory factory() const {
    std::shared_ptr<State> st = state_;
    return [st](int, jose::Alg alg) -> Result<jose::RsaKey> {
      std::scoped_lock lock(st->mu);
      for (;; ++st->next) {
        jose::RsaKey k = KeyPool::Get().Key(st->next, alg);
        if (st->used.insert(k.kid()).second) {
          ++st->next;
          st->thread_ids.insert(std::this_thread::get_id());
          return k;
        }
      }
    };
  }
  std::set<std::thread::id> thread_ids() const {
    std::scoped_lock lock(state_->mu);
    return state_->thread_ids;
  }
  std::size_t next() const {
    std::scoped_lock lock(state_->mu);
    return state_->next;
  }

 private:
  struct State {
    std::mutex mu;
    std::size_t next = 0;
    std::set<std::string> used;
    std::set<std::thread::id> thread_ids;
  };
  std::shared_ptr<State> state_;
};

inline SecretBytes FixedMasterKey(std::uint8_t fill) {
  std::vector<std::uint8_t> raw(32, fill);
  return SecretBytes::CopyFrom(raw);
}

inline SqliteKeyringOptions Options(const std::string& path, const PoolFactory& pool) {
  SqliteKeyringOptions o;
  o.path = path;
  o.key_factory = pool.factory();
  return o;
}

inline int CountState(const KeySet& ks, Purpose p, KeyState s) {
  int n = 0;
  for (const KeyInfo& k : ks.keys) n += (k.purpose == p && k.state == s) ? 1 : 0;
  return n;
}

// PKCS#8 PEM of pool key i.
inline std::string PrivatePem(std::size_t i) {
  jose::RsaKey k = KeyPool::Get().Key(i, jose::Alg::kRS256);
  Result<SecretBytes> der = k.PrivatePkcs8Der();
  if (!der) std::abort();
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto d = der->reveal_secret();
  std::string b64;
  for (std::size_t j = 0; j < d.size(); j += 3) {
    std::uint32_t v = static_cast<std::uint32_t>(d[j]) << 16;
    if (j + 1 < d.size()) v |= static_cast<std::uint32_t>(d[j + 1]) << 8;
    if (j + 2 < d.size()) v |= d[j + 2];
    b64 += t[(v >> 18) & 63];
    b64 += t[(v >> 12) & 63];
    b64 += j + 1 < d.size() ? t[(v >> 6) & 63] : '=';
    b64 += j + 2 < d.size() ? t[v & 63] : '=';
  }
  std::string pem = "-----BEGIN PRIVATE KEY-----\n";
  for (std::size_t j = 0; j < b64.size(); j += 64) pem += b64.substr(j, 64) + "\n";
  return pem + "-----END PRIVATE KEY-----\n";
}

// Writes into the (closed) store at `path` a retired peer signing key named `kid`, bound to
// `issuers_json` (empty: NULL, as before schema v4), as a daemon from before the kid rule could
// have: row, row MAC and a new seal, with `master_key`. For tests of old stores' rows.
inline void InsertLegacyPeerKey(const std::string& path, const SecretBytes& master_key,
                                const std::string& kid, const jose::RsaKey& key,
                                const std::string& issuers_json, UnixTime at) {
  Result<Db> db = Db::Open(path, SQLITE_OPEN_READWRITE);
  BOOST_REQUIRE(db.has_value());
  Result<Stmt> insert = db->Prepare(
      "INSERT INTO keys (kid, purpose, alg, bits, origin, state, created_at, retire_at, "
      "public_jwk, public_der, issuers) VALUES (?1, 'sig', ?5, ?6, 'peer', 'retired', ?2, ?2, "
      "?3, ?4, ?7)");
  BOOST_REQUIRE(insert.has_value());
  insert->Bind(1, std::string_view(kid))
      .Bind(2, at)
      .Bind(3, std::string_view(key.WithKid(kid).PublicJwk().dump()))
      .BindBlob(4, key.PublicSpkiDer())
      .Bind(5, jose::AlgName(key.alg()))
      .Bind(6, std::int64_t{key.bits()})
      .Bind(7, std::string_view(issuers_json));
  if (issuers_json.empty()) insert->BindNull(7);  // a row from before schema v4
  BOOST_REQUIRE(insert->Run().ok());
  const IntegrityKeys keys = IntegrityKeys::Derive(master_key);
  SqliteStore store(*db);
  BOOST_REQUIRE(WriteRowMac(store, keys, kid).ok());
  BOOST_REQUIRE(SealStore(store, keys, {}, std::nullopt).ok());
}

// A keyring on a fresh store in a temp dir, with pool keys 10 and on for generation (0..9 stay
// free for imports).
struct RingFixture {
  TempDir dir;
  std::string path = dir / "keys.db";
  PoolFactory pool{10};
  std::unique_ptr<SqliteKeyring> ring;

  RingFixture() { Reopen(); }
  void Reopen(std::uint8_t key = 1) {
    ring.reset();
    auto r = SqliteKeyring::Open(Options(path, pool), FixedMasterKey(key));
    BOOST_REQUIRE_MESSAGE(r.has_value(), r.status().ToString());
    ring = std::move(*r);
  }
  std::shared_ptr<const KeySet> Snap() { return ring->Snapshot(); }
  const KeyInfo& Info(const std::string& kid) {
    static thread_local std::shared_ptr<const KeySet> keep;
    keep = Snap();
    const KeyInfo* k = keep->FindInfo(kid);
    BOOST_REQUIRE(k != nullptr);
    return *k;
  }
};

}  // namespace instaccess::keystore::testing
