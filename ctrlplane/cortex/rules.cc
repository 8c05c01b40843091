#include "ctrlplane/cortex/rules.h"

#include <algorithm>
#include <cstring>
#include <map>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "dataplane/core/yaml_reader.h"

namespace spectre::cortex {

namespace {
const char* const kFields[] = {"src_ip", "dest_ip", "src_port", "dest_port", "proto", "src_net", "dest_net",
                               "attacker", "victim", "attacker_net", "victim_net", "pair", "kind", "tactic",
                               "technique", "gid", "sid", "signature", "detector", "ml_class", "dns", "sni",
                               "http_host", "ja3"};
static_assert(sizeof kFields / sizeof kFields[0] == kFieldEnd);
const char* const kLevels[] = {"informational", "low", "medium", "high", "critical"};
}  // namespace

bool parse_field(std::string_view s, Field& f) {
  for (uint8_t i = 0; i < kFieldEnd; i++)
    if (s == kFields[i]) return f = Field(i), true;
  return false;
}
const char* field_name(Field f) { return f < kFieldEnd ? kFields[f] : "?"; }
const char* level_name(Level l) { return kLevels[uint8_t(l) % 5]; }

Val field_value(const Detection& d, Field f, const AttackTable& t) {
  bool rev = d.attacker_is_dst(t.outbound(d.tactic));
  switch (f) {
    case kSrcIp: return addr_val(d.src, d.ip_ver);
    case kDestIp: return addr_val(d.dst, d.ip_ver);
    case kSrcPort: return num_val(d.sport);
    case kDestPort: return num_val(d.dport);
    case kProto: return num_val(d.proto);
    case kSrcNet: return net_val(d.src, d.ip_ver);
    case kDestNet: return net_val(d.dst, d.ip_ver);
    case kAttacker: return addr_val(rev ? d.dst : d.src, d.ip_ver);
    case kVictim: return addr_val(rev ? d.src : d.dst, d.ip_ver);
    case kAttackerNet: return net_val(rev ? d.dst : d.src, d.ip_ver);
    case kVictimNet: return net_val(rev ? d.src : d.dst, d.ip_ver);
    case kPair: {
      Val a = addr_val(d.src, d.ip_ver), b = addr_val(d.dst, d.ip_ver);
      if (b.hi < a.hi || (b.hi == a.hi && b.lo < a.lo)) std::swap(a, b);
      return Val{a.hi ^ (b.hi * 0x9e3779b97f4a7c15ull), a.lo ^ (b.lo * 0xc2b2ae3d27d4eb4full)};
    }
    case kFieldKind: return num_val(uint8_t(d.kind));
    case kTactic: return num_val(d.tactic);
    case kTechnique: return num_val(d.technique);
    case kGid: return num_val(d.gid);
    case kSid: return num_val(uint64_t(d.gid) << 32 | d.sid);
    case kSignature: return str_val(d.msg);
    case kDetector: return str_val(d.detector);
    case kMlClass: return str_val(d.ml_class);
    case kDns: return str_val(d.dns);
    case kSni: return str_val(d.sni);
    case kHttpHost: return str_val(d.http_host);
    case kJa3: return str_val(d.ja3);
    default: return {};
  }
}

bool Selector::matches(const Detection& d, const AttackTable& t) const {
  if (!(kinds & (1u << uint8_t(d.kind)))) return false;
  if (tactics && !(d.tactic < 64 && (tactics >> d.tactic & 1))) return false;
  auto any = [](const auto& list, const auto& v) { return list.empty() || std::find(list.begin(), list.end(), v) != list.end(); };
  if (!techniques.empty()) {
    if (!d.technique) return false;
    bool hit = false;  // a sub-technique matches its parent's entry
    for (uint16_t x : techniques) hit |= t.under(d.technique, x);
    if (!hit) return false;
  }
  if (!any(gids, d.gid) || !any(sids, d.sid) || !any(dest_ports, uint32_t(d.dport))) return false;
  if (!detectors.empty() && std::find(detectors.begin(), detectors.end(), d.detector) == detectors.end()) return false;
  if (!ml_classes.empty() && std::find(ml_classes.begin(), ml_classes.end(), d.ml_class) == ml_classes.end()) return false;
  if (!categories.empty() && std::find(categories.begin(), categories.end(), d.category) == categories.end()) return false;
  if (d.severity > max_severity) return false;
  if (same_host >= 0 && (d.ip_ver == 4 ? std::memcmp(d.src, d.dst, 4) == 0 : std::memcmp(d.src, d.dst, 16) == 0) !=
                            bool(same_host))
    return false;
  if (d.kind == Kind::kFlow) {
    if (d.duration_ns < min_duration_ns || d.bytes_out < min_bytes_out) return false;
    if (established && !d.established) return false;
  }
  return true;
}

bool Condition::holds(uint64_t n) const {
  int64_t v = int64_t(n);
  return (gt < 0 || v > gt) && (gte < 0 || v >= gte) && (lt < 0 || v < lt) && (lte < 0 || v <= lte) &&
         (eq < 0 || v == eq);
}

uint64_t Condition::bound() const {
  int64_t b = std::max({gt + 1, gte, lt, lte, eq});
  return uint64_t(std::max<int64_t>(b, 0));
}

// A correlation as written, before names are resolved.
struct RuleSet::Pending {
  std::string file;
  YAML::Mark mark, rules_mark;
  Correlation c;
  std::vector<std::string> rule_names;
  std::map<std::string, std::map<std::string, std::string>> aliases;  // alias -> rule -> field
  std::map<std::string, YAML::Mark> alias_marks;
};

RuleSet::~RuleSet() {
  for (auto* p : pending_) delete p;
}

namespace {

struct Ctx {
  const std::string& path;
  std::string& err;
  bool fail(const YAML::Node& n, const std::string& m) { return fail(n.Mark(), m); }
  bool fail(const YAML::Mark& mk, const std::string& m) {
    if (err.empty()) err = yaml_error(path, mk, m);
    return false;
  }
  bool list(const YAML::Node& n, std::vector<std::string>& out) {
    if (n.IsScalar()) return out.push_back(n.Scalar()), true;
    if (!n.IsSequence()) return fail(n, "expected a value or a list");
    for (const auto& e : n) {
      if (!e.IsScalar()) return fail(e, "expected a value");
      out.push_back(e.Scalar());
    }
    return true;
  }
  bool nums(const YAML::Node& n, std::vector<uint32_t>& out) {
    std::vector<std::string> s;
    if (!list(n, s)) return false;
    for (auto& v : s) {
      char* end = nullptr;
      unsigned long x = strtoul(v.c_str(), &end, 10);
      if (v.empty() || *end || x > 0xffffffffull) return fail(n, fmt::format("expected a number, got '{}'", v));
      out.push_back(uint32_t(x));
    }
    return true;
  }
};

bool parse_span(const std::string& s, uint64_t& ns) {
  if (s.size() < 2) return false;
  char u = s.back();
  uint64_t mul = u == 's' ? 1 : u == 'm' ? 60 : u == 'h' ? 3600 : u == 'd' ? 86400 : 0;
  char* end = nullptr;
  unsigned long long v = strtoull(s.c_str(), &end, 10);
  if (!mul || end != s.c_str() + s.size() - 1 || v == 0 || v > 3650ull * 86400) return false;
  ns = v * mul * 1000000000ull;
  return true;
}

bool parse_selector(Ctx& x, const YAML::Node& det, const AttackTable& t, Selector& s) {
  if (!det.IsMap()) return x.fail(det, "detection: expected a map");
  for (const auto& kv : det) {
    std::string k = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    std::vector<std::string> l;
    if (k == "kind") {
      if (!x.list(v, l)) return false;
      for (auto& e : l) {
        Kind kd;
        if (!parse_kind(e, kd)) return x.fail(v, fmt::format("unknown kind '{}'", e));
        s.kinds |= 1u << uint8_t(kd);
      }
    } else if (k == "tactic") {
      if (!x.list(v, l)) return false;
      for (auto& e : l) {
        uint8_t ta = t.tactic(e);
        if (!ta || ta >= 64) return x.fail(v, fmt::format("unknown tactic '{}' (ATT&CK {})", e, t.version));
        s.tactics |= 1ull << ta;
      }
    } else if (k == "technique") {
      if (!x.list(v, l)) return false;
      for (auto& e : l) {
        uint16_t te = t.technique(e);
        if (!te) return x.fail(v, fmt::format("unknown technique id '{}' (not in the ATT&CK table {})", e, t.version));
        s.techniques.push_back(te);
      }
    } else if (k == "gid") {
      if (!x.nums(v, s.gids)) return false;
    } else if (k == "sid") {
      if (!x.nums(v, s.sids)) return false;
    } else if (k == "dest_port") {
      if (!x.nums(v, s.dest_ports)) return false;
    } else if (k == "detector") {
      if (!x.list(v, s.detectors)) return false;
    } else if (k == "ml_class") {
      if (!x.list(v, s.ml_classes)) return false;
    } else if (k == "category") {
      if (!x.list(v, s.categories)) return false;
    } else if (k == "max_severity") {
      std::vector<uint32_t> n;
      if (!x.nums(v, n) || n.size() != 1 || n[0] > 255) return x.fail(v, "max_severity: expected one number");
      s.max_severity = uint8_t(n[0]);
    } else if (k == "min_duration") {
      if (!v.IsScalar() || !parse_span(v.Scalar(), s.min_duration_ns)) return x.fail(v, "min_duration: expected e.g. 60s, 5m");
    } else if (k == "min_bytes_out") {
      std::vector<uint32_t> n;
      if (!x.nums(v, n) || n.size() != 1) return x.fail(v, "min_bytes_out: expected one number");
      s.min_bytes_out = n[0];
    } else if (k == "same_host") {  // loopback tests, hairpins: a host "attacking" itself
      if (!v.IsScalar() || (v.Scalar() != "true" && v.Scalar() != "false")) return x.fail(v, "same_host: true or false");
      s.same_host = v.Scalar() == "true";
    } else if (k == "established") {
      if (!v.IsScalar() || (v.Scalar() != "true" && v.Scalar() != "false")) return x.fail(v, "established: true or false");
      s.established = v.Scalar() == "true";
    } else {
      return x.fail(kv.first, fmt::format("detection: unknown key '{}'", k));
    }
  }
  if (!s.kinds) s.kinds = (1u << kDetectionKinds) - 1 - (1u << uint8_t(Kind::kCorrelation));
  return true;
}

bool parse_condition(Ctx& x, const YAML::Node& n, Condition& c, std::string& field) {
  if (!n.IsMap()) return x.fail(n, "condition: expected a map such as {gte: 10}");
  for (const auto& kv : n) {
    std::string k = kv.first.Scalar();
    if (k == "field") {
      if (!kv.second.IsScalar()) return x.fail(kv.second, "condition.field: expected a field name");
      field = kv.second.Scalar();
      continue;
    }
    std::vector<uint32_t> v;
    if (!x.nums(kv.second, v) || v.size() != 1) return x.fail(kv.second, "condition: expected one number");
    int64_t* slot = k == "gt" ? &c.gt : k == "gte" ? &c.gte : k == "lt" ? &c.lt : k == "lte" ? &c.lte : k == "eq" ? &c.eq : nullptr;
    if (!slot) return x.fail(kv.first, fmt::format("condition: unknown operator '{}' (gt, gte, lt, lte, eq)", k));
    *slot = v[0];
  }
  return true;
}

}  // namespace

// One correlation document into `p` (names are resolved later, in finish()).
static bool parse_correlation(Ctx& x, const YAML::Node& d, const std::string& name, const std::string& path,
                       RuleSet::Pending& pp) {
  auto* p = &pp;
  p->file = path;
  p->mark = d.Mark();
  Correlation& c = p->c;
  c.name = name;
  c.file = path;
  c.line = d.Mark().line + 1;
  c.title = d["title"] ? d["title"].as<std::string>() : name;
  if (d["level"]) {
    std::string l = d["level"].as<std::string>();
    auto it = std::find(std::begin(kLevels), std::end(kLevels), l);
    if (it == std::end(kLevels)) return x.fail(d["level"], fmt::format("unknown level '{}'", l));
    c.level = Level(it - std::begin(kLevels));
  }
  if (d["incident"]) {
    std::string i = d["incident"].as<std::string>();
    c.incident = i == "attacker" ? IncidentBy::kAttacker : i == "victim" ? IncidentBy::kVictim
                 : i == "pair" ? IncidentBy::kPair : i == "none" ? IncidentBy::kNone : IncidentBy(255);
    if (c.incident == IncidentBy(255)) return x.fail(d["incident"], "incident: attacker, victim, pair or none");
  }
  const YAML::Node cn = d["correlation"];
  for (const auto& kv : cn) {
    std::string k = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    if (k == "type") {
      std::string ty = v.as<std::string>();
      if (ty == "event_count") c.type = CorrType::kEventCount;
      else if (ty == "value_count") c.type = CorrType::kValueCount;
      else if (ty == "temporal") c.type = CorrType::kTemporal;
      else if (ty == "temporal_ordered") c.type = CorrType::kTemporalOrdered;
      else return x.fail(v, fmt::format("unknown correlation type '{}'", ty));
    } else if (k == "rules") {
      p->rules_mark = v.Mark();
      if (!x.list(v, p->rule_names)) return false;
    } else if (k == "group-by") {
      if (!x.list(v, c.group_by)) return false;
    } else if (k == "timespan") {
      if (!v.IsScalar() || !parse_span(v.Scalar(), c.timespan_ns))
        return x.fail(v, "timespan: expected a number and s, m, h or d (e.g. 90m)");
    } else if (k == "condition") {
      if (!parse_condition(x, v, c.cond, c.value_field)) return false;
    } else if (k == "aliases") {
      if (!v.IsMap()) return x.fail(v, "aliases: expected alias: {rule: field}");
      for (const auto& a : v) {
        if (!a.second.IsMap()) return x.fail(a.second, "aliases: expected alias: {rule: field}");
        p->alias_marks[a.first.Scalar()] = a.first.Mark();
        for (const auto& rf : a.second) p->aliases[a.first.Scalar()][rf.first.Scalar()] = rf.second.Scalar();
      }
    } else if (k != "generate") {
      return x.fail(kv.first, fmt::format("correlation: unknown key '{}'", k));
    }
  }
  if (!cn["type"]) return x.fail(cn, "correlation: type is mandatory");
  if (p->rule_names.empty() || p->rule_names.size() > kMaxRefs)
    return x.fail(cn, fmt::format("correlation: rules must name 1 to {} rules", kMaxRefs));
  if (c.timespan_ns == 0) return x.fail(cn, "correlation: timespan is mandatory");
  if (c.group_by.size() > kMaxGroupBy) return x.fail(cn, fmt::format("group-by: at most {} fields", kMaxGroupBy));
  bool counting = c.type == CorrType::kEventCount || c.type == CorrType::kValueCount;
  if (counting && !cn["condition"]) return x.fail(cn, "correlation: condition is mandatory for counts");
  if (c.type == CorrType::kValueCount && c.value_field.empty())
    return x.fail(cn["condition"], "value_count: condition needs field");
  if (counting && c.cond.bound() > kMaxCountBound)
    return x.fail(cn["condition"], fmt::format("condition: counts above {} are not kept per group (bounded state)",
                                               kMaxCountBound));
  if (!counting && !cn["condition"]) c.cond.gte = int64_t(p->rule_names.size());
  return true;
}

bool RuleSet::add(std::string_view yaml, const std::string& path, const AttackTable& t, std::string& err) {
  Ctx x{path, err};
  std::vector<YAML::Node> docs;
  if (!parse_yaml_all(yaml, path, docs, err)) return false;
  return yaml_try(path, err, [&] {
    for (const auto& d : docs) {
      if (d.IsNull()) continue;
      if (!d.IsMap()) return x.fail(d, "expected a rule (a map)");
      std::string name = d["name"] ? d["name"].as<std::string>() : (d["id"] ? d["id"].as<std::string>() : "");
      if (name.empty()) return x.fail(d, "rule without a name (or id)");
      for (auto& s : selectors)
        if (s.name == name) return x.fail(d, fmt::format("rule name '{}' defined twice", name));
      for (auto* p : pending_)
        if (p->c.name == name) return x.fail(d, fmt::format("rule name '{}' defined twice", name));
      static const char* const kMeta[] = {"title", "name", "id", "description", "author", "date", "modified",
                                          "references", "status", "tags", "falsepositives", "level", "generate",
                                          "incident", "detection", "correlation", "logsource"};
      for (const auto& kv : d) {
        std::string k = kv.first.Scalar();
        if (std::find(std::begin(kMeta), std::end(kMeta), k) == std::end(kMeta))
          return x.fail(kv.first, fmt::format("unknown key '{}'", k));
      }
      if (d["detection"] && d["correlation"]) return x.fail(d, "a rule has either detection or correlation");
      if (d["detection"]) {
        Selector s;
        s.name = name;
        s.title = d["title"] ? d["title"].as<std::string>() : name;
        if (!parse_selector(x, d["detection"], t, s)) return false;
        if (s.kinds & (1u << uint8_t(Kind::kFlow))) uses_flows = true;
        selectors.push_back(std::move(s));
        continue;
      }
      if (!d["correlation"] || !d["correlation"].IsMap()) return x.fail(d, "expected detection: or correlation:");
      auto* p = new Pending;
      pending_.push_back(p);
      if (!parse_correlation(x, d, name, path, *p)) return false;
    }
    return true;
  });
}

// Depth-first: a correlation is placed after the correlations it refers to.
bool RuleSet::resolve(Pending& p, std::vector<int>& state, std::string& err) {
  size_t me = 0;
  for (size_t i = 0; i < pending_.size(); i++)
    if (pending_[i] == &p) me = i;
  if (state[me] == 2) return true;
  Ctx x{p.file, err};
  if (state[me] == 1) return x.fail(p.mark, fmt::format("correlation '{}' refers to itself through its rules", p.c.name));
  state[me] = 1;
  Correlation& c = p.c;
  for (auto& rn : p.rule_names) {
    Correlation::Ref r;
    auto s = std::find_if(selectors.begin(), selectors.end(), [&](const Selector& x) { return x.name == rn; });
    if (s != selectors.end()) {
      r.idx = uint16_t(s - selectors.begin());
    } else {
      auto q = std::find_if(pending_.begin(), pending_.end(), [&](Pending* x) { return x->c.name == rn; });
      if (q == pending_.end()) return x.fail(p.rules_mark, fmt::format("rules: no rule named '{}'", rn));
      if (!resolve(**q, state, err)) return false;
      auto ci = std::find_if(correlations.begin(), correlations.end(), [&](const Correlation& x) { return x.name == rn; });
      r.corr = true;
      r.idx = uint16_t(ci - correlations.begin());
    }
    // A group-by name is an alias (per referenced rule) or a field; for a
    // referenced correlation, a name it groups by is taken from its group.
    auto resolve_field = [&](const std::string& g, FieldRef& out) {
      std::string fname = g;
      auto al = p.aliases.find(g);
      if (al != p.aliases.end()) {
        auto f = al->second.find(rn);
        if (f == al->second.end())
          return x.fail(p.alias_marks[g], fmt::format("alias '{}' has no field for rule '{}'", g, rn));
        fname = f->second;
      }
      if (r.corr) {
        const auto& gb = correlations[r.idx].group_by;
        auto it = std::find(gb.begin(), gb.end(), fname);
        if (it != gb.end()) return out.slot = int8_t(it - gb.begin()), true;
      }
      if (!parse_field(fname, out.field))
        return x.fail(al != p.aliases.end() ? p.alias_marks[g] : p.mark, fmt::format("unknown field '{}'", fname));
      return true;
    };
    for (auto& g : c.group_by) {
      r.group.emplace_back();
      if (!resolve_field(g, r.group.back())) return false;
    }
    if (c.type == CorrType::kValueCount && !resolve_field(c.value_field, r.value)) return false;
    c.refs.push_back(std::move(r));
  }
  for (auto& [alias, m] : p.aliases)
    for (auto& [rule, f] : m)
      if (std::find(p.rule_names.begin(), p.rule_names.end(), rule) == p.rule_names.end())
        return x.fail(p.alias_marks[alias], fmt::format("alias '{}' names rule '{}', which the correlation does not use",
                                                        alias, rule));
  correlations.push_back(c);
  state[me] = 2;
  return true;
}

bool RuleSet::finish(std::string& err) {
  std::vector<int> state(pending_.size(), 0);
  for (auto* p : pending_)
    if (!resolve(*p, state, err)) return false;
  for (auto* p : pending_) delete p;
  pending_.clear();
  sel_users.assign(selectors.size(), {});
  corr_users.assign(correlations.size(), {});
  for (uint16_t ci = 0; ci < correlations.size(); ci++)
    for (uint8_t ri = 0; ri < correlations[ci].refs.size(); ri++) {
      const auto& r = correlations[ci].refs[ri];
      (r.corr ? corr_users[r.idx] : sel_users[r.idx]).push_back({ci, ri});
    }
  return true;
}

}  // namespace spectre::cortex
