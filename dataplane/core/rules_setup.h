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

// Loads, parses and compiles. Rules that fail to parse, use an unsupported
// keyword or fail to compile are dropped and reported (`messages`, counts in
// `summary`); the rest is the ruleset. Three outcomes:
//   non-null            the active rules;
//   null, `err` empty   nothing is active (every rule dropped, or no rule in
//                       the files): the caller runs without signatures;
//                       `summary` says so and why. Never under strict;
//   null, `err` set     fatal: unreadable file or directory, bad
//                       classification file, Hyperscan failure, or (strict,
//                       `rules.strict` / --strict) any dropped rule.
std::shared_ptr<const CompiledRuleset> load_ruleset(const Config& cfg, uint32_t workers, std::string& err,
                                                    std::string& summary,
                                                    std::vector<std::string>* messages = nullptr);

}  // namespace spectre
