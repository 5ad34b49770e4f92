// Keystore micro-benchmarks (not a test; run by hand on a Release build):
//   1. open a store of 1,000 keys and load the live ones (goal < 50 ms);
//   2. one rotation's transaction, key generation aside (goal < 5 ms).
// The 1,000-key store is made with a few real RSA keys plus rows written directly (destroyed
// keys, or public-only peer keys reusing one public key under distinct kids), because making
// 1,000 RSA keys would take minutes and what is measured is reading and parsing rows.
//
// Usage: instaccess-bench-keystore [DIR]   (DIR: where to put the stores; default a temp dir)
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "keystore/integrity.h"
#include "keystore/sqlite.h"
#include "keystore/sqlite_keyring.h"

namespace ks = instaccess::keystore;
using instaccess::Result;
using instaccess::SecretBytes;
using Clock = std::chrono::steady_clock;

namespace {

constexpr ks::UnixTime kT0 = 1'700'000'000;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Stats {
  double median, p90, max;
};
Stats Summarise(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v[v.size() * 9 / 10], v.back()};
}

SecretBytes Master() { return SecretBytes::CopyFrom(std::vector<std::uint8_t>(32, 7)); }

// Pre-generated keys handed out by the factory, so rotations measure the store, not RSA keygen.
std::vector<instaccess::jose::RsaKey> MakeKeys(int n) {
  std::vector<instaccess::jose::RsaKey> keys;
  for (int i = 0; i < n; ++i) {
    auto k = instaccess::jose::RsaKey::Generate(2048, instaccess::jose::Alg::kRS256);
    if (!k) std::abort();
    keys.push_back(*k);
  }
  return keys;
}

ks::KeyFactory FactoryOver(const std::vector<instaccess::jose::RsaKey>& keys, std::size_t* next) {
  return [&keys, next](int, instaccess::jose::Alg alg) -> Result<instaccess::jose::RsaKey> {
    const auto& k = keys.at((*next)++);
    auto der = k.PrivatePkcs8Der();
    return instaccess::jose::RsaKey::FromPrivateDer(der->reveal_secret(), alg);
  };
}

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "bench: %s failed\n", what);
    std::exit(1);
  }
}

// A store with live keys made through the keyring, then `filler` extra rows written directly.
void MakeStore(const std::string& path, const std::vector<instaccess::jose::RsaKey>& keys,
               std::size_t* next, int filler, bool filler_live) {
  {
    ks::SqliteKeyringOptions o;
    o.path = path;
    o.key_factory = FactoryOver(keys, next);
    auto ring = ks::SqliteKeyring::Open(o, Master());
    Require(ring.has_value(), "open new store");
    Require((*ring)->ApplyDue(kT0, "bench").has_value(), "first keys");
    // A few rotations: active, pending, retired keys of both purposes.
    for (int i = 0; i < 3; ++i) {
      Require((*ring)->Rotate(std::nullopt, kT0 + 10 + i, "bench").has_value(), "rotate");
    }
  }
  {
    // A day later, after a restart (within one run, a day-long gap holds the schedule as a
    // clock jump): the catch-up destroys the retired keys and makes the next pending ones.
    ks::SqliteKeyringOptions o;
    o.path = path;
    o.key_factory = FactoryOver(keys, next);
    auto ring = ks::SqliteKeyring::Open(o, Master());
    Require(ring.has_value(), "reopen store");
    Require((*ring)->ApplyDue(kT0 + 20 + 23 * 3600, "bench").has_value(), "pending");
  }
  auto db = ks::Db::Open(path, SQLITE_OPEN_READWRITE);
  Require(db.has_value(), "open db");
  Require(db->Exec("PRAGMA journal_mode = WAL").ok(), "wal");
  Require(db->Exec("BEGIN").ok(), "begin");
  const auto& pub = keys.front();
  for (int i = 0; i < filler; ++i) {
    auto s = db->Prepare(
        "INSERT INTO keys (kid, purpose, alg, bits, origin, state, created_at, activate_at, "
        "retire_at, expire_at, public_jwk, public_der) VALUES (?1, 'sig', 'RS256', 2048, ?2, ?3, "
        "?4, ?4, ?5, ?6, ?7, ?8)");
    Require(s.has_value(), "prepare filler");
    std::string kid = "filler-" + std::to_string(i);
    ks::UnixTime at = kT0 - 86400 * (filler - i);
    s->Bind(1, std::string_view(kid))
        .Bind(2, std::string_view(filler_live ? "peer" : "generated"))
        .Bind(3, std::string_view(filler_live ? "retired" : "destroyed"))
        .Bind(4, at)
        .Bind(5, at + 86400)
        .Bind(6, filler_live ? std::optional<std::int64_t>() : std::optional(at + 86400 + 3660))
        .Bind(7, std::string_view(pub.PublicJwk().dump()))
        .BindBlob(8, pub.PublicSpkiDer());
    Require(s->Run().ok(), "insert filler");
  }
  // As the keyring writes rows: each MACed, the store sealed over them (keystore/integrity.h);
  // unsealed rows would be refused as tampered at open.
  const ks::IntegrityKeys integrity = ks::IntegrityKeys::Derive(Master());
  ks::SqliteStore store(*db);
  Require(ks::WriteAllRowMacs(store, integrity).ok(), "mac filler rows");
  Require(ks::SealStore(store, integrity, {}, std::nullopt).ok(), "seal");
  Require(db->Exec("COMMIT").ok(), "commit");
}

void BenchOpen(const char* label, const std::string& path) {
  std::vector<double> open_ms;
  std::size_t live = 0, rows = 0;
  for (int i = 0; i < 21; ++i) {
    ks::SqliteKeyringOptions o;
    o.path = path;
    o.create_if_missing = false;
    auto t = Clock::now();
    auto ring = ks::SqliteKeyring::Open(o, Master());
    double ms = Ms(Clock::now() - t);
    Require(ring.has_value(), "reopen");
    auto snap = (*ring)->Snapshot();
    // Every row must load: a refused row would time the refusal, not the store.
    Require(snap->problems.empty(), "a store that loads with no problems");
    rows = snap->keys.size();
    live = snap->verify.size() + snap->decrypt.size();
    if (i > 0) open_ms.push_back(ms);  // the first run warms the page cache
  }
  Stats s = Summarise(open_ms);
  std::printf(
      "open+load %-34s rows=%zu live(verify+decrypt)=%zu  median %.2f ms  p90 %.2f ms  "
      "max %.2f ms  (goal < 50 ms)\n",
      label, rows, live, s.median, s.p90, s.max);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  std::filesystem::path tmp;
  if (argc > 1) {
    dir = argv[1];
  } else {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bench-keystore-XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    Require(::mkdtemp(buf.data()) != nullptr, "mkdtemp");
    dir = buf.data();
    tmp = dir;
  }
  std::printf("instaccess-bench-keystore: stores in %s (fsync cost depends on this filesystem)\n",
              dir.c_str());
  std::printf("generating 80 RSA-2048 keys up front (not measured)...\n");
  std::vector<instaccess::jose::RsaKey> keys = MakeKeys(80);
  std::size_t next = 0;

  std::string a = dir + "/thousand-destroyed.db";
  MakeStore(a, keys, &next, 991, /*filler_live=*/false);
  BenchOpen("(991 destroyed + 9 kept keys)", a);
  std::string b = dir + "/thousand-live.db";
  MakeStore(b, keys, &next, 991, /*filler_live=*/true);
  BenchOpen("(991 retired peer keys + 9 kept)", b);

  // Rotation: the whole Rotate call with a pre-made key (seal, one transaction with its audit
  // rows and an fsync'd WAL commit, snapshot republish).
  {
    std::string c = dir + "/rotate.db";
    ks::SqliteKeyringOptions o;
    o.path = c;
    o.key_factory = FactoryOver(keys, &next);
    auto ring = ks::SqliteKeyring::Open(o, Master());
    Require(ring.has_value(), "open rotate store");
    Require((*ring)->ApplyDue(kT0, "bench").has_value(), "first keys");
    std::vector<double> rotate_ms;
    for (int i = 0; i < 40 && next < keys.size(); ++i) {
      auto t = Clock::now();
      Require((*ring)->Rotate(ks::Purpose::kSig, kT0 + 100 + i, "bench").has_value(), "rotate");
      rotate_ms.push_back(Ms(Clock::now() - t));
    }
    Stats s = Summarise(rotate_ms);
    std::printf(
        "rotate (sig, pre-made key, %zu runs)         median %.2f ms  p90 %.2f ms  "
        "max %.2f ms  (goal < 5 ms)\n",
        rotate_ms.size(), s.median, s.p90, s.max);
  }
  if (!tmp.empty()) std::filesystem::remove_all(tmp);
  return 0;
}
