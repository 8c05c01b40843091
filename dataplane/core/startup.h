// spectre-dp's start-up steps that need no EAL state: the configuration, what
// detection starts with (model, intel, YARA, rules) and the output files.
// Each reports its own error on stderr and returns false; run_dataplane
// (core/runtime.cc) lists the steps, the EAL-side ones beside it.
#pragma once
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/core/cli.h"
#include "dataplane/core/config.h"
#include "dataplane/core/snapshot.h"
#include "dataplane/core/stats.h"

namespace spectre {

// What the first snapshot detects with.
struct Detection {
  std::shared_ptr<const MlModel> model;
  std::shared_ptr<const intel::IntelSet> iset;
  std::shared_ptr<const yara::RuleSet> yrs;
  std::shared_ptr<const CompiledRuleset> ruleset;
};

// --config none: built-in defaults; no --config: the shipped configuration.
// Sets opt.config_path to the file used, loads it and applies the command line.
bool load_configuration(Options& opt, Config& cfg);
// The ML model, threat intel and YARA rules (rules come after the EAL: they size per worker).
bool load_detection(const Config& cfg, IoCounters& io, Detection& d);
// Fails early on unreadable input.
bool check_inputs(const std::vector<std::string>& reads);
// The signature rules, compiled for `workers`; messages to --rules-report.
bool load_rules(const Config& cfg, const Options& opt, uint32_t workers, Detection& d);
// One line at start: what this run detects with, and where that came from.
void print_detection_line(const Config& cfg, const Detection& d);

// fast.log, the feature dump and EVE, closed by close() or when it goes.
struct OutputFiles {
  FILE* fast = nullptr;
  FILE* features = nullptr;
  FILE* eve = nullptr;  // may be stdout (never closed)
  OutputFiles() = default;
  OutputFiles(const OutputFiles&) = delete;
  OutputFiles& operator=(const OutputFiles&) = delete;
  ~OutputFiles() { close(); }
  bool open_logs(const Config& cfg);  // fast.log and the feature dump (before the EAL)
  bool open_eve(const std::string& path);
  void close();
};

}  // namespace spectre
