// instaccess-bench-timing: the response time of kid-less tokens that fail in different ways, sent
// to a running instaccessd over its socket, beside `openssl speed -seconds 1 rsa2048` from the
// same run (docs/security.md).
//
//   instaccess-bench-timing --socket var/instaccessd.sock [--seconds 20] [--warmup 2]
//
// The daemon must issue kid-less tokens (tokens.include_kid = false) with the enc alg under test
// (RSA1_5 or RSA-OAEP, A128CBC-HS256) and keep no decrypt cache (cache.entries = 0), so that the
// valid control is decrypted every time; bench/run_timing_bench.sh starts it so. The caller needs
// the issue, decrypt and read roles (the daemon's own user holds them).
//
// From one issued token (header, encrypted key, IV, ciphertext, tag) and the active enc key's
// public JWK, four tokens are made:
//   valid    the issued token (200);
//   padding  RSA1_5: a block of type 01 instead of 02; RSA-OAEP: a block whose label hash is
//            wrong; the rest of the token as issued;
//   cek_len  a well-formed block holding a 16-byte CEK (A128CBC-HS256 needs 32);
//   tag      the issued encrypted key (the right CEK) and the last tag bit flipped.
// The blocks are padded here and encrypted with the raw public operation (RSA_NO_PADDING). The
// daemon must answer each failure 401 invalid_token with the same body.
//
// One keep-alive connection; each round sends the four in a fresh random order and times each
// answer from the first byte sent to the last byte read (steady_clock). Printed per case: count,
// median, p10, p90, mean with its 95% confidence interval; per pair of cases: the difference of
// medians and the median of the per-round paired differences, each with a bootstrap 95% interval,
// and the difference of means with Welch's t. Nothing is asserted: this is a measurement, not a
// test.
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::uint8_t>;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "instaccess-bench-timing: %s\n", why.c_str());
  std::exit(1);
}

// ---- base64url (RFC 4648 §5, no padding) ----

constexpr std::string_view kB64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string B64Encode(const Bytes& in) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::uint8_t b : in) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kB64[(acc >> bits) & 63u];
    }
  }
  if (bits > 0) out += kB64[(acc << (6 - bits)) & 63u];
  return out;
}

Bytes B64Decode(std::string_view in) {
  Bytes out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const std::size_t v = kB64.find(c);
    if (v == std::string_view::npos) Die("not base64url: " + std::string(in.substr(0, 40)));
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xffu));
    }
  }
  return out;
}

// ---- HTTP/1.1 over the Unix socket, one request at a time ----

class Connection {
 public:
  explicit Connection(const std::string& path)
      : fd_(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      Die("cannot connect to " + path + ": " + std::strerror(errno));
    }
  }
  ~Connection() { close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends `raw` (a whole request) and reads its answer: the status, and the body into `body`.
  int Exchange(std::string_view raw, std::string* body) {
    for (std::size_t off = 0; off < raw.size();) {
      const ssize_t n = send(fd_, raw.data() + off, raw.size() - off, MSG_NOSIGNAL);
      if (n <= 0) Die(std::string("send: ") + std::strerror(errno));
      off += static_cast<std::size_t>(n);
    }
    for (;;) {
      const std::size_t end = in_.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::size_t length = 0;
        const std::size_t p = in_.find("Content-Length: ");
        if (p != std::string::npos && p < end) length = std::strtoul(&in_[p + 16], nullptr, 10);
        if (in_.size() >= end + 4 + length) {
          const int status = std::atoi(&in_[9]);
          body->assign(in_, end + 4, length);
          in_.erase(0, end + 4 + length);
          return status;
        }
      }
      char buf[16384];
      const ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) Die("the daemon closed the connection");
      in_.append(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
  std::string in_;
};

std::string Get(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

std::string Post(const std::string& target, const std::string& body) {
  return "POST " + target +
         " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// ---- the failing tokens ----

// The active enc key's public key and alg, from /api/v1/keys and the JWKS.
struct EncKey {
  EVP_PKEY* pkey = nullptr;
  std::string alg, kid;
  int same_alg_keys = 0;  // decrypt candidates of a kid-less token with this alg
};

EncKey ActiveEncKey(Connection& conn) {
  std::string body;
  if (conn.Exchange(Get("/api/v1/keys"), &body) != 200) Die("GET /api/v1/keys: " + body);
  EncKey key;
  const auto keys = nlohmann::json::parse(body);
  for (const auto& k : keys.is_array() ? keys : keys.at("keys")) {
    if (k.at("purpose") == "enc" && k.at("state") == "active") key.kid = k.at("kid");
  }
  if (conn.Exchange(Get("/.well-known/jwks.json"), &body) != 200) Die("GET jwks: " + body);
  const auto jwks = nlohmann::json::parse(body).at("keys");
  for (const auto& jwk : jwks) {
    if (jwk.at("kid") == key.kid) key.alg = jwk.at("alg");
  }
  for (const auto& jwk : jwks) {
    if (jwk.value("use", "") == "enc" && jwk.at("alg") == key.alg) ++key.same_alg_keys;
  }
  for (const auto& jwk : jwks) {
    if (jwk.at("kid") != key.kid) continue;
    const Bytes n = B64Decode(jwk.at("n").get<std::string>());
    const Bytes e = B64Decode(jwk.at("e").get<std::string>());
    BIGNUM* bn_n = BN_bin2bn(n.data(), static_cast<int>(n.size()), nullptr);
    BIGNUM* bn_e = BN_bin2bn(e.data(), static_cast<int>(e.size()), nullptr);
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e);
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
    if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &key.pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
      Die("cannot load the JWK of " + key.kid);
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
  }
  if (key.pkey == nullptr) Die("no active enc key in the JWKS");
  return key;
}

Bytes RandomBytes(std::size_t n, bool nonzero) {
  Bytes out(n);
  if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) Die("RAND_bytes");
  for (std::uint8_t& b : out) {
    while (nonzero && b == 0) {
      if (RAND_bytes(&b, 1) != 1) Die("RAND_bytes");
    }
  }
  return out;
}

// EME-PKCS1-v1_5 (RFC 8017 §7.2.1) of `m` in `k` bytes; `type` 2 is well-formed.
Bytes Pkcs1Block(std::size_t k, const Bytes& m, std::uint8_t type) {
  Bytes em{0x00, type};
  const Bytes ps = RandomBytes(k - 3 - m.size(), true);
  em.insert(em.end(), ps.begin(), ps.end());
  em.push_back(0x00);
  em.insert(em.end(), m.begin(), m.end());
  return em;
}

// MGF1 with SHA-1 (RFC 8017 §B.2.1), XORed into `out`.
void XorMgf1(const Bytes& seed, std::uint8_t* out, std::size_t len) {
  for (std::uint32_t counter = 0, done = 0; done < len; ++counter) {
    Bytes in = seed;
    for (int s = 24; s >= 0; s -= 8) in.push_back(static_cast<std::uint8_t>(counter >> s));
    std::array<std::uint8_t, 20> h{};
    EVP_Digest(in.data(), in.size(), h.data(), nullptr, EVP_sha1(), nullptr);
    for (std::size_t i = 0; i < h.size() && done < len; ++i) out[done++] ^= h[i];
  }
}

// EME-OAEP with SHA-1 and an empty label (RFC 8017 §7.1.1) of `m` in `k` bytes; with
// `bad_label_hash` the first byte of the label hash is wrong.
Bytes OaepBlock(std::size_t k, const Bytes& m, bool bad_label_hash) {
  constexpr std::size_t kHash = 20;
  Bytes db(k - kHash - 1, 0);
  EVP_Digest("", 0, db.data(), nullptr, EVP_sha1(), nullptr);
  if (bad_label_hash) db[0] ^= 1;
  db[db.size() - m.size() - 1] = 0x01;
  std::copy(m.begin(), m.end(), db.end() - static_cast<std::ptrdiff_t>(m.size()));
  Bytes seed = RandomBytes(kHash, false);
  XorMgf1(seed, db.data(), db.size());
  XorMgf1(db, seed.data(), seed.size());
  Bytes em{0x00};
  em.insert(em.end(), seed.begin(), seed.end());
  em.insert(em.end(), db.begin(), db.end());
  return em;
}

// The raw public operation on a block that starts with 00 (so it is below the modulus).
Bytes RawEncrypt(EVP_PKEY* pkey, const Bytes& block) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(pkey, nullptr);
  std::size_t len = block.size();
  Bytes out(len);
  if (ctx == nullptr || EVP_PKEY_encrypt_init(ctx) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) != 1 ||
      EVP_PKEY_encrypt(ctx, out.data(), &len, block.data(), block.size()) != 1) {
    Die("raw RSA encryption failed");
  }
  EVP_PKEY_CTX_free(ctx);
  out.resize(len);
  return out;
}

struct Case {
  std::string name;
  std::string request;  // the whole decrypt request
  int want_status = 0;
  std::string first_body;
  std::uint64_t unexpected = 0;
  std::vector<double> us;
};

std::vector<Case> MakeCases(Connection& conn, const EncKey& key) {
  std::string body;
  const int status = conn.Exchange(
      Post("/api/v1/inst_access_tokens", R"({"claims":{"sub":"bench-user","acct":"bench-acct"}})"),
      &body);
  if (status != 201) Die("issue: " + std::to_string(status) + " " + body);
  const std::string token = nlohmann::json::parse(body).at("token");
  std::vector<std::string> part;
  for (std::size_t at = 0, dot; at <= token.size(); at = dot + 1) {
    dot = std::min(token.find('.', at), token.size());
    part.push_back(token.substr(at, dot - at));
  }
  if (part.size() != 5) Die("the issued token is not a 5-part JWE");
  const auto header = nlohmann::json::parse(B64Decode(part[0]));
  if (header.contains("kid")) Die("the daemon puts kid in tokens: set tokens.include_kid = false");
  if (header.at("alg") != key.alg || header.at("enc") != "A128CBC-HS256") {
    Die("the issued token's header is " + header.dump() + "; want alg " + key.alg +
        " and A128CBC-HS256");
  }
  const auto k = static_cast<std::size_t>(EVP_PKEY_get_size(key.pkey));
  const Bytes short_cek = RandomBytes(16, false);
  const Bytes right_size_cek = RandomBytes(32, false);
  const bool pkcs1 = key.alg == "RSA1_5";
  const Bytes bad_padding =
      pkcs1 ? Pkcs1Block(k, right_size_cek, 0x01) : OaepBlock(k, right_size_cek, true);
  const Bytes bad_length = pkcs1 ? Pkcs1Block(k, short_cek, 0x02) : OaepBlock(k, short_cek, false);
  Bytes tag = B64Decode(part[4]);
  tag.back() ^= 1;

  auto jwe = [&](const std::string& encrypted_key, const std::string& tag_text) {
    return Post("/api/v1/inst_access_tokens/decrypt", "{\"token\":\"" + part[0] + "." +
                                                          encrypted_key + "." + part[2] + "." +
                                                          part[3] + "." + tag_text + "\"}");
  };
  std::vector<Case> cases(4);
  cases[0] = {"valid", jwe(part[1], part[4]), 200, {}, 0, {}};
  cases[1] = {"padding", jwe(B64Encode(RawEncrypt(key.pkey, bad_padding)), part[4]), 401, {}, 0,
              {}};
  cases[2] = {"cek_len", jwe(B64Encode(RawEncrypt(key.pkey, bad_length)), part[4]), 401, {}, 0, {}};
  cases[3] = {"tag", jwe(part[1], B64Encode(tag)), 401, {}, 0, {}};
  return cases;
}

// ---- statistics ----

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const auto at = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(at), v.end());
  return v[at];
}

struct Moments {
  double mean = 0, var = 0;
  double n = 0;
};

Moments MomentsOf(const std::vector<double>& v) {
  Moments m;
  m.n = static_cast<double>(v.size());
  for (double x : v) m.mean += x;
  m.mean /= m.n;
  for (double x : v) m.var += (x - m.mean) * (x - m.mean);
  m.var /= m.n - 1;
  return m;
}

// 95% bootstrap interval (1,000 resamples) of median(a) - median(b), or of median(a) alone
// when `b` is empty.
std::pair<double, double> BootstrapMedian(const std::vector<double>& a,
                                          const std::vector<double>& b, std::mt19937_64& rng) {
  std::vector<double> stats, ra(a.size()), rb(b.size());
  std::uniform_int_distribution<std::size_t> pa(0, a.size() - 1);
  std::uniform_int_distribution<std::size_t> pb(0, b.empty() ? 0 : b.size() - 1);
  for (int i = 0; i < 1000; ++i) {
    for (double& x : ra) x = a[pa(rng)];
    for (double& x : rb) x = b[pb(rng)];
    stats.push_back(Quantile(ra, 0.5) - (b.empty() ? 0 : Quantile(rb, 0.5)));
  }
  return {Quantile(stats, 0.025), Quantile(stats, 0.975)};
}

// `openssl speed -seconds 1 rsa2048`: sign/s and verify/s of one process.
std::pair<double, double> OpensslSpeed() {
  FILE* p = popen("openssl speed -seconds 1 rsa2048 2>/dev/null", "r");
  double sign = 0, verify = 0;
  char line[512];
  while (p != nullptr && std::fgets(line, sizeof line, p)) {
    double s1, s2, r1, r2;
    if (std::sscanf(line, "rsa 2048 bits %lfs %lfs %lf %lf", &s1, &s2, &r1, &r2) == 4) {
      sign = r1;
      verify = r2;
    }
  }
  if (p != nullptr) pclose(p);
  return {sign, verify};
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path = "var/instaccessd.sock";
  double seconds = 20, warmup = 2;
  // Options come in pairs; anything else gets the usage.
  bool usage = argc % 2 == 0;
  for (int i = 1; !usage && i + 1 < argc; i += 2) {
    const std::string_view k = argv[i];
    if (k == "--socket") {
      socket_path = argv[i + 1];
    } else if (k == "--seconds") {
      seconds = std::atof(argv[i + 1]);
    } else if (k == "--warmup") {
      warmup = std::atof(argv[i + 1]);
    } else {
      usage = true;
    }
  }
  if (usage || seconds <= 0) {
    std::fprintf(stderr,
                 "usage: instaccess-bench-timing [--socket S] [--seconds N] [--warmup N]\n"
                 "Times kid-less tokens failing in different ways through a running instaccessd\n"
                 "(tokens.include_kid = false, cache.entries = 0); prints figures, asserts "
                 "nothing.\n");
    return 64;
  }

  Connection conn(socket_path);
  const EncKey key = ActiveEncKey(conn);
  std::vector<Case> cases = MakeCases(conn, key);
  const auto before = OpensslSpeed();

  std::array<std::size_t, 4> order{0, 1, 2, 3};
  std::mt19937_64 rng(std::random_device{}());
  // Per round, the time of each case (for the paired differences).
  std::vector<std::array<double, 4>> rounds;
  const auto start = Clock::now();
  const auto measure_from = start + std::chrono::duration<double>(warmup);
  const auto end = measure_from + std::chrono::duration<double>(seconds);
  std::string body;
  for (auto now = start; now < end;) {
    std::shuffle(order.begin(), order.end(), rng);
    std::array<double, 4> round{};
    const bool keep = now >= measure_from;
    for (std::size_t c : order) {
      Case& x = cases[c];
      const auto t0 = Clock::now();
      const int status = conn.Exchange(x.request, &body);
      now = Clock::now();
      round[c] = std::chrono::duration<double, std::micro>(now - t0).count();
      if (x.first_body.empty()) x.first_body = body;
      if (status != x.want_status || (status != 200 && body != x.first_body)) ++x.unexpected;
      if (keep) x.us.push_back(round[c]);
    }
    if (keep) rounds.push_back(round);
  }
  if (rounds.size() < 2) Die("fewer than 2 rounds measured: give more --seconds");
  const auto after = OpensslSpeed();

  std::printf(
      "enc alg %s (A128CBC-HS256), kid-less; %d enc key(s) of that alg in the JWKS; %zu rounds "
      "of 4 in random order on one connection, after %.1f s of warm-up\n",
      key.alg.c_str(), key.same_alg_keys, rounds.size(), warmup);
  std::printf(
      "openssl speed -seconds 1 rsa2048 (one process): sign/s %.0f before, %.0f after "
      "(%.0f / %.0f us a private operation); verify/s %.0f, %.0f\n",
      before.first, after.first, 1e6 / before.first, 1e6 / after.first, before.second,
      after.second);
  std::printf("answers: valid %s; failures %s\n", cases[0].first_body.substr(0, 60).c_str(),
              cases[1].first_body.c_str());
  const bool same =
      cases[1].first_body == cases[2].first_body && cases[2].first_body == cases[3].first_body;
  std::printf("the three failures' bodies are %s\n", same ? "identical" : "DIFFERENT");
  std::printf("\n%-8s %7s %9s %9s %9s %9s %8s %10s\n", "case", "n", "median", "p10", "p90", "mean",
              "+-95%", "unexpected");
  for (const Case& x : cases) {
    const Moments m = MomentsOf(x.us);
    std::printf("%-8s %7zu %9.1f %9.1f %9.1f %9.1f %8.1f %10llu\n", x.name.c_str(), x.us.size(),
                Quantile(x.us, 0.5), Quantile(x.us, 0.1), Quantile(x.us, 0.9), m.mean,
                1.96 * std::sqrt(m.var / m.n), static_cast<unsigned long long>(x.unexpected));
  }
  std::printf("(microseconds from the first byte sent to the last byte of the answer read)\n\n");
  // Unpaired: the difference of the two cases' medians. Paired: the median over rounds of the
  // difference within a round, which drift between rounds does not enter.
  std::printf("%-18s %25s %25s %9s %8s\n", "pair (a - b)", "median diff [95% CI]",
              "paired median [95% CI]", "mean diff", "Welch t");
  std::mt19937_64 stats_rng(1);
  const std::array<std::pair<std::size_t, std::size_t>, 6> pairs{
      {{1, 2}, {1, 3}, {2, 3}, {1, 0}, {2, 0}, {3, 0}}};
  for (auto [a, b] : pairs) {
    const Case& x = cases[a];
    const Case& y = cases[b];
    const auto [lo, hi] = BootstrapMedian(x.us, y.us, stats_rng);
    std::vector<double> paired;
    for (const auto& r : rounds) paired.push_back(r[a] - r[b]);
    const auto [plo, phi] = BootstrapMedian(paired, {}, stats_rng);
    const Moments mx = MomentsOf(x.us);
    const Moments my = MomentsOf(y.us);
    const double t = (mx.mean - my.mean) / std::sqrt(mx.var / mx.n + my.var / my.n);
    std::printf("%-18s %7.2f [%7.2f, %7.2f] %7.2f [%7.2f, %7.2f] %9.2f %8.2f\n",
                (x.name + " - " + y.name).c_str(), Quantile(x.us, 0.5) - Quantile(y.us, 0.5), lo,
                hi, Quantile(paired, 0.5), plo, phi, mx.mean - my.mean, t);
  }
  std::printf(
      "(microseconds; the means carry the host's rare multi-millisecond stalls, the medians "
      "do not)\n");
  EVP_PKEY_free(key.pkey);
  return 0;
}
