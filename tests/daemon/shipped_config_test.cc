// The configuration file the package installs (packaging/instaccessd.toml) cannot drift: read
// as shipped, and with every commented-out setting turned on, it is exactly the built-in system
// default, and it names every key docs/config.md documents, and no other.
#include <boost/test/unit_test.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "daemon/config.h"
#include "tests/support/temp_dir.h"

namespace instaccess::daemon {
namespace {

const std::string kShipped = std::string(INSTACCESS_SOURCE_DIR) + "/packaging/instaccessd.toml";

// A setting is a comment with no space after '#' ("#workers = 0"); prose is "# text".
const std::regex kSetting("^#([a-z_]+ = .*)$");

// The shipped text with every setting uncommented.
std::string Uncommented(const std::string& text) {
  std::istringstream in(text);
  std::string out, line;
  std::smatch m;
  while (std::getline(in, line)) {
    out += std::regex_match(line, m, kSetting) ? m[1].str() : line;
    out += "\n";
  }
  return out;
}

// "section.key" of every setting in the (uncommented) shipped file.
std::set<std::string> ShippedKeys(const std::string& text) {
  std::istringstream in(Uncommented(text));
  std::set<std::string> keys;
  std::string line, section;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, std::regex("^\\[([a-z.]+)\\]$"))) section = m[1];
    if (std::regex_match(line, m, std::regex("^([a-z_]+) = .*$")))
      keys.insert(section + "." + m[1].str());
  }
  return keys;
}

// "section.key" of every key docs/config.md documents: the rows of each section's table
// ("| `key` | ..."), or the lines of its TOML example where it has no table ([access]). A row
// marked "(enc only)" belongs to [rotation.enc] alone.
std::set<std::string> DocumentedKeys(const std::string& text) {
  std::istringstream in(text);
  std::set<std::string> keys;
  std::vector<std::string> sections;
  std::string line;
  bool in_code = false;
  std::smatch m;
  auto add = [&](const std::string& key, bool enc_only) {
    for (const std::string& s : sections) {
      if (!enc_only || s.ends_with(".enc")) keys.insert(s + "." + key);
    }
  };
  while (std::getline(in, line)) {
    if (line.starts_with("```")) {
      in_code = !in_code;
      continue;
    }
    if (line.starts_with("## ")) {
      sections.clear();
      static const std::regex kSectionName("`\\[([a-z.]+)\\]`");
      for (std::sregex_iterator it(line.begin(), line.end(), kSectionName), end; it != end; ++it) {
        sections.push_back((*it)[1]);
      }
      continue;
    }
    if (!in_code && std::regex_search(line, m, std::regex("^\\| `([a-z_]+)`([^|]*)\\|"))) {
      if (m[1] != "key") add(m[1], m[2].str().find("enc only") != std::string::npos);
    } else if (in_code && std::regex_match(line, m, std::regex("^([a-z_]+) = .*$"))) {
      add(m[1], false);
    }
  }
  return keys;
}

std::string Joined(const std::set<std::string>& keys) {
  std::string out;
  for (const std::string& k : keys) out += k + " ";
  return out;
}

BOOST_AUTO_TEST_SUITE(shipped_config)

BOOST_AUTO_TEST_CASE(as_shipped_is_the_system_default) {
  auto c = LoadConfigFile(kShipped, /*embedded=*/false);
  BOOST_REQUIRE_MESSAGE(c.has_value(), (c.has_value() ? "" : c.error().message()));
  BOOST_TEST((*c == DefaultConfig(false)));
}

BOOST_AUTO_TEST_CASE(every_setting_uncommented_is_still_the_system_default) {
  const std::string uncommented = Uncommented(testing::ReadFile(kShipped));
  auto c = ParseConfig(uncommented, "uncommented instaccessd.toml", /*embedded=*/false);
  BOOST_REQUIRE_MESSAGE(c.has_value(), (c.has_value() ? "" : c.error().message()));
  BOOST_TEST((*c == DefaultConfig(false)), uncommented);
}

BOOST_AUTO_TEST_CASE(names_every_documented_key_and_no_other) {
  const std::set<std::string> shipped = ShippedKeys(testing::ReadFile(kShipped));
  const std::set<std::string> documented =
      DocumentedKeys(testing::ReadFile(std::string(INSTACCESS_SOURCE_DIR) + "/docs/config.md"));
  // The reading of docs/config.md itself: a key of each kind of section is found.
  for (const char* key : {"daemon.socket", "rotation.sig.period", "rotation.enc.content",
                          "access.read", "limits.idle_timeout"}) {
    BOOST_TEST(documented.contains(key), key);
  }
  BOOST_TEST(!documented.contains("rotation.sig.content"));
  BOOST_TEST(Joined(shipped) == Joined(documented));
}

// The check above compares against the parser too: a setting the parser does not know would
// have stopped the uncommented file. This makes sure the check can fail.
BOOST_AUTO_TEST_CASE(a_changed_setting_is_told_apart_from_the_default) {
  std::string text = Uncommented(testing::ReadFile(kShipped));
  const std::string from = "workers = 0", to = "workers = 2";
  BOOST_REQUIRE(text.find(from) != std::string::npos);
  text.replace(text.find(from), from.size(), to);
  auto c = ParseConfig(text, "changed", /*embedded=*/false);
  BOOST_REQUIRE(c.has_value());
  BOOST_TEST(!(*c == DefaultConfig(false)));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::daemon
