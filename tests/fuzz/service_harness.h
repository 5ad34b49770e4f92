// The request layer of instaccessd in-process, for fuzz targets: the real Service and Router
// over a SqliteKeyring in a temp dir, a fixed clock, and the daemon's own uid as the caller
// (every role). No socket and no threads of ours.
//
// Keys are the test keys of keys/, handed out in turn by the keyring's key factory, so the store
// begins with rs256.pem as the active signing key and rsa_oaep.pem as the active encryption key:
// the seed tokens of corpus/token_fuzzer/ (issued with those keys at kFuzzNow) decrypt here.
// An input that changed the store (every change writes an audit row) is followed by a reset to
// the store as it began, so each input meets the same keys.
//
// Thread-safety: none; libFuzzer calls a target from one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "api/service.h"
#include "ipc/access.h"
#include "ipc/http_types.h"
#include "ipc/peer.h"
#include "ipc/router.h"
#include "keystore/sqlite_keyring.h"
#include "tests/fuzz/fuzz_files.h"

namespace instaccess::fuzz {

// Aborts (a crash libFuzzer keeps) unless `response` has the API's shape: an error status
// carries {"error": {"code": "...", ...}}, and no handler fails with 500.
void CheckResponse(const ipc::Response& response);

class ServiceHarness {
 public:
  // Made on first use, kept for the process.
  static ServiceHarness& Get();

  // Dispatches `request` as the server would and runs a deferred job at once. An exception from
  // a handler is not caught: the server would answer 500, and the fuzzer reports it as a bug.
  ipc::Response Call(const ipc::Request& request);

  keystore::SqliteKeyring& keyring() { return *keyring_; }
  // After a direct keyring call: back to the first store if it changed.
  void ResetIfChanged();

 private:
  ServiceHarness();
  void Open();

  std::string dir_;
  std::string store_;
  std::string pristine_;
  std::string pristine_audit_head_;
  std::size_t first_keys_ = 0;  // keys the first store was made with
  std::size_t next_key_ = 0;    // the key factory's next key
  class FixedClock final : public Clock {
   public:
    std::int64_t NowUnix() const override { return kFuzzNow; }
  } clock_;
  ipc::Peer peer_;
  ipc::AccessPolicy policy_;
  std::unique_ptr<keystore::SqliteKeyring> keyring_;
  std::unique_ptr<api::Service> service_;
  ipc::Router router_;
};

}  // namespace instaccess::fuzz
