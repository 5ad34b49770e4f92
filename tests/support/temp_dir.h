// A fresh directory under $TMPDIR for one test, removed with everything in it afterwards.
#pragma once

#include <filesystem>
#include <string>

namespace instaccess::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Writes `content` to `path`, replacing it.
void WriteFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);

// Runs `command` through the shell and returns its standard output. Throws if it cannot start.
std::string CaptureOutput(const std::string& command);

}  // namespace instaccess::testing
