// spectre-bench entry point: see bench.h and --help.
#include "bench/bench.h"

int main(int argc, char** argv) {
  spectre::bench::Options o;
  int rc = spectre::bench::parse_options(argc, argv, o);
  if (rc == 1) return 0;  // --help
  if (rc) return rc;
  return spectre::bench::run_all(o);
}
