// Rule files -> compiled ruleset, off the workers (main thread at start-up, a
// background thread on reload). Shared by spectre-dp and spectre-bench.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "dataplane/core/config.h"
#include "dataplane/detect/detect.h"

namespace spectre {

// True when the configuration names any rules (an optional rule directory
// counts only when it exists).
bool rules_configured(const Config& cfg);
// The rule directory is set and (if optional) exists.
bool rules_dir_present(const Config& cfg);

// Loads, parses and compiles. Null with `err` on a fatal problem (unreadable
// file, --strict and a skipped rule, nothing compiled). `summary` gets the
// load line(s) for stderr; `messages` every per-rule error and skip.
std::shared_ptr<const CompiledRuleset> load_ruleset(const Config& cfg, uint32_t workers, std::string& err,
                                                    std::string& summary,
                                                    std::vector<std::string>* messages = nullptr);

}  // namespace spectre
