// spectre-dp: command line -> run_dataplane. All wiring lives in core/runtime.cc.
#include <cstdio>

#include <fmt/format.h>

#include "dataplane/core/cli.h"
#include "dataplane/core/runtime.h"

int main(int argc, char** argv) {
  spectre::Options opt;
  std::string err;
  if (!spectre::parse_cli(argc, argv, opt, err)) {
    fmt::print(stderr, "spectre-dp: {}\n{}", err, spectre::usage_text());
    return 2;
  }
  if (opt.help) {
    fmt::print("{}", spectre::usage_text());
    return 0;
  }
  if (opt.version) {
    fmt::print("spectre-dp {}\n", SPECTRE_VERSION);
    return 0;
  }
  return spectre::run_dataplane(opt);
}
