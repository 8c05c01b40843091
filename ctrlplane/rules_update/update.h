// spectre-rules update: sources -> one merged, policy-applied, test-loaded
// rule file installed atomically in the rule directory, then a reload.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ctrlplane/rules_update/matchers.h"

namespace spectre::rules_update {

struct UpdateOptions {
  std::vector<std::string> sources;
  std::string enable_conf, disable_conf, modify_conf, drop_conf;
  std::string output_dir = "/var/lib/spectre/rules";
  std::string config_file;      // spectre-dp configuration: its vars, classification and rule files join the test
  bool test = true, reload = true, dry_run = false, json = false, strict = false, force = false;
  std::string reload_command, pid_file, instance;
};

constexpr const char* kOutputName = "spectre.rules";
constexpr const char* kClassificationName = "classification.config";

struct SourceReport {
  std::string spec, kind;
  uint32_t files = 0, rules = 0;          // rules read (enabled and commented-out)
  uint32_t enabled = 0, disabled = 0;     // in the result, after duplicates and the policy files
  uint32_t superseded = 0;                // duplicates of this source that lost to a higher rev
  uint32_t unparsable = 0;                // lines that are not a rule with a sid (left out)
};

struct DuplicateReport {
  uint32_t gid = 1, sid = 0, kept_rev = 0, dropped_rev = 0;
  std::string kept_from, dropped_from;   // "source: group"
  size_t dropped_source = 0;             // index of the losing copy's source
};

struct UpdateReport {
  std::vector<SourceReport> sources;
  std::vector<DuplicateReport> duplicates;
  PolicyCounts policy;
  std::vector<std::string> flowbit_enabled;  // disabled rules enabled (noalert) for flowbits enabled rules test
  uint32_t total = 0, enabled = 0, disabled = 0;
  bool previous = false;                  // an installed file existed
  std::vector<std::string> added, removed, modified;  // "gid:sid", against the installed file
  bool changed = false;                   // the result differs from what is installed
  std::vector<std::string> classification_notes;
  // Test load with the data plane's loader and compiler.
  bool tested = false, test_ok = false;
  std::string test_summary;               // the loader's report, as spectre-dp prints it
  std::vector<std::string> test_messages; // per-rule errors and skips ("spectre.rules:12: ...")
  uint32_t active = 0;                    // rules in the compiled set
  std::string output_file;
  bool installed = false;
  std::string reload_method, reload_detail;  // "command", "pid-file", "instance", "none"
  bool reload_ok = true;
  std::vector<std::string> warnings;
  std::string error;                      // why the update failed
};

// Runs the whole update; returns the exit code (0 ok, 1 failed: nothing
// installed, or installed but the reload failed, as `error` says).
int run_update(const UpdateOptions& o, UpdateReport& rep);

// The merged file's text for these rules (header line, then one rule a line).
std::string render_rules(const std::vector<RuleEntry>& rules, size_t sources);

// Deduplicates by gid:sid keeping the highest rev (the first on a tie), in
// place, keeping first-seen order. Reports every dropped copy.
void dedup_rules(std::vector<RuleEntry>& rules, const std::vector<std::string>& source_names,
                 std::vector<DuplicateReport>& dups);

// Diff of two merged files by gid:sid: added, removed, and modified (the
// written line differs, enabling/disabling included).
void diff_rules(const std::vector<RuleEntry>& old_rules, const std::vector<RuleEntry>& new_rules,
                std::vector<std::string>& added, std::vector<std::string>& removed,
                std::vector<std::string>& modified);

// Reload after install (reload.cc).
void reload_dataplane(const UpdateOptions& o, UpdateReport& rep);

// Output (report.cc).
std::string report_text(const UpdateOptions& o, const UpdateReport& rep);
std::string report_json(const UpdateOptions& o, const UpdateReport& rep);

}  // namespace spectre::rules_update
