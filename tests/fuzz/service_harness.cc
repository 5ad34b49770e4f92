#include "tests/fuzz/service_harness.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <variant>
#include <vector>

#include "common/secret_bytes.h"

namespace instaccess::fuzz {

namespace {

// Handed out by the key factory in this order, then again from the start (the keyring then
// refuses a repeated modulus, which a fuzzed rotation may meet: an error answer, not a crash).
constexpr const char* kKeyFiles[] = {"rs256.pem", "rsa_oaep.pem", "ps256.pem", "rsa_oaep_256.pem",
                                     "rsa1_5.pem"};

void RemoveDir(const std::string& dir) {
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

std::string g_dir_to_remove;  // removed at exit

}  // namespace

void CheckResponse(const ipc::Response& response) {
  if (response.status < 100 || response.status > 599) std::abort();
  if (response.status == 500) std::abort();
  if (response.status < 400) return;
  auto body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object() ||
      !body["error"].contains("code") || !body["error"]["code"].is_string()) {
    std::abort();
  }
}

ServiceHarness& ServiceHarness::Get() {
  static ServiceHarness* harness = new ServiceHarness();
  return *harness;
}

ServiceHarness::ServiceHarness() : policy_(ipc::AccessPolicy::Build({}, geteuid(), nullptr)) {
  spdlog::set_level(spdlog::level::off);  // handlers log every refusal
  std::string tmpl = (std::filesystem::temp_directory_path() / "instaccess-fuzz-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  dir_ = tmpl;
  g_dir_to_remove = dir_;
  std::atexit([] { RemoveDir(g_dir_to_remove); });
  store_ = dir_ + "/keys.db";
  pristine_ = dir_ + "/pristine.db";
  peer_.uid = geteuid();
  peer_.gid = getegid();
  peer_.pid = getpid();
  peer_.process = "fuzzer";

  Open();                                                               // a new store...
  if (!keyring_->ApplyDue(kFuzzNow, "fuzz").has_value()) std::abort();  // ...and its first keys
  pristine_audit_head_ = keyring_->Snapshot()->audit_head;
  first_keys_ = next_key_;
  service_.reset();
  keyring_.reset();  // closes the store, so the file is whole
  std::filesystem::copy_file(store_, pristine_);
  Open();
}

void ServiceHarness::Open() {
  service_.reset();
  keyring_.reset();
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::error_code ignored;
    std::filesystem::remove(store_ + suffix, ignored);
  }
  if (!pristine_audit_head_.empty()) std::filesystem::copy_file(pristine_, store_);

  api::ServiceOptions options;
  options.schedule.sig = {"RS256", 2048, 24 * 3600, 3600};
  options.schedule.enc = {"RSA-OAEP", 2048, 7 * 24 * 3600, 3600};
  options.cache_entries = 1000;
  options.store_path = store_;

  keystore::SqliteKeyringOptions o;
  o.path = store_;
  o.schedule = options.schedule;
  // The keys the first store holds are not handed out again after a reset.
  next_key_ = first_keys_;
  o.key_factory = [this](int, jose::Alg alg) -> Result<jose::RsaKey> {
    return LoadTestKey(kKeyFiles[next_key_++ % std::size(kKeyFiles)], alg);
  };
  std::vector<std::uint8_t> master(32, 7);
  auto opened = keystore::SqliteKeyring::Open(o, SecretBytes::CopyFrom(master));
  if (!opened) std::abort();
  keyring_ = std::move(*opened);
  router_ = ipc::Router();
  service_ = std::make_unique<api::Service>(options, *keyring_, clock_, "", api::Service::Hooks{});
  service_->AddRoutes(router_);
}

void ServiceHarness::ResetIfChanged() {
  if (keyring_->Snapshot()->audit_head != pristine_audit_head_) Open();
}

ipc::Response ServiceHarness::Call(const ipc::Request& request) {
  ipc::Reply reply = router_.Dispatch(request, peer_, policy_);
  ipc::Response response;
  if (auto* job = std::get_if<ipc::Deferred>(&reply)) {
    response = (*job)();
  } else {
    response = std::move(std::get<ipc::Response>(reply));
  }
  ResetIfChanged();
  return response;
}

}  // namespace instaccess::fuzz
