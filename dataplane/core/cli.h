// spectre-dp command line (main thread).
#pragma once
#include <string>
#include <vector>

namespace spectre {

struct Options {
  std::vector<std::string> reads;     // -r files: offline mode when non-empty
  std::vector<std::string> eal_args;  // before "--"; empty offline: generated
  std::string config_path;
  std::string eve_path;               // "-" = stdout
  int workers = 0;                    // 0: config / lcores decide
  int progress = -1;                  // -1: when stderr is a terminal
  bool help = false, version = false;
};

// Returns false with `err` on wrong use.
bool parse_cli(int argc, char** argv, Options& o, std::string& err);
const char* usage_text();

}  // namespace spectre
