// Process wiring for spectre-dp: EAL, pools, workers, writer, signals.
// Everything here runs on the main lcore except the worker loops.
#pragma once
#include "dataplane/core/cli.h"

namespace spectre {

// Returns the process exit code: 0 ok, 1 runtime/input error, 2 wrong use.
int run_dataplane(const Options& opt);

}  // namespace spectre
