// What the keyring publishes and what each key may vouch for (docs/tokens.md, "Which keys vouch
// for what"): JWKS holds our own keys only, imports follow the kid, size, modulus and issuer
// rules, a token without kid is tried against a bounded set of keys, pinned keys stay.
#include <boost/test/unit_test.hpp>
#include <set>
#include <string>
#include <vector>

#include "jose/base64url.h"
#include "keystore/schema.h"
#include "tests/keystore/test_util.h"

namespace instaccess::keystore {
namespace {

using testing::KeyPool;
using testing::RingFixture;

constexpr UnixTime kT0 = 1'700'000'000;
constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 24 * kHour;
constexpr const char* kOurIssuer = "instructure:inst_access";

std::vector<std::string> JwksKids(const KeySet& ks, std::string_view use) {
  std::vector<std::string> kids;
  for (const auto& k : ks.jwks.at("keys")) {
    if (k.at("use") == use) kids.push_back(k.at("kid").get<std::string>());
  }
  return kids;
}

// Kids of `purpose` keys in `state`, newest first (as JWKS lists them).
std::vector<std::string> KidsNewestFirst(const KeySet& ks, Purpose purpose,
                                         std::set<KeyState> states, bool ours_only = true) {
  std::vector<std::string> kids;
  for (auto it = ks.keys.rbegin(); it != ks.keys.rend(); ++it) {
    if (it->purpose != purpose || states.count(it->state) == 0) continue;
    if (ours_only && it->origin == KeyOrigin::kPeer) continue;
    kids.push_back(it->kid);
  }
  return kids;
}

ImportRequest PeerSigKey(std::size_t pool_index, std::vector<std::string> issuers) {
  ImportRequest r;
  r.purpose = Purpose::kSig;
  r.jwk = KeyPool::Get().Key(pool_index, jose::Alg::kRS256).PublicJwk();
  r.issuers = std::move(issuers);
  return r;
}

ImportRequest PeerEncKey(std::size_t pool_index) {
  ImportRequest r;
  r.purpose = Purpose::kEnc;
  r.jwk = KeyPool::Get().Key(pool_index, jose::Alg::kRsaOaep).PublicJwk();
  return r;
}

BOOST_AUTO_TEST_SUITE(keystore_trust)

BOOST_FIXTURE_TEST_CASE(jwks_lists_only_our_keys_newest_first, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  // A gateway's encryption key, activated: tokens are encrypted to it, yet it is not ours.
  ImportRequest gateway = PeerEncKey(0);
  gateway.activate = true;
  Result<KeyInfo> g = ring->Import(gateway, kT0 + 1, "admin");
  BOOST_REQUIRE_MESSAGE(g.has_value(), g.status().ToString());
  // A partner's signing key: verifies its tokens, never published as ours.
  Result<KeyInfo> partner = ring->Import(PeerSigKey(1, {"partner"}), kT0 + 2, "admin");
  BOOST_REQUIRE_MESSAGE(partner.has_value(), partner.status().ToString());
  // Canvas's signing key brought in with its private part: ours now.
  ImportRequest canvas;
  canvas.purpose = Purpose::kSig;
  canvas.pem = testing::PrivatePem(2);
  Result<KeyInfo> c = ring->Import(canvas, kT0 + 3, "admin");
  BOOST_REQUIRE(c.has_value());
  // A rotation: a retired signing key within its lifetime.
  BOOST_REQUIRE(ring->Rotate(Purpose::kSig, kT0 + 10, "admin").has_value());

  auto ks = Snap();
  BOOST_TEST(ks->active_enc->kid() == g->kid);
  const std::vector<std::string> sig = JwksKids(*ks, "sig");
  const std::vector<std::string> enc = JwksKids(*ks, "enc");
  BOOST_TEST(sig == KidsNewestFirst(*ks, Purpose::kSig,
                                    {KeyState::kPending, KeyState::kActive, KeyState::kRetired}),
             boost::test_tools::per_element());
  BOOST_TEST(sig.size() == 3u);  // active, Canvas's, retired
  BOOST_TEST((std::find(sig.begin(), sig.end(), partner->kid) == sig.end()));
  // Our encryption key was retired by the gateway's: an issuer must not pick it, nor the
  // gateway's. Nothing of ours is pending for enc yet.
  BOOST_TEST(enc.empty());
  // Every sig entry comes before every enc entry.
  const auto& keys = ks->jwks.at("keys");
  BOOST_TEST(keys.size() == sig.size() + enc.size());
  BOOST_TEST(ks->jwks_text == ks->jwks.dump());
  BOOST_TEST(ks->jwks_etag.size() == 34u);  // a quoted 32-digit hex
  // The key list still shows every key, with its origin.
  BOOST_TEST((ks->FindInfo(partner->kid)->origin == KeyOrigin::kPeer));
  BOOST_TEST((ks->FindInfo(g->kid)->origin == KeyOrigin::kPeer));
}

BOOST_FIXTURE_TEST_CASE(jwks_etag_changes_with_its_content_only, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  const std::string before = Snap()->jwks_etag;
  // A peer key changes the key set but not what we publish.
  BOOST_REQUIRE(ring->Import(PeerSigKey(1, {"partner"}), kT0 + 1, "admin").has_value());
  BOOST_TEST(Snap()->jwks_etag == before);
  BOOST_REQUIRE(ring->Rotate(Purpose::kSig, kT0 + 2, "admin").has_value());
  BOOST_TEST(Snap()->jwks_etag != before);
}

BOOST_FIXTURE_TEST_CASE(pending_encryption_keys_decrypt_and_kidless_tries_are_bounded,
                        RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  const std::string first_enc = Snap()->active_enc->kid();
  // The next enc key is generated prepublish before the week ends: pending, published, decrypts.
  Reopen();  // downtime: the first pass after a start catches up (clock_test.cc)
  BOOST_REQUIRE(ring->ApplyDue(kT0 + 7 * kDay - kHour, "scheduler").has_value());
  auto ks = Snap();
  std::vector<std::string> pending = KidsNewestFirst(*ks, Purpose::kEnc, {KeyState::kPending});
  BOOST_REQUIRE(pending.size() == 1u);
  BOOST_TEST(ks->FindDecrypt(pending[0]) != nullptr);
  BOOST_TEST(JwksKids(*ks, "enc").front() == pending[0]);  // newest first
  // Kid-less order: the active key first, then the pending one.
  BOOST_REQUIRE(ks->decrypt_without_kid == 2u);
  BOOST_TEST(ks->decrypt[0].kid() == first_enc);
  BOOST_TEST(ks->decrypt[1].kid() == pending[0]);

  // An imported private enc key never activated decrypts only tokens that name it.
  ImportRequest imported;
  imported.purpose = Purpose::kEnc;
  imported.jwk = nlohmann::json::object();  // replaced below
  imported.jwk.reset();
  imported.pem = testing::PrivatePem(3);
  imported.alg = jose::Alg::kRsaOaep;
  Result<KeyInfo> i = ring->Import(imported, kT0 + 7 * kDay - kHour + 1, "admin");
  BOOST_REQUIRE_MESSAGE(i.has_value(), i.status().ToString());
  ks = Snap();
  BOOST_TEST(ks->FindDecrypt(i->kid) != nullptr);
  BOOST_TEST(ks->decrypt_without_kid == 2u);
  BOOST_TEST(ks->decrypt.back().kid() == i->kid);

  // Many rotations within one token lifetime: retired keys within their lifetime join the
  // kid-less tries, up to the bound.
  for (int n = 1; n <= 6; ++n) {
    BOOST_REQUIRE(ring->Rotate(Purpose::kEnc, kT0 + 7 * kDay + n, "admin").has_value());
  }
  ks = Snap();
  BOOST_TEST(ks->decrypt_without_kid == kMaxKidlessDecryptKeys);
  BOOST_TEST(ks->decrypt[0].kid() == ks->active_enc->kid());
  for (std::size_t k = 0; k < ks->decrypt_without_kid; ++k) {
    BOOST_TEST(ks->decrypt[k].kid() != i->kid);
  }
  BOOST_TEST(ks->FindDecrypt(i->kid) != nullptr);
}

BOOST_FIXTURE_TEST_CASE(peer_signing_keys_are_bound_to_the_issuers_named, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  // No issuers: refused.
  Result<KeyInfo> none = ring->Import(PeerSigKey(1, {}), kT0, "admin");
  BOOST_REQUIRE(!none.has_value());
  BOOST_TEST((none.error().code() == Code::kInvalidArgument));
  BOOST_TEST(none.error().message().find("\"issuers\"") != std::string::npos);
  ImportRequest missing = PeerSigKey(1, {});
  missing.issuers.reset();
  BOOST_TEST(!ring->Import(missing, kT0, "admin").has_value());
  // Our own issuer: refused unless said explicitly.
  Result<KeyInfo> ours = ring->Import(PeerSigKey(1, {"partner", kOurIssuer}), kT0, "admin");
  BOOST_REQUIRE(!ours.has_value());
  BOOST_TEST(ours.error().message().find("allow_own_issuer") != std::string::npos);
  ImportRequest explicit_ours = PeerSigKey(1, {"partner", kOurIssuer});
  explicit_ours.allow_own_issuer = true;
  explicit_ours.max_lifetime = 2 * kHour;
  Result<KeyInfo> ok = ring->Import(explicit_ours, kT0, "admin");
  BOOST_REQUIRE_MESSAGE(ok.has_value(), ok.status().ToString());
  // Issuers on a key with its private part, or on an encryption key: refused.
  ImportRequest priv;
  priv.purpose = Purpose::kSig;
  priv.pem = testing::PrivatePem(2);
  priv.issuers = std::vector<std::string>{"partner"};
  BOOST_TEST(!ring->Import(priv, kT0, "admin").has_value());
  ImportRequest enc = PeerEncKey(3);
  enc.issuers = std::vector<std::string>{"partner"};
  BOOST_TEST(!ring->Import(enc, kT0, "admin").has_value());

  // What each key vouches for, as the token core sees it.
  Reopen();  // from the store, not from memory
  auto ks = Snap();
  BOOST_REQUIRE(ks->verify.size() == ks->verify_bounds.size());
  for (std::size_t k = 0; k < ks->verify.size(); ++k) {
    const jose::SignerBounds& b = ks->verify_bounds[k];
    if (ks->verify[k].kid() == ok->kid) {
      BOOST_TEST(b.issuers == (std::vector<std::string>{"partner", kOurIssuer}),
                 boost::test_tools::per_element());
      BOOST_TEST(b.max_lifetime_seconds == 2 * kHour);
    } else {
      BOOST_TEST(b.issuers == std::vector<std::string>{kOurIssuer},
                 boost::test_tools::per_element());
      BOOST_TEST(b.max_lifetime_seconds == kHour);  // tokens.max_lifetime
    }
  }
  const KeyInfo* stored = ks->FindInfo(ok->kid);
  BOOST_REQUIRE(stored != nullptr);
  BOOST_TEST(stored->max_lifetime.value_or(0) == 2 * kHour);
}

BOOST_FIXTURE_TEST_CASE(the_issuers_of_a_key_are_covered_by_its_mac, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  Result<KeyInfo> partner = ring->Import(PeerSigKey(1, {"partner"}), kT0, "admin");
  BOOST_REQUIRE(partner.has_value());
  ring.reset();
  {
    // Someone with the file but not the master key lets the partner sign in our name.
    Result<Db> db = Db::Open(path, SQLITE_OPEN_READWRITE);
    BOOST_REQUIRE(db.has_value());
    Result<Stmt> s = db->Prepare("UPDATE keys SET issuers = ?2 WHERE kid = ?1");
    BOOST_REQUIRE(s.has_value());
    s->Bind(1, std::string_view(partner->kid))
        .Bind(2, std::string_view(R"(["partner","instructure:inst_access"])"));
    BOOST_REQUIRE(s->Run().ok());
  }
  Reopen();
  auto ks = Snap();
  BOOST_TEST(ks->FindVerify(partner->kid) == nullptr);
  BOOST_TEST(ks->tampered_rows == 1u);
}

BOOST_FIXTURE_TEST_CASE(rows_of_an_older_schema_keep_their_macs, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  const std::string sig = Snap()->active_sig->kid();
  ring.reset();
  {
    // The store as schema 3 left it: no v4 columns.
    Result<Db> db = Db::Open(path, SQLITE_OPEN_READWRITE);
    BOOST_REQUIRE(db.has_value());
    for (const char* sql :
         {"ALTER TABLE keys DROP COLUMN issuers", "ALTER TABLE keys DROP COLUMN max_lifetime",
          "ALTER TABLE keys DROP COLUMN pin", "PRAGMA user_version = 3"}) {
      BOOST_REQUIRE_MESSAGE(db->Exec(sql).ok(), sql);
    }
  }
  Reopen();
  auto ks = Snap();
  BOOST_TEST(ks->tampered_rows == 0u);
  BOOST_TEST(ks->problems.empty());
  BOOST_TEST(ks->active_sig->kid() == sig);
  ring.reset();
  Result<Db> db = Db::Open(path, SQLITE_OPEN_READWRITE);
  BOOST_REQUIRE(db.has_value());
  Result<std::int64_t> version = db->QueryInt("PRAGMA user_version");
  BOOST_REQUIRE_MESSAGE(version.has_value(), version.status().ToString());
  BOOST_TEST(*version == kSchemaVersion);
}

BOOST_FIXTURE_TEST_CASE(a_peer_key_from_before_issuer_binding_vouches_for_nothing, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  ring.reset();
  const jose::RsaKey old = KeyPool::Get().Key(1, jose::Alg::kRS256);
  testing::InsertLegacyPeerKey(path, testing::FixedMasterKey(1), "old-partner", old, "", kT0);
  Reopen();
  auto ks = Snap();
  BOOST_TEST(ks->tampered_rows == 0u);
  bool found = false;
  for (std::size_t k = 0; k < ks->verify.size(); ++k) {
    if (ks->verify[k].kid() != "old-partner") continue;
    found = true;
    BOOST_TEST(ks->verify_bounds[k].issuers.empty());  // never our issuer by default
  }
  BOOST_TEST(found);
  BOOST_TEST(ks->problems.size() == 1u);
  BOOST_TEST(ks->problems.at(0).find("old-partner is bound to no issuer") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(one_modulus_is_one_key, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  Result<KeyInfo> first = ring->Import(PeerSigKey(1, {"partner"}), kT0, "admin");
  BOOST_REQUIRE(first.has_value());
  // The same modulus under another kid, and as the other purpose.
  ImportRequest renamed = PeerSigKey(1, {"partner"});
  (*renamed.jwk)["kid"] = "another-name";
  Result<KeyInfo> again = ring->Import(renamed, kT0, "admin");
  BOOST_REQUIRE(!again.has_value());
  BOOST_TEST((again.error().code() == Code::kAlreadyExists));
  BOOST_TEST(again.error().message().find(first->kid) != std::string::npos);
  BOOST_TEST((ring->Import(PeerEncKey(1), kT0, "admin").error().code() == Code::kAlreadyExists));
  // Revoked: still refused; a generated key's modulus too.
  BOOST_REQUIRE(ring->Revoke(first->kid, kT0 + 1, "admin").has_value());
  BOOST_TEST((ring->Import(renamed, kT0 + 2, "admin").error().code() == Code::kAlreadyExists));
  ImportRequest generated;
  generated.purpose = Purpose::kSig;
  generated.jwk = Snap()->active_sig->PublicJwk();
  (*generated.jwk)["kid"] = "copy-of-ours";
  generated.issuers = std::vector<std::string>{"partner"};
  BOOST_TEST((ring->Import(generated, kT0 + 2, "admin").error().code() == Code::kAlreadyExists));
}

BOOST_FIXTURE_TEST_CASE(kids_follow_the_kid_rule, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  ImportRequest odd = PeerSigKey(1, {"partner"});
  (*odd.jwk)["kid"] = "abc+/=";
  Result<KeyInfo> refused = ring->Import(odd, kT0, "admin");
  BOOST_REQUIRE(!refused.has_value());
  BOOST_TEST((refused.error().code() == Code::kInvalidArgument));
  BOOST_TEST(refused.error().message().find("give \"kid\"") != std::string::npos);
  odd.kid = "partner-2026.12~a_b";
  Result<KeyInfo> renamed = ring->Import(odd, kT0, "admin");
  BOOST_REQUIRE_MESSAGE(renamed.has_value(), renamed.status().ToString());
  BOOST_TEST(renamed->kid == "partner-2026.12~a_b");
  BOOST_TEST(Snap()->FindVerify("partner-2026.12~a_b") != nullptr);
  ImportRequest bad_name = PeerSigKey(2, {"partner"});
  for (std::string kid : {std::string(""), std::string(129, 'k'), std::string("a b"),
                          std::string("k\n"), std::string("caf\xc3\xa9")}) {
    bad_name.kid = kid;
    BOOST_TEST(!ring->Import(bad_name, kT0, "admin").has_value());
  }
  BOOST_TEST(IsValidKid(std::string(128, 'k')));
  BOOST_TEST(!IsValidKid(std::string(129, 'k')));
}

BOOST_FIXTURE_TEST_CASE(keys_over_4096_bits_are_refused, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  // A public key's modulus is only parsed, never factored: any odd 4104-bit number will do.
  std::vector<std::uint8_t> n(4104 / 8, 0xa5);
  n.front() = 0xc1;
  n.back() = 0x01;
  ImportRequest big;
  big.purpose = Purpose::kSig;
  big.jwk = nlohmann::json{{"kty", "RSA"},
                           {"n", jose::Base64UrlEncode(n)},
                           {"e", "AQAB"},
                           {"kid", "big"},
                           {"alg", "RS256"}};
  big.issuers = std::vector<std::string>{"partner"};
  Result<KeyInfo> r = ring->Import(big, kT0, "admin");
  BOOST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error().code() == Code::kInvalidArgument));
  BOOST_TEST(r.error().message().find("4096") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(a_pinned_key_is_never_rotated_by_the_schedule, RingFixture) {
  BOOST_REQUIRE(ring->ApplyDue(kT0, "scheduler").has_value());
  // Canvas's static encryption key pair, as a stock Canvas holds it.
  ImportRequest canvas;
  canvas.purpose = Purpose::kEnc;
  canvas.pem = testing::PrivatePem(4);
  canvas.alg = jose::Alg::kRsaOaep;
  canvas.activate = true;
  canvas.pin = true;
  Result<KeyInfo> pinned = ring->Import(canvas, kT0 + 1, "admin");
  BOOST_REQUIRE_MESSAGE(pinned.has_value(), pinned.status().ToString());
  BOOST_TEST(pinned->pin);
  // Months pass, with restarts: still the active key, no successor generated.
  for (int month = 1; month <= 3; ++month) {
    Reopen();
    BOOST_REQUIRE(ring->ApplyDue(kT0 + month * 30 * kDay, "scheduler").has_value());
    BOOST_TEST(Snap()->active_enc->kid() == pinned->kid);
    BOOST_TEST(Info(pinned->kid).pin);
    BOOST_TEST(testing::CountState(*Snap(), Purpose::kEnc, KeyState::kPending) == 0);
  }
  // An admin's rotate ends it like any other key: retired, then destroyed after its lifetime.
  const UnixTime rotated_at = kT0 + 90 * kDay + 1;
  BOOST_REQUIRE(ring->Rotate(Purpose::kEnc, rotated_at, "admin").has_value());
  BOOST_TEST((Info(pinned->kid).state == KeyState::kRetired));
  for (UnixTime t = rotated_at; t <= rotated_at + 2 * kHour; t += kHour / 2) {
    BOOST_REQUIRE(ring->ApplyDue(t, "scheduler").has_value());
  }
  BOOST_TEST((Info(pinned->kid).state == KeyState::kDestroyed));
}

BOOST_AUTO_TEST_CASE(rotation_off_keeps_the_active_key) {
  testing::TempDir dir;
  testing::PoolFactory pool{10};
  SqliteKeyringOptions o = testing::Options(dir / "keys.db", pool);
  o.schedule.enc.period = kRotationOff;
  auto ring = SqliteKeyring::Open(o, testing::FixedMasterKey(1));
  BOOST_REQUIRE(ring.has_value());
  BOOST_REQUIRE((*ring)->ApplyDue(kT0, "scheduler").has_value());
  const std::string enc = (*ring)->Snapshot()->active_enc->kid();
  const std::string sig = (*ring)->Snapshot()->active_sig->kid();
  for (UnixTime t = kT0; t <= kT0 + 30 * kHour; t += kHour / 2) {
    BOOST_REQUIRE((*ring)->ApplyDue(t, "scheduler").has_value());
  }
  auto ks = (*ring)->Snapshot();
  BOOST_TEST(ks->active_enc->kid() == enc);
  BOOST_TEST(ks->active_sig->kid() != sig);  // the other purpose rotates as configured
  BOOST_TEST(testing::CountState(*ks, Purpose::kEnc, KeyState::kPending) == 0);
  BOOST_TEST(o.schedule.Validate().ok());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::keystore
