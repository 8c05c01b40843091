// Models and rows trained by python3-xgboost (gen_xgb_models.py, ~50 s), made
// once per test process and shared by every test that needs them; removed at exit.
#pragma once
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace spectre::ml::testing {

// meson passes sources relative to the build root, and the binary lives in
// <build>/tests/unit/, so a relative __FILE__ is resolved from the binary's path.
inline std::string xgb_gen_script() {
  if (const char* env = std::getenv("SPECTRE_XGB_GEN")) return env;
  std::string f = __FILE__;
  std::string dir = f.substr(0, f.rfind('/'));
  if (!dir.empty() && dir[0] != '/') {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
      exe[n] = 0;
      std::string e = exe;
      dir = e.substr(0, e.rfind('/')) + "/../../" + dir;
    }
  }
  return dir + "/gen_xgb_models.py";
}

// The fixture directory, or "" with `skip` set. SPECTRE_XGB_FIXTURES=DIR
// reuses fixtures already generated there (kept).
inline std::string xgb_fixture_dir(std::string& skip) {
  static std::string dir, why;
  static bool done = false;
  if (!done) {
    done = true;
    if (const char* given = std::getenv("SPECTRE_XGB_FIXTURES")) {
      dir = given;
    } else if (std::system("/usr/bin/python3 -c 'import xgboost, numpy' >/dev/null 2>&1") != 0) {
      why = "no /usr/bin/python3 with xgboost and numpy";
    } else {
      char tmpl[] = "/tmp/spectre_xgb_XXXXXX";
      if (!mkdtemp(tmpl)) {
        why = "mkdtemp failed";
      } else {
        dir = tmpl;
        std::atexit([] { std::system(("rm -rf " + dir).c_str()); });
        std::string cmd = "/usr/bin/python3 " + xgb_gen_script() + " " + dir + " >/dev/null";
        if (std::system(cmd.c_str()) != 0) {
          why = "gen_xgb_models.py failed: " + cmd;
          dir.clear();
        }
      }
    }
  }
  skip = why;
  return dir;
}

// A fixture's rows: gen_xgb_models.py's CSV of floats, "nan" = missing.
struct FixtureRows {
  std::vector<float> v;  // nrow * ncol, row-major
  size_t ncol = 0, nrow = 0;
};
inline FixtureRows read_fixture_csv(const std::string& p) {
  FixtureRows r;
  std::ifstream f(p);
  std::string line;
  while (std::getline(f, line)) {
    std::stringstream ls(line);
    std::string cell;
    size_t n = 0;
    while (std::getline(ls, cell, ',')) {
      r.v.push_back(cell == "nan" ? NAN : std::strtof(cell.c_str(), nullptr));
      ++n;
    }
    r.ncol = n;
    ++r.nrow;
  }
  return r;
}

}  // namespace spectre::ml::testing
