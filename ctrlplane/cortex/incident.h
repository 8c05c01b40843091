// Incidents (per attacker, victim or pair, opened by correlation matches and
// joined by later detections of the same entity), campaigns (incidents linked
// by a shared attacker, or by a victim that later attacks), and Reflex: risk
// score, confidence, level and explanation. One thread; bounded memory.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ctrlplane/cortex/assets.h"
#include "ctrlplane/cortex/correlate.h"
#include "ctrlplane/cortex/entity_risk.h"
#include "ctrlplane/cortex/playbook.h"

namespace spectre::cortex {

struct ReflexConfig {
  double w_signature = 0.3, w_anomaly = 0.25, w_correlation = 0.25, w_context = 0.2;
  double t_low = 30, t_medium = 60, t_high = 85, t_critical = 95;
  // Context's weight counts for an incident with an intel hit or a victim in
  // the asset file; else it is shared out. True: it always counts.
  bool context_available = false;
  // History: points added to the score for the accumulated risk its entity had
  // from earlier incidents when this one opened, history_points x min(1,
  // prior / history_full); never more than history_points (0: off), and the
  // score stays <= 100. An addition, not a weighted component, so that a
  // risky history can only raise a score, never dilute it.
  double history_points = 10, history_full = 100;
};

struct IncidentLimits {
  uint32_t max_open = 4096;        // open incidents; the least recently seen is closed when full
  uint32_t max_members = 32;       // member detections kept per incident (beyond: counts only)
  uint32_t max_list = 32;          // signature ids, techniques, entities per incident
  uint64_t close_idle_ns = 3600ull * 1000000000;  // closed after this much packet time without a detection
};

enum class RiskLevel : uint8_t { kInfo, kLow, kMedium, kHigh, kCritical };
const char* risk_level_name(RiskLevel l);
// An analyst status: new, investigating, resolved, false_positive.
bool valid_status(std::string_view s);

struct Risk {
  double signature = 0, anomaly = 0, correlation = 0, context = 0;  // components 0..100
  double score = 0, confidence = 0;
  RiskLevel level = RiskLevel::kInfo;
  double wsum = 1;
  int kinds = 0;
  double intel = 0, asset = 0;     // the context component's two inputs
  double history = 0;              // points added for the entity's earlier risk (ReflexConfig)
  bool has_context = false;        // context's weight counted
  double uncapped = 0;             // score before a business rule capped it
  const Asset* scanner = nullptr;  // the authorized scanner whose scans were capped
};

// A threat-intel hit among an incident's members (the first 8 indicators).
struct IntelFact {
  std::string feed, indicator, threat;
  double confidence = 0;           // 0..1
  uint64_t first_seen = 0, hits = 0;
};

// An incident's entity that the asset file knows.
struct AssetFact {
  const Asset* asset = nullptr;    // owned by the AssetSet (read once at start)
  Val addr;
  bool victim = false;
};

struct Incident {
  uint64_t id = 0, campaign = 0;
  IncidentBy by = IncidentBy::kAttacker;
  Val attacker, victim;            // the entity (victim unused for kAttacker, attacker for kVictim)
  uint64_t first_seen = 0, last_seen = 0;
  std::string status = "new";      // new, investigating, resolved, false_positive
  uint64_t counts[kDetectionKinds] = {};
  uint64_t members_total = 0;       // detections and flows
  uint64_t flows = 0;               // flow records among the members (context for a rule)
  std::vector<Member> members;     // first max_members, in time order
  std::vector<std::pair<uint8_t, uint64_t>> tactics;       // (tactic, first seen), time order
  std::vector<std::pair<uint16_t, uint64_t>> techniques;   // (technique, first seen), time order
  std::vector<std::pair<uint32_t, uint32_t>> sids;         // (gid, sid)
  std::vector<std::string> ml_classes, behaviours;
  std::vector<std::pair<uint16_t, uint64_t>> rules;        // (correlation, matches)
  std::vector<Val> attackers, victims;
  // Score inputs.
  double max_sig = 0, max_anomaly = 0, max_conf[kDetectionKinds] = {};
  Level max_rule_level = Level::kInformational;
  std::vector<IntelFact> intel;
  std::vector<AssetFact> assets;
  Risk risk;
  RiskLevel emitted_level = RiskLevel::kInfo;
  // Reflex's response (playbook.h, respond.h; filled by Cortex when a record is written).
  const Playbook* playbook = nullptr;
  std::vector<ActionRecord> actions;   // automatic actions, audited (at most kMaxActions)
  uint8_t auto_done = 0;               // AutoAction bits already run or refused for this incident
  double risk_given = 0;               // score already added to its entity's accumulated risk
  double prior_risk = 0;               // its entity's accumulated risk from earlier incidents, when it opened
  uint32_t prior_incidents = 0;        // how many incidents that was from
  double entity_risk = 0;              // that entity's risk when last written
  uint32_t entity_incidents = 0;
  static constexpr size_t kMaxActions = 16;
};

// Entity -> its open incident: open addressing (linear probing, backward-shift
// deletion) at load <= 1/2, grown if ever needed. A lookup reads one 24-byte
// slot where the node-based map read a bucket and a node: three lookups per
// detection, most of them misses.
class EntityIndex {
 public:
  explicit EntityIndex(size_t max_entries) { resize(max_entries); }
  Incident* find(const Val& k) const {
    for (size_t p = home(k);; p = (p + 1) & mask_)
      if (!slots_[p].inc || slots_[p].key == k) return slots_[p].inc;
  }
  void set(const Val& k, Incident* inc);
  void erase(const Val& k, const Incident* inc);  // only if k still points at inc
  bool empty() const { return n_ == 0; }
  static constexpr size_t kSlotBytes = sizeof(Val) + sizeof(Incident*);

 private:
  struct Slot { Val key; Incident* inc = nullptr; };
  size_t home(const Val& k) const { return ValHash()(k) & mask_; }
  void resize(size_t max_entries);
  std::vector<Slot> slots_;
  size_t mask_ = 0, n_ = 0;
};

struct IncidentCounters {
  uint64_t opened = 0, updated = 0, closed = 0, evicted = 0, level_changes = 0, member_overflow = 0, campaigns = 0;
};

class Incidents {
 public:
  // erisk: the accumulated entity risk an incident's history factor reads when it opens (null: none).
  Incidents(const RuleSet& rs, const AttackTable& t, IncidentLimits lim, ReflexConfig rc,
            const AssetSet* assets = nullptr, const EntityRisk* erisk = nullptr);
  // "opened", "level_changed" or "closed", with the incident as it is now.
  using Emit = std::function<void(Incident&, const char* event, const char* reason)>;
  void set_emit(Emit e) { emit_ = std::move(e); }
  void on_match(const Match& m);
  void on_detection(const Detection& d);   // joins the open incidents of its attacker, victim, pair
  void advance(uint64_t now);              // closes idle incidents
  void close_all(const char* reason);      // end of input
  Incident* find(uint64_t id);             // an open incident, or null
  const Incident* find_const(uint64_t id) const {
    auto it = open_.find(id);
    return it == open_.end() ? nullptr : &it->second;
  }
  // The operator's status (new, investigating, resolved, false_positive);
  // writes a "status_changed" record. False: no such open incident.
  bool set_status(uint64_t id, const std::string& status);
  template <typename F> void each_open(F&& f) const { for (auto& [id, inc] : open_) f(inc); }
  IncidentCounters ctr;
  size_t open() const { return open_.size(); }
  // Bytes an open incident holds: its table node, index entry and the heap of
  // its lists (by capacity; strings beyond the small-string buffer).
  static size_t footprint(const Incident& inc);
  // The most an open incident can hold with every list full (limits as configured).
  size_t bytes_bound() const;
  Risk score(const Incident& inc) const;   // Reflex (pure): the figures, per detection
  std::vector<std::string> explain(const Incident& inc) const;  // its reasoning, when a record is written
  std::string summary(const Incident& inc) const;
  std::string history_step(const Incident& inc) const;  // the history factor's explanation

 private:
  Incident* lookup(IncidentBy by, const Val& a, const Val& v);
  void add_member(Incident& inc, const Member& m, const Detection* d, bool dedupe);
  static void prefetch(const Incident& inc);
  void add_context(Incident& inc, const Member& m, const Detection* d, bool new_attacker, bool new_victim);
  Risk context(const Incident& inc, Risk r) const;
  void refresh(Incident& inc);
  void close(uint64_t id, const char* reason);
  const RuleSet& rs_;
  const AttackTable& t_;
  IncidentLimits lim_;
  ReflexConfig rc_;
  const AssetSet* assets_;
  const EntityRisk* erisk_;
  Emit emit_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, Incident> open_;
  // Entity -> its open incident (node-based open_: pointers stay valid; one lookup, not two).
  EntityIndex by_attacker_, by_victim_, by_pair_;
  std::unordered_map<Val, uint64_t, ValHash> campaign_of_attacker_, campaign_of_victim_;
  uint64_t last_sweep_ = 0, next_idle_ = 0;  // next_idle_: no open incident is idle at or before it
};

Val pair_val(const Val& a, const Val& v);

}  // namespace spectre::cortex
