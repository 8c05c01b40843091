#include "ctrlplane/cortex/attack.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "dataplane/core/yaml_reader.h"

namespace spectre::cortex {

namespace {
std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t p = 0;
  for (;;) {
    size_t q = s.find(sep, p);
    out.push_back(s.substr(p, q == std::string_view::npos ? std::string_view::npos : q - p));
    if (q == std::string_view::npos) return out;
    p = q + 1;
  }
}
}  // namespace

bool AttackTable::load(std::string_view text, const std::string& path, std::string& err) {
  tactics.assign(1, {});
  techniques.assign(1, {});
  by_tech_.clear();
  by_tactic_.clear();
  int line_no = 0;
  for (std::string_view line : split(text, '\n')) {
    line_no++;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto f = split(line, '\t');
    if (line.starts_with("# attack-version") && f.size() >= 2) {
      version = std::string(f[1]);
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    auto bad = [&](std::string_view why) {
      err = fmt::format("{}:{}: {}", path, line_no, why);
      return false;
    };
    if (f[0] == "tactic" && f.size() == 4) {
      if (tactics.size() > 250) return bad("too many tactics");
      tactics.push_back({std::string(f[1]), std::string(f[2]), std::string(f[3])});
      uint8_t i = uint8_t(tactics.size() - 1);
      by_tactic_[std::string(f[1])] = by_tactic_[std::string(f[2])] = by_tactic_[std::string(f[3])] = i;
      if (f[2] == "command-and-control") c2_ = i;
      if (f[2] == "exfiltration") exfil_ = i;
    } else if (f[0] == "technique" && f.size() == 4) {
      if (f[1].size() < 5 || f[1][0] != 'T') return bad(fmt::format("bad technique id '{}'", f[1]));
      Technique t{std::string(f[1]), std::string(f[3]), {}};
      for (auto s : split(f[2], ',')) {
        uint8_t ta = tactic(s);
        if (!ta) return bad(fmt::format("technique {}: unknown tactic '{}' (tactics come first)", f[1], s));
        t.tactics.push_back(ta);
      }
      if (techniques.size() >= 65535) return bad("too many techniques");
      by_tech_[t.id] = uint16_t(techniques.size());
      techniques.push_back(std::move(t));
    } else {
      return bad("expected 'tactic<TAB>id<TAB>shortname<TAB>name' or 'technique<TAB>id<TAB>tactics<TAB>name'");
    }
  }
  if (tactics.size() == 1) {
    err = fmt::format("{}: no tactics", path);
    return false;
  }
  for (auto& t : techniques)
    if (size_t dot = t.id.find('.'); dot != std::string::npos) {
      auto it = by_tech_.find(std::string_view(t.id).substr(0, dot));
      t.parent = it == by_tech_.end() ? 0 : it->second;
    }
  return true;
}

uint8_t AttackTable::tactic(std::string_view s) const {
  auto it = by_tactic_.find(s);
  return it == by_tactic_.end() ? 0 : it->second;
}

uint16_t AttackTable::technique(std::string_view id) const {
  auto it = by_tech_.find(id);
  if (it != by_tech_.end()) return it->second;
  size_t dot = id.find('.');
  if (dot == std::string_view::npos) return 0;
  it = by_tech_.find(id.substr(0, dot));
  return it == by_tech_.end() ? 0 : it->second;
}

bool Mapper::load(std::string_view yaml, const std::string& path, std::string& err) {
  cache_.assign(kCache, CacheEntry{});  // results found from the tables as they were
  auto fail = [&](const YAML::Node& n, const std::string& msg) {
    err = yaml_error(path, n.Mark(), msg);
    return false;
  };
  return yaml_try(path, err, [&] {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsMap()) return fail(root, "expected a map of classtypes, ml_classes, behaviours");
    for (const auto& sec : root) {
      std::string name = sec.first.as<std::string>();
      auto* table = name == "classtypes" ? &classtype_ : name == "ml_classes" ? &ml_ : name == "behaviours" ? &behaviour_
                                                                                                              : nullptr;
      if (!table) return fail(sec.first, fmt::format("unknown section '{}'", name));
      if (!sec.second.IsMap()) return fail(sec.second, "expected a map: name: T1234 or T1234/TA0001");
      for (const auto& e : sec.second) {
        if (!e.second.IsScalar()) return fail(e.second, "expected a technique id");
        std::string v = e.second.Scalar(), tech = v.substr(0, v.find('/'));
        Entry en;
        en.technique = t_.technique(tech);
        if (!en.technique)  // (a sub-technique of a listed technique maps to its parent)
          return fail(e.second, fmt::format("unknown technique id '{}' (not in the ATT&CK table {})", tech, t_.version));
        en.tactic = t_.techniques[en.technique].tactics[0];
        if (v.find('/') != std::string::npos) {
          en.tactic = t_.tactic(v.substr(v.find('/') + 1));
          if (!en.tactic) return fail(e.second, fmt::format("unknown tactic in '{}'", v));
        }
        (*table)[e.first.as<std::string>()] = en;
      }
    }
    return true;
  });
}

void Mapper::load_classification(std::string_view text) {
  cache_.assign(kCache, CacheEntry{});
  for (std::string_view line : split(text, '\n')) {
    constexpr std::string_view kPre = "config classification:";
    if (!line.starts_with(kPre)) continue;
    auto f = split(line.substr(kPre.size()), ',');
    if (f.size() < 2) continue;
    auto trim = [](std::string_view s) {
      while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
      while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
      return std::string(s);
    };
    class_by_desc_[trim(f[1])] = trim(f[0]);
  }
}

namespace {
// First value of a metadata key in Suricata's EVE form {"key":["v",..],..}.
std::string meta_first(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_array() || it->empty() || !(*it)[0].is_string()) return {};
  return (*it)[0].get<std::string>();
}
}  // namespace

void Mapper::lookup(Detection& d, std::string_view key) const {
  d.technique = 0;
  d.tactic = 0;
  if (!d.technique_id.empty()) d.technique = t_.technique(d.technique_id);
  if (!d.tactic_id.empty()) d.tactic = t_.tactic(d.tactic_id);
  if (d.technique && !d.tactic) d.tactic = t_.techniques[d.technique].tactics[0];
  if (!d.technique && !d.tactic) {
    const SvMap<Entry>* table = &classtype_;
    if (d.kind == Kind::kMl) table = &ml_;
    else if (d.kind == Kind::kBehaviour) table = &behaviour_;
    else {
      auto c = class_by_desc_.find(key);
      if (c != class_by_desc_.end()) key = c->second;
    }
    auto it = table->find(key);
    if (it != table->end()) d.technique = it->second.technique, d.tactic = it->second.tactic;
  }
}

// The mapping of a detection depends only on its kind, gid:sid and the strings
// below; a direct-mapped cache of the last result per slot (compared in full)
// spares the 1-3 string-hash lookups per detection (a rule's alerts repeat).
bool Mapper::map(Detection& d) {
  std::string_view key = d.kind == Kind::kMl ? d.ml_class : d.kind == Kind::kBehaviour ? d.detector : d.category;
  uint64_t hk = uint64_t(d.gid) << 32 ^ d.sid ^ uint64_t(d.kind) << 56 ^ uint64_t(key.size()) << 40 ^
                uint64_t(key.empty() ? 0 : uint8_t(key.back())) << 48 ^ uint64_t(d.technique_id.size()) << 24;
  CacheEntry& e = cache_[ValHash::mix(hk) % kCache];
  if (e.used && e.kind == d.kind && e.gid == d.gid && e.sid == d.sid && e.key == key && e.tech == d.technique_id &&
      e.tac == d.tactic_id) {
    d.technique = e.technique;
    d.tactic = e.tactic;
  } else {
    lookup(d, key);
    e.used = true, e.kind = d.kind, e.gid = d.gid, e.sid = d.sid, e.technique = d.technique, e.tactic = d.tactic;
    e.key.assign(key.data(), key.size());
    e.tech.assign(d.technique_id.data(), d.technique_id.size());
    e.tac.assign(d.tactic_id.data(), d.tactic_id.size());
  }
  if (d.tactic) {
    mapped++;
    return true;
  }
  note_unmapped(d, !d.technique_id.empty() ? "technique not in the ATT&CK table"
                   : d.kind == Kind::kMl ? "ML class not in the mapping table"
                   : d.kind == Kind::kBehaviour ? "behaviour detector not in the mapping table"
                                                : "no mitre metadata and classtype not in the mapping table");
  return false;
}

void Mapper::note_unmapped(const Detection& d, const char* reason) {
  unmapped_total++;
  auto key = std::make_pair(d.gid, d.sid);
  auto ix = unmapped_idx_.find(key);
  if (ix == unmapped_idx_.end()) {
    if (unmapped.size() >= kMaxUnmapped) return;  // counted in unmapped_total
    auto it = unmapped.emplace(key, Unmapped{0, std::string(d.msg.substr(0, 200)), reason}).first;
    if (!d.technique_id.empty()) it->second.reason += fmt::format(" ({})", d.technique_id);
    ix = unmapped_idx_.emplace(key, &it->second).first;
  }
  ix->second->count++;
}

// Reads mitre_technique_id / mitre_tactic_id from an alert's metadata JSON
// (writer thread; a few microseconds, once per signature alert).
bool mitre_from_metadata(std::string_view json, std::string& technique, std::string& tactic) {
  if (json.empty()) return false;
  auto j = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  technique = meta_first(j, "mitre_technique_id");
  tactic = meta_first(j, "mitre_tactic_id");
  return !technique.empty() || !tactic.empty();
}

}  // namespace spectre::cortex
