// A peer's set brought into a real SQLite keyring through the Keyring interface.
#include "peers/keyring_sync.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "common/secret_bytes.h"
#include "keystore/sqlite_keyring.h"
#include "tests/peers/peer_keys.h"
#include "tests/support/temp_dir.h"

namespace instaccess::peers {
namespace {

using jose::Alg;
using keystore::KeyOrigin;
using keystore::KeyState;
using keystore::Purpose;
using testkeys::PoolKey;

constexpr std::int64_t kMaxLifetime = 3600;
constexpr std::int64_t kSkew = 60;
constexpr keystore::UnixTime kStart = 1'700'000'000;

struct Ring {
  explicit Ring(bool enc_from_peer) {
    keystore::SqliteKeyringOptions options;
    options.path = dir / "keys.db";
    options.schedule.enc_from_peer = enc_from_peer;
    options.schedule.max_lifetime = kMaxLifetime;
    options.schedule.clock_skew = kSkew;
    const std::vector<std::uint8_t> raw(32, 7);
    auto opened = keystore::SqliteKeyring::Open(options, SecretBytes::CopyFrom(raw));
    BOOST_REQUIRE_MESSAGE(opened.has_value(), opened.status().message());
    ring = std::move(*opened);
    BOOST_REQUIRE(ring->ApplyDue(kStart, "test").has_value());
  }

  const keystore::KeyInfo* Info(const std::string& kid) const {
    return ring->Snapshot()->FindInfo(kid);
  }

  instaccess::testing::TempDir dir;
  std::unique_ptr<keystore::SqliteKeyring> ring;
};

PeerConfig Config(PeerUse use) {
  PeerConfig c;
  c.name = use == PeerUse::kEnc ? "gateway" : "canvas";
  c.jwks_url = "https://peer.example.edu/.well-known/jwks.json";
  c.use = use;
  if (use == PeerUse::kSig) c.issuers = {"canvas-iss"};
  return c;
}

PeerKeySet Set(std::vector<std::size_t> indices, Alg alg) {
  PeerKeySet set;
  for (std::size_t i : indices) set.keys.push_back(PoolKey(i, alg));
  return set;
}

BOOST_AUTO_TEST_SUITE(keyring_sync)

BOOST_AUTO_TEST_CASE(a_gateways_newest_key_is_the_one_tokens_are_encrypted_to) {
  Ring r(true);
  auto ks = r.ring->Snapshot();
  BOOST_TEST(!ks->active_enc.has_value());  // the schedule made none of its own
  BOOST_TEST(ks->active_sig.has_value());
  const PeerConfig gateway = Config(PeerUse::kEnc);
  SyncMemory memory;

  SyncReport rep =
      SyncPeer(*r.ring, gateway, Set({1, 0}, Alg::kRsaOaep), kStart, kMaxLifetime, kSkew, &memory);
  BOOST_TEST(rep.problems.empty());
  BOOST_TEST(rep.imported == (std::vector<std::string>{"kid-1"}));
  ks = r.ring->Snapshot();
  BOOST_REQUIRE(ks->active_enc.has_value());
  BOOST_TEST(ks->active_enc->kid() == "kid-1");
  BOOST_TEST(!ks->active_enc->has_private());
  BOOST_TEST((r.Info("kid-1")->origin == KeyOrigin::kPeer));

  // The same set again: nothing to do.
  rep = SyncPeer(*r.ring, gateway, Set({1, 0}, Alg::kRsaOaep), kStart + 10, kMaxLifetime, kSkew,
                 &memory);
  BOOST_TEST(rep.imported.empty());
  BOOST_TEST(rep.revoked.empty());

  // The gateway publishes a pending key first: it becomes ours to encrypt to at once; the
  // previous one, still listed, is retired, not revoked.
  rep = SyncPeer(*r.ring, gateway, Set({2, 1}, Alg::kRsaOaep), kStart + 20, kMaxLifetime, kSkew,
                 &memory);
  BOOST_TEST(rep.imported == (std::vector<std::string>{"kid-2"}));
  BOOST_TEST(r.ring->Snapshot()->active_enc->kid() == "kid-2");
  BOOST_TEST((r.Info("kid-1")->state == KeyState::kRetired));

  // Gone from the set: revoked at once.
  rep = SyncPeer(*r.ring, gateway, Set({2}, Alg::kRsaOaep), kStart + 30, kMaxLifetime, kSkew,
                 &memory);
  BOOST_TEST(rep.revoked == (std::vector<std::string>{"kid-1"}));
  BOOST_TEST((r.Info("kid-1")->state == KeyState::kRevoked));

  // Weeks later the schedule still makes no encryption key of its own.
  BOOST_REQUIRE(r.ring->ApplyDue(kStart + 40 * 24 * 3600, "test").has_value());
  ks = r.ring->Snapshot();
  BOOST_TEST(ks->active_enc->kid() == "kid-2");
  for (const keystore::KeyInfo& k : ks->keys) {
    if (k.purpose == Purpose::kEnc) BOOST_TEST((k.origin == KeyOrigin::kPeer), k.kid);
  }
}

BOOST_AUTO_TEST_CASE(an_admin_cannot_make_an_encryption_key_of_our_own_either) {
  Ring r(true);
  SyncMemory memory;
  (void)SyncPeer(*r.ring, Config(PeerUse::kEnc), Set({1}, Alg::kRsaOaep), kStart, kMaxLifetime,
                 kSkew, &memory);
  auto rotated = r.ring->Rotate(Purpose::kEnc, kStart + 10, "admin");
  BOOST_REQUIRE(!rotated.has_value());
  BOOST_TEST((rotated.error().code() == Code::kFailedPrecondition));
  BOOST_TEST(rotated.error().message().find("rotate or revoke at the gateway") !=
             std::string::npos);
  // Revoking the gateway's active key would need a replacement of our own: refused too.
  BOOST_TEST(!r.ring->Revoke("kid-1", kStart + 20, "admin").has_value());
  BOOST_TEST(r.ring->Snapshot()->active_enc->kid() == "kid-1");
  // Signing keys are ours to rotate as ever.
  BOOST_TEST(r.ring->Rotate(Purpose::kSig, kStart + 30, "admin").has_value());
}

BOOST_AUTO_TEST_CASE(an_issuers_gone_key_verifies_until_its_last_token_expired) {
  Ring r(false);
  const PeerConfig canvas = Config(PeerUse::kSig);
  SyncMemory memory;
  SyncReport rep =
      SyncPeer(*r.ring, canvas, Set({3, 4}, Alg::kRS256), kStart, kMaxLifetime, kSkew, &memory);
  BOOST_TEST(rep.problems.empty());
  BOOST_TEST(rep.imported == (std::vector<std::string>{"kid-3", "kid-4"}));
  auto ks = r.ring->Snapshot();
  BOOST_REQUIRE(ks->FindVerify("kid-3") != nullptr);
  BOOST_TEST(r.Info("kid-3")->issuers.value() == canvas.issuers);
  BOOST_TEST((r.Info("kid-3")->state == KeyState::kRetired));  // verifies, never signs

  // A peer key of another issuer (an operator's import) is not this follower's to end.
  keystore::ImportRequest other;
  other.purpose = Purpose::kSig;
  other.pem = PoolKey(5, Alg::kRS256).PublicPem();
  other.kid = "other";
  other.issuers = std::vector<std::string>{"someone-else"};
  BOOST_REQUIRE(r.ring->Import(other, kStart, "admin").has_value());

  const keystore::UnixTime gone = kStart + 100;
  rep = SyncPeer(*r.ring, canvas, Set({4}, Alg::kRS256), gone, kMaxLifetime, kSkew, &memory);
  BOOST_TEST(rep.revoked.empty());
  rep = SyncPeer(*r.ring, canvas, Set({4}, Alg::kRS256), gone + kMaxLifetime + kSkew - 1,
                 kMaxLifetime, kSkew, &memory);
  BOOST_TEST(rep.revoked.empty());
  BOOST_TEST(r.ring->Snapshot()->FindVerify("kid-3") != nullptr);
  rep = SyncPeer(*r.ring, canvas, Set({4}, Alg::kRS256), gone + kMaxLifetime + kSkew, kMaxLifetime,
                 kSkew, &memory);
  BOOST_TEST(rep.revoked == (std::vector<std::string>{"kid-3"}));
  BOOST_TEST(r.ring->Snapshot()->FindVerify("kid-3") == nullptr);
  BOOST_TEST(r.ring->Snapshot()->FindVerify("other") != nullptr);
}

BOOST_AUTO_TEST_CASE(a_key_back_in_the_set_before_its_time_is_kept) {
  Ring r(false);
  const PeerConfig canvas = Config(PeerUse::kSig);
  SyncMemory memory;
  (void)SyncPeer(*r.ring, canvas, Set({3, 4}, Alg::kRS256), kStart, kMaxLifetime, kSkew, &memory);
  (void)SyncPeer(*r.ring, canvas, Set({4}, Alg::kRS256), kStart + 10, kMaxLifetime, kSkew, &memory);
  (void)SyncPeer(*r.ring, canvas, Set({3, 4}, Alg::kRS256), kStart + 20, kMaxLifetime, kSkew,
                 &memory);
  // Gone again: the clock starts over.
  (void)SyncPeer(*r.ring, canvas, Set({4}, Alg::kRS256), kStart + 30, kMaxLifetime, kSkew, &memory);
  SyncReport rep = SyncPeer(*r.ring, canvas, Set({4}, Alg::kRS256),
                            kStart + 10 + kMaxLifetime + kSkew, kMaxLifetime, kSkew, &memory);
  BOOST_TEST(rep.revoked.empty());
  BOOST_TEST(r.ring->Snapshot()->FindVerify("kid-3") != nullptr);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::peers
