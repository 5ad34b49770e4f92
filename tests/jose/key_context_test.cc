// The contexts RSA operations use (key_context.h): each thread with a slot keeps its own, a
// thread without one works on a copy, slots go back when their thread ends, and a key shared by
// many threads at once gives every one of them right answers.
#include "jose/key_context.h"

#include <openssl/err.h>

#include <algorithm>
#include <array>
#include <barrier>
#include <boost/test/unit_test.hpp>
#include <functional>
#include <set>
#include <thread>
#include <vector>

#include "jose/jwe.h"
#include "jose/jws.h"
#include "test_util.h"

namespace instaccess::jose {
namespace {

using testing::Keys;

// Runs `body` on a thread of its own and waits for it.
void OnNewThread(const std::function<void()>& body) { std::thread(body).join(); }

BOOST_AUTO_TEST_SUITE(key_context)

BOOST_AUTO_TEST_CASE(a_thread_keeps_its_context_and_another_thread_has_its_own) {
  const RsaKey& key = Keys().rs256;
  EVP_PKEY_CTX* first = nullptr;
  EVP_PKEY_CTX* again = nullptr;
  EVP_PKEY_CTX* other = nullptr;
  OnNewThread([&] {
    BOOST_REQUIRE(internal::ThisThreadContextSlot() >= 0);
    // Both alive at once: copies made per operation could not have the same address.
    const KeyOpContext a = key.ContextFor(KeyOp::kSign);
    const KeyOpContext b = key.ContextFor(KeyOp::kSign);
    first = a.get();
    again = b.get();
    // Held by this thread while the other one runs, so the two cannot share a slot.
    OnNewThread([&] { other = key.ContextFor(KeyOp::kSign).get(); });
  });
  BOOST_TEST(first != nullptr);
  BOOST_TEST(first == again);
  BOOST_TEST(other != nullptr);
  BOOST_TEST(other != first);
  // A context is for one operation: a signing key has none for decryption.
  BOOST_TEST(!key.ContextFor(KeyOp::kDecrypt));
  BOOST_TEST(!Keys().oaep.ContextFor(KeyOp::kSign));
}

// Whatever OpenSSL raises on the way to a context that works must not stay in the thread's error
// queue, where a later failure's message would pick it up.
BOOST_AUTO_TEST_CASE(preparing_contexts_leaves_no_error_behind) {
  for (const Alg alg : {Alg::kRS256, Alg::kPS256, Alg::kRsaOaep, Alg::kRsaOaep256, Alg::kRsa1_5}) {
    auto key = RsaKey::Generate(2048, alg);
    BOOST_REQUIRE(key);
    const bool sig = key->use() == Use::kSig;
    for (const KeyOp op : sig ? std::array{KeyOp::kSign, KeyOp::kVerify}
                              : std::array{KeyOp::kEncrypt, KeyOp::kDecrypt}) {
      ERR_clear_error();
      BOOST_TEST(static_cast<bool>(key->ContextFor(op)));
      BOOST_TEST(ERR_peek_error() == 0u, AlgName(alg) << " op " << static_cast<int>(op));
    }
  }
}

BOOST_AUTO_TEST_CASE(slots_go_back_when_their_threads_end) {
  // Far more threads than slots, one after another: each finds a slot free.
  for (std::size_t i = 0; i < 4 * internal::kContextSlots; ++i) {
    int slot = -1;
    OnNewThread([&] { slot = internal::ThisThreadContextSlot(); });
    BOOST_TEST(slot >= 0);
  }
}

// More threads at once than there are slots, all on the same keys: those without a slot work on
// copies, and every signature verifies and every CEK unwraps, whichever thread made it.
BOOST_AUTO_TEST_CASE(threads_beyond_the_slots_share_keys_and_get_right_answers) {
  const std::size_t n = internal::kContextSlots + 4;
  const std::array<std::uint8_t, 32> cek{7, 7, 7};
  auto wrapped = WrapCek(Keys().oaep, cek);
  BOOST_REQUIRE(wrapped);
  std::barrier all_started(static_cast<std::ptrdiff_t>(n));
  std::vector<int> slots(n, -2);
  std::vector<int> failures(n, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      slots[t] = internal::ThisThreadContextSlot();
      all_started.arrive_and_wait();  // every thread holds its slot (or has none) from here on
      for (int i = 0; i < 3; ++i) {
        const std::string input = "thread " + std::to_string(t) + " round " + std::to_string(i);
        auto signature = SignRaw(Keys().rs256, input);
        failures[t] += !signature || !VerifyRaw(Keys().rs256, input, *signature);
        Cek out;
        UnwrapCek(Keys().oaep, *wrapped, cek.size(), &out);
        failures[t] += !std::equal(cek.begin(), cek.end(), out.bytes.begin());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  // Threads alive at once never share a slot, and some found none free.
  std::multiset<int> held;
  for (int slot : slots) {
    if (slot >= 0) held.insert(slot);
  }
  BOOST_TEST(std::set<int>(held.begin(), held.end()).size() == held.size());
  BOOST_TEST(held.size() < n);
  BOOST_TEST(std::count(slots.begin(), slots.end(), -2) == 0);
  for (std::size_t t = 0; t < n; ++t) BOOST_TEST(failures[t] == 0, "thread " << t);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::jose
