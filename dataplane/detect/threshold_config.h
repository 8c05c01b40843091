// Suricata's threshold.config (docs: configuration/global-thresholds):
// suppress, threshold / event_filter and rate_filter lines applied to the
// rules at compile time. Parsed on the control thread; workers only see the
// result inside the CompiledRuleset.
//
// Precedence (as Suricata's util-threshold-config applies the lines, in file order):
//   - suppress without track: the rule never alerts (flowbits still run);
//     with track by_src/by_dst/by_either and ip: no alert when that address
//     is in the set. Suppressions combine with every other threshold.
//   - threshold/event_filter for one gid:sid replaces the rule's own
//     threshold (else its detection_filter) and any earlier config entry.
//   - gen_id 0 / sig_id 0 wildcards and every rate_filter apply only to rules
//     that have no threshold/detection_filter of their own (nor one from an
//     earlier config line): the rule's setting wins.
//   - gen_id 0 with sig_id > 0 is an error.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/rules/rule.h"

namespace spectre {

struct ThresholdEntry {
  enum class Kind : uint8_t { kSuppress, kThreshold, kRate } kind = Kind::kSuppress;
  enum class SupTrack : uint8_t { kNone, kBySrc, kByDst, kByEither } sup_track = SupTrack::kNone;
  uint32_t gid = 1, sid = 0;      // 0: wildcard
  rules::Threshold thr{};         // kThreshold: type/track/count/seconds; kRate: track/count/seconds
  rules::Action new_action = rules::Action::kAlert;  // kRate
  uint32_t timeout = 0;           // kRate: seconds the new action stays
  rules::IpSet ips;               // kSuppress with a track
  std::string where;              // "file:line" for messages
};

struct ThresholdConfig {
  std::string path;
  std::vector<ThresholdEntry> entries;
  uint32_t bad_lines = 0;
};

// Parses one file's text. Bad lines are reported ("file:line: ...") in
// `messages`, counted in bad_lines and skipped; the rest is kept.
void parse_threshold_config(std::string_view text, const std::string& name, const rules::Vars& vars,
                            ThresholdConfig& out, std::vector<std::string>& messages);
// Reads and parses `path`. False with `err` only when the file cannot be read.
bool load_threshold_file(const std::string& path, const rules::Vars& vars, ThresholdConfig& out,
                         std::vector<std::string>& messages, std::string& err);

// What the config does to one rule (result of resolve_thresholds).
struct RuleThresholds {
  bool noalert = false;
  bool has_threshold = false, has_detection_filter = false;  // effective (own or from the config)
  rules::Threshold threshold{}, detection_filter{};
  int32_t rate = -1;              // index of the rate_filter entry, -1: none
  std::vector<uint32_t> suppress; // indices of suppress entries with a track
};

// Applies the entries in file order to `rules`; out[i] belongs to rules[i].
// Entries that name an unknown rule or lose to a rule's own setting are reported.
void resolve_thresholds(const ThresholdConfig& cfg, const std::vector<rules::Rule>& rules,
                        std::vector<RuleThresholds>& out, std::vector<std::string>& messages);

}  // namespace spectre
