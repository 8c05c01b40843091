// A temporary directory for one test, removed with everything in it at scope exit.
#pragma once
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace spectre::testutil {

struct TmpDir {
  std::filesystem::path p;
  explicit TmpDir(const char* prefix = "spectre-test") {
    std::string t = std::string("/tmp/") + prefix + "-XXXXXX";
    if (char* d = mkdtemp(t.data())) p = d;
  }
  ~TmpDir() {
    std::error_code ec;
    std::filesystem::remove_all(p, ec);
  }
  TmpDir(const TmpDir&) = delete;
  TmpDir& operator=(const TmpDir&) = delete;
  // Writes `text` to p/name (folders created); the file's path.
  std::string put(const std::string& name, const std::string& text) const {
    std::filesystem::path f = p / name;
    std::filesystem::create_directories(f.parent_path());
    std::ofstream(f, std::ios::binary) << text;
    return f.string();
  }
};

}  // namespace spectre::testutil
