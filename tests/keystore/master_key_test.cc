#include "keystore/master_key.h"

#include <sys/stat.h>

#include <boost/test/unit_test.hpp>

#include "tests/keystore/test_util.h"

namespace instaccess::keystore {
namespace {

using testing::ReadAll;
using testing::TempDir;
using testing::WriteAll;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

BOOST_AUTO_TEST_SUITE(keystore_master_key)

BOOST_AUTO_TEST_CASE(credential_directory_wins_over_configured_file) {
  TempDir dir;
  std::filesystem::create_directory(dir / "creds");
  WriteAll(dir / "creds/master-key", std::vector<std::uint8_t>(32, 1));
  WriteAll(dir / "configured.key", std::vector<std::uint8_t>(32, 2));
  MasterKeyOptions o;
  o.credentials_directory = dir / "creds";
  o.configured_file = dir / "configured.key";
  Result<MasterKey> k = LoadMasterKey(o);
  BOOST_REQUIRE(k.has_value());
  BOOST_TEST(k->key.reveal_secret()[0] == 1);
  BOOST_TEST(k->source.find("credential") == 0u);
  // The credential directory without a master-key file falls through to the configured file.
  std::filesystem::remove(dir / "creds/master-key");
  k = LoadMasterKey(o);
  BOOST_REQUIRE(k.has_value());
  BOOST_TEST(k->key.reveal_secret()[0] == 2);
}

BOOST_AUTO_TEST_CASE(any_length_but_32_is_refused) {
  TempDir dir;
  for (std::size_t n : {0u, 31u, 33u, 64u}) {
    std::string path = dir / ("k" + std::to_string(n));
    WriteAll(path, std::vector<std::uint8_t>(n, 'a'));
    MasterKeyOptions o;
    o.configured_file = path;
    Result<MasterKey> k = LoadMasterKey(o);
    BOOST_REQUIRE(!k.has_value());
    BOOST_TEST(k.error().message().find("exactly 32") != std::string::npos);
    BOOST_TEST(k.error().message().find(path) != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(missing_configured_file_is_an_error_not_a_new_key) {
  TempDir dir;
  MasterKeyOptions o;
  o.configured_file = dir / "absent.key";
  o.embedded_default = true;
  o.dev_key_file = dir / "var/master.key";
  Result<MasterKey> k = LoadMasterKey(o);
  BOOST_REQUIRE(!k.has_value());
  BOOST_TEST(k.error().message().find("store.master_key_file") != std::string::npos);
  BOOST_TEST(!testing::Exists(dir / "var/master.key"));
}

BOOST_AUTO_TEST_CASE(no_source_outside_embedded_default_is_an_error) {
  MasterKeyOptions o;
  Result<MasterKey> k = LoadMasterKey(o);
  BOOST_REQUIRE(!k.has_value());
  BOOST_TEST(k.error().message().find("no master key") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(embedded_default_generates_a_private_dev_key_loudly) {
  TempDir dir;
  std::vector<std::string> logged;
  MasterKeyOptions o;
  o.embedded_default = true;
  o.dev_key_file = dir / "var/sub/master.key";
  o.log = [&logged](LogLevel level, std::string_view m) {
    BOOST_TEST((level == LogLevel::kWarning));
    logged.emplace_back(m);
  };
  Result<MasterKey> k = LoadMasterKey(o);
  BOOST_REQUIRE(k.has_value());
  BOOST_TEST(k->key.size() == 32u);
  BOOST_TEST(k->warning.find("DEVELOPMENT MASTER KEY") != std::string::npos);
  BOOST_REQUIRE(logged.size() == 1u);
  BOOST_TEST(ModeOf(o.dev_key_file) == 0600u);
  BOOST_TEST(ModeOf(dir / "var/sub") == 0700u);
  BOOST_TEST(ModeOf(dir / "var") == 0700u);
  BOOST_TEST(ReadAll(o.dev_key_file).size() == 32u);
  // The second start reads the same key and still warns.
  Result<MasterKey> again = LoadMasterKey(o);
  BOOST_REQUIRE(again.has_value());
  BOOST_TEST(again->key.Equals(k->key));
  BOOST_TEST(logged.size() == 2u);
}

// The development key was lost but its store is still there: a new key would not open the store,
// and the new file would stay in the way of putting the right one back. Nothing is generated.
BOOST_AUTO_TEST_CASE(no_dev_key_is_generated_for_a_store_that_exists) {
  TempDir dir;
  MasterKeyOptions o;
  o.embedded_default = true;
  o.dev_key_file = dir / "var/master.key";
  o.store_path = dir / "var/keys.db";
  std::filesystem::create_directories(dir / "var");
  WriteAll(o.store_path, std::vector<std::uint8_t>(4096, 1));
  Result<MasterKey> k = LoadMasterKey(o);
  BOOST_REQUIRE(!k.has_value());
  BOOST_TEST(k.error().message().find("no new key was generated") != std::string::npos,
             k.error().message());
  BOOST_TEST(!std::filesystem::exists(o.dev_key_file));
  // Without the store, the first start generates one as before.
  std::filesystem::remove(o.store_path);
  BOOST_TEST(LoadMasterKey(o).has_value());
  BOOST_TEST(std::filesystem::exists(o.dev_key_file));
}

BOOST_AUTO_TEST_CASE(loose_permissions_are_warned_about) {
  TempDir dir;
  std::string path = dir / "m.key";
  WriteAll(path, std::vector<std::uint8_t>(32, 3));
  ::chmod(path.c_str(), 0644);
  MasterKeyOptions o;
  o.configured_file = path;
  Result<MasterKey> k = LoadMasterKey(o);
  BOOST_REQUIRE(k.has_value());
  BOOST_TEST(k->warning.find("0644") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::keystore
