#include "dataplane/core/startup.h"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "dataplane/core/rules_setup.h"
#include "dataplane/events/eve.h"
#include "dataplane/io/pcap_reader.h"
#include "dataplane/yaramatch/compile.h"

namespace spectre {

namespace {

// Prints per-rule messages: all to --rules-report, else the first few.
void report_rule_messages(const std::vector<std::string>& msgs, const std::string& report_path) {
  if (!report_path.empty()) {
    FILE* f = fopen(report_path.c_str(), "w");
    if (!f) {
      fmt::print(stderr, "spectre-dp: {}: cannot write rules report: {}\n", report_path, strerror(errno));
    } else {
      for (const auto& m : msgs) fmt::print(f, "{}\n", m);
      fclose(f);
    }
  }
  const size_t kShow = report_path.empty() ? 20 : 0;
  for (size_t i = 0; i < msgs.size() && i < kShow; i++) fmt::print(stderr, "spectre-dp: rule: {}\n", msgs[i]);
  if (msgs.size() > kShow)
    fmt::print(stderr, "spectre-dp: {} rule message(s){}\n", msgs.size(),
               report_path.empty() ? " in all; --rules-report FILE lists every one"
                                   : " written to " + report_path);
}

}  // namespace

bool load_configuration(Options& opt, Config& cfg) {
  opt.config_path = opt.config_path == "none" ? std::string()
                    : opt.config_path.empty() ? find_default_config()
                                              : opt.config_path;
  if (!opt.config_path.empty()) {
    std::string err;
    auto c = load_config(opt.config_path, err);
    if (!c) {
      fmt::print(stderr, "spectre-dp: {}\n", err);
      return false;
    }
    cfg = *c;
  }
  apply_cli_overrides(cfg, opt);
  return true;
}

bool load_detection(const Config& cfg, IoCounters& io, Detection& d) {
  if (!cfg.ml_model.empty()) {
    std::string merr;
    if (!(d.model = load_ml_model(cfg.ml_model, merr))) {
      fmt::print(stderr, "spectre-dp: {}\n", merr);
      return false;
    }
    const MlModel& m = *d.model;
    fmt::print(stderr, "spectre-dp: ML model {} ({} {}, {} outputs, version {})\n", m.name,
               m.anomaly ? "isolation forest" : "xgboost",
               m.anomaly ? fmt::format("{} trees", m.m.iforest.roots.size())
                         : fmt::format("{} trees", m.m.xgb.num_trees()),
               m.out_class.size(), m.version);
  }
  if (!cfg.intel_feeds.empty()) {
    std::string ierr;
    if (!(d.iset = intel::load_intel(cfg.intel_feeds, ierr))) {
      fmt::print(stderr, "spectre-dp: threat intel: {}\n", ierr);
      return false;
    }
    fmt::print(stderr, "spectre-dp: threat intel: {}\n", intel_summary(*d.iset));
    io.set_intel_feeds(d.iset->summary_json());
  }
  // YARA: a broken rule file is fatal at start, as an unreadable signature file is (reload: refused).
  if (!cfg.yara.rules.empty()) {
    std::string yerr;
    std::vector<std::string> ywarn;
    d.yrs = yara::compile(cfg.yara.rules, cfg.rules_strict, yerr, &ywarn);
    for (const auto& wmsg : ywarn) fmt::print(stderr, "spectre-dp: yara: {}\n", wmsg);
    if (!d.yrs && !yerr.empty()) {
      fmt::print(stderr, "spectre-dp: yara: {}\n", yerr);
      return false;
    }
    if (d.yrs) fmt::print(stderr, "spectre-dp: {}\n", yara::summary(*d.yrs, cfg.yara));
    else fmt::print(stderr, "spectre-dp: yara: warning: no YARA rule in {} (--strict refuses this)\n",
                    fmt::join(cfg.yara.rules, ", "));
  }
  return true;
}

bool check_inputs(const std::vector<std::string>& reads) {
  for (const auto& f : reads) {
    PcapReader r;
    std::string err;
    if (!r.open(f, err)) {
      fmt::print(stderr, "spectre-dp: {}\n", err);
      return false;
    }
  }
  return true;
}

bool load_rules(const Config& cfg, const Options& opt, uint32_t workers, Detection& d) {
  if (!rules_configured(cfg)) return true;
  std::string err, summary;
  std::vector<std::string> msgs;
  d.ruleset = load_ruleset(cfg, workers, err, summary, &msgs);
  report_rule_messages(msgs, opt.rules_report);
  if (!d.ruleset && !err.empty()) {  // fatal (unreadable file, or --strict and a dropped rule)
    fmt::print(stderr, "spectre-dp: {}\n", err);
    return false;
  }
  fmt::print(stderr, "spectre-dp: {}", summary);
  if (!d.ruleset)
    fmt::print(stderr, "spectre-dp: warning: no rule is active (every rule was skipped or rejected, reasons "
                       "above{}); running without signatures (--strict refuses this)\n",
               opt.rules_report.empty() ? "" : ", list in " + opt.rules_report);
  return true;
}

void print_detection_line(const Config& cfg, const Detection& d) {
  std::string cfgname = cfg.source_path.empty() ? std::string("built-in defaults") : cfg.source_path;
  std::vector<std::string> parts;
  if (d.ruleset) {
    std::string dir;
    if (!cfg.rules_dir.empty())
      dir = fmt::format(", dir {}{}", cfg.rules_dir, rules_dir_present(cfg) ? "" : " (absent)");
    parts.push_back(fmt::format("{} rules ({} file(s){})", ruleset_rule_count(*d.ruleset), cfg.rule_files.size(),
                                dir));
  }
  if (d.model) parts.push_back(fmt::format("model {} version {}", d.model->name, d.model->version));
  if (cfg.behave.enabled) parts.push_back("behaviour detectors");
  if (d.iset) parts.push_back(fmt::format("{} intel indicators", d.iset->size()));
  if (!cfg.yara.rules.empty()) parts.push_back("YARA rules");
  if (parts.empty()) {
    fmt::print(stderr, "spectre-dp: nothing to detect with: no rules, no model, behaviour detectors off "
               "(configuration: {}); only flows and transactions are logged\n", cfgname);
    return;
  }
  std::string what;
  for (size_t i = 0; i < parts.size(); i++) what += (i ? ", " : "") + parts[i];
  rules::Vars vars = rules::Vars::suricata_defaults();
  for (const auto& [k, v] : cfg.address_vars) vars.address[k] = v;
  fmt::print(stderr, "spectre-dp: detecting with {}; HOME_NET {}; configuration: {}\n", what,
             vars.address["HOME_NET"], cfgname);
}

bool OutputFiles::open_logs(const Config& cfg) {
  if (!cfg.fast_path.empty() && !(fast = fopen(cfg.fast_path.c_str(), "w"))) {
    fmt::print(stderr, "spectre-dp: {}: cannot open fast.log output: {}\n", cfg.fast_path, strerror(errno));
    return false;
  }
  if (!cfg.dump_features.empty()) {
    if (!(features = fopen(cfg.dump_features.c_str(), "w"))) {
      fmt::print(stderr, "spectre-dp: {}: cannot open feature dump: {}\n", cfg.dump_features, strerror(errno));
      return false;
    }
    write_feature_header(features);
  }
  return true;
}

bool OutputFiles::open_eve(const std::string& path) {
  if (path.empty()) return true;
  if (path == "-") {
    eve = stdout;
    return true;
  }
  if ((eve = fopen(path.c_str(), "w"))) return true;
  fmt::print(stderr, "spectre-dp: {}\n", fmt::format("{}: cannot open EVE output: {}", path, strerror(errno)));
  return false;
}

void OutputFiles::close() {
  if (eve && eve != stdout) fclose(eve);
  if (fast) fclose(fast);
  if (features) fclose(features);
  eve = fast = features = nullptr;
}

}  // namespace spectre
