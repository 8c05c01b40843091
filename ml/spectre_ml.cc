// spectre-ml: compile XGBoost / isolation-forest JSON models into .spm
// artifacts, score CSV rows with them, and show what an artifact holds.
// Exit codes: 0 ok, 1 bad input, 2 wrong use.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ml/feature_schema.h"
#include "ml/artifact.h"
#include "ml/calibrate.h"
#include "ml/eve_eval.h"
#include "ml/cli_util.h"
#include "ml/eval.h"
#include "ml/label.h"
#include "ml/retrain.h"
#include "ml/train.h"
#include "ml/xgb/predict.h"

namespace {

using spectre::ml::cli::parse_number;
using spectre::ml::cli::read_file;
using spectre::ml::cli::split;
using spectre::ml::cli::map_features;
using spectre::ml::cli::trim;

using namespace spectre::ml;

constexpr int kOk = 0, kBadInput = 1, kUsage = 2;
constexpr size_t kMaxValidationRows = 8;

const char* kHelp =
    "usage: spectre-ml COMMAND ...\n"
    "  compile MODEL.json -o MODEL.spm [--kind xgboost|iforest] [--features f0,f1,...]\n"
    "          [--classes a,b] [--threshold T[,T...]] [--validation ROWS.csv]\n"
    "          [--metric KEY=VALUE]...\n"
    "      MODEL.json: XGBoost JSON (Booster.save_model) or spectre-iforest JSON\n"
    "      (ml/export_iforest.py); kind auto-detected. Validation rows: the first 8\n"
    "      CSV rows (else a few synthetic rows), scored now and re-checked at load.\n"
    "  predict --model MODEL.spm --csv ROWS.csv [--margin | --guard]\n"
    "      one line per row: XGBoost probabilities (margins with --margin; multi-class\n"
    "      comma-separated), isolation forest score_samples (decision_function with\n"
    "      --margin). CSV header: the model's feature names (other columns ignored) or\n"
    "      f0..fN; empty cell = NaN. --guard: the open-set guard's score_samples\n"
    "      (a row may alert only when it is below the guard threshold).\n"
    "  label --rows ROWS.csv --labels labels.csv -o LABELED.csv [--slack 1.0] [--map R,R...]\n"
    "      ROWS.csv: spectre-dp --dump-features output. Appends columns label (the\n"
    "      episode's class, or benign) and episode_id, matching each row's flow\n"
    "      [ts_start, ts] against the lab's episodes with lab/score.py's rule (most\n"
    "      specific episodes win; among several, the earliest). Summary on stderr.\n"
    "      --map scan_*=scan,dos_*=dos: rename classes (first matching rule; a trailing\n"
    "      * matches a prefix), e.g. to train on attack families.\n"
    "  eval --model MODEL.spm --csv LABELED.csv [--label label] [--benign benign]\n"
    "          [--phase any|end|k4|k16] [--json OUT.json]\n"
    "      Scores every row (alert: probability >= the class threshold; isolation\n"
    "      forest: score_samples < threshold) and reports per flow (flow_id; flagged\n"
    "      when a row in the phase alerts; its class: the label of its last row):\n"
    "      TP/FN/TPR per class, FP/TN/FPR over benign flows, class-exact accuracy\n"
    "      and the row-level confusion matrix. --json writes the same as JSON.\n"
    "  schema [--csv]\n"
    "      the per-flow feature schema (schemas/features.def): hash, then one line per\n"
    "      feature (index, name, description); --csv: the feature names as a CSV header.\n"
    "  inspect MODEL.spm\n"
    "      kind, trees, nodes, features, classes, thresholds, metrics, sha256.\n"
    "%s%s%s"
    "Exit status: 0 ok, 1 bad input, 2 wrong use (gate: 3 refused).\n";

int usage(const std::string& msg) {
  std::fprintf(stderr, "spectre-ml: %s\nusage: spectre-ml compile|predict|inspect|label|eval|calibrate|train-xgb|train-iforest|reference|retrain|gate|drift|feedback ... (spectre-ml --help)\n",
               msg.c_str());
  return kUsage;
}

int bad(const std::string& msg) {
  std::fprintf(stderr, "spectre-ml: %s\n", msg.c_str());
  return kBadInput;
}

// Reads a CSV with a header row; columns are mapped to the model's features by
// name (cli::map_features: extra columns such as the --dump-features metadata,
// label and episode_id are ignored), else by f0..fN. rows: nrows * nfeat
// values. max_rows 0 = all.
bool read_csv(const std::string& path, const std::vector<std::string>& names, size_t max_rows,
              std::vector<double>& rows, size_t& nrows, std::string& err) {
  std::ifstream f(path);
  if (!f) { err = "cannot open " + path; return false; }
  std::string line;
  if (!std::getline(f, line)) { err = path + ": empty CSV (no header row)"; return false; }
  const std::vector<std::string> header = split(line, ',');
  const size_t nf = names.size();
  std::vector<int> col;
  if (!map_features(header, names, col, err)) {
    err = path + ": " + err;
    return false;
  }
  rows.clear();
  nrows = 0;
  size_t lineno = 1;
  while (std::getline(f, line)) {
    ++lineno;
    if (trim(line).empty()) continue;
    if (max_rows && nrows == max_rows) break;
    std::vector<std::string> cells = split(line, ',');
    if (cells.size() != header.size()) {
      err = path + ":" + std::to_string(lineno) + ": " + std::to_string(cells.size()) +
            " cells, header has " + std::to_string(header.size());
      return false;
    }
    for (size_t j = 0; j < nf; ++j) {
      double v;
      if (!parse_number(cells[col[j]], v)) {
        err = path + ":" + std::to_string(lineno) + ": not a number: '" + cells[col[j]] + "'";
        return false;
      }
      rows.push_back(v);
    }
    ++nrows;
  }
  return true;
}

// Rows exercising defaults and boundaries when no validation CSV is given:
// zeros, all-missing (XGBoost), and every feature at its first split threshold.
std::vector<ValidationRow> synthetic_rows(const TreeEnsemble* m, const IsolationForest* f, size_t nf) {
  std::vector<ValidationRow> rows;
  rows.push_back({std::vector<double>(nf, 0.0), {}});
  std::vector<double> at(nf, 0.0);
  std::vector<uint8_t> seen(nf, 0);
  if (m) {
    rows.push_back({std::vector<double>(nf, std::nan("")), {}});
    for (const auto& n : m->nodes)
      if (!n.is_leaf() && !seen[n.feature_id()]) { seen[n.feature_id()] = 1; at[n.feature_id()] = n.value; }
  } else {
    for (const auto& n : f->nodes)
      if (n.feature >= 0 && !seen[n.feature]) { seen[n.feature] = 1; at[n.feature] = n.value; }
  }
  rows.push_back({at, {}});
  return rows;
}

int cmd_compile(const std::vector<std::string>& a) {
  std::string in, out, kind, features, classes, thresholds, validation;
  ArtifactInfo info;
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string& o = a[i];
    auto value = [&](std::string& dst) {
      if (i + 1 >= a.size()) return false;
      dst = a[++i];
      return true;
    };
    bool ok = true;
    if (o == "-o" || o == "--output") ok = value(out);
    else if (o == "--kind") ok = value(kind);
    else if (o == "--features") ok = value(features);
    else if (o == "--classes") ok = value(classes);
    else if (o == "--threshold") ok = value(thresholds);
    else if (o == "--validation") ok = value(validation);
    else if (o == "--metric") {
      std::string kv;
      ok = value(kv);
      const size_t eq = kv.find('=');
      double v;
      if (ok && (eq == std::string::npos || !parse_number(kv.substr(eq + 1), v) || std::isnan(v)))
        return usage("--metric wants KEY=NUMBER, got '" + kv + "'");
      if (ok) info.metrics.emplace_back(kv.substr(0, eq), v);
    } else if (!o.empty() && o[0] == '-') return usage("compile: unknown option " + o);
    else if (in.empty()) in = o;
    else return usage("compile: more than one input model");
    if (!ok) return usage("compile: " + o + " needs a value");
  }
  if (in.empty() || out.empty()) return usage("compile needs MODEL.json and -o MODEL.spm");
  if (!kind.empty() && kind != "xgboost" && kind != "iforest")
    return usage("--kind must be xgboost or iforest");
  if (!features.empty()) info.feature_names = split(features, ',');
  if (!classes.empty()) info.class_names = split(classes, ',');
  for (const auto& t : thresholds.empty() ? std::vector<std::string>{} : split(thresholds, ',')) {
    double v;
    if (!parse_number(t, v) || std::isnan(v)) return usage("bad --threshold value '" + t + "'");
    info.thresholds.push_back(v);
  }
  std::string text, err;
  if (!read_file(in, text)) return bad("cannot read " + in);
  if (kind.empty()) kind = text.find("\"spectre-iforest\"") != std::string::npos ? "iforest" : "xgboost";
  info.created_by = "spectre-ml compile " + in;

  TreeEnsemble m;
  IsolationForest f;
  size_t nf = 0;
  if (kind == "xgboost") {
    if (!load_xgboost_json(text, m, err)) return bad(in + ": " + err);
    nf = m.num_feature;
  } else {
    if (!load_iforest_json(text, f, err)) return bad(in + ": " + err);
    nf = f.n_features;
  }
  if (!info.feature_names.empty() && info.feature_names.size() != nf)
    return bad("--features lists " + std::to_string(info.feature_names.size()) +
               " names, model has " + std::to_string(nf) + " features");
  if (!validation.empty()) {
    std::vector<std::string> names = info.feature_names;
    for (size_t j = names.size(); j < nf; ++j) names.push_back("f" + std::to_string(j));
    std::vector<double> rows;
    size_t n = 0;
    if (!read_csv(validation, names, kMaxValidationRows, rows, n, err)) return bad(err);
    for (size_t r = 0; r < n; ++r)
      info.validation.push_back({std::vector<double>(rows.begin() + r * nf, rows.begin() + (r + 1) * nf), {}});
  } else {
    info.validation = synthetic_rows(kind == "xgboost" ? &m : nullptr, &f, nf);
  }
  std::vector<uint8_t> bytes;
  const bool ok = kind == "xgboost" ? build_artifact_xgb(m, info, bytes, err)
                                    : build_artifact_iforest(f, info, bytes, err);
  if (!ok) return bad(err);
  // Round trip through the loader before writing: never ship an artifact we refuse.
  LoadedModel check;
  if (!load_artifact(bytes, check, err)) return bad("internal: compiled artifact does not load: " + err);
  std::ofstream o(out, std::ios::binary | std::ios::trunc);
  if (!o.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())) ||
      !o.flush())
    return bad("cannot write " + out);
  std::fprintf(stderr, "spectre-ml: wrote %s (%s, %zu trees, %zu bytes, sha256 %s)\n", out.c_str(),
               kind.c_str(), kind == "xgboost" ? m.num_trees() : f.roots.size(), bytes.size(),
               check.sha256.c_str());
  return kOk;
}

int cmd_predict(const std::vector<std::string>& a) {
  std::string model, csv;
  bool margin = false, guard = false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == "--margin") margin = true;
    else if (a[i] == "--guard") guard = true;
    else if (a[i] == "--model" && i + 1 < a.size()) model = a[++i];
    else if (a[i] == "--csv" && i + 1 < a.size()) csv = a[++i];
    else return usage("predict: unexpected argument " + a[i]);
  }
  if (model.empty() || csv.empty()) return usage("predict needs --model MODEL.spm and --csv ROWS.csv");
  LoadedModel m;
  std::string err;
  if (!load_artifact_file(model, m, err)) return bad(err);
  std::vector<double> rows;
  size_t n = 0;
  if (!read_csv(csv, m.feature_names, 0, rows, n, err)) return bad(err);
  const size_t nf = m.num_features;
  std::string line;
  if (guard) {  // the guard's score_samples per row
    if (!m.guard) return bad(model + " has no guard");
    for (double g : guard_scores(m, rows, n)) std::printf("%.17g\n", g);
    return kOk;
  }
  if (m.kind == ModelKind::XGBoost) {
    const size_t G = m.xgb.num_group;
    std::vector<float> x(rows.begin(), rows.end()), o(n * G);
    if (n && margin) predict_margin(m.xgb, x.data(), n, nf, o.data());
    else if (n) predict_prob(m.xgb, x.data(), n, nf, o.data());
    char buf[32];
    for (size_t r = 0; r < n; ++r) {
      line.clear();
      for (size_t g = 0; g < G; ++g) {
        std::snprintf(buf, sizeof buf, g ? ",%.9g" : "%.9g", static_cast<double>(o[r * G + g]));
        line += buf;
      }
      std::printf("%s\n", line.c_str());
    }
  } else {
    std::vector<double> o(n);
    if (n) score_samples(m.iforest, rows.data(), n, nf, o.data());
    for (size_t r = 0; r < n; ++r) std::printf("%.17g\n", margin ? o[r] - m.iforest.offset : o[r]);
  }
  return kOk;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += v[i];
  }
  return s;
}

// "--name value" options; false with a usage message on anything else.
bool parse_opts(const std::vector<std::string>& a, const std::vector<std::string>& known,
                std::vector<std::pair<std::string, std::string>>& out, std::string& err) {
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string k = a[i] == "--output" ? "-o" : a[i];
    if (std::find(known.begin(), known.end(), k) == known.end()) { err = "unexpected argument " + a[i]; return false; }
    if (i + 1 >= a.size()) { err = a[i] + " needs a value"; return false; }
    out.emplace_back(k, a[++i]);
  }
  return true;
}

std::string opt(const std::vector<std::pair<std::string, std::string>>& o, const std::string& k,
                const std::string& def = "") {
  std::string v = def;
  for (const auto& [key, val] : o)
    if (key == k) v = val;
  return v;
}

int cmd_label(const std::vector<std::string>& a) {
  std::vector<std::pair<std::string, std::string>> o;
  std::string err;
  if (!parse_opts(a, {"--rows", "--labels", "-o", "--slack", "--map"}, o, err)) return usage("label: " + err);
  const std::string rows = opt(o, "--rows"), labels = opt(o, "--labels"), out = opt(o, "-o");
  if (rows.empty() || labels.empty() || out.empty())
    return usage("label needs --rows ROWS.csv --labels labels.csv -o LABELED.csv");
  double slack = 1.0;
  const std::string sl = opt(o, "--slack", "1.0");
  if (!parse_number(sl, slack) || !std::isfinite(slack) || slack < 0)
    return usage("label: --slack wants a non-negative number of seconds, got '" + sl + "'");
  LabelSet ls;
  if (!read_labels_file(labels, ls, err)) return bad(err);
  // --map scan_*=scan,dos_*=dos: rename episode classes (first matching rule;
  // a trailing * matches a prefix), e.g. to train on attack families.
  const std::string map = opt(o, "--map");
  if (!map.empty()) {
    std::vector<std::pair<std::string, std::string>> rules;
    for (const std::string& r : split(map, ',')) {
      size_t eq = r.find('=');
      std::string pat = eq == std::string::npos ? "" : trim(r.substr(0, eq));
      std::string to = eq == std::string::npos ? "" : trim(r.substr(eq + 1));
      if (pat.empty() || to.empty() || to == "benign" || to.find_first_of(",\"") != std::string::npos)
        return usage("label: --map wants CLASS=NAME or PREFIX*=NAME rules (NAME not benign), got '" + r + "'");
      rules.emplace_back(pat, to);
    }
    for (Episode& e : ls.episodes)
      for (const auto& [pat, to] : rules) {
        bool prefix = pat.back() == '*';
        if (prefix ? e.cls.compare(0, pat.size() - 1, pat, 0, pat.size() - 1) == 0 : e.cls == pat) {
          e.cls = to;
          break;
        }
      }
  }
  std::string text, result;
  if (!read_file(rows, text)) return bad("cannot read " + rows);
  LabelSummary sum;
  if (!label_rows(text, rows, ls, slack, result, sum, err)) return bad(err);
  std::ofstream f(out, std::ios::binary | std::ios::trunc);
  if (!f.write(result.data(), static_cast<std::streamsize>(result.size())) || !f.flush())
    return bad("cannot write " + out);
  std::fprintf(stderr, "spectre-ml: labelled %zu rows of %s against %zu episodes (slack %g s) -> %s\n",
               sum.rows, rows.c_str(), ls.episodes.size(), slack, out.c_str());
  for (const auto& [label, n] : sum.rows_per_label) std::fprintf(stderr, "  %-24s %zu rows\n", label.c_str(), n);
  size_t unmatched = 0;
  std::string ids;
  for (size_t e = 0; e < ls.episodes.size(); ++e)
    if (!sum.rows_per_episode[e] && ++unmatched <= 10) ids += (ids.empty() ? "" : ",") + ls.episodes[e].id;
  if (unmatched)
    std::fprintf(stderr, "spectre-ml: warning: %zu episode(s) labelled no row: %s%s\n", unmatched, ids.c_str(),
                 unmatched > 10 ? ",..." : "");
  return kOk;
}

// eval --eve EVE.json [--labels labels.csv] [--map R,...] [--slack S] [--signatures] [--json OUT]
int cmd_eval_eve(std::vector<std::string> a) {
  EveEvalOptions eo;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] == "--signatures") { eo.signatures = true; a.erase(a.begin() + long(i)); break; }
  std::vector<std::pair<std::string, std::string>> o;
  std::string err;
  if (!parse_opts(a, {"--eve", "--labels", "--map", "--slack", "--json"}, o, err)) return usage("eval: " + err);
  const std::string eve = opt(o, "--eve"), labels = opt(o, "--labels"), json = opt(o, "--json");
  if (!opt(o, "--slack").empty() && (!parse_number(opt(o, "--slack"), eo.slack) || !(eo.slack >= 0)))
    return usage("eval: --slack wants seconds >= 0");
  for (const auto& r : split(opt(o, "--map"), ',')) {
    size_t eq = r.find('=');
    if (r.empty()) continue;
    if (eq == std::string::npos || eq == 0 || eq + 1 == r.size()) return usage("eval: --map wants NAME=FAMILY rules");
    eo.map.rules.insert(eo.map.rules.begin(), {r.substr(0, eq), r.substr(eq + 1)});
  }
  std::string text;
  if (!read_file(eve, text)) return bad("cannot read " + eve);
  LabelSet ls;
  if (!labels.empty() && !read_labels_file(labels, ls, err)) return bad(err);
  EveEvalResult r;
  size_t bad_lines = 0;
  if (!eve_eval(text, labels.empty() ? nullptr : &ls, eo, r, bad_lines, err)) return bad(eve + ": " + err);
  if (bad_lines) std::fprintf(stderr, "spectre-ml: warning: %zu malformed EVE lines skipped\n", bad_lines);
  if (!json.empty()) {
    const std::string j = eve_eval_json(r);
    std::ofstream f(json, std::ios::binary | std::ios::trunc);
    if (!f.write(j.data(), static_cast<std::streamsize>(j.size())) || !f.flush()) return bad("cannot write " + json);
  }
  std::printf("eval: %s%s%s (counting ML gid 9000, behaviour gid 9100%s)\n%s", eve.c_str(),
              labels.empty() ? ", no labels: every flow benign" : ", labels ", labels.c_str(),
              eo.signatures ? ", signatures" : "", eve_eval_table(r).c_str());
  return kOk;
}

int cmd_eval(const std::vector<std::string>& a) {
  for (const auto& s : a)
    if (s == "--eve") return cmd_eval_eve(a);
  std::vector<std::pair<std::string, std::string>> o;
  std::string err;
  if (!parse_opts(a, {"--model", "--csv", "--label", "--json", "--phase", "--benign"}, o, err))
    return usage("eval: " + err);
  const std::string model = opt(o, "--model"), csv = opt(o, "--csv"), label = opt(o, "--label", "label"),
                    json = opt(o, "--json"), phase = opt(o, "--phase", "any"), benign = opt(o, "--benign", "benign");
  if (model.empty() || csv.empty()) return usage("eval needs --model MODEL.spm --csv LABELED.csv");
  if (phase != "any" && phase != "end" && phase != "k4" && phase != "k16")
    return usage("eval: --phase must be any, end, k4 or k16");
  if (label.empty() || benign.empty()) return usage("eval: --label and --benign must not be empty");
  LoadedModel m;
  if (!load_artifact_file(model, m, err)) return bad(err);
  std::vector<EvalRow> rows;
  std::vector<double> x;
  if (!read_eval_csv(csv, m, label, rows, x, err)) return bad(err);
  const std::vector<std::string> pred = predict_classes(m, x, rows.size(), benign);
  for (size_t i = 0; i < rows.size(); ++i) rows[i].pred = pred[i];
  EvalResult r = aggregate_eval(rows, phase, benign, alert_classes(m, benign));
  r.class_exact = m.kind == ModelKind::XGBoost;
  if (r.flows == 0) std::fprintf(stderr, "spectre-ml: warning: no row in phase %s\n", phase.c_str());
  if (!json.empty()) {
    const std::string j = eval_json(r);
    std::ofstream f(json, std::ios::binary | std::ios::trunc);
    if (!f.write(j.data(), static_cast<std::streamsize>(j.size())) || !f.flush()) return bad("cannot write " + json);
  }
  std::printf("eval: %s (%s, classes %s) on %s\n%s", model.c_str(),
              m.kind == ModelKind::XGBoost ? "xgboost" : "iforest", join(m.class_names).c_str(), csv.c_str(),
              eval_table(r).c_str());
  return kOk;
}

int cmd_schema(const std::vector<std::string>& a) {
  if (a.size() > 1 || (a.size() == 1 && a[0] != "--csv")) return usage("schema takes only --csv");
  if (a.size() == 1) {
    for (uint32_t i = 0; i < kNumFeatures; i++) std::printf("%s%s", i ? "," : "", kFeatureNames[i]);
    std::printf("\n");
    return kOk;
  }
  std::printf("feature schema: %u features, hash %s\n", unsigned(kNumFeatures), schema_hash().c_str());
  for (uint32_t i = 0; i < kNumFeatures; i++)
    std::printf("%2u %-22s %s\n", i, kFeatureNames[i], kFeatureDescriptions[i]);
  return kOk;
}

int cmd_inspect(const std::vector<std::string>& a) {
  if (a.size() != 1) return usage("inspect needs exactly one MODEL.spm");
  LoadedModel m;
  std::string err;
  if (!load_artifact_file(a[0], m, err)) return bad(err);
  const bool xgb = m.kind == ModelKind::XGBoost;
  std::printf("kind: %s\nformat_version: %u\ncreated_by: %s\n", xgb ? "xgboost" : "iforest",
              m.format_version, m.created_by.c_str());
  if (xgb) {
    std::printf("objective: %s\ntrees: %zu\nnodes: %zu\nmax_depth: %u\noutputs: %u\n"
                "base_score: %.9g\nbase_margin: %.9g\n",
                m.xgb.objective.c_str(), m.xgb.num_trees(), m.xgb.nodes.size(), m.xgb.max_depth,
                m.xgb.num_group, static_cast<double>(m.xgb.base_score),
                static_cast<double>(m.xgb.base_margin));
  } else {
    std::printf("trees: %zu\nnodes: %zu\nmax_samples: %u\noffset: %.17g\noutputs: 1\n",
                m.iforest.roots.size(), m.iforest.nodes.size(), m.iforest.max_samples, m.iforest.offset);
  }
  std::printf("features: %u\nfeature_names: %s\nfeature_schema_hash: %s\nclasses: %s\nthresholds:",
              m.num_features, join(m.feature_names).c_str(), m.feature_schema_hash.c_str(),
              join(m.class_names).c_str());
  for (size_t i = 0; i < m.thresholds.size(); ++i) std::printf("%s%.9g", i ? "," : " ", m.thresholds[i]);
  std::printf("\nmetrics:%s\n", m.metrics.empty() ? " none" : "");
  for (const auto& [k, v] : m.metrics) std::printf("  %s: %.9g\n", k.c_str(), v);
  std::printf("validation_rows: %zu ok\nsha256: %s\n", m.validation.size(), m.sha256.c_str());
  if (m.guard)
    std::printf("guard: isolation forest, %zu trees, %zu nodes, max_samples %u, threshold %.9g "
                "(a row alerts only when its guard score is below it)\n  guard created_by: %s\n",
                m.guard->iforest.roots.size(), m.guard->iforest.nodes.size(), m.guard->iforest.max_samples,
                m.guard->thresholds[0], m.guard->created_by.c_str());
  else
    std::printf("guard: none\n");
  const Calibration& k = m.calibration;
  if (k.present()) {
    std::printf("calibration: percentile %.6g of per-flow benign scores; %llu rows, %llu flows; per-flow FPR "
                "there: guard %.6f, model %.6f\n  by: %s\n  files (%zu):\n",
                k.percentile, (unsigned long long)k.rows, (unsigned long long)k.flows, k.guard_fpr, k.fpr,
                k.created_by.c_str(), k.files.size());
    for (const auto& f : k.files) std::printf("    %s\n", f.c_str());
    for (const auto& [key, v] : k.figures) std::printf("  %s: %.9g\n", key.c_str(), v);
  } else {
    std::printf("calibration: none\n");
  }
  if (m.reference.present())
    std::printf("reference: %llu rows, %zu feature and %zu score distributions; from %s\n",
                (unsigned long long)m.reference.rows, m.reference.features.size(), m.reference.scores.size(),
                m.reference.source.c_str());
  else
    std::printf("reference: none\n");
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage("missing command");
  const std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::printf(kHelp, kTrainHelp, kCalibrateHelp, kLearnHelp);
    return kOk;
  }
  for (const auto& s : args)
    if (s == "-h" || s == "--help") {
      std::printf(kHelp, kTrainHelp, kCalibrateHelp, kLearnHelp);
      return kOk;
    }
  if (cmd == "compile") return cmd_compile(args);
  if (cmd == "predict") return cmd_predict(args);
  if (cmd == "inspect") return cmd_inspect(args);
  if (cmd == "schema") return cmd_schema(args);
  if (cmd == "label") return cmd_label(args);
  if (cmd == "eval") return cmd_eval(args);
  if (cmd == "calibrate") return cmd_calibrate(args);
  else if (cmd == "train-xgb") return cmd_train_xgb(args);
  else if (cmd == "train-iforest") return cmd_train_iforest(args);
  else if (cmd == "reference") return cmd_reference(args);
  else if (cmd == "retrain") return cmd_retrain(args);
  else if (cmd == "gate") return cmd_gate(args);
  else if (cmd == "feedback") return cmd_feedback(args);
  else if (cmd == "drift") return cmd_drift(args);
  return usage("unknown command '" + cmd + "'");
}
