// Checks under valgrind's memcheck that decoding a private key member (Base64UrlDecodeSecret's
// core) neither branches on its characters nor reads memory at an address they pick: the text is
// marked undefined, and memcheck counts every jump, conditional move and address computed from
// undefined bytes. Two controls, a table lookup and a branch keyed by the text, must each be
// counted, so a harness that sees nothing cannot pass.
//
// The decoder is compiled at -O2 here (see CMakeLists.txt), as the daemon ships it: the optimizer
// is what could turn arithmetic back into branches. Exits 0 only when every check holds; ctest
// runs it under valgrind, and it refuses to run outside it.
#include <valgrind/memcheck.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "jose/base64url.h"

namespace {

using instaccess::jose::Base64UrlEncode;
using instaccess::jose::internal::DecodeSecretInto;

unsigned Errors() { return VALGRIND_COUNT_ERRORS; }

volatile std::uint8_t g_table[256];  // the controls read and branch here, volatile so they stay

// Decodes `bytes`' encoding with the text marked undefined; false (and a message) when memcheck
// saw the text used, or the bytes came back wrong.
bool DecodesBlind(const std::vector<std::uint8_t>& bytes) {
  std::string text = Base64UrlEncode(bytes);
  std::vector<std::uint8_t> out(bytes.size());
  VALGRIND_MAKE_MEM_UNDEFINED(text.data(), text.size());
  const unsigned before = Errors();
  std::uint32_t bad = DecodeSecretInto(text, out);
  const unsigned uses = Errors() - before;
  VALGRIND_MAKE_MEM_DEFINED(&bad, sizeof bad);
  VALGRIND_MAKE_MEM_DEFINED(out.data(), out.size());
  if (uses != 0) {
    std::fprintf(stderr, "FAIL: %zu bytes: memcheck saw the text used %u times (above)\n",
                 bytes.size(), uses);
    return false;
  }
  if (bad != 0 || out != bytes) {
    std::fprintf(stderr, "FAIL: %zu bytes: decoded wrongly\n", bytes.size());
    return false;
  }
  return true;
}

// The harness must see what it is there to catch: a table lookup and a branch keyed by the text.
bool ControlsAreSeen() {
  std::string text = "Zm9vYmFy";
  VALGRIND_MAKE_MEM_UNDEFINED(text.data(), text.size());
  const unsigned start = Errors();
  std::uint8_t sink = g_table[static_cast<unsigned char>(text[0])];
  const unsigned after_lookup = Errors();
  if (text[1] == 'm') g_table[0] = sink;
  const unsigned after_branch = Errors();
  VALGRIND_MAKE_MEM_DEFINED(text.data(), text.size());
  if (after_lookup == start || after_branch == after_lookup) {
    std::fprintf(stderr, "FAIL: memcheck did not see a control (lookup %u, branch %u)\n",
                 after_lookup - start, after_branch - after_lookup);
    return false;
  }
  std::fprintf(stderr, "the two reports above are the controls, expected\n");
  return true;
}

}  // namespace

int main() {
  if (!RUNNING_ON_VALGRIND) {
    std::fprintf(stderr, "run under valgrind: valgrind --quiet %s\n", "base64url_constant_time_check");
    return 2;
  }
  bool ok = ControlsAreSeen();
  // Every tail length, and the sizes of a 2048- and 4096-bit key's members ("d" and "p").
  const std::size_t sizes[] = {0, 1, 2, 3, 4, 5, 128, 256, 512};
  for (std::size_t size : sizes) {
    std::vector<std::uint8_t> bytes(size);
    for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(i * 167 + 13);
    ok = DecodesBlind(bytes) && ok;
  }
  ok = ControlsAreSeen() && ok;  // still seen when the same sites report again
  if (ok) std::fprintf(stderr, "PASS: the secret decoder never used the text it decoded\n");
  return ok ? 0 : 1;
}
