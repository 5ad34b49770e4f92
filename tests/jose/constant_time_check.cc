// Checks under valgrind's memcheck that the code handling secret bytes neither branches on them
// nor reads memory at an address they pick (DESIGN.md §2):
// - the RSA1_5 and RSA-OAEP decoders of an unwrapped key block (pkcs1.h, oaep.h), on good blocks
//   and on each kind of bad one, so that a padding oracle has nothing to time;
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
#include "jose/oaep.h"
#include "jose/pkcs1.h"

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
  if (uses != 0) std::fprintf(stderr, "FAIL: %s: memcheck saw the secret used %u times\n", what, uses);
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
  for (std::size_t i = 2; i < k - message.size() - 1; ++i) em[i] = static_cast<std::uint8_t>(1 + i % 255);
  std::copy(message.begin(), message.end(), em.end() - static_cast<std::ptrdiff_t>(message.size()));
  return em;
}

bool Pkcs1DecodesBlind() {
  const Bytes cek(32, 0xa5);
  const std::size_t k = 256;
  const std::size_t sep = k - cek.size() - 1;
  struct Case {
    const char* name;
    std::size_t at;  // byte to set, or k for none
    std::uint8_t value;
    std::uint32_t want;
  };
  const Case cases[] = {{"pkcs1 good block", k, 0, ~0u},
                        {"pkcs1 first byte not zero", 0, 1, 0},
                        {"pkcs1 block type not 2", 1, 1, 0},
                        {"pkcs1 zero inside the padding (a shorter message)", sep - 5, 0, 0},
                        {"pkcs1 separator not zero (a longer message)", sep, 3, 0}};
  bool ok = true;
  for (const Case& c : cases) {
    Bytes em = Pkcs1Block(k, cek);
    if (c.at < k) em[c.at] = c.value;
    std::uint32_t mask = 0;
    ok = Blind(c.name, em, [&] { mask = Pkcs1Type2Mask(em, cek.size()); }) && ok;
    Declassify(mask);
    ok = Expect(mask == c.want, c.name) && ok;
  }
  return ok;
}

bool OaepDecodesBlind(const char* name, const EVP_MD* md) {
  const Bytes cek(16, 0x3c);
  const Bytes seed(static_cast<std::size_t>(EVP_MD_get_size(md)), 0x5a);
  Bytes good(256);
  if (!Expect(OaepEncode(cek, seed, md, good), "OaepEncode")) return false;
  bool ok = true;
  // The good block, then a byte broken in each field: the leading zero, the masked seed, the
  // masked DB (lHash, padding or separator after unmasking), the message.
  for (std::size_t at : {std::size_t{256}, std::size_t{0}, std::size_t{5}, std::size_t{60},
                         std::size_t{200}, std::size_t{250}}) {
    Bytes em = good;
    if (at < em.size()) em[at] ^= 0x40;
    std::uint32_t mask = 0;
    ok = Blind(name, em, [&] { mask = OaepDecodeMask(em, cek.size(), md); }) && ok;
    Declassify(mask);
    ok = Expect(mask == (at < em.size() ? 0u : ~0u), name) && ok;
    if (at >= em.size()) ok = Expect(Bytes(em.end() - 16, em.end()) == cek, name) && ok;
  }
  // The right block read for a message of another length: a zero where the separator should be.
  Bytes em = good;
  std::uint32_t mask = ~0u;
  ok = Blind(name, em, [&] { mask = OaepDecodeMask(em, 32, md); }) && ok;
  Declassify(mask);
  return Expect(mask == 0, name) && ok;
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
  ok = Pkcs1DecodesBlind() && ok;
  ok = OaepDecodesBlind("oaep sha-1 (RSA-OAEP)", EVP_sha1()) && ok;
  ok = OaepDecodesBlind("oaep sha-256 (RSA-OAEP-256)", EVP_sha256()) && ok;
  ok = Base64UrlDecodesBlind() && ok;
  ok = ControlsAreSeen() && ok;  // still seen when the same sites report again
  if (ok) std::fprintf(stderr, "PASS: no branch or address depended on a secret\n");
  return ok ? 0 : 1;
}
