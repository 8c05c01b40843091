// spectre-ml eval (see eval.h).
#include "ml/eval.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <unordered_map>

#include "ml/cli_util.h"
#include "ml/iforest/iforest.h"
#include "ml/xgb/predict.h"

namespace spectre::ml {

std::vector<std::string> alert_classes(const LoadedModel& m, const std::string& benign) {
  std::vector<std::string> out;
  if (m.kind == ModelKind::IForest || m.num_outputs() == 1) {
    if (!m.class_names.empty()) out.push_back(m.class_names.back());
    return out;
  }
  for (const auto& c : m.class_names)
    if (c != benign) out.push_back(c);
  return out;
}

std::vector<std::string> predict_classes(const LoadedModel& m, const std::vector<double>& x, size_t n,
                                         const std::string& benign) {
  std::vector<std::string> pred(n, benign);
  const size_t nf = m.num_features;
  if (n == 0 || m.class_names.empty() || m.thresholds.empty()) return pred;
  if (m.kind == ModelKind::IForest) {
    std::vector<double> s(n);
    score_samples(m.iforest, x.data(), n, nf, s.data());
    for (size_t i = 0; i < n; ++i)
      if (s[i] < m.thresholds[0]) pred[i] = m.class_names[0];
    return pred;
  }
  const size_t G = m.xgb.num_group;
  std::vector<float> xf(x.begin(), x.end()), p(n * G);
  predict_prob(m.xgb, xf.data(), n, nf, p.data());
  for (size_t i = 0; i < n; ++i) {
    const float* r = p.data() + i * G;
    if (G == 1) {
      if (static_cast<double>(r[0]) >= m.thresholds[0]) pred[i] = m.class_names.back();
      continue;
    }
    int best = -1;
    for (size_t g = 0; g < G && g < m.class_names.size(); ++g)
      if (m.class_names[g] != benign && static_cast<double>(r[g]) >= m.thresholds[g] &&
          (best < 0 || r[g] > r[best]))
        best = static_cast<int>(g);
    if (best >= 0) pred[i] = m.class_names[static_cast<size_t>(best)];
  }
  if (m.guard) {  // open-set guard: only rows unlike benign keep their class
    std::vector<double> g(n);
    score_samples(m.guard->iforest, x.data(), n, nf, g.data());
    for (size_t i = 0; i < n; ++i)
      if (!(g[i] < m.guard->thresholds[0])) pred[i] = benign;
  }
  return pred;
}

namespace {

double ratio(size_t a, size_t b) { return b ? static_cast<double>(a) / static_cast<double>(b) : std::nan(""); }

bool phase_ok(const std::string& want, const std::string& got) { return want == "any" || want == got; }

}  // namespace

EvalResult aggregate_eval(const std::vector<EvalRow>& rows, const std::string& phase,
                          const std::string& benign, const std::vector<std::string>& pred_classes) {
  EvalResult res;
  res.phase = phase;
  res.benign = benign;
  res.rows_total = rows.size();
  struct Flow {
    size_t last = 0;         // row giving the class
    long first_alert = -1;   // earliest alerting row in the phase
    bool in_phase = false;
  };
  std::unordered_map<std::string, size_t> index;
  std::vector<Flow> flows;
  for (size_t i = 0; i < rows.size(); ++i) {
    const EvalRow& r = rows[i];
    auto [it, fresh] = index.emplace(r.flow_id, flows.size());
    if (fresh) flows.push_back(Flow{i, -1, false});
    Flow& f = flows[it->second];
    if (r.ts >= rows[f.last].ts) f.last = i;
    if (!phase_ok(phase, r.phase)) continue;
    f.in_phase = true;
    if (r.pred != benign &&
        (f.first_alert < 0 || r.ts < rows[static_cast<size_t>(f.first_alert)].ts))
      f.first_alert = static_cast<long>(i);
  }

  // Confusion matrix axes: benign first, then true classes sorted / the model's classes.
  std::set<std::string> labels;
  for (const auto& r : rows)
    if (phase_ok(phase, r.phase)) labels.insert(r.label);
  res.true_classes.push_back(benign);
  for (const auto& l : labels)
    if (l != benign) res.true_classes.push_back(l);
  res.pred_classes.push_back(benign);
  for (const auto& c : pred_classes)
    if (c != benign) res.pred_classes.push_back(c);
  std::map<std::string, size_t> ti, pi;
  for (size_t i = 0; i < res.true_classes.size(); ++i) ti[res.true_classes[i]] = i;
  for (size_t i = 0; i < res.pred_classes.size(); ++i) pi[res.pred_classes[i]] = i;
  res.counts.assign(res.true_classes.size(), std::vector<size_t>(res.pred_classes.size(), 0));
  for (const auto& r : rows) {
    if (!phase_ok(phase, r.phase)) continue;
    ++res.rows_used;
    res.rows_alerted += r.pred != benign;
    auto p = pi.find(r.pred);
    if (p == pi.end()) {  // a prediction outside the model's list (not expected): add a column
      p = pi.emplace(r.pred, res.pred_classes.size()).first;
      res.pred_classes.push_back(r.pred);
      for (auto& row : res.counts) row.push_back(0);
    }
    ++res.counts[ti[r.label]][p->second];
  }

  std::map<std::string, ClassFigures> per;
  res.all_attacks.name = "all attacks";
  for (const Flow& f : flows) {
    if (!f.in_phase) continue;
    ++res.flows;
    const std::string& cls = rows[f.last].label;
    const bool flagged = f.first_alert >= 0;
    const std::string& pred = flagged ? rows[static_cast<size_t>(f.first_alert)].pred : benign;
    res.exact_correct += pred == cls;
    if (cls == benign) {
      ++res.benign_flows;
      (flagged ? res.fp : res.tn)++;
      continue;
    }
    for (ClassFigures* c : {&per[cls], &res.all_attacks}) {
      ++c->flows;
      (flagged ? c->tp : c->fn)++;
      c->exact += pred == cls;
    }
  }
  for (auto& [name, c] : per) {
    c.name = name;
    c.tpr = ratio(c.tp, c.flows);
    res.classes.push_back(c);
  }
  res.all_attacks.tpr = ratio(res.all_attacks.tp, res.all_attacks.flows);
  res.fpr = ratio(res.fp, res.benign_flows);
  res.exact_accuracy = ratio(res.exact_correct, res.flows);
  return res;
}

bool read_eval_csv(const std::string& path, const LoadedModel& m, const std::string& label_col,
                   std::vector<EvalRow>& rows, std::vector<double>& x, std::string& err) {
  rows.clear();
  x.clear();
  cli::CsvRows csv;
  if (!csv.open(path, err)) return false;
  const std::vector<std::string>& header = csv.header();
  const int c_flow = cli::find_column(header, "flow_id"), c_label = cli::find_column(header, label_col),
            c_phase = cli::find_column(header, "phase"), c_ts = cli::find_column(header, "ts");
  if (c_flow < 0) { err = path + ": no 'flow_id' column"; return false; }
  if (c_label < 0) { err = path + ": no label column '" + label_col + "' (spectre-ml label adds 'label')"; return false; }
  std::vector<int> col;
  if (!cli::map_features(header, m.feature_names, col, err)) { err = path + ": " + err; return false; }
  std::vector<std::string> cells;
  while (csv.next(cells, err)) {
    const std::string where = csv.where();
    EvalRow r;
    r.flow_id = cells[c_flow];
    r.label = cells[c_label];
    if (r.flow_id.empty()) { err = where + ": empty flow_id"; return false; }
    if (r.label.empty()) { err = where + ": empty label"; return false; }
    if (c_phase >= 0) r.phase = cells[c_phase];
    r.ts = static_cast<double>(rows.size());  // file order when there is no ts column
    if (c_ts >= 0 && (!cli::parse_number(cells[c_ts], r.ts) || std::isnan(r.ts))) {
      err = where + ": ts '" + cells[c_ts] + "' is not a number";
      return false;
    }
    if (!csv.append(cells, col, x, err)) return false;
    rows.push_back(std::move(r));
  }
  return err.empty();
}

namespace {

std::string num(double v, const char* fmt = "%.4f") {
  if (std::isnan(v)) return "-";
  char b[32];
  std::snprintf(b, sizeof b, fmt, v);
  return b;
}

std::string jnum(double v) {
  if (std::isnan(v)) return "null";
  char b[32];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

std::string jstr(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') { o += '\\'; o += static_cast<char>(c); }
    else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else o += static_cast<char>(c);
  }
  return o + "\"";
}

std::string pad(const std::string& s, size_t w, bool left = false) {
  if (s.size() >= w) return s;
  return left ? s + std::string(w - s.size(), ' ') : std::string(w - s.size(), ' ') + s;
}

}  // namespace

std::string eval_table(const EvalResult& r) {
  std::string o;
  char b[256];
  std::snprintf(b, sizeof b, "phase %s: %zu rows (%zu in phase, %zu alerted), %zu flows (%zu benign, %zu attack)\n",
                r.phase.c_str(), r.rows_total, r.rows_used, r.rows_alerted, r.flows, r.benign_flows,
                r.all_attacks.flows);
  o += b;
  o += "\nper flow (flagged: any of its rows in the phase alerted; TP: flagged with any class)\n";
  const std::string hdr = pad("class", 24, true) + pad("flows", 8) + pad("TP", 8) + pad("FN", 8) + pad("TPR", 8) +
                          (r.class_exact ? pad("exact", 8) : "");
  o += hdr + "\n" + std::string(hdr.size(), '-') + "\n";
  std::vector<ClassFigures> all = r.classes;
  all.push_back(r.all_attacks);
  for (const auto& c : all)
    o += pad(c.name, 24, true) + pad(std::to_string(c.flows), 8) + pad(std::to_string(c.tp), 8) +
         pad(std::to_string(c.fn), 8) + pad(num(c.tpr), 8) + (r.class_exact ? pad(std::to_string(c.exact), 8) : "") +
         "\n";
  o += "\n" + pad(r.benign, 24, true) + pad("flows", 8) + pad("FP", 8) + pad("TN", 8) + pad("FPR", 8) + "\n";
  o += pad("", 24) + pad(std::to_string(r.benign_flows), 8) + pad(std::to_string(r.fp), 8) +
       pad(std::to_string(r.tn), 8) + pad(num(r.fpr), 8) + "\n";
  if (r.class_exact)
    o += "\nclass-exact accuracy: " + num(r.exact_accuracy) + " (" + std::to_string(r.exact_correct) + " of " +
         std::to_string(r.flows) + " flows predicted as their class)\n";
  o += "\nrow-level confusion (rows: label, columns: prediction)\n";
  size_t w = 10;
  for (const auto& p : r.pred_classes) w = std::max(w, p.size() + 2);
  o += pad("", 24, true);
  for (const auto& p : r.pred_classes) o += pad(p, w);
  o += "\n";
  for (size_t t = 0; t < r.true_classes.size(); ++t) {
    o += pad(r.true_classes[t], 24, true);
    for (size_t v : r.counts[t]) o += pad(std::to_string(v), w);
    o += "\n";
  }
  return o;
}

std::string eval_json(const EvalResult& r) {
  auto cls = [](const ClassFigures& c) {
    return "{\"flows\":" + std::to_string(c.flows) + ",\"TP\":" + std::to_string(c.tp) + ",\"FN\":" +
           std::to_string(c.fn) + ",\"TPR\":" + jnum(c.tpr) + ",\"exact\":" + std::to_string(c.exact) + "}";
  };
  std::string o = "{\"phase\":" + jstr(r.phase) + ",\"benign_label\":" + jstr(r.benign) +
                  ",\n \"rows\":{\"total\":" + std::to_string(r.rows_total) + ",\"in_phase\":" +
                  std::to_string(r.rows_used) + ",\"alerted\":" + std::to_string(r.rows_alerted) +
                  "},\n \"flows\":" + std::to_string(r.flows) + ",\n \"per_class\":{";
  for (size_t i = 0; i < r.classes.size(); ++i)
    o += (i ? ",\n  " : "\n  ") + jstr(r.classes[i].name) + ":" + cls(r.classes[i]);
  o += "},\n \"all_attacks\":" + cls(r.all_attacks);
  o += ",\n \"benign\":{\"flows\":" + std::to_string(r.benign_flows) + ",\"FP\":" + std::to_string(r.fp) +
       ",\"TN\":" + std::to_string(r.tn) + ",\"FPR\":" + jnum(r.fpr) + "}";
  o += ",\n \"class_exact_accuracy\":" + (r.class_exact ? jnum(r.exact_accuracy) : std::string("null")) +
       ",\"class_exact_correct\":" + std::to_string(r.exact_correct);
  o += ",\n \"confusion\":{\"true\":[";
  for (size_t i = 0; i < r.true_classes.size(); ++i) o += (i ? "," : "") + jstr(r.true_classes[i]);
  o += "],\"pred\":[";
  for (size_t i = 0; i < r.pred_classes.size(); ++i) o += (i ? "," : "") + jstr(r.pred_classes[i]);
  o += "],\"counts\":[";
  for (size_t t = 0; t < r.counts.size(); ++t) {
    o += t ? ",[" : "[";
    for (size_t p = 0; p < r.counts[t].size(); ++p) {
      if (p) o += ',';
      o += std::to_string(r.counts[t][p]);
    }
    o += "]";
  }
  o += "]}}\n";
  return o;
}

}  // namespace spectre::ml
