#include "ctrlplane/cortex/playbook.h"

#include <algorithm>

#include <yaml-cpp/yaml.h>

#include "ctrlplane/cortex/incident.h"
#include "dataplane/core/yaml_reader.h"

namespace spectre::cortex {

const char* auto_action_name(AutoAction a) { return a == AutoAction::kWebhook ? "webhook" : "block"; }

namespace {

bool parse_level(YamlReader& L, const YAML::Node& v, int& out) {
  std::string s;
  if (!L.str(v, s)) return false;
  for (int i = 0; i < 5; i++)
    if (s == risk_level_name(RiskLevel(i))) return out = i, true;
  return L.fail(v, "level: expected info, low, medium, high or critical, got '" + s + "'");
}

bool read_when(YamlReader& L, const YAML::Node& n, const AttackTable& t, Playbook& p) {
  return L.each(n, "when", [&](const std::string& k, const YAML::Node& v) {
    std::vector<std::string> l;
    if (k == "level") return parse_level(L, v, p.min_level);
    if (k == "tactics") {
      if (!L.strs(v, l)) return false;
      for (auto& e : l) {
        uint8_t ta = t.tactic(e);
        if (!ta) return L.fail(v, "unknown tactic '" + e + "' (ATT&CK " + t.version + ")");
        p.tactics.push_back(ta);
      }
      return true;
    }
    if (k == "techniques") {
      if (!L.strs(v, l)) return false;
      for (auto& e : l) {
        uint16_t te = t.technique(e);
        if (!te) return L.fail(v, "unknown technique id '" + e + "' (not in the ATT&CK table " + t.version + ")");
        p.techniques.push_back(te);
      }
      return true;
    }
    if (k == "asset_tags") return L.strs(v, p.asset_tags);
    if (k == "intel") {
      bool b = false;
      if (!L.boolean(v, b)) return false;
      p.intel = b ? 1 : 0;
      return true;
    }
    if (k == "entity_risk") return L.num(v, p.min_entity_risk, 0, 1e9);
    return false;
  });
}

bool read_playbook(YamlReader& L, const YAML::Node& n, const AttackTable& t, Playbook& p) {
  p.line = n.Mark().line + 1;
  bool ok = L.each(n, "playbooks", [&](const std::string& k, const YAML::Node& v) {
    if (k == "name") return L.str(v, p.name);
    if (k == "title") return L.str(v, p.title);
    if (k == "when") return read_when(L, v, t, p);
    if (k == "actions") return L.strs(v, p.actions);
    if (k == "investigation") return L.strs(v, p.investigation);
    if (k == "escalation") return L.str(v, p.escalation);
    if (k == "automatic") {
      std::vector<std::string> l;
      if (!L.strs(v, l)) return false;
      for (auto& e : l) {
        if (e == "webhook") p.automatic.push_back(AutoAction::kWebhook);
        else if (e == "block") p.automatic.push_back(AutoAction::kBlock);
        else return L.fail(v, "automatic: expected webhook or block, got '" + e + "'");
      }
      return true;
    }
    return false;
  });
  if (!ok) return false;
  if (p.name.empty()) return L.fail(n, "a playbook needs a name");
  if (p.title.empty()) p.title = p.name;
  return true;
}

}  // namespace

bool Playbooks::load(std::string_view yaml, const std::string& path, const AttackTable& t, std::string& err) {
  t_ = &t;
  YAML::Node root;
  if (!parse_yaml(yaml, path, root, err)) return false;
  YamlReader L{path, err};
  source = path;
  list.clear();
  if (!root.IsDefined() || root.IsNull()) return true;  // an empty file: no playbook
  return L.each(root, "(top)", [&](const std::string& k, const YAML::Node& v) {
    if (k != "playbooks") return false;
    if (!v.IsSequence()) return L.fail(v, "playbooks: expected a list");
    for (const auto& e : v) {
      Playbook p;
      if (!read_playbook(L, e, t, p)) return false;
      for (auto& q : list)
        if (q.name == p.name) return L.fail(e, "playbook '" + p.name + "' defined twice");
      list.push_back(std::move(p));
    }
    return true;
  });
}

const Playbook* Playbooks::match(const Incident& inc, double entity_risk) const {
  for (const Playbook& p : list) {
    if (int(inc.risk.level) < p.min_level || entity_risk < p.min_entity_risk) continue;
    if (p.intel >= 0 && (p.intel == 1) == inc.intel.empty()) continue;
    auto any_tactic = [&] {
      for (auto& [ta, ts] : inc.tactics)
        if (std::find(p.tactics.begin(), p.tactics.end(), ta) != p.tactics.end()) return true;
      return false;
    };
    auto any_technique = [&] {
      for (auto& [te, ts] : inc.techniques)
        for (uint16_t x : p.techniques)
          if (te == x || (t_ && t_->under(te, x))) return true;
      return false;
    };
    auto any_tag = [&] {
      for (auto& f : inc.assets)
        for (auto& tag : p.asset_tags)
          if (f.asset->has(tag)) return true;
      return false;
    };
    if (!p.tactics.empty() && !any_tactic()) continue;
    if (!p.techniques.empty() && !any_technique()) continue;
    if (!p.asset_tags.empty() && !any_tag()) continue;
    return &p;
  }
  return nullptr;
}

}  // namespace spectre::cortex
