// Checks under valgrind's memcheck that the code handling secret bytes neither branches on them
// nor reads memory at an address they pick (docs/tokens.md):
// - what UnwrapCek does after the RSA private operation (cek_block.h): the RSA1_5 or RSA-OAEP
//   decoding of the block (pkcs1.h, oaep.h, with OpenSSL's SHA-1 and SHA-256 inside) and the
//   choice between the real CEK and the stand-in, on good blocks and on each kind of bad one, so
//   that a padding oracle has nothing to time;
// - the base64url decoder of private JWK members (base64url.h).
// The secret is marked undefined, and memcheck counts every jump, conditional move and address
// computed from undefined bytes. Two controls, a table lookup and a branch keyed by a secret,
// must each be counted, so a harness that sees nothing cannot pass.
//
// The code under test is compiled at -O2 into this program (see CMakeLists.txt), as the daemon
// ships it: the optimizer is what could turn masks back into branches. Exits 0 only when every
// check holds; ctest runs it under valgrind, and it refuses to run outside it.
#include <valgrind/memcheck.h>

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "jose/base64url.h"
#include "jose/cek_block.h"
#include "jose/oaep.h"

namespace instaccess::jose::internal {
namespace {

using Bytes = std::vector<std::uint8_t>;

unsigned Errors() { return VALGRIND_COUNT_ERRORS; }

template <typename T>
void Declassify(T& value) {
  VALGRIND_MAKE_MEM_DEFINED(&value, sizeof value);
}
void Declassify(std::span<std::uint8_t> bytes) {
  VALGRIND_MAKE_MEM_DEFINED(bytes.data(), bytes.size());
}

// Runs `work` with `secret` marked undefined; false (and a message) when memcheck saw it used.
// `work` must not branch on what it computes: the caller declassifies results afterwards.
template <typename Work>
bool Blind(const char* what, std::span<std::uint8_t> secret, Work&& work) {
  VALGRIND_MAKE_MEM_UNDEFINED(secret.data(), secret.size());
  const unsigned before = Errors();
  work();
  const unsigned uses = Errors() - before;
  Declassify(secret);
  if (uses != 0) {
    std::fprintf(stderr, "FAIL: %s: memcheck saw the secret used %u times\n", what, uses);
  }
  return uses == 0;
}

bool Expect(bool ok, const char* what) {
  if (!ok) std::fprintf(stderr, "FAIL: %s\n", what);
  return ok;
}

volatile std::uint8_t g_table[256];  // the controls read and branch here, volatile so they stay

// The harness must see what it is there to catch: a table lookup and a branch keyed by a secret.
bool ControlsAreSeen() {
  std::uint8_t secret[2] = {7, 9};
  VALGRIND_MAKE_MEM_UNDEFINED(secret, sizeof secret);
  const unsigned start = Errors();
  const std::uint8_t sink = g_table[secret[0]];
  const unsigned after_lookup = Errors();
  if (secret[1] == 9) g_table[0] = sink;
  const unsigned after_branch = Errors();
  VALGRIND_MAKE_MEM_DEFINED(secret, sizeof secret);
  std::fprintf(stderr, "(the two reports above are the controls, expected)\n");
  return Expect(after_lookup != start && after_branch != after_lookup,
                "memcheck did not see a control lookup or branch");
}

// A k-byte RSAES-PKCS1-v1_5 block around `message`: 00 02 PS 00 M, PS non-zero.
Bytes Pkcs1Block(std::size_t k, const Bytes& message) {
  Bytes em(k);
  em[1] = 2;
  for (std::size_t i = 2; i < k - message.size() - 1; ++i) {
    em[i] = static_cast<std::uint8_t>(1 + i % 255);
  }
  std::copy(message.begin(), message.end(), em.end() - static_cast<std::ptrdiff_t>(message.size()));
  return em;
}

// One secret block through SelectCekFromBlock: the block blind, then the CEK it chose must be the
// real one exactly when `want_real`, the stand-in otherwise.
bool SelectsBlind(const std::string& what, Bytes em, const EVP_MD* md, const Bytes& cek,
                  bool want_real) {
  const Bytes fallback(cek.size(), 0xee);
  Bytes out(cek.size());
  std::uint32_t good = 0;
  bool ok = Blind(what.c_str(), em, [&] { good = SelectCekFromBlock(em, md, ~0u, fallback, out); });
  Declassify(good);
  Declassify(std::span(out));
  ok = Expect(good == (want_real ? ~0u : 0u), (what + ": wrong verdict").c_str()) && ok;
  return Expect(out == (want_real ? cek : fallback), (what + ": wrong CEK").c_str()) && ok;
}

bool Pkcs1SelectsBlind() {
  const Bytes cek(32, 0xa5);
  const std::size_t k = 256;
  const std::size_t sep = k - cek.size() - 1;
  struct Case {
    const char* name;
    std::size_t at;  // byte to set, or k for none
    std::uint8_t value;
  };
  const Case cases[] = {{"first byte not zero", 0, 1},
                        {"block type not 2", 1, 1},
                        {"zero inside the padding (a shorter message)", sep - 5, 0},
                        {"separator not zero (a longer message)", sep, 3}};
  bool ok = SelectsBlind("RSA1_5, good block", Pkcs1Block(k, cek), nullptr, cek, true);
  for (const Case& c : cases) {
    Bytes em = Pkcs1Block(k, cek);
    em[c.at] = c.value;
    ok = SelectsBlind(std::string("RSA1_5, ") + c.name, em, nullptr, cek, false) && ok;
  }
  return ok;
}

bool OaepSelectsBlind(const std::string& name, const EVP_MD* md) {
  const Bytes cek(32, 0x3c);
  const Bytes seed(static_cast<std::size_t>(EVP_MD_get_size(md)), 0x5a);
  Bytes good(256);
  if (!Expect(OaepEncode(cek, seed, md, good), "OaepEncode")) return false;
  bool ok = SelectsBlind(name + ", good block", good, md, cek, true);
  // A byte broken in each field: the leading zero, the masked seed, the masked DB (lHash, padding
  // or separator after unmasking), the message.
  const std::size_t broken[] = {0, 5, 60, 200, 250};
  for (std::size_t at : broken) {
    Bytes em = good;
    em[at] ^= 0x40;
    ok = SelectsBlind(name + ", byte " + std::to_string(at) + " broken", em, md, cek, false) && ok;
  }
  // The right block taken for a message of another length: a zero where the separator should be.
  return SelectsBlind(name + ", read for 16 bytes", good, md, Bytes(cek.begin(), cek.begin() + 16),
                      false) &&
         ok;
}

bool Base64UrlDecodesBlind() {
  bool ok = true;
  // Every tail length, and the sizes of a 2048- and 4096-bit key's members ("d", "p").
  const std::size_t sizes[] = {0, 1, 2, 3, 4, 5, 128, 256, 512};
  for (std::size_t size : sizes) {
    Bytes bytes(size);
    for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(i * 167 + 13);
    std::string text = Base64UrlEncode(bytes);
    Bytes out(size);
    std::uint32_t bad = 1;
    ok = Blind("base64url secret decode",
               {reinterpret_cast<std::uint8_t*>(text.data()), text.size()},
               [&] { bad = DecodeSecretInto(text, out); }) &&
         ok;
    Declassify(bad);
    Declassify(out);
    ok = Expect(bad == 0 && out == bytes, "base64url secret decode: wrong bytes") && ok;
  }
  return ok;
}

}  // namespace
}  // namespace instaccess::jose::internal

int main() {
  using namespace instaccess::jose::internal;
  if (!RUNNING_ON_VALGRIND) {
    std::fprintf(stderr, "run under valgrind: valgrind --quiet jose_constant_time_check\n");
    return 2;
  }
  bool ok = ControlsAreSeen();
  ok = Pkcs1SelectsBlind() && ok;
  ok = OaepSelectsBlind("RSA-OAEP (SHA-1)", EVP_sha1()) && ok;
  ok = OaepSelectsBlind("RSA-OAEP-256", EVP_sha256()) && ok;
  ok = Base64UrlDecodesBlind() && ok;
  ok = ControlsAreSeen() && ok;  // still seen when the same sites report again
  if (ok) std::fprintf(stderr, "PASS: no branch or address depended on a secret\n");
  return ok ? 0 : 1;
}
