// Loader side of the set keywords (internal to rules/): resolves a parsed
// rule's DatasetUse entries to sets loaded into RuleSet::datasets, reading
// each set file once per load (a rule reload re-reads them).
//
// File locations (Suricata's "File Locations"): `load` and the hash lists of
// filemd5 & co are relative to the directory of the rule file that names
// them (absolute paths as given); `state` and `save` are relative to the
// configured data directory (LoadOptions::data_dir, config rules.data_dir),
// or the rule file's directory when none is set. A `state` file that does
// not exist yet is an empty set. Nothing is ever written (save/state: a
// warning per set; see rules/README.md).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dataplane/rules/rule.h"

namespace spectre::rules::detail {

struct SetRegistry {
  std::string data_dir;
  struct Def {
    int32_t idx;
    SetType type;
    bool rep;
    std::string load;   // resolved path read ("" none)
    std::string where;  // "file:line" of the defining rule
  };
  std::map<std::string, Def> by_name;
};

// Resolves every r.datasets entry. False when the rule must be refused:
// `reason` is the short reason counted in the report, `msg` the detailed
// message (set name, file and line). `notes` receives warnings (save/state).
bool resolve_sets(Rule& r, SetRegistry& reg, RuleSet& out, std::string& reason, std::string& msg,
                  std::vector<std::string>& notes);

}  // namespace spectre::rules::detail
