// --api-config FILE: the `api:` section of a YAML file. For now it holds what
// the flow records, the stats channel and explain's rule texts need; command-line options win.
#include <yaml-cpp/yaml.h>

#include "ctrlplane/api/runtime.h"
#include "dataplane/core/yaml_reader.h"

namespace spectre::api {

namespace {

bool u64(const YAML::Node& n, const std::string& where, uint64_t lo, uint64_t& out, std::string& err) {
  try {
    int64_t v = n.as<int64_t>();
    if (v < int64_t(lo)) throw YAML::Exception(n.Mark(), "below " + std::to_string(lo));
    out = uint64_t(v);
    return true;
  } catch (const YAML::Exception&) {
    err = where + ": expected a number of at least " + std::to_string(lo);
    return false;
  }
}

bool flows_section(const YAML::Node& f, FlowFilterOptions& o, std::string& err) {
  if (!f.IsMap()) { err = "api.flows: expected a map"; return false; }
  for (const auto& kv : f) {
    std::string k = kv.first.as<std::string>();
    if (k == "store") {
      std::string m = kv.second.IsScalar() ? kv.second.as<std::string>() : "";
      if (!parse_flow_mode(m, o.mode)) { err = "api.flows.store: expected none, alerted or all"; return false; }
    } else if (k == "min_bytes") {
      if (!u64(kv.second, "api.flows.min_bytes", 0, o.min_bytes, err)) return false;
    } else if (k == "min_packets") {
      if (!u64(kv.second, "api.flows.min_packets", 0, o.min_packets, err)) return false;
    } else if (k == "sample") {
      if (!u64(kv.second, "api.flows.sample", 1, o.sample, err)) return false;
    } else {
      err = "api.flows: unknown key '" + k + "' (store, min_bytes, min_packets, sample)";
      return false;
    }
  }
  return true;
}

// rules: [FILE|DIR, ...] (relative to the working directory, as --api-rules).
bool rules_list(const YAML::Node& n, std::vector<std::string>& out, std::string& err) {
  if (!n.IsSequence()) { err = "api.rules: expected a list of rule files or directories"; return false; }
  for (const auto& e : n) {
    if (!e.IsScalar() || e.as<std::string>().empty()) { err = "api.rules: expected file or directory names"; return false; }
    out.push_back(e.as<std::string>());
  }
  return true;
}

}  // namespace

bool load_api_config(const std::string& path, ApiCli& o, std::string& err) {
  YAML::Node root;
  if (!load_yaml_file(path, root, err)) return false;
  YAML::Node a = root.IsMap() ? root["api"] : YAML::Node();
  if (!a || !a.IsMap()) { err = path + ": no api: section"; return false; }
  FlowFilterOptions flows = o.flows;
  uint64_t period = o.stats_period_ms;
  std::vector<std::string> rules;
  for (const auto& kv : a) {
    std::string k = kv.first.as<std::string>();
    bool ok = k == "flows"             ? flows_section(kv.second, flows, err)
              : k == "stats_period_ms" ? u64(kv.second, "api.stats_period_ms", 0, period, err)
              : k == "rules"           ? rules_list(kv.second, rules, err)
                                       : (err = "api: unknown key '" + k + "' (flows, stats_period_ms, rules)", false);
    if (!ok) { err = path + ": " + err; return false; }
  }
  if (period && period < 100) { err = path + ": api.stats_period_ms: expected 0 (off) or at least 100"; return false; }
  if (!o.flows_set) o.flows = flows;  // --store-flows* on the command line replace the file's flows: as a whole
  if (!o.stats_period_set) o.stats_period_ms = period;
  if (o.rules.empty()) o.rules = rules;  // --api-rules on the command line replace the file's
  return true;
}

}  // namespace spectre::api
