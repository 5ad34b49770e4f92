// daemon/logging.h in process: the journal's form of a message, and when stderr is the journal.
#include "daemon/logging.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace instaccess::daemon {
namespace {

// Sets JOURNAL_STREAM for one scope and puts back what was there.
class JournalStream {
 public:
  explicit JournalStream(const std::string& value) {
    if (const char* old = std::getenv("JOURNAL_STREAM")) old_ = old;
    ::setenv("JOURNAL_STREAM", value.c_str(), 1);
  }
  ~JournalStream() {
    if (old_) {
      ::setenv("JOURNAL_STREAM", old_->c_str(), 1);
    } else {
      ::unsetenv("JOURNAL_STREAM");
    }
  }
  JournalStream(const JournalStream&) = delete;
  JournalStream& operator=(const JournalStream&) = delete;

 private:
  std::optional<std::string> old_;
};

BOOST_AUTO_TEST_SUITE(daemon_logging)

BOOST_AUTO_TEST_CASE(each_line_of_a_message_carries_its_priority) {
  using spdlog::level::level_enum;
  BOOST_TEST(JournalLines(level_enum::critical, "down") == "<2>down\n");
  BOOST_TEST(JournalLines(level_enum::err, "failed\n") == "<3>failed\n");
  BOOST_TEST(JournalLines(level_enum::warn, "two\nlines\n") == "<4>two\n<4>lines\n");
  BOOST_TEST(JournalLines(level_enum::info, "a\n\nb") == "<6>a\n<6>\n<6>b\n");
  BOOST_TEST(JournalLines(level_enum::debug, "") == "<7>\n");
  BOOST_TEST(JournalLines(level_enum::trace, "x") == "<7>x\n");
}

BOOST_AUTO_TEST_CASE(stderr_is_the_journal_only_when_the_stream_names_it) {
  struct stat st {};
  BOOST_TEST_REQUIRE(::fstat(STDERR_FILENO, &st) == 0);
  const std::string dev = std::to_string(st.st_dev), ino = std::to_string(st.st_ino);
  {
    JournalStream stream(dev + ":" + ino);
    BOOST_TEST(StderrIsJournal());
  }
  const std::vector<std::string> others = {dev + ":" + std::to_string(st.st_ino + 1),
                                           std::to_string(st.st_dev + 1) + ":" + ino,
                                           dev + ":" + ino + ":0",
                                           dev + ":" + ino + " ",
                                           "+" + dev + ":" + ino,
                                           dev + ino,
                                           ":",
                                           std::string()};
  for (const std::string& other : others) {
    JournalStream stream(other);
    BOOST_TEST(!StderrIsJournal(), other);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace instaccess::daemon
