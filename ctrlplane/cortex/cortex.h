// Cortex and Reflex as one object: detections in (Detection, the port), EVE
// "incident" records out. Used by the data plane's event writer thread
// (never a worker) and, later, by spectre-cp. Not thread-safe: one caller.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "ctrlplane/cortex/entity_risk.h"
#include "ctrlplane/cortex/incident.h"
#include "ctrlplane/cortex/respond.h"

namespace YAML { class Node; }

namespace spectre::cortex {

struct Config {
  bool enabled = true;
  // An `incidents:` section or --incident-rules was given. Offline runs make
  // incidents by default; live, spectre-cp hosts the brain, and spectre-dp
  // makes them only when configured (live-netns lost packets under 100
  // SIGHUPs at 20 kpps on 2 cores with the hook on by default; not explained).
  bool configured = false;
  std::vector<std::string> rule_files;   // correlation rules; empty: the shipped rules/default.yaml
  std::string mapping_file;              // empty: the shipped tables/mapping.yaml
  std::string attack_table;              // empty: the shipped attack/enterprise.tsv
  std::string assets_file;               // asset file (assets, allow-list); empty: none
  uint32_t max_groups = 16384;           // correlation group states
  IncidentLimits limits;
  ReflexConfig reflex;
  std::string playbook_file;             // empty: the shipped playbooks/default.yaml; "none": no playbooks
  ResponseConfig response;               // automatic actions (off by default)
  EntityRiskConfig entity_risk;
};

// The `incidents:` map of spectre.yaml (relative paths against `dir`); errors "path:line: message".
bool parse_config(const YAML::Node& n, const std::string& path, const std::string& dir, Config& c, std::string& err);

// A shipped file by name ("attack/enterprise.tsv", "tables/mapping.yaml",
// "rules/default.yaml", "classification.config"); empty if unknown.
std::string_view embedded(std::string_view name);

class Cortex {
 public:
  // Null and err ("file:line: message") when a table or rule file is bad.
  static std::unique_ptr<Cortex> create(const Config& c, std::string& err);
  // One detection or flow (kFlow). Maps it onto ATT&CK, joins open incidents,
  // runs the correlation rules; incident records go to the sink.
  void ingest(Detection& d);
  // Moves the clock that closes idle incidents to t (never back) without a
  // detection: spectre-cp's stand-in for packet time when no traffic comes.
  void advance_clock(uint64_t t);
  uint64_t clock() const { return now_; }
  // End of input: waits (bounded) for pending automatic actions, closes every open incident.
  void finish();
  // The operator's verdict on an open incident (new, investigating, resolved,
  // false_positive): a "status_changed" record goes to the sink. False: not open.
  bool set_status(uint64_t id, const std::string& status);
  // Results of finished automatic actions onto their incidents (ingest does it too).
  void collect_actions();
  // Each EVE line (no newline) is handed to the sink as it is made.
  using Sink = std::function<void(std::string_view line)>;
  void set_sink(Sink s) { sink_ = std::move(s); }
  bool wants_flows() const { return rules_.uses_flows; }
  // Counters, unmapped detections (like --rules-report), state sizes.
  std::string report() const;
  const Mapper& mapper() const { return *mapper_; }
  const Correlator& correlator() const { return *corr_; }
  const Incidents& incidents() const { return *inc_; }
  const AttackTable& attack() const { return table_; }
  const RuleSet& rules() const { return rules_; }
  const AssetSet& assets() const { return assets_; }
  const Playbooks& playbooks() const { return playbooks_; }
  const EntityRisk& entity_risk() const { return *erisk_; }
  const Responder* responder() const { return responder_.get(); }
  uint64_t detections() const { return detections_; }
  // The EVE "incident" record (no newline); format_to writes it into `out` (cleared first).
  std::string format(const Incident& inc, const char* event, const char* reason) const;
  void format_to(fmt::memory_buffer& out, const Incident& inc, const char* event, const char* reason) const;

 private:
  Cortex() = default;
  Config cfg_;
  AttackTable table_;
  RuleSet rules_;
  AssetSet assets_;
  std::unique_ptr<Mapper> mapper_;
  std::unique_ptr<Correlator> corr_;
  std::unique_ptr<Incidents> inc_;
  Playbooks playbooks_;
  std::unique_ptr<Responder> responder_;
  std::unique_ptr<EntityRisk> erisk_;
  Sink sink_;
  uint64_t detections_ = 0, flows_ = 0, now_ = 0;
  uint64_t actions_refused_ = 0;  // automatic actions a playbook named while response is off
  void on_record(Incident& inc, const char* event, const char* reason);
  void write_risk(fmt::memory_buffer& out, const Incident& inc) const;      // incident_json.cc
  void write_context(fmt::memory_buffer& out, const Incident& inc) const;
  void write_response(fmt::memory_buffer& out, const Incident& inc) const;  // "response"
  fmt::memory_buffer rec_;  // the record being handed to the sink (reused: no allocation per record)
  void add_entity_risk(Incident& inc);
  void respond(Incident& inc, const char* event);  // playbook, automatic actions
  std::unordered_map<Val, uint64_t, ValHash> blocked_;  // address -> incident that blocked it
};

}  // namespace spectre::cortex
