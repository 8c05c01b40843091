// spectre-ml reference / retrain / gate / feedback (see retrain.h).
#include "ml/retrain.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "ml/artifact.h"
#include "ml/calibrate.h"
#include "ml/cli_util.h"
#include "ml/drift.h"
#include "ml/feedback.h"
#include "ml/gate.h"
#include "ml/train.h"

namespace spectre::ml {

const char* const kLearnHelp =
    "  reference --model MODEL.spm --csv ROWS.csv -o OUT.spm [--label label --benign benign]\n"
    "      adds drift reference distributions (quantile bins per feature and per output\n"
    "      score) of the rows (only those whose label is NAME with --label/--benign).\n"
    "  retrain --csv BASE.csv [--csv ...] --rows LIVE.csv --feedback FEEDBACK.jsonl -o CAND.spm\n"
    "          [--active ACTIVE.spm] [--weight 3] [--merged OUT.csv] [--label label]\n"
    "          [--benign benign] [train-xgb options: --rounds --depth --eta --seed --classes ...]\n"
    "      LIVE.csv: stored --dump-features rows; FEEDBACK.jsonl: analyst verdicts (ml/feedback.h):\n"
    "      a false positive labels its flow's rows benign, a true positive its class. Those\n"
    "      rows (repeated --weight times) join the labelled BASE rows; train-xgb makes the\n"
    "      candidate (classes of --active unless --classes). --calibrate BENIGN.csv[,..]\n"
    "      [--percentile 99.9] [--guard-percentile 99] [--min-threshold 0.5]: the candidate\n"
    "      gets --active's open-set guard and is calibrated on those benign rows.\n"
    "  gate --candidate CAND.spm --csv HOLDOUT.csv [--csv ...] [--active ACTIVE.spm]\n"
    "          [--max-fpr 0.01] [--min-tpr 0.5|CLASS=T,...] [--min-agreement 0.9]\n"
    "          [--label label] [--benign benign] [--phase any] [--json OUT.json] [--allow-no-tpr]\n"
    "      per-flow figures on hold-out rows (whole captures training never saw): benign\n"
    "      FPR, TPR per attack class present that the model names (binary/iforest: all attack\n"
    "      flows), agreement with --active (flows with the same\n"
    "      alert decision). Without a hold-out flow of a class the model names the \"tpr\"\n"
    "      gate fails unless --allow-no-tpr. Exit 0 all gates pass, 3 refused (failing gates printed).\n"
    "  drift --model MODEL.spm --csv ROWS.csv [--window 500] [--shuffle SEED] [--label label --benign benign]\n"
    "      PSI / KS of each window of rows (file order, or shuffled) against the model's\n"
    "      reference distributions; one JSON line per window (rows, drifted features,\n"
    "      largest PSI, score PSI) and a summary line.\n"
    "  feedback --feedback FEEDBACK.jsonl\n"
    "      false-positive rates per rule and per model class (JSON, as GET /ml/feedback).\n";

namespace {

using cli::bad;
using cli::kOk;
using cli::usage;
using cli::write_bytes;
constexpr int kRefused = 3;  // gate: a gate failed

// "--name value" pairs (repeatable); names outside `known` go to rest as they are.
struct Args {
  std::multimap<std::string, std::string> v;
  std::vector<std::string> rest;
  bool parse(const std::vector<std::string>& a, const std::set<std::string>& known, std::string& err) {
    for (size_t i = 0; i < a.size(); ++i) {
      const std::string k = a[i] == "--output" ? "-o" : a[i];
      if (!known.count(k)) {
        rest.push_back(a[i]);
        continue;
      }
      if (i + 1 >= a.size()) { err = a[i] + " needs a value"; return false; }
      v.emplace(k, a[++i]);
    }
    return true;
  }
  std::string get(const std::string& k, const std::string& def = "") const {
    auto it = v.find(k);
    return it == v.end() ? def : it->second;
  }
  std::vector<std::string> all(const std::string& k) const {
    std::vector<std::string> out;
    for (auto [b, e] = v.equal_range(k); b != e; ++b) out.push_back(b->second);
    return out;
  }
};

}  // namespace

int cmd_reference(const std::vector<std::string>& a) {
  Args o;
  std::string err;
  if (!o.parse(a, {"--model", "--csv", "-o", "--label", "--benign"}, err)) return usage("reference: " + err);
  if (!o.rest.empty()) return usage("reference: unexpected argument " + o.rest[0]);
  const std::string model = o.get("--model"), csv = o.get("--csv"), out = o.get("-o");
  const std::string label = o.get("--label"), benign = o.get("--benign");
  if (model.empty() || csv.empty() || out.empty()) return usage("reference needs --model, --csv and -o");
  if (label.empty() != benign.empty()) return usage("reference: --label and --benign go together");
  std::vector<uint8_t> bytes;
  std::string text;
  if (!cli::read_file(model, text)) return bad("cannot read " + model);
  bytes.assign(text.begin(), text.end());
  LoadedModel m;
  if (!load_artifact(bytes, m, err)) return bad(err);
  cli::CsvRows rows;
  if (!rows.open(csv, err)) return bad(err);
  std::vector<int> col;
  if (!cli::map_features(rows.header(), m.feature_names, col, err)) return bad(csv + ": " + err);
  const int lc = label.empty() ? -1 : cli::find_column(rows.header(), label, cli::meta_prefix(rows.header()));
  if (!label.empty() && lc < 0) return bad(csv + ": no column " + label);
  std::vector<double> x;
  size_t n = 0;
  for (std::vector<std::string> cells; rows.next(cells, err);) {
    if (lc >= 0 && cells[size_t(lc)] != benign) continue;
    if (!rows.append(cells, col, x, err)) return bad(err);
    ++n;
  }
  if (!err.empty()) return bad(err);
  if (n == 0) return bad(csv + ": no rows to build a reference from");
  if (!attach_reference(bytes, x, n, "spectre-ml reference --csv " + csv + (label.empty() ? "" : " (" + label + " == " + benign + ")"), err))
    return bad(err);
  if (!write_bytes(out, bytes)) return bad("cannot write " + out);
  std::fprintf(stderr, "spectre-ml: wrote %s with reference distributions of %zu rows\n", out.c_str(), n);
  return kOk;
}

namespace {

// Appends the feedback-labelled live rows to `out` (in the base header's
// column order); counts per label into `per_label`.
bool append_live_rows(const std::string& path, const std::vector<std::string>& header, size_t label_col,
                      const std::map<std::string, std::string>& labels, size_t weight, std::ofstream& out,
                      std::map<std::string, size_t>& per_label, std::string& err) {
  cli::CsvRows live;
  if (!live.open(path, err)) return false;
  const int fcol = cli::find_column(live.header(), "flow_id");
  if (fcol < 0) { err = path + ": no flow_id column (want --dump-features rows)"; return false; }
  std::vector<int> map(header.size(), -1);  // base column -> live column
  const size_t meta = cli::meta_prefix(live.header());
  for (size_t c = 0; c < header.size(); ++c) {
    if (c == label_col) continue;
    map[c] = cli::find_column(live.header(), header[c], c < cli::meta_prefix(header) ? 0 : meta);
  }
  for (std::vector<std::string> cells; live.next(cells, err);) {
    auto it = labels.find(cells[size_t(fcol)]);
    if (it == labels.end()) continue;
    std::string line;
    for (size_t c = 0; c < header.size(); ++c) {
      if (c) line += ',';
      line += c == label_col ? it->second : map[c] >= 0 ? cells[size_t(map[c])] : std::string();
    }
    for (size_t w = 0; w < weight; ++w) out << line << '\n';
    ++per_label[it->second];
  }
  return err.empty();
}

// The active model's min_payload_bytes (the data plane does not score flows
// with less payload) carries over to the candidate only when no attack row of
// its training rows is payload-less (the rule of ml/models/README.md).
int carry_min_payload(const std::string& cand, const std::string& merged, const std::string& active,
                      const std::string& label, const std::string& benign) {
  LoadedModel act, m;
  std::string err;
  if (!load_artifact_file(active, act, err)) return bad(err);
  const auto it = std::find_if(act.metrics.begin(), act.metrics.end(),
                               [](const auto& kv) { return kv.first == "min_payload_bytes"; });
  if (it == act.metrics.end()) return kOk;
  cli::CsvRows r;
  if (!r.open(merged, err)) return bad(err);
  const int lc = cli::find_column(r.header(), label, cli::meta_prefix(r.header()));
  const int pf = cli::find_column(r.header(), "payload_bytes_fwd"), pb = cli::find_column(r.header(), "payload_bytes_bwd");
  size_t bare = 0;
  for (std::vector<std::string> c; lc >= 0 && r.next(c, err);) {
    double f = 0, b = 0;
    if (c[size_t(lc)] == benign) continue;
    if (pf < 0 || pb < 0 || !cli::parse_number(c[size_t(pf)], f) || !cli::parse_number(c[size_t(pb)], b)) ++bare;
    else bare += !(f + b > 0);
  }
  if (lc < 0 || bare) {
    std::fprintf(stderr, "spectre-ml: retrain: min_payload_bytes of the active model NOT carried over: %zu "
                 "payload-less attack rows in the training rows\n", bare);
    return kOk;
  }
  std::string text;
  if (!cli::read_file(cand, text)) return bad("cannot read " + cand);
  std::vector<uint8_t> bytes(text.begin(), text.end());
  if (!load_artifact(bytes, m, err)) return bad(err);
  ArtifactInfo info = info_of(m);
  info.metrics.push_back(*it);
  if (!build_artifact_xgb(m.xgb, info, bytes, err) || !load_artifact(bytes, m, err)) return bad(err);
  if (!write_bytes(cand, bytes)) return bad("cannot write " + cand);
  std::fprintf(stderr, "spectre-ml: retrain: min_payload_bytes %g carried over from the active model\n", it->second);
  return kOk;
}

// Gives the candidate the active model's guard and calibrates it (spectre-ml
// calibrate) on the --calibrate rows, into out.
int calibrate_candidate(const std::string& cand, const Args& o, const std::string& out) {
  std::string err;
  LoadedModel act;
  if (o.get("--active").empty()) return usage("retrain: --calibrate needs --active (its guard)");
  if (!load_artifact_file(o.get("--active"), act, err)) return bad(err);
  std::vector<std::string> c = {"--model", cand, "--csv", o.get("--calibrate"), "-o", out,
                                "--percentile", o.get("--percentile", "99.9"),
                                "--guard-percentile", o.get("--guard-percentile", "99"),
                                "--min-threshold", o.get("--min-threshold", "0.5")};
  const std::string guard = out + ".guard" + std::to_string(getpid()) + ".spm";
  if (!act.guard_bytes.empty()) {
    if (!write_bytes(guard, act.guard_bytes)) return bad("cannot write " + guard);
    c.insert(c.end(), {"--guard", guard});
  }
  const int rc = cmd_calibrate(c);
  std::remove(guard.c_str());
  return rc;
}

}  // namespace

int cmd_retrain(const std::vector<std::string>& a) {
  Args o;
  std::string err;
  if (!o.parse(a, {"--csv", "--rows", "--feedback", "-o", "--active", "--weight", "--merged", "--label", "--benign",
                   "--calibrate", "--percentile", "--guard-percentile", "--min-threshold"}, err))
    return usage("retrain: " + err);
  const std::vector<std::string> base = o.all("--csv");
  const std::string rows = o.get("--rows"), fbp = o.get("--feedback"), out = o.get("-o");
  const std::string label = o.get("--label", "label"), benign = o.get("--benign", "benign");
  if (base.empty() || rows.empty() || fbp.empty() || out.empty())
    return usage("retrain needs --csv BASE.csv, --rows LIVE.csv, --feedback FEEDBACK.jsonl and -o CAND.spm");
  double wd = 3;
  if (!o.get("--weight").empty() && (!cli::parse_number(o.get("--weight"), wd) || !(wd >= 1 && wd <= 100)))
    return usage("retrain: --weight wants 1..100");
  FeedbackSet fb;
  if (!read_feedback(fbp, fb, err)) return bad(err);
  for (const auto& p : fb.problems) std::fprintf(stderr, "spectre-ml: %s: %s (skipped)\n", fbp.c_str(), p.c_str());
  const auto labels = feedback_labels(fb, benign);
  const std::string merged = o.get("--merged", out + ".rows" + std::to_string(getpid()) + ".csv");
  std::ofstream m(merged, std::ios::trunc);
  if (!m) return bad("cannot write " + merged);
  std::vector<std::string> header;
  size_t base_rows = 0, label_col = 0;
  for (const std::string& path : base) {
    cli::CsvRows r;
    if (!r.open(path, err)) return bad(err);
    if (header.empty()) {
      header = r.header();
      const int lc = cli::find_column(header, label, cli::meta_prefix(header));
      if (lc < 0) return bad(path + ": no label column '" + label + "'");
      label_col = size_t(lc);
      for (size_t c = 0; c < header.size(); ++c) m << (c ? "," : "") << header[c];
      m << '\n';
    } else if (r.header() != header) {
      return bad(path + ": header differs from " + base[0]);
    }
    for (std::vector<std::string> cells; r.next(cells, err); ++base_rows) {
      for (size_t c = 0; c < cells.size(); ++c) m << (c ? "," : "") << cells[c];
      m << '\n';
    }
    if (!err.empty()) return bad(err);
  }
  std::map<std::string, size_t> per_label;
  if (!append_live_rows(rows, header, label_col, labels, size_t(wd), m, per_label, err)) return bad(err);
  m.close();
  size_t fed = 0;
  std::string summary;
  for (const auto& [l, n] : per_label) {
    fed += n;
    summary += " " + l + "=" + std::to_string(n);
  }
  std::fprintf(stderr, "spectre-ml: retrain: %zu feedback lines (%zu bad), %zu flows labelled; %zu live rows%s "
               "(x%g) + %zu base rows -> %s\n", fb.items.size(), fb.bad_lines, labels.size(), fed,
               summary.c_str(), wd, base_rows, merged.c_str());
  std::vector<std::string> t = {"--csv", merged, "--label", label, "-o", out};
  bool classes = false;
  for (const auto& s : o.rest) classes |= s == "--classes";
  if (!classes && !o.get("--active").empty()) {
    LoadedModel act;
    if (!load_artifact_file(o.get("--active"), act, err)) return bad(err);
    if (act.kind == ModelKind::XGBoost) {
      std::string cl;
      for (const auto& c : act.class_names) cl += (cl.empty() ? "" : ",") + c;
      t.insert(t.end(), {"--classes", cl, "--objective", act.num_outputs() == 1 ? "binary" : "multi"});
    }
  }
  t.insert(t.end(), o.rest.begin(), o.rest.end());
  const bool calib = !o.get("--calibrate").empty();
  if (calib) t[5] = out + ".uncal" + std::to_string(getpid()) + ".spm";  // -o: calibrated into out below
  int rc = cmd_train_xgb(t);
  if (rc == kOk && !o.get("--active").empty()) rc = carry_min_payload(t[5], merged, o.get("--active"), label, benign);
  if (o.get("--merged").empty()) std::remove(merged.c_str());
  if (rc != kOk || !calib) return rc;
  rc = calibrate_candidate(t[5], o, out);
  std::remove(t[5].c_str());
  return rc;
}

int cmd_gate(std::vector<std::string> a) {
  Args o;
  std::string err;
  bool allow_no_tpr = false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] == "--allow-no-tpr") {
      allow_no_tpr = true;
      a.erase(a.begin() + long(i--));
    }
  if (!o.parse(a, {"--candidate", "--active", "--csv", "--max-fpr", "--min-tpr", "--min-agreement", "--label",
                   "--benign", "--phase", "--json"}, err))
    return usage("gate: " + err);
  if (!o.rest.empty()) return usage("gate: unexpected argument " + o.rest[0]);
  GateConfig cfg;
  cfg.require_tpr = !allow_no_tpr;
  cfg.label = o.get("--label", "label");
  cfg.benign = o.get("--benign", "benign");
  cfg.phase = o.get("--phase", "any");
  if (cfg.phase != "any" && cfg.phase != "end" && cfg.phase != "k4" && cfg.phase != "k16")
    return usage("gate: --phase must be any, end, k4 or k16");
  for (auto [k, dst] : {std::pair{"--max-fpr", &cfg.max_benign_fpr}, std::pair{"--min-agreement", &cfg.min_agreement}})
    if (!o.get(k).empty() && (!cli::parse_number(o.get(k), *dst) || !(*dst >= 0 && *dst <= 1)))
      return usage(std::string("gate: ") + k + " wants a fraction in [0, 1]");
  if (!o.get("--min-tpr").empty() && !parse_tpr_spec(o.get("--min-tpr"), cfg, err)) return usage("gate: " + err);
  const std::string cand_path = o.get("--candidate"), act_path = o.get("--active");
  if (cand_path.empty() || o.all("--csv").empty()) return usage("gate needs --candidate CAND.spm and --csv HOLDOUT.csv");
  LoadedModel cand, act;
  if (!load_artifact_file(cand_path, cand, err)) return bad(err);
  if (!act_path.empty() && !load_artifact_file(act_path, act, err)) return bad(err);
  GateReport r;
  if (!run_gates(cand, act_path.empty() ? nullptr : &act, o.all("--csv"), cfg, r, err)) return bad(err);
  const std::string j = gate_report_json(r);
  if (!o.get("--json").empty()) {
    std::ofstream f(o.get("--json"), std::ios::trunc);
    if (!(f << j << '\n') || !f.flush()) return bad("cannot write " + o.get("--json"));
  }
  for (const GateCheck& c : r.checks)
    std::printf("%-6s %-24s %.4f (limit %.4f): %s\n", c.passed ? "pass" : "FAIL", c.name.c_str(),
                std::isfinite(c.value) ? c.value : -1.0, c.limit, c.detail.c_str());
  if (!r.passed()) {
    std::string f;
    for (const auto& n : r.failed()) f += (f.empty() ? "" : ", ") + n;
    std::printf("refused: gate(s) failed: %s\n", f.c_str());
    return kRefused;
  }
  std::printf("passed: %zu gate(s)\n", r.checks.size());
  return kOk;
}

int cmd_drift(const std::vector<std::string>& a) {
  Args o;
  std::string err;
  if (!o.parse(a, {"--model", "--csv", "--window", "--shuffle", "--label", "--benign"}, err)) return usage("drift: " + err);
  if (!o.rest.empty()) return usage("drift: unexpected argument " + o.rest[0]);
  const std::string label = o.get("--label"), benign = o.get("--benign");
  if (o.get("--model").empty() || o.get("--csv").empty()) return usage("drift needs --model and --csv");
  if (label.empty() != benign.empty()) return usage("drift: --label and --benign go together");
  double w = 500, seed = -1;
  if (!o.get("--window").empty() && (!cli::parse_number(o.get("--window"), w) || !(w >= 10)))
    return usage("drift: --window wants >= 10 rows");
  if (!o.get("--shuffle").empty() && (!cli::parse_number(o.get("--shuffle"), seed) || !(seed >= 0)))
    return usage("drift: --shuffle wants a seed >= 0");
  auto m = std::make_shared<LoadedModel>();
  if (!load_artifact_file(o.get("--model"), *m, err)) return bad(err);
  if (!m->reference.present()) return bad(o.get("--model") + " has no reference distributions (spectre-ml reference)");
  cli::CsvRows rows;
  if (!rows.open(o.get("--csv"), err)) return bad(err);
  std::vector<int> col;
  if (!cli::map_features(rows.header(), m->feature_names, col, err)) return bad(err);
  const int lc = label.empty() ? -1 : cli::find_column(rows.header(), label, cli::meta_prefix(rows.header()));
  if (!label.empty() && lc < 0) return bad("no column " + label);
  std::vector<std::vector<double>> all;
  for (std::vector<std::string> cells; rows.next(cells, err);) {
    if (lc >= 0 && cells[size_t(lc)] != benign) continue;
    std::vector<double> x;
    if (!rows.append(cells, col, x, err)) return bad(err);
    all.push_back(std::move(x));
  }
  if (!err.empty()) return bad(err);
  if (seed >= 0) std::shuffle(all.begin(), all.end(), std::mt19937_64(uint64_t(seed)));
  const size_t win = size_t(w);
  DriftOptions opt;
  opt.window_rows = win;
  opt.min_rows = std::min<size_t>(opt.min_rows, win);
  size_t windows = 0, flagged = 0, feature_flags = 0, score_flags = 0;
  for (size_t s = 0; s + win <= all.size(); s += win) {
    DriftMonitor d(opt);
    d.set_model(m);
    std::vector<double> x;
    for (size_t i = s; i < s + win; ++i) x.insert(x.end(), all[i].begin(), all[i].end());
    d.add_rows(x, win, 0);
    std::string names;
    double worst = 0;
    size_t nd = 0;
    for (const auto& f : d.features()) {
      worst = std::max(worst, f.psi);
      if (f.drifted) names += std::string(nd++ ? "," : "") + "\"" + f.name + "\"";
    }
    const FeatureDrift sc = d.score();
    std::printf("{\"window\":%zu,\"rows\":%zu,\"drifted\":[%s],\"max_psi\":%.4f,\"score_psi\":%.4f,\"score_drifted\":%s}\n",
                windows, win, names.c_str(), worst, sc.psi, sc.drifted ? "true" : "false");
    ++windows;
    flagged += nd > 0;
    feature_flags += nd;
    score_flags += sc.drifted;
  }
  std::printf("{\"summary\":true,\"rows\":%zu,\"windows\":%zu,\"windows_with_drift\":%zu,\"feature_flags\":%zu,"
              "\"features\":%u,\"score_drifted_windows\":%zu}\n",
              all.size(), windows, flagged, feature_flags, m->num_features, score_flags);
  return kOk;
}

int cmd_feedback(const std::vector<std::string>& a) {
  Args o;
  std::string err;
  if (!o.parse(a, {"--feedback"}, err) || !o.rest.empty() || o.get("--feedback").empty())
    return usage("feedback needs --feedback FEEDBACK.jsonl");
  FeedbackSet fb;
  if (!read_feedback(o.get("--feedback"), fb, err)) return bad(err);
  for (const auto& p : fb.problems) std::fprintf(stderr, "spectre-ml: %s (skipped)\n", p.c_str());
  std::printf("%s\n", feedback_rates_json(fb).c_str());
  return kOk;
}

}  // namespace spectre::ml
