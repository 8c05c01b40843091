// spectre-dp command line (main thread).
#pragma once
#include <string>
#include <vector>

#include "dataplane/core/config.h"

namespace spectre {

struct Options {
  std::vector<std::string> reads;     // -r files: offline mode when non-empty
  std::vector<std::string> eal_args;  // before "--"; empty offline: generated
  std::string config_path;            // "none": built-in defaults; empty: find_default_config()
  std::string home_net;               // --home-net: "[CIDR,...]" for vars.address.HOME_NET
  std::string eve_path;               // "-" = stdout
  int workers = 0;                    // 0: config / lcores decide
  int progress = -1;                  // -1: when stderr is a terminal
  std::vector<std::string> rule_files;  // -S: exactly these (replaces the config's list)
  std::string rules_dir;
  std::string fast_path;              // --fast: Suricata fast.log lines
  std::string rules_report;           // --rules-report: every per-rule error/skip
  std::string threshold_file;         // --threshold-file: threshold.config (over threshold-file:)
  std::string rules_cache;            // --rules-cache DIR|none (over rules.cache_dir)
  int checksum = -1;                  // -k: -1 config, 0 none, 1 all
  std::string model_path;             // --model: ML artifact (.spm)
  std::string dump_features;          // --dump-features: feature rows CSV
  std::string score_points;           // --score-points: "4,16" or "none"
  bool no_ml = false;                 // --no-ml: ignore the configured model
  bool no_incidents = false;          // --no-incidents: no correlation / incident records
  std::string assets;                       // --assets: asset file for incidents
  std::vector<std::string> incident_rules;  // --incident-rules: correlation rule files (replace the list)
  std::string instance;               // --instance: control-plane channel name
  std::vector<std::string> yara;      // --yara: YARA rule files or directories, added to the config's
  std::vector<std::string> intel;     // --intel: threat-intel feeds (format detected), added to the config's
  bool strict = false, no_midstream = false;
  int midstream = -1, async_oneside = -1;  // --[no-]midstream, --[no-]async-oneside: -1 config
  bool help = false, version = false;
};

// The command line as a layer over a configuration file's values: applied at
// start and again to every SIGHUP re-read, so a reload keeps the overrides.
// Settings fixed at start (EVE, fast.log, dump file, workers, instance) are
// applied too; the reloader keeps its start-up values for those anyway.
void apply_cli_overrides(Config& c, const Options& o);

// Returns false with `err` on wrong use.
bool parse_cli(int argc, char** argv, Options& o, std::string& err);
const char* usage_text();

}  // namespace spectre
