// Command line of spectre-rules.
#pragma once
#include <string>

#include "ctrlplane/rules_update/update.h"

namespace spectre::rules_update {

const char* usage_text();

// 0: run; -1: --help asked; 2: wrong use (`err` says why).
int parse_args(int argc, char** argv, UpdateOptions& o, std::string& err);

}  // namespace spectre::rules_update
