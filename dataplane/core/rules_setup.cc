#include "dataplane/core/rules_setup.h"

#include <chrono>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "dataplane/detect/threshold_config.h"
#include "dataplane/rules/loader.h"

namespace spectre {

bool rules_dir_present(const Config& cfg) {
  if (cfg.rules_dir.empty()) return false;
  if (!cfg.rules_dir_optional) return true;  // a missing required dir is the loader's error
  std::error_code ec;
  return std::filesystem::is_directory(cfg.rules_dir, ec);
}

bool rules_configured(const Config& cfg) { return !cfg.rule_files.empty() || rules_dir_present(cfg); }

std::shared_ptr<const CompiledRuleset> load_ruleset(const Config& cfg, uint32_t workers, std::string& err,
                                                    std::string& summary, std::vector<std::string>* messages) {
  auto t0 = std::chrono::steady_clock::now();
  rules::LoadOptions o;
  o.files = cfg.rule_files;
  if (rules_dir_present(cfg)) o.rules_dir = cfg.rules_dir;
  o.classification_file = cfg.classification_file;
  o.strict = cfg.rules_strict;
  o.data_dir = cfg.rules_data_dir;
  for (const auto& [k, v] : cfg.address_vars) o.vars.address[k] = v;
  for (const auto& [k, v] : cfg.port_vars) o.vars.port[k] = v;
  rules::RuleSet rs;
  rules::LoadReport rep;
  bool ok = rules::load_rules(o, rs, rep, err);
  if (messages) *messages = rep.messages;
  if (!ok) return nullptr;
  // threshold.config: read with the rules (so SIGHUP/SIGUSR2 re-read it); an
  // unreadable file is fatal like a rule file, bad lines are reported and skipped.
  ThresholdConfig thr;
  std::vector<std::string> thr_msgs;
  if (!cfg.threshold_file.empty()) {
    if (!load_threshold_file(cfg.threshold_file, rs.vars, thr, thr_msgs, err)) return nullptr;
    if (cfg.rules_strict && thr.bad_lines) {
      err = fmt::format("--strict: {}", thr_msgs.front());
      return nullptr;
    }
  }
  double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  CompileReport crep;
  std::shared_ptr<const CompiledRuleset> compiled;
  CompileOptions copt;
  if (!cfg.threshold_file.empty()) copt.thresholds = &thr;
  copt.cache_dir = cfg.rules_cache_dir;
  if (!rs.rules.empty()) compiled = compile_ruleset(rs, workers, copt, crep, err);
  if (messages) messages->insert(messages->begin(), thr_msgs.begin(), thr_msgs.end());  // before rule messages
  if (messages) messages->insert(messages->end(), crep.messages.begin(), crep.messages.end());
  // Nothing compiled because every rule was dropped (or none loaded): not a
  // failure of the run unless strict. Any other null is (Hyperscan error...).
  const bool none_left = rs.rules.empty() || (!compiled && crep.rejected == rs.rules.size());
  if (!compiled && !none_left) return nullptr;
  if (cfg.rules_strict && crep.rejected) {
    err = fmt::format("--strict: {} rule(s) failed to compile{}{}", crep.rejected,
                      crep.messages.empty() ? "" : ": ", crep.messages.empty() ? "" : crep.messages[0]);
    return nullptr;
  }
  if (none_left) {
    if (cfg.rules_strict) {
      err = fmt::format("--strict: no rule loaded ({} seen, {} skipped, {} errors, {} rejected at compile)",
                        rep.rules_seen, rep.skipped, rep.errors, crep.rejected);
      return nullptr;
    }
    err.clear();
    compiled = nullptr;
  }
  summary = fmt::format(
      "rules: {} loaded, {} skipped, {} errors, {} rejected at compile; {} active; parsed in {:.0f} ms, "
      "compiled in {:.0f} ms ({} patterns, {} databases, {:.1f} MB + {:.1f} MB scratch)\n{}",
      rep.loaded, rep.skipped, rep.errors, crep.rejected, compiled ? ruleset_rule_count(*compiled) : 0,
      load_ms, crep.compile_ms, crep.patterns, crep.databases, double(crep.db_bytes) / 1e6,
      double(crep.scratch_bytes) / 1e6, rep.summary() + "\n");
  if (!cfg.rules_cache_dir.empty())
    summary += fmt::format("rule cache {}: {} databases loaded, {} compiled, {} errors\n", cfg.rules_cache_dir,
                           crep.cache_hits, crep.cache_misses, crep.cache_errors);
  if (!cfg.threshold_file.empty())
    summary += fmt::format("thresholds: {} entries from {} ({} bad line(s) skipped)\n", thr.entries.size(),
                           cfg.threshold_file, thr.bad_lines);
  return compiled;
}

}  // namespace spectre
