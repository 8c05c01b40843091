// ATT&CK: the Enterprise technique -> tactic table (attack/enterprise.tsv, made
// by attack/gen_attack_table.py from MITRE's STIX bundle) and the mapping of
// detections onto it: rule metadata (mitre_technique_id / mitre_tactic_id, ET
// Open's convention), else the classtype, ML class or behaviour detector
// through tables/mapping.yaml. Loaded once at start (main thread); read-only after.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ctrlplane/cortex/detection.h"

namespace spectre::cortex {

// Lookups by string_view without building a std::string (no allocation per
// detection for classtype descriptions longer than the small-string buffer).
struct SvHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};
template <typename V>
using SvMap = std::unordered_map<std::string, V, SvHash, std::equal_to<>>;

class AttackTable {
 public:
  struct Tactic { std::string id, shortname, name; };
  struct Technique {
    std::string id, name;
    std::vector<uint8_t> tactics;
    uint16_t parent = 0;  // a sub-technique's parent technique (0: none, or a technique itself)
  };
  // Text of enterprise.tsv; `path` names it in errors ("path:line: message").
  bool load(std::string_view text, const std::string& path, std::string& err);
  std::string version;
  std::vector<Tactic> tactics;        // [0] unused; matrix order from 1
  std::vector<Technique> techniques;  // [0] unused
  // 0 when unknown. Tactic by id ("TA0007"), shortname ("discovery") or name.
  uint8_t tactic(std::string_view s) const;
  uint16_t technique(std::string_view id) const;  // "T1046" or "T1046.001" (falls back to the parent)
  // te is technique x or one of its sub-techniques (rules and playbooks naming
  // T1110 take T1110.001 too).
  bool under(uint16_t te, uint16_t x) const {
    return te && (te == x || (te < techniques.size() && techniques[te].parent == x));
  }
  // Command and control, exfiltration: the source is the victim calling out.
  bool outbound(uint8_t tactic) const { return tactic && (tactic == c2_ || tactic == exfil_); }

 private:
  SvMap<uint16_t> by_tech_;
  SvMap<uint8_t> by_tactic_;
  uint8_t c2_ = 0, exfil_ = 0;
};

// Why a detection has no tactic; listed with counts in the report.
struct Unmapped {
  uint64_t count = 0;
  std::string msg, reason;
};

class Mapper {
 public:
  explicit Mapper(const AttackTable& t) : t_(t) {}
  // tables/mapping.yaml: classtypes (short name -> technique), ml_classes,
  // behaviours (detector name or sid -> technique), optional tactic override.
  // Unknown technique or tactic ids are errors naming file and line.
  bool load(std::string_view yaml, const std::string& path, std::string& err);
  // classification.config lines ("config classification: short,description,priority"):
  // alerts carry the description; the table is keyed on the short name.
  void load_classification(std::string_view text);
  // Sets d.technique and d.tactic; false (and counted per gid:sid) when no tactic is found.
  bool map(Detection& d);
  uint64_t mapped = 0, unmapped_total = 0;
  std::map<std::pair<uint32_t, uint32_t>, Unmapped> unmapped;  // by (gid, sid), at most kMaxUnmapped
  static constexpr size_t kMaxUnmapped = 1024;

 private:
  struct Entry { uint16_t technique = 0; uint8_t tactic = 0; };
  const AttackTable& t_;
  SvMap<Entry> classtype_, ml_, behaviour_;
  SvMap<std::string> class_by_desc_;
  void note_unmapped(const Detection& d, const char* reason);
  void lookup(Detection& d, std::string_view key) const;  // the tables (map() caches its result)
  struct CacheEntry {
    bool used = false;
    Kind kind = Kind::kSignature;
    uint8_t tactic = 0;
    uint16_t technique = 0;
    uint32_t gid = 0, sid = 0;
    std::string key, tech, tac;  // the strings the result was found from
  };
  static constexpr size_t kCache = 512;
  std::vector<CacheEntry> cache_ = std::vector<CacheEntry>(kCache);
  // (gid, sid) -> its entry in `unmapped` (map nodes stay put): one hash probe
  // per unmapped detection instead of a walk down the ordered map.
  struct PairHash {
    size_t operator()(std::pair<uint32_t, uint32_t> k) const { return ValHash::mix(uint64_t(k.first) << 32 | k.second); }
  };
  std::unordered_map<std::pair<uint32_t, uint32_t>, Unmapped*, PairHash> unmapped_idx_;
};

}  // namespace spectre::cortex

namespace spectre::cortex {
// mitre_technique_id / mitre_tactic_id from an alert's metadata (Suricata's EVE
// form {"key":["value",..]}); false when neither is present or the JSON is bad.
bool mitre_from_metadata(std::string_view json, std::string& technique, std::string& tactic);
}  // namespace spectre::cortex
