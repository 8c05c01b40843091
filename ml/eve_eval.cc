// spectre-ml eval --eve (see eve_eval.h).
#include "ml/eve_eval.h"

#include <cmath>
#include <set>
#include <sstream>
#include <unordered_map>

#include "ml/json.h"

namespace spectre::ml {

std::string FamilyMap::family(const std::string& name) const {
  for (const auto& [pat, fam] : rules) {
    if (!pat.empty() && pat.back() == '*') {
      if (name.compare(0, pat.size() - 1, pat, 0, pat.size() - 1) == 0) return fam;
    } else if (pat == name) {
      return fam;
    }
  }
  return name;
}

// Lab classes, ML classes and behaviour detectors -> lab attack families.
FamilyMap default_family_map() {
  return FamilyMap{{{"scan_*", "scan"}, {"dos_*", "dos"}, {"bruteforce_*", "bruteforce"},
                    {"web_*", "web_attack"}, {"c2_beacon", "c2_exfil"}, {"dns_tunnel", "c2_exfil"},
                    {"exfiltration", "c2_exfil"},
                    // behaviour detectors (dataplane/behave, gid 9100)
                    {"scan", "scan"}, {"syn_flood", "dos"}, {"synflood", "dos"}, {"slow_dos", "dos"},
                    {"slowdos", "dos"}, {"flood", "dos"}, {"brute_force", "bruteforce"}, {"bruteforce", "bruteforce"},
                    {"beacon", "c2_exfil"}, {"beaconing", "c2_exfil"}, {"exfil", "c2_exfil"},
                    {"exfiltration", "c2_exfil"},
                    // signatures, by their metadata mitre_technique_id (ET's convention)
                    {"T1046", "scan"}, {"T1595*", "scan"}, {"T1110*", "bruteforce"}, {"T1190", "web_attack"},
                    {"T1059*", "web_attack"}, {"T1071*", "c2_exfil"}, {"T1041", "c2_exfil"},
                    {"T1048*", "c2_exfil"}, {"T1572", "c2_exfil"}, {"T1568*", "c2_exfil"},
                    {"T1498*", "dos"}, {"T1499*", "dos"}}};
}

namespace {

// A signature alert's family: its first metadata mitre_technique_id through
// the map; "signature" when it has none or the map does not know it.
std::string signature_family(const json::Doc& d, uint32_t alert, const FamilyMap& map) {
  uint32_t md = alert == json::kNone ? json::kNone : d.find(alert, "metadata");
  uint32_t t = md == json::kNone ? json::kNone : d.find(md, "mitre_technique_id");
  if (t != json::kNone && d.type(t) == json::Type::Array) t = d.first(t);
  if (t == json::kNone || d.type(t) != json::Type::String) return "signature";
  std::string tech = d.str(t), fam = map.family(tech);
  return fam == tech ? "signature" : fam;
}

struct EFlow {
  FlowView v;
  std::string family = "benign";
  std::vector<size_t> episodes;
  bool ml = false, behaviour = false, signature = false;
  std::string first;                 // family of its first counted alert
  std::set<std::string> alerted_as;  // families of every counted alert
  bool any() const { return ml || behaviour || signature; }
};

std::string get_str(const json::Doc& d, uint32_t obj, const char* key) {
  uint32_t i = obj == json::kNone ? json::kNone : d.find(obj, key);
  return i == json::kNone || d.type(i) != json::Type::String ? std::string() : d.str(i);
}

int64_t get_int(const json::Doc& d, uint32_t obj, const char* key, int64_t dflt) {
  uint32_t i = obj == json::kNone ? json::kNone : d.find(obj, key);
  int64_t v;
  return i != json::kNone && d.to_int(i, v) ? v : dflt;
}

std::string raw_id(const json::Doc& d, uint32_t obj) {
  uint32_t i = d.find(obj, "flow_id");
  return i == json::kNone ? std::string() : std::string(d.raw(i));
}

FlowView view_of(const json::Doc& d, uint32_t root, double start, double end) {
  FlowView v;
  parse_ip(get_str(d, root, "src_ip"), v.src);
  parse_ip(get_str(d, root, "dest_ip"), v.dst);
  v.sport = get_int(d, root, "src_port", -1);
  v.dport = get_int(d, root, "dest_port", -1);
  v.proto = norm_proto(get_str(d, root, "proto"));
  v.start = start;
  v.end = end;
  return v;
}

void label_flow(EFlow& f, const LabelSet* ls, const EveEvalOptions& o) {
  if (!ls) return;
  f.episodes = match_episodes(*ls, f.v, o.slack);
  if (!f.episodes.empty()) f.family = o.map.family(ls->episodes[f.episodes[0]].cls);
}

}  // namespace

bool eve_eval(const std::string& text, const LabelSet* ls, const EveEvalOptions& o, EveEvalResult& r,
              size_t& err_lines, std::string& err) {
  r = EveEvalResult{};
  err_lines = 0;
  std::vector<EFlow> flows;
  std::unordered_map<std::string, size_t> by_id;
  // seen: a behaviour alert's episode window [first_seen, last_seen].
  struct Alert {
    std::string id;
    std::vector<std::string> more;
    int layer;
    std::string fam;
    FlowView v;
    double seen0 = 0, seen1 = 0;
  };
  std::vector<Alert> alerts;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json::Doc d;
    std::string e;
    if (!d.parse(line, e) || d.type(0) != json::Type::Object) { ++err_lines; continue; }
    const std::string type = get_str(d, 0, "event_type");
    if (type == "flow") {
      uint32_t fo = d.find(0, "flow");
      double s = 0, t = 0;
      if (!parse_label_time(get_str(d, fo, "start"), s) || !parse_label_time(get_str(d, fo, "end"), t)) {
        ++err_lines;
        continue;
      }
      by_id[raw_id(d, 0)] = flows.size();
      flows.push_back(EFlow{view_of(d, 0, s, t)});
    } else if (type == "alert") {
      uint32_t a = d.find(0, "alert");
      int64_t gid = get_int(d, a, "gid", 1);
      Alert al;
      al.layer = gid == kEveGidMl ? 0 : gid == kEveGidBehaviour ? 1 : 2;
      if (al.layer == 2 && !o.signatures) continue;
      al.id = raw_id(d, 0);
      if (al.layer == 0) al.fam = o.map.family(get_str(d, d.find(0, "ml"), "class"));
      else if (al.layer == 1) {
        uint32_t b = d.find(0, "behaviour");
        al.fam = o.map.family(get_str(d, b, "detector"));
        parse_label_time(get_str(d, b, "first_seen"), al.seen0);
        parse_label_time(get_str(d, b, "last_seen"), al.seen1);
        uint32_t ids = b == json::kNone ? json::kNone : d.find(b, "flow_ids");
        if (ids != json::kNone && d.type(ids) == json::Type::Array)
          for (uint32_t k = d.first(ids); k != json::kNone; k = d.next(k)) al.more.emplace_back(d.raw(k));
      } else {
        al.fam = signature_family(d, a, o.map);
      }
      double ts = 0;
      parse_label_time(get_str(d, 0, "timestamp"), ts);
      al.v = view_of(d, 0, ts, ts);
      alerts.push_back(std::move(al));
    }
  }
  if (flows.empty()) {
    err = "no flow records (run spectre-dp with --eve so flows are logged)";
    return false;
  }
  for (auto& f : flows) label_flow(f, ls, o);
  for (const Alert& al : alerts) {
    std::vector<size_t> targets;
    auto it = by_id.find(al.id);
    if (it != by_id.end()) targets.push_back(it->second);
    for (const auto& id : al.more) {
      auto m = by_id.find(id);
      if (m != by_id.end() && (targets.empty() || targets[0] != m->second)) targets.push_back(m->second);
    }
    if (targets.empty()) {  // no flow record: a flow of its own (one per flow_id)
      ++r.alerts_unmatched;
      flows.push_back(EFlow{al.v});
      label_flow(flows.back(), ls, o);
      targets.push_back(flows.size() - 1);
      if (!al.id.empty() && al.id != "0") by_id[al.id] = flows.size() - 1;
    }
    (al.layer == 0 ? r.alerts_ml : al.layer == 1 ? r.alerts_behaviour : r.alerts_signature)++;
    for (size_t t : targets) {
      EFlow& f = flows[t];
      if (!f.any()) f.first = al.fam;
      (al.layer == 0 ? f.ml : al.layer == 1 ? f.behaviour : f.signature) = true;
      f.alerted_as.insert(al.fam);
    }
  }
  std::vector<EveEvalResult::Cls*> ep_cls;
  std::vector<uint8_t> ep_det, ep_right;
  if (ls) {
    ep_det.assign(ls->episodes.size(), 0);
    ep_right.assign(ls->episodes.size(), 0);
    for (const auto& e : ls->episodes) r.classes[o.map.family(e.cls)].episodes++;
  }
  for (const EFlow& f : flows) {
    ++r.flows;
    r.confusion[f.family][f.any() ? f.first : "none"]++;
    if (f.family == "benign") {
      ++r.benign_flows;
      r.fp_any += f.any();
      r.fp_ml += f.ml;
      r.fp_behaviour += f.behaviour;
      r.fp_signature += f.signature;
      for (const auto& n : f.alerted_as) r.fp_by_name[n]++;
      continue;
    }
    auto& c = r.classes[f.family];
    ++c.flows;
    c.tp += f.any();
    for (size_t e : f.episodes) {
      ep_det[e] |= f.any();
      ep_right[e] |= f.alerted_as.count(o.map.family(ls->episodes[e].cls)) > 0;
    }
  }
  // A behaviour alert speaks of a host or pair over its window, not only of the
  // few flows it names: it reports every episode of the same family whose
  // attacker or victim is one of its endpoints and whose time overlaps it.
  for (const Alert& al : alerts) {
    if (!ls || al.layer != 1 || al.seen0 <= 0) continue;
    for (const LabelRule& rule : ls->rules) {
      const Episode& ep = ls->episodes[rule.episode];
      if (o.map.family(ep.cls) != al.fam) continue;
      bool host = rule.attacker.contains(al.v.src) || rule.attacker.contains(al.v.dst) ||
                  (rule.has_victim && (rule.victim.contains(al.v.dst) || rule.victim.contains(al.v.src)));
      if (host && al.seen0 <= rule.end + o.slack && al.seen1 >= rule.start - o.slack)
        ep_det[rule.episode] = ep_right[rule.episode] = 1;
    }
  }
  for (size_t e = 0; ls && e < ls->episodes.size(); ++e) {
    auto& c = r.classes[o.map.family(ls->episodes[e].cls)];
    c.ep_detected += ep_det[e];
    c.ep_right_class += ep_right[e];
  }
  return true;
}

namespace {
std::string pct(size_t a, size_t b) {
  char buf[64];
  if (!b) return "-";
  std::snprintf(buf, sizeof buf, "%.4f", double(a) / double(b));
  return buf;
}
}  // namespace

std::string eve_eval_table(const EveEvalResult& r) {
  std::ostringstream s;
  s << "flows " << r.flows << ", benign " << r.benign_flows << "; alerts: ml " << r.alerts_ml << ", behaviour "
    << r.alerts_behaviour << ", signature " << r.alerts_signature << " (" << r.alerts_unmatched
    << " without a flow record)\n";
  s << "benign per-flow FPR: any " << pct(r.fp_any, r.benign_flows) << " (" << r.fp_any << "/" << r.benign_flows
    << "), ml " << pct(r.fp_ml, r.benign_flows) << " (" << r.fp_ml << "), behaviour "
    << pct(r.fp_behaviour, r.benign_flows) << " (" << r.fp_behaviour << "), signature "
    << pct(r.fp_signature, r.benign_flows) << " (" << r.fp_signature << ")\n";
  for (const auto& [n, k] : r.fp_by_name) s << "  false positives as " << n << ": " << k << " flows\n";
  if (!r.classes.empty()) {
    s << "class          flows   TP  TPR/flow  episodes detected  right-class\n";
    for (const auto& [n, c] : r.classes) {
      char buf[200];
      std::snprintf(buf, sizeof buf, "%-13s %6zu %5zu  %-8s  %4zu  %4zu %-6s  %4zu %s\n", n.c_str(), c.flows, c.tp,
                    pct(c.tp, c.flows).c_str(), c.episodes, c.ep_detected, pct(c.ep_detected, c.episodes).c_str(),
                    c.ep_right_class, pct(c.ep_right_class, c.episodes).c_str());
      s << buf;
    }
  }
  s << "confusion per flow (true -> first alert's family):\n";
  for (const auto& [t, row] : r.confusion) {
    s << "  " << t << ":";
    for (const auto& [p, k] : row) s << " " << p << "=" << k;
    s << "\n";
  }
  return s.str();
}

std::string eve_eval_json(const EveEvalResult& r) {
  std::ostringstream s;
  auto num = [](size_t a, size_t b) { return b ? std::to_string(double(a) / double(b)) : std::string("null"); };
  s << "{\"flows\":" << r.flows << ",\"benign_flows\":" << r.benign_flows << ",\"fp_any\":" << r.fp_any
    << ",\"fp_ml\":" << r.fp_ml << ",\"fp_behaviour\":" << r.fp_behaviour << ",\"fp_signature\":" << r.fp_signature
    << ",\"fpr\":" << num(r.fp_any, r.benign_flows) << ",\"alerts\":{\"ml\":" << r.alerts_ml
    << ",\"behaviour\":" << r.alerts_behaviour << ",\"signature\":" << r.alerts_signature << "},\"classes\":{";
  bool first = true;
  for (const auto& [n, c] : r.classes) {
    s << (first ? "" : ",") << "\"" << n << "\":{\"flows\":" << c.flows << ",\"tp\":" << c.tp
      << ",\"tpr\":" << num(c.tp, c.flows) << ",\"episodes\":" << c.episodes << ",\"detected\":" << c.ep_detected
      << ",\"right_class\":" << c.ep_right_class << "}";
    first = false;
  }
  s << "},\"confusion\":{";
  first = true;
  for (const auto& [t, row] : r.confusion) {
    s << (first ? "" : ",") << "\"" << t << "\":{";
    bool f2 = true;
    for (const auto& [p, k] : row) { s << (f2 ? "" : ",") << "\"" << p << "\":" << k; f2 = false; }
    s << "}";
    first = false;
  }
  s << "}}\n";
  return s.str();
}

}  // namespace spectre::ml
