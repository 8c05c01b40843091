// Correlation rules: YAML with the semantics of Sigma's correlation rules
// (specification v2): base rules select detections, correlation rules
// (event_count, value_count, temporal, temporal_ordered) count or order them
// per group-by value within a timespan, with a condition (gt/gte/lt/lte/eq,
// ranges by conjunction), field aliases per referenced rule, and references to
// other correlation rules. Loaded on the main thread; immutable afterwards.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ctrlplane/cortex/attack.h"
#include "ctrlplane/cortex/detection.h"

namespace spectre::cortex {

enum Field : uint8_t {
  kSrcIp, kDestIp, kSrcPort, kDestPort, kProto, kSrcNet, kDestNet, kAttacker, kVictim, kAttackerNet, kVictimNet,
  kPair, kFieldKind, kTactic, kTechnique, kGid, kSid, kSignature, kDetector, kMlClass, kDns, kSni, kHttpHost, kJa3,
  kFieldEnd
};
bool parse_field(std::string_view s, Field& f);
const char* field_name(Field f);
// The field's value in d (attacker/victim follow AttackTable::outbound).
Val field_value(const Detection& d, Field f, const AttackTable& t);

// Base rule: every key must match (AND); a list matches any of its values.
struct Selector {
  std::string name, title;
  uint32_t kinds = 0;                  // bit per Kind; default: every detection kind
  uint64_t tactics = 0;                // bit per tactic index; 0: any
  std::vector<uint16_t> techniques;    // any of (sub-techniques match their parent)
  std::vector<uint32_t> gids, sids, dest_ports;
  std::vector<std::string> detectors, ml_classes, categories;
  uint8_t max_severity = 255;          // severity <= (1 highest)
  uint64_t min_duration_ns = 0, min_bytes_out = 0;  // flows
  bool established = false;            // flows: handshake completed
  int8_t same_host = -1;               // 0: source != destination, 1: equal, -1: either
  bool matches(const Detection& d, const AttackTable& t) const;
};

enum class CorrType : uint8_t { kEventCount, kValueCount, kTemporal, kTemporalOrdered };
enum class Level : uint8_t { kInformational, kLow, kMedium, kHigh, kCritical };
enum class IncidentBy : uint8_t { kNone, kAttacker, kVictim, kPair };
const char* level_name(Level l);

struct Condition {
  // Sigma: a map of one or more of gt/gte/lt/lte/eq, all of which must hold.
  int64_t gt = -1, gte = -1, lt = -1, lte = -1, eq = -1;
  bool holds(uint64_t n) const;
  uint64_t bound() const;  // the largest count the condition distinguishes
};

// Where a group-by (or value) field comes from in events of one referenced rule.
struct FieldRef {
  Field field = kSrcIp;
  int8_t slot = -1;  // >= 0: the referenced correlation's group-by value at this slot
};

struct Correlation {
  std::string name, title, file;
  int line = 0;
  CorrType type = CorrType::kEventCount;
  struct Ref {
    bool corr = false;       // refers to a correlation rule (else a base rule)
    uint16_t idx = 0;
    std::vector<FieldRef> group;  // per group-by name
    FieldRef value;          // value_count field
  };
  std::vector<Ref> refs;
  std::vector<std::string> group_by;
  uint64_t timespan_ns = 0;
  Condition cond;
  Level level = Level::kMedium;
  IncidentBy incident = IncidentBy::kNone;
  std::string value_field;
};

struct RuleSet {
  std::vector<Selector> selectors;
  std::vector<Correlation> correlations;  // referenced rules come before the rules that use them
  // Selector -> (correlation, ref index) pairs; correlation -> its users.
  std::vector<std::vector<std::pair<uint16_t, uint8_t>>> sel_users, corr_users;
  bool uses_flows = false;                // some selector takes kFlow events
  // Adds the rules of one multi-document YAML text; errors name path:line.
  bool add(std::string_view yaml, const std::string& path, const AttackTable& t, std::string& err);
  // Resolves references and aliases, orders correlations, rejects cycles.
  bool finish(std::string& err);

  struct Pending;  // a correlation as written, before names are resolved (rules.cc)

 private:
  std::vector<Pending*> pending_;
  bool resolve(Pending& p, std::vector<int>& state, std::string& err);
 public:
  ~RuleSet();
  RuleSet() = default;
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;
};

constexpr size_t kMaxGroupBy = 4;
constexpr size_t kMaxRefs = 8;
constexpr uint64_t kMaxCountBound = 31;  // event/value counts kept exactly per group (bounded state)

}  // namespace spectre::cortex
