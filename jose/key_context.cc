#include "jose/key_context.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <atomic>
#include <bit>
#include <cstdint>

#include "jose/openssl_algs.h"

namespace instaccess::jose::internal {

namespace {

static_assert(kContextSlots < 32, "the slots held are the bits of one 32-bit word");
constexpr std::uint32_t kAllSlots = (std::uint32_t{1} << kContextSlots) - 1;

// Bit i set: slot i is held by a live thread. The release when a thread ends publishes what it
// wrote into its slot's contexts to the acquire of the next thread that takes the slot.
std::atomic<std::uint32_t> g_slots_held{0};

class ContextSlot {
 public:
  ContextSlot() {
    std::uint32_t held = g_slots_held.load(std::memory_order_relaxed);
    for (;;) {
      const std::uint32_t free = ~held & kAllSlots;
      if (free == 0) return;
      const int i = std::countr_zero(free);
      if (g_slots_held.compare_exchange_weak(held, held | (std::uint32_t{1} << i),
                                             std::memory_order_acquire,
                                             std::memory_order_relaxed)) {
        index_ = i;
        return;
      }
    }
  }
  ~ContextSlot() {
    if (index_ >= 0) {
      g_slots_held.fetch_and(~(std::uint32_t{1} << index_), std::memory_order_release);
    }
    index_ = -1;  // a later thread-local destructor of this thread must not use the slot
  }
  ContextSlot(const ContextSlot&) = delete;
  ContextSlot& operator=(const ContextSlot&) = delete;
  int index() const { return index_; }

 private:
  int index_ = -1;
};

// PS256 per RFC 7518 §3.5: MGF1 with SHA-256 and a salt as long as the hash (jwcrypto, json-jwt
// and OpenSSL's "digest" length all agree on 32).
bool ConfigureSignature(EVP_PKEY_CTX* ctx, Alg alg) {
  if (EVP_PKEY_CTX_set_signature_md(ctx, Sha256()) != 1) return false;
  if (alg == Alg::kRS256) return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1;
  return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, Sha256()) == 1;
}

bool ConfigureKeyTransport(EVP_PKEY_CTX* ctx, Alg alg, KeyOp op) {
  switch (alg) {
    case Alg::kRsaOaep:
    case Alg::kRsaOaep256:
      return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1;  // oaep.h encodes, decodes
    case Alg::kRsa1_5:
      return EVP_PKEY_CTX_set_rsa_padding(
                 ctx, op == KeyOp::kDecrypt ? RSA_NO_PADDING : RSA_PKCS1_PADDING) == 1;
    default:
      return false;
  }
}

}  // namespace

int ThisThreadContextSlot() {
  thread_local const ContextSlot slot;
  return slot.index();
}

bool RoomForKeyCopy() {
  if (CRYPTO_secure_malloc_initialized() == 0) return true;  // copies go to the normal heap
  ERR_set_mark();  // OpenSSL 3.2 and later raise an error when the heap has no such block
  void* probe = CRYPTO_secure_malloc(kCopyHeadroom, OPENSSL_FILE, OPENSSL_LINE);
  ERR_pop_to_mark();
  if (probe == nullptr) return false;
  CRYPTO_secure_free(probe, OPENSSL_FILE, OPENSSL_LINE);
  return true;
}

const EVP_MD* OaepDigest(Alg alg) {
  if (alg == Alg::kRsaOaep) return Sha1();
  if (alg == Alg::kRsaOaep256) return Sha256();
  return nullptr;
}

EvpPkeyCtxPtr PrepareContext(EVP_PKEY* pkey, Alg alg, KeyOp op) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx) return nullptr;
  bool ok = false;
  switch (op) {
    case KeyOp::kSign:
      ok = EVP_PKEY_sign_init(ctx.get()) == 1 && ConfigureSignature(ctx.get(), alg);
      break;
    case KeyOp::kVerify:
      ok = EVP_PKEY_verify_init(ctx.get()) == 1 && ConfigureSignature(ctx.get(), alg);
      break;
    case KeyOp::kEncrypt:
      ok = EVP_PKEY_encrypt_init(ctx.get()) == 1 && ConfigureKeyTransport(ctx.get(), alg, op);
      break;
    case KeyOp::kDecrypt:
      ok = EVP_PKEY_decrypt_init(ctx.get()) == 1 && ConfigureKeyTransport(ctx.get(), alg, op);
      break;
  }
  return ok ? std::move(ctx) : nullptr;
}

}  // namespace instaccess::jose::internal
