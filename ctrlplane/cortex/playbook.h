// Reflex playbooks: YAML conditions on an incident (level, tactics,
// techniques, asset tags, intel, accumulated entity risk) -> immediate
// actions, escalation and investigation steps, and the automatic actions
// (webhook to a SOAR, block an address) that run only when the operator
// enables them (respond.h). Read once at start; the first playbook whose
// conditions all hold is the incident's. Matching is a few compares per
// playbook and happens when an incident opens or changes level, not per detection.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ctrlplane/cortex/attack.h"

namespace spectre::cortex {

struct Incident;

enum class AutoAction : uint8_t { kWebhook, kBlock };
const char* auto_action_name(AutoAction a);

struct Playbook {
  std::string name, title;
  // Conditions; every one given must hold (a list: any of it).
  int min_level = 0;                       // RiskLevel; 0 (info): any
  std::vector<uint8_t> tactics;            // AttackTable indexes
  std::vector<uint16_t> techniques;
  std::vector<std::string> asset_tags;     // on any asset of the incident
  int intel = -1;                          // -1 any, 0 no intel hit, 1 an intel hit
  double min_entity_risk = 0;              // accumulated risk of the incident's entity
  // Response.
  std::vector<std::string> actions, investigation;
  std::string escalation;
  std::vector<AutoAction> automatic;       // run only when response.enabled
  int line = 0;                            // in its file, for the report
};

// An automatic action as audited on its incident.
struct ActionRecord {
  uint64_t time_ns = 0;                    // wall clock when it finished (pending: when queued)
  std::string action, target, result;      // result: "ok ...", "failed: ...", "pending", "not run: ..."
};

class Playbooks {
 public:
  // A YAML document `playbooks: [..]`; errors "path:line: message" (unknown
  // keys, levels, tactic or technique ids, automatic actions).
  bool load(std::string_view yaml, const std::string& path, const AttackTable& t, std::string& err);
  // The first playbook whose conditions hold, or null.
  const Playbook* match(const Incident& inc, double entity_risk) const;
  std::vector<Playbook> list;
  std::string source;  // the file they came from
 private:
  const AttackTable* t_ = nullptr;  // the table load() was given (outlives this)
};

}  // namespace spectre::cortex
