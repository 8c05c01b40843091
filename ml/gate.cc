// Promotion gates (see gate.h).
#include "ml/gate.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "ml/cli_util.h"

namespace spectre::ml {

namespace {

using ojson = nlohmann::ordered_json;

ojson num_or_null(double v) { return std::isfinite(v) ? ojson(v) : ojson(nullptr); }

ojson eval_obj(const EvalResult& r, const std::string& sha) {
  ojson c = ojson::array();
  for (const ClassFigures& f : r.classes)
    c.push_back({{"class", f.name}, {"flows", f.flows}, {"tp", f.tp}, {"tpr", num_or_null(f.tpr)}});
  return {{"sha256", sha},          {"flows", r.flows},
          {"benign_flows", r.benign_flows}, {"fp", r.fp},
          {"fpr", num_or_null(r.fpr)},      {"tpr_all", num_or_null(r.all_attacks.tpr)},
          {"classes", c}};
}

// Flow-level alert decisions of one model: flow -> flagged (rows in the phase).
std::unordered_map<std::string, bool> flagged(const std::vector<EvalRow>& rows, const std::string& phase,
                                              const std::string& benign) {
  std::unordered_map<std::string, bool> f;
  for (const EvalRow& r : rows) {
    if (phase != "any" && r.phase != phase) continue;
    bool& v = f[r.flow_id];
    v = v || r.pred != benign;
  }
  return f;
}

}  // namespace

bool GateReport::passed() const {
  if (checks.empty()) return false;
  for (const GateCheck& c : checks)
    if (!c.passed) return false;
  return true;
}

std::vector<std::string> GateReport::failed() const {
  std::vector<std::string> f;
  for (const GateCheck& c : checks)
    if (!c.passed) f.push_back(c.name);
  return f;
}

bool read_holdout(const std::vector<std::string>& csvs, const LoadedModel& m, const std::string& label,
                  std::vector<EvalRow>& rows, std::vector<double>& x, std::string& err) {
  rows.clear();
  x.clear();
  if (csvs.empty()) {
    err = "no hold-out CSV given";
    return false;
  }
  for (size_t i = 0; i < csvs.size(); ++i) {
    std::vector<EvalRow> r;
    std::vector<double> xi;
    if (!read_eval_csv(csvs[i], m, label, r, xi, err)) return false;
    for (EvalRow& e : r) e.flow_id = std::to_string(i) + "/" + e.flow_id;  // flow ids repeat across captures
    rows.insert(rows.end(), r.begin(), r.end());
    x.insert(x.end(), xi.begin(), xi.end());
  }
  return true;
}

bool run_gates(const LoadedModel& cand, const LoadedModel* active, const std::vector<std::string>& csvs,
               const GateConfig& cfg, GateReport& out, std::string& err) {
  out = GateReport{};
  out.candidate_sha256 = cand.sha256;
  std::vector<EvalRow> rows;
  std::vector<double> x;
  if (!read_holdout(csvs, cand, cfg.label, rows, x, err)) return false;
  std::vector<std::string> pc = predict_classes(cand, x, rows.size(), cfg.benign);
  for (size_t i = 0; i < rows.size(); ++i) rows[i].pred = pc[i];
  out.candidate = aggregate_eval(rows, cfg.phase, cfg.benign, alert_classes(cand, cfg.benign));

  GateCheck fpr{"benign_fpr", out.candidate.fpr, cfg.max_benign_fpr, false, ""};
  fpr.passed = out.candidate.benign_flows > 0 && out.candidate.fpr <= cfg.max_benign_fpr;
  fpr.detail = std::to_string(out.candidate.fp) + " of " + std::to_string(out.candidate.benign_flows) +
               " benign hold-out flows alerted";
  out.checks.push_back(fpr);
  // TPR gates: the attack classes of the hold-out the candidate can name (a
  // multi-class model is not judged on classes it does not have); a binary
  // model or an isolation forest: all attack flows together ("tpr.all").
  const std::vector<std::string> named = alert_classes(cand, cfg.benign);
  const bool per_class = cand.kind == ModelKind::XGBoost && cand.num_outputs() > 1;
  std::vector<ClassFigures> gated;
  for (const ClassFigures& c : out.candidate.classes)
    if (per_class && std::find(named.begin(), named.end(), c.name) != named.end()) gated.push_back(c);
  if (!per_class && out.candidate.all_attacks.flows > 0) {
    gated.push_back(out.candidate.all_attacks);
    gated.back().name = "all";
  }
  if (gated.empty() && cfg.require_tpr)
    out.checks.push_back(GateCheck{"tpr", std::nan(""), cfg.min_tpr, false,
                                   "no hold-out flow of a class the model names: detection not verified"});
  for (const ClassFigures& c : gated) {
    auto it = cfg.class_tpr.find(c.name);
    GateCheck t{"tpr." + c.name, c.tpr, it == cfg.class_tpr.end() ? cfg.min_tpr : it->second, false, ""};
    t.passed = c.flows > 0 && c.tpr >= t.limit;
    t.detail = std::to_string(c.tp) + " of " + std::to_string(c.flows) + " flows detected";
    out.checks.push_back(t);
  }
  // A per-class limit set for a class the model names but the hold-out lacks
  // (in the phase judged): not verified, so not passed.
  if (per_class && cfg.require_tpr && !gated.empty())  // none at all: the "tpr" check above
    for (const auto& [name, limit] : cfg.class_tpr) {
      const bool measured = std::any_of(gated.begin(), gated.end(), [&](const ClassFigures& c) { return c.name == name; });
      if (!measured && std::find(named.begin(), named.end(), name) != named.end())
        out.checks.push_back(GateCheck{"tpr." + name, std::nan(""), limit, false,
                                       "no hold-out flow of this class in phase " + cfg.phase + ": detection not verified"});
    }
  out.agreement = std::nan("");
  if (active) {
    // The active model may have other features: score it on its own columns.
    std::vector<EvalRow> arows;
    std::vector<double> ax;
    if (!read_holdout(csvs, *active, cfg.label, arows, ax, err)) return false;
    std::vector<std::string> pa = predict_classes(*active, ax, arows.size(), cfg.benign);
    for (size_t i = 0; i < arows.size(); ++i) arows[i].pred = pa[i];
    out.has_active = true;
    out.active_sha256 = active->sha256;
    out.active = aggregate_eval(arows, cfg.phase, cfg.benign, alert_classes(*active, cfg.benign));
    const auto fc = flagged(rows, cfg.phase, cfg.benign), fa = flagged(arows, cfg.phase, cfg.benign);
    size_t same = 0, n = 0;
    for (const auto& [flow, f] : fc) {
      auto it = fa.find(flow);
      if (it == fa.end()) continue;
      ++n;
      same += it->second == f;
    }
    out.agreement_flows = n;
    out.agreement = n ? double(same) / double(n) : std::nan("");
    GateCheck a{"agreement", out.agreement, cfg.min_agreement, n > 0 && out.agreement >= cfg.min_agreement, ""};
    a.detail = std::to_string(same) + " of " + std::to_string(n) + " hold-out flows with the same alert decision";
    out.checks.push_back(a);
  }
  return true;
}

std::string gate_report_json(const GateReport& r) {
  ojson j;
  j["passed"] = r.passed();
  j["failed"] = r.failed();
  j["checks"] = ojson::array();
  for (const GateCheck& c : r.checks)
    j["checks"].push_back({{"name", c.name}, {"value", num_or_null(c.value)}, {"limit", c.limit},
                           {"passed", c.passed}, {"detail", c.detail}});
  j["candidate"] = eval_obj(r.candidate, r.candidate_sha256);
  j["active"] = r.has_active ? eval_obj(r.active, r.active_sha256) : ojson(nullptr);
  j["agreement"] = num_or_null(r.agreement);
  j["agreement_flows"] = r.agreement_flows;
  return j.dump();
}

bool parse_tpr_spec(const std::string& spec, GateConfig& cfg, std::string& err) {
  for (const std::string& part : cli::split(spec, ',')) {
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    double v;
    const std::string val = eq == std::string::npos ? part : part.substr(eq + 1);
    if (!cli::parse_number(val, v) || !(v >= 0 && v <= 1)) {
      err = "--min-tpr wants fractions in [0, 1], got '" + part + "'";
      return false;
    }
    if (eq == std::string::npos) cfg.min_tpr = v;
    else cfg.class_tpr[part.substr(0, eq)] = v;
  }
  return true;
}

}  // namespace spectre::ml
