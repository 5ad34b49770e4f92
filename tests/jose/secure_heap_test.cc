// Threads' copies of keys never take the last of OpenSSL's secure heap (key_context.h): with less
// than kCopyHeadroom free in one block, a new thread makes no copy, yet signs, verifies, wraps and
// unwraps with the key every thread shares and leaves no error behind; once room is back, it
// makes its copy after kCopyRetryAfter operations.
// Its own process: the secure heap is process-wide, made once, and must exist before the keys.
#include <openssl/crypto.h>
#include <openssl/err.h>

#include <array>
#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <cstdint>
#include <thread>

#include "jose/jwe.h"
#include "jose/jws.h"
#include "jose/key_context.h"

namespace instaccess::jose {
namespace {

// Two halves of kCopyHeadroom: the keys take room in one, the test takes the other whole.
constexpr std::size_t kHeapBytes = 2 * internal::kCopyHeadroom;
constexpr std::size_t kMinChunk = 16;

// What one new thread sees of a key: whether the two contexts it asks for (both alive at once)
// are one kept context (its own copy of the key) or two copies of the shared one.
struct ThreadView {
  int slot = -1;
  bool got_contexts = false;
  bool own_copy = false;
};

ThreadView ViewFromNewThread(const RsaKey& key) {
  ThreadView v;
  std::thread([&] {
    v.slot = internal::ThisThreadContextSlot();
    const KeyOpContext a = key.ContextFor(KeyOp::kSign);
    const KeyOpContext b = key.ContextFor(KeyOp::kSign);
    v.got_contexts = a && b;
    v.own_copy = a.get() == b.get();
  }).join();
  return v;
}

// Makes the process's secure heap at the first call. 1: made and locked; 2: made but not locked
// (a low RLIMIT_MEMLOCK), which fills the same way; 0: none.
int MakeSecureHeap() {
  static const int made = CRYPTO_secure_malloc_init(kHeapBytes, kMinChunk);
  return made;
}

BOOST_AUTO_TEST_SUITE(secure_heap)

BOOST_AUTO_TEST_CASE(key_copies_leave_room_and_a_thread_without_one_uses_the_shared_key) {
  BOOST_REQUIRE(MakeSecureHeap() != 0);
  auto sig = RsaKey::Generate(2048, Alg::kRS256);
  auto enc = RsaKey::Generate(2048, Alg::kRsaOaep);
  auto later = RsaKey::Generate(2048, Alg::kRS256);
  const std::size_t before_last_key = CRYPTO_secure_used();
  auto control = RsaKey::Generate(2048, Alg::kRS256);
  BOOST_REQUIRE(sig && enc && later && control);
  // The premise: private parts live in the secure heap, so a copy would take room there.
  BOOST_REQUIRE(CRYPTO_secure_used() > before_last_key);

  // While a whole kCopyHeadroom block is free, a thread keeps a copy of its own, in the heap.
  const std::size_t before_control = CRYPTO_secure_used();
  const ThreadView with_room = ViewFromNewThread(*control);
  BOOST_TEST(with_room.slot >= 0);
  BOOST_TEST(with_room.got_contexts);
  BOOST_TEST(with_room.own_copy);
  BOOST_TEST(CRYPTO_secure_used() > before_control);

  // Take the untouched half: what is left is less than kCopyHeadroom, in the keys' half.
  void* half = CRYPTO_secure_malloc(kHeapBytes / 2, OPENSSL_FILE, OPENSSL_LINE);
  BOOST_REQUIRE_MESSAGE(half != nullptr,
                        "OpenSSL's buddy allocator put the keys in both halves of the heap");
  const std::size_t before = CRYPTO_secure_used();

  const ThreadView without_room = ViewFromNewThread(*sig);
  BOOST_TEST(without_room.slot >= 0);  // with a slot, it would have kept a copy
  BOOST_TEST(without_room.got_contexts);
  BOOST_TEST(!without_room.own_copy);

  bool signed_and_verified = false;
  bool wrapped_and_unwrapped = false;
  unsigned long error_left = 1;
  std::thread([&] {
    const std::array<const RsaKey, 1> verifiers{*sig};
    auto jws = SignJws(*sig, nullptr, "payload");
    signed_and_verified = jws && VerifyJws(*jws, verifiers);
    const std::array<const RsaKey, 1> decrypters{*enc};
    auto jwe = EncryptJwe(*enc, ContentEnc::kA128CbcHs256, nullptr, "plaintext");
    if (jwe) {
      auto opened = DecryptJwe(*jwe, decrypters);
      wrapped_and_unwrapped = opened && opened->plaintext == "plaintext";
    }
    error_left = ERR_peek_error();
  }).join();
  BOOST_TEST(signed_and_verified);
  BOOST_TEST(wrapped_and_unwrapped);
  BOOST_TEST(error_left == 0u);
  // No copy stayed behind in the heap (the threads' generators went with them).
  BOOST_TEST(CRYPTO_secure_used() == before);

  // Room comes back (old keys destroyed, say): one thread finds none, then finds it again.
  int retry_slot = -1;
  std::size_t after_waiting = 0;
  std::size_t after_retry = 0;
  std::thread([&] {
    retry_slot = internal::ThisThreadContextSlot();
    later->ContextFor(KeyOp::kSign);  // no room: no copy, and none tried for a while
    CRYPTO_secure_free(half, OPENSSL_FILE, OPENSSL_LINE);
    const std::size_t room_back = CRYPTO_secure_used();
    for (std::uint32_t n = 0; n < internal::kCopyRetryAfter; ++n) later->ContextFor(KeyOp::kSign);
    after_waiting = CRYPTO_secure_used() - room_back;
    later->ContextFor(KeyOp::kSign);  // tries again, and copies
    after_retry = CRYPTO_secure_used() - room_back;
  }).join();
  BOOST_TEST(retry_slot >= 0);
  BOOST_TEST(after_waiting == 0u);
  BOOST_TEST(after_retry > 0u);
}

// kCopyHeadroom's arithmetic (key_context.h) rests on what a copy of the largest key takes.
BOOST_AUTO_TEST_CASE(a_copy_of_a_generated_rsa_4096_key_fits_its_allowance) {
  BOOST_REQUIRE(MakeSecureHeap() != 0);
  auto key = RsaKey::Generate(4096, Alg::kRS256);
  BOOST_REQUIRE(key);
  const std::size_t before = CRYPTO_secure_used();
  const EvpPkeyPtr copy(EVP_PKEY_dup(key->pkey()));
  BOOST_REQUIRE(copy);
  const std::size_t taken = CRYPTO_secure_used() - before;
  BOOST_TEST(taken > 0u);  // the private numbers are in the secure heap
  BOOST_TEST(taken <= internal::kLargestKeyCopy);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::jose
