// The C++ client of instaccessd: issue and decrypt InstAccess tokens, read the published keys,
// and the operator's key actions, over the daemon's Unix socket (its API: docs/api.md).
//
//   #include <instaccess/client.h>
//   instaccess::client::Client c("/run/instaccessd/instaccessd.sock");
//   auto token = c.Issue({{"sub", "42"}, {"acct", "7"}});
//   if (!token) { log(token.error().ToString()); return; }
//   auto opened = c.Decrypt(*token);
//   if (!opened && opened.error().kind() == instaccess::client::ErrorKind::kTokenExpired) ...
//
// What the client does not do: it does not check tokens itself (the daemon holds the keys) and
// it does not authenticate to the daemon; the daemon decides what the calling process may do
// from the socket's peer credentials (its uid and groups), so the same call can succeed for one
// user and be kForbidden for another.
//
// Connections: HTTP/1.1 keep-alive. A call takes an idle connection from a small pool (or opens
// one), and puts it back afterwards; up to ClientOptions::max_idle_connections stay open. A call
// is sent again on a fresh connection only when that cannot make the daemon act twice: a GET
// (reads only) whose reused connection turned out closed before any byte of the answer arrived,
// or any request of which no byte was written (the reused connection was already closed). A
// POST whose bytes went out and got no answer is not resent: the call fails with kUnavailable
// saying so, and the caller decides (a rotate or import may have happened).
//
// Thread-safety: a Client may be used from any number of threads at once; each call uses its own
// connection. Calls block the calling thread until the answer, an error, or the timeout. After
// fork(), the child makes its own Client (pooled connections must not be shared by processes).
// No exceptions leave the library: anything thrown inside (memory exhaustion) comes back as an
// Error of kind kInternal.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "instaccess/claims.h"
#include "instaccess/error.h"

namespace instaccess::client {

using Time = std::chrono::system_clock::time_point;

struct ClientOptions {
  // Connecting to a Unix socket either works at once or fails at once; this only guards a
  // listener whose backlog is full.
  std::chrono::milliseconds connect_timeout{2000};
  // Whole request and answer. Issue/decrypt take milliseconds, but an overloaded daemon queues
  // RSA work and a backup copies the whole store.
  std::chrono::milliseconds request_timeout{30000};
  // Idle keep-alive connections kept for reuse. The daemon closes idle ones after its
  // limits.idle_timeout (60 s); such a closed connection is noticed and dropped on reuse.
  std::size_t max_idle_connections = 4;
  // Largest answer accepted (a backup is the only big one: the key store, a few MiB at most).
  std::size_t max_response_bytes = 256u * 1024 * 1024;
};

struct IssueOptions {
  // Token lifetime; unset: the daemon's tokens.default_ttl. At most tokens.max_lifetime.
  std::optional<std::chrono::seconds> ttl;
  // false asks for a bare signed JWS; the daemon refuses unless tokens.allow_unencrypted.
  bool encrypt = true;
};

struct DecryptedToken {
  Claims claims;        // every claim, including iss, iat, exp, jti set by the daemon
  std::string sig_kid;  // the key that verified the signature
  std::string enc_kid;  // the key that decrypted it (empty for a bare JWS)
  std::string json;     // the daemon's answer as sent
};

struct Jwk {
  std::string kid, kty, use, alg;
};

struct JwkSet {
  std::vector<Jwk> keys;
  std::string json;  // the document as published: {"keys": [...]}
};

enum class Purpose { kSig, kEnc, kBoth };  // kBoth only for Rotate

struct KeyInfo {
  std::string kid;
  std::string purpose;  // "sig" | "enc"
  std::string alg;      // "RS256", "RSA-OAEP", ...
  int bits = 0;
  std::string origin;  // "generated" | "imported" | "peer"
  std::string state;   // "pending" | "active" | "retired" | "destroyed" | "revoked"
  bool has_private = false;
  Time created_at;
  std::optional<Time> activate_at;  // pending: planned; active/retired: when it became active
  std::optional<Time> retire_at;
  std::optional<Time> expire_at;  // retired keys: when the schedule destroys them
  std::optional<Time> revoked_at;
  // Signing keys: the `iss` values its tokens may carry; unset: the daemon's tokens.issuer.
  std::optional<std::vector<std::string>> issuers;
  // Signing keys: the longest exp - iat of a token it signs; unset: tokens.max_lifetime.
  std::optional<std::chrono::seconds> max_lifetime;
  bool pin = false;  // never rotated or destroyed by the schedule; only rotate or revoke ends it
  std::string json;
};

struct Transition {
  std::string action;   // "promote" | "generate" | "destroy"
  std::string purpose;  // "sig" | "enc"
  Time at;
  std::string kid;       // may be empty (a promote of a key still to be generated)
  std::string replaces;  // promote: the active key it retires (may be empty)
};

struct KeyList {
  std::vector<KeyInfo> keys;
  std::vector<Transition> next_transitions;
  std::string json;
};

struct RotateResult {
  std::vector<std::string> rotated;  // the kids that became active
  std::string active_sig, active_enc;
  std::string json;
};

struct ImportRequest {
  Purpose purpose = Purpose::kSig;  // kSig or kEnc
  // Exactly one of: a PEM private or public key, or a JWK (JSON object text).
  std::string pem;
  std::string jwk_json;
  std::string alg;               // empty: the purpose's configured alg (or the JWK's "alg")
  std::optional<bool> activate;  // unset: the daemon's default
  // The key's name; empty: the JWK's "kid", else its RFC 7638 thumbprint.
  std::string kid;
  // Required for a public signing key (a peer's), refused for any other: the `iss` values its
  // tokens may carry. Sent only when not empty. The daemon's own tokens.issuer is refused in it
  // unless allow_own_issuer (a stock Canvas that signs with the same issuer).
  std::vector<std::string> issuers;
  bool allow_own_issuer = false;
  // Signing keys: the longest exp - iat of a token it signs; unset: tokens.max_lifetime.
  std::optional<std::chrono::seconds> max_lifetime;
  // Never rotated or destroyed by the schedule (the keys a stock Canvas holds in its config).
  bool pin = false;
};

// The form of an exported public key.
enum class KeyFormat {
  kPem,  // SPKI "PUBLIC KEY" PEM, as Canvas's configuration takes it
  kJwk,  // a public JWK (kty, n, e, kid, alg, use), JSON text
};

struct StatusInfo {
  std::string version;
  std::int64_t uptime_seconds = 0;
  std::string store_path;
  bool store_healthy = false;
  std::string store_message;
  std::string active_sig, active_enc;  // empty when the purpose has no active key
  std::optional<Time> next_rotation_sig, next_rotation_enc;
  std::string sig_alg, enc_alg, content_alg;
  std::uint64_t cache_entries = 0, cache_capacity = 0, cache_hits = 0, cache_misses = 0;
  std::uint64_t connections = 0, queued = 0, tokens_issued = 0;
  std::vector<std::string> warnings;
  std::string json;
};

struct AuditReport {
  std::int64_t entries = 0;  // rows in the audit chain
  bool ok = false;           // every row's hash links to the one before
  std::optional<std::int64_t> first_broken_seq;
  std::string reason;  // why the chain is broken; empty when ok
  std::string json;
};

class Client {
 public:
  // Does not connect: the first call does, so a Client may be made before the daemon starts.
  explicit Client(std::string socket_path, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  // A moved-from Client may only be destroyed or assigned to.
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  const std::string& socket_path() const;

  // POST /api/v1/inst_access_tokens. Role: issue. The compact token.
  Result<std::string> Issue(const Claims& claims, const IssueOptions& options = {});
  // POST /api/v1/inst_access_tokens/decrypt. Role: decrypt. kInvalidToken, kTokenExpired,
  // kTokenNotYetValid when the daemon refuses the token.
  Result<DecryptedToken> Decrypt(const std::string& token);
  // GET /.well-known/jwks.json. Role: read.
  Result<JwkSet> Jwks();
  // GET /api/v1/keys. Role: read.
  Result<KeyList> Keys();
  // POST /api/v1/keys/rotate. Role: admin.
  Result<RotateResult> Rotate(Purpose purpose);
  // GET /api/v1/keys/{kid}. Role: read. One key; kNotFound for an unknown kid.
  Result<KeyInfo> Key(const std::string& kid);
  // GET /api/v1/keys/{kid} asking for the public key in `format`. Role: read. The PEM or JWK
  // text as sent. kNotFound for an unknown kid, and for a key whose public part the daemon does
  // not hold loaded (destroyed and revoked keys, a peer's encryption key never made active).
  Result<std::string> ExportPublicKey(const std::string& kid, KeyFormat format = KeyFormat::kPem);
  // POST /api/v1/keys/import. Role: admin. The imported key. kConflict when the kid, or the
  // key's modulus under any kid, is already in the store (revoked and destroyed keys included).
  Result<KeyInfo> ImportKey(const ImportRequest& request);
  // POST /api/v1/keys/{kid}/revoke. Role: admin. The revoked key.
  Result<KeyInfo> Revoke(const std::string& kid);
  // GET /api/v1/status. Role: read.
  Result<StatusInfo> Status();
  // GET /api/v1/backup. Role: admin. Writes a consistent snapshot of the (sealed) key store to
  // `path` (mode 0600, through a temporary file renamed into place; an existing file is
  // replaced). The number of bytes written.
  Result<std::uint64_t> Backup(const std::string& path);
  // GET /api/v1/audit/verify. Role: admin. Walks the store's keyed audit chain. A broken
  // chain is a report with ok == false, not an Error.
  Result<AuditReport> AuditVerify();
  // POST /api/v1/schedule/accept-clock. Role: admin. Ends a held clock jump (status shows
  // clock_held_since): the daemon takes its clock as right and resumes the key schedule from it.
  // The accepted time (RFC 3339). kBadRequest "no clock jump is held" when there is none.
  Result<std::string> AcceptClock();
  // GET /healthz. Anyone. "ok", or kUnavailable with the daemon's reason.
  Result<std::string> Health();
  // GET /metrics. Role: read. Prometheus text format.
  Result<std::string> Metrics();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace instaccess::client
