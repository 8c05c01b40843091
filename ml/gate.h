// Promotion gates for a retrained (candidate) model: its per-flow figures on
// hold-out feature rows (whole capture files training never saw; the eval.h
// machinery), compared with configured limits, and its agreement with the
// active model on the same rows. Offline / control-plane code.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ml/artifact.h"
#include "ml/eval.h"

namespace spectre::ml {

struct GateConfig {
  double max_benign_fpr = 0.01;             // per benign flow
  double min_tpr = 0.5;                     // per attack class present in the hold-out that the model names
  std::map<std::string, double> class_tpr;  // per-class overrides
  double min_agreement = 0.9;               // flows where candidate and active agree on alert / no alert
  bool require_tpr = true;                  // no hold-out flow of a class the model names: a failing "tpr" check
  std::string label = "label", benign = "benign", phase = "any";
};

struct GateCheck {
  std::string name;   // "benign_fpr", "tpr.<class>" ("tpr.all": binary / iforest), "agreement"
  double value = 0, limit = 0;
  bool passed = false;
  std::string detail;
};

struct GateReport {
  std::string candidate_sha256, active_sha256;
  EvalResult candidate, active;  // active: empty without an active model
  bool has_active = false;
  double agreement = 0;          // per flow (NaN without an active model)
  size_t agreement_flows = 0;
  std::vector<GateCheck> checks;
  bool passed() const;
  std::vector<std::string> failed() const;  // names of failed checks
};

// Labelled hold-out rows of several CSVs (flow ids made unique per file) scored
// by m. x gets the rows' features (n * m.num_features).
bool read_holdout(const std::vector<std::string>& csvs, const LoadedModel& m, const std::string& label,
                  std::vector<EvalRow>& rows, std::vector<double>& x, std::string& err);

// Evaluates cand (and active, if given) on the hold-out CSVs and applies cfg.
bool run_gates(const LoadedModel& cand, const LoadedModel* active, const std::vector<std::string>& csvs,
               const GateConfig& cfg, GateReport& out, std::string& err);

// {"passed","failed":[..],"checks":[{"name","value","limit","passed","detail"}],
//  "candidate":{"sha256","fpr","benign_flows","fp","classes":[{"class","flows","tp","tpr"}]},
//  "active":{..}|null,"agreement":x|null,"agreement_flows":n}
std::string gate_report_json(const GateReport& r);

// "tpr.c2_exfil=0.8,tpr.web=0.5" or "0.8" (all classes) into cfg.
bool parse_tpr_spec(const std::string& spec, GateConfig& cfg, std::string& err);

}  // namespace spectre::ml
