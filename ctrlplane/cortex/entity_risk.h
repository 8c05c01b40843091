// Risk that accumulates per entity across incidents (risk-based alerting):
// each incident adds to its entity (attacker address; the victim for
// victim-keyed incidents) the rise of its score since its last contribution,
// so one incident contributes at most its peak score. An entity's risk at
// time t is  sum over contributions (t_i, s_i) with t - t_i <= window of
// s_i * 2^(-(t - t_i) / half_life).  Packet time, so offline runs are
// deterministic. Bounded: kSlots contributions per entity (beyond, the two
// oldest merge: the older decayed onto the newer's time) and max_entities
// entities (beyond, idle ones past the window go first, then new ones are
// not tracked; both counted). When full, each new entity looks at no more
// than kSweepStep entities for idle ones, resuming where the last look
// stopped (a full sweep per new entity was O(max_entities) each while the
// table stayed full). One thread (Cortex's).
#pragma once
#include <cstdint>
#include <unordered_map>

#include "ctrlplane/cortex/detection.h"

namespace spectre::cortex {

struct EntityRiskConfig {
  uint64_t half_life_ns = 6 * 3600ull * 1000000000ull;
  uint64_t window_ns = 24 * 3600ull * 1000000000ull;
  double threshold = 100;        // "notable" at or above
  uint32_t max_entities = 65536;
};

class EntityRisk {
 public:
  static constexpr int kSlots = 8;
  static constexpr size_t kSweepStep = 64;
  explicit EntityRisk(EntityRiskConfig c = {}) : c_(c) {}
  // Adds `points` (> 0) at time t; returns the entity's risk at t afterwards.
  double add(const Val& e, double points, uint64_t t, bool new_incident);
  double value(const Val& e, uint64_t t) const;   // 0 for an unknown entity
  uint32_t incidents(const Val& e) const;         // incidents that contributed
  // v * 2^(-dt / half_life).
  static double decay(double v, uint64_t dt_ns, uint64_t half_life_ns);
  const EntityRiskConfig& config() const { return c_; }
  size_t size() const { return m_.size(); }
  static const size_t kEntityBytes;  // a tracked entity: its hash node and bucket (below)
  uint64_t merged = 0, expired = 0, untracked = 0, scanned = 0;  // scanned: entities looked at by sweeps

 private:
  struct Slot { uint64_t t = 0; double v = 0; };
  struct E { Slot s[kSlots]; uint8_t n = 0; uint32_t incidents = 0; uint64_t last = 0; };
  double sum(const E& e, uint64_t t) const;
  void sweep(uint64_t t);
  EntityRiskConfig c_;
  std::unordered_map<Val, E, ValHash> m_;
  Val cursor_;                 // the entity the next sweep starts at (if still there)
  bool has_cursor_ = false;
};

// libstdc++'s node: next pointer, key and value, cached hash; a bucket pointer per entity at load factor 1.
inline constexpr size_t EntityRisk::kEntityBytes = sizeof(void*) + sizeof(std::pair<const Val, E>) + sizeof(size_t) + sizeof(void*);

}  // namespace spectre::cortex
