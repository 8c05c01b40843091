// Helpers shared by the spectre-cp unit tests.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ml/artifact.h"

namespace cp_test {

// Source tree: $SPECTRE_SOURCE_ROOT, else the meson build dir above the test
// binary (meson-info.json names the source dir), else walking up from cwd.
inline std::string source_root() {
  namespace fs = std::filesystem;
  if (const char* e = std::getenv("SPECTRE_SOURCE_ROOT"); e && *e) return e;
  std::error_code ec;
  std::vector<fs::path> starts{fs::current_path()};
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) starts.push_back(exe.parent_path());
  for (fs::path d : starts) {
    for (; !d.empty(); d = d.parent_path()) {
      if (fs::exists(d / "ml" / "models" / "default.spm")) return d;
      fs::path info = d / "meson-info" / "meson-info.json";
      if (fs::exists(info)) {
        std::ifstream f(info);
        std::string t((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        std::string key = "\"source\": \"";
        size_t at = t.find(key);
        if (at != std::string::npos) {
          size_t b = at + key.size(), q = t.find('"', b);
          fs::path src = t.substr(b, q - b);
          if (fs::exists(src / "ml" / "models" / "default.spm")) return src;
        }
      }
      if (d == d.parent_path()) break;
    }
  }
  return ".";
}

inline std::string model_path() { return source_root() + "/ml/models/default.spm"; }

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/cp-test-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

inline std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// A second valid artifact: default.spm rebuilt with another "version" metric.
inline std::string make_variant(const std::string& dir, int version) {
  spectre::ml::LoadedModel m;
  std::string err;
  EXPECT_TRUE(spectre::ml::load_artifact_file(model_path(), m, err)) << err;
  spectre::ml::ArtifactInfo info;
  info.feature_names = m.feature_names;
  info.class_names = m.class_names;
  info.thresholds = m.thresholds;
  for (auto& kv : m.metrics)
    if (kv.first != "version") info.metrics.push_back(kv);
  info.metrics.emplace_back("version", version);
  info.validation = m.validation;
  info.created_by = "test";
  std::vector<uint8_t> out;
  EXPECT_TRUE(spectre::ml::build_artifact_xgb(m.xgb, info, out, err)) << err;
  std::string p = dir + "/variant" + std::to_string(version) + ".spm";
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(out.data()), long(out.size()));
  return p;
}

}  // namespace cp_test

