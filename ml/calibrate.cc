// spectre-ml calibrate (see calibrate.h).
#include "ml/calibrate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <unordered_map>

#include "ml/cli_util.h"
#include "ml/eval.h"
#include "ml/iforest/iforest.h"
#include "ml/xgb/predict.h"

namespace spectre::ml {

const char* const kCalibrateHelp =
    "  calibrate --model MODEL.spm [--guard GUARD.spm] --csv ROWS.csv[,ROWS.csv...] -o OUT.spm\n"
    "          [--percentile 99.9] [--guard-percentile 99] [--min-threshold 0.5]\n"
    "          [--label label --benign benign]\n"
    "          [--files-from LIST.txt]\n"
    "      Thresholds from the per-flow scores of benign ROWS.csv (--dump-features rows\n"
    "      of traffic training never saw; with a label column only benign rows count;\n"
    "      flows are (file, flow_id)). The guard (GUARD.spm: an isolation forest from\n"
    "      train-iforest on benign rows; default: the model's own) at the\n"
    "      guard-percentile of the flows' lowest guard scores; then each class at\n"
    "      100 - (100 - percentile) / classes of the flows' highest probability over\n"
    "      the rows the guard passes (never below the minimum), so at most\n"
    "      (100 - percentile)% of the flows alert. The artifact records the files (or\n"
    "      LIST.txt's lines), rows, flows, percentiles and the per-flow FPR on them.\n";

size_t calibration_budget(size_t n, double percentile) {
  double f = std::floor(double(n) * (100.0 - percentile) / 100.0 + 1e-9);
  return f <= 0 ? 0 : std::min(n, size_t(f));
}

float threshold_at_least(std::vector<float> v, double percentile) {
  if (v.empty()) return std::numeric_limits<float>::infinity();
  size_t k = calibration_budget(v.size(), percentile);
  if (k >= v.size()) return -std::numeric_limits<float>::infinity();
  std::sort(v.begin(), v.end(), std::greater<float>());
  // Scores > v[k] are at most k (those before it); v[k] itself must not alert.
  return std::nextafter(v[k], std::numeric_limits<float>::infinity());
}

double threshold_below(std::vector<double> v, double percentile) {
  if (v.empty()) return -std::numeric_limits<double>::infinity();
  size_t k = calibration_budget(v.size(), percentile);
  if (k >= v.size()) return std::numeric_limits<double>::infinity();
  std::sort(v.begin(), v.end());
  return v[k];  // scores < v[k] are at most the k before it
}

std::vector<double> guard_scores(const LoadedModel& m, const std::vector<double>& x, size_t n) {
  std::vector<double> g;
  if (!m.guard || n == 0) return g;
  g.resize(n);
  score_samples(m.guard->iforest, x.data(), n, m.num_features, g.data());
  return g;
}

bool calibrate(const LoadedModel& m, const std::vector<std::string>& flow, const std::vector<double>& x,
               size_t n, double percentile, double guard_percentile, double min_threshold, CalibrationResult& r,
               std::string& err) {
  if (m.kind != ModelKind::XGBoost || !m.guard) {
    err = "calibrate wants an XGBoost model with a guard";
    return false;
  }
  if (n == 0 || flow.size() != n || x.size() != n * m.num_features) {
    err = "no calibration rows";
    return false;
  }
  std::unordered_map<std::string, size_t> idx;
  std::vector<size_t> fl(n);
  for (size_t i = 0; i < n; ++i) fl[i] = idx.emplace(flow[i], idx.size()).first->second;
  const size_t F = idx.size(), G = m.xgb.num_group;
  r = CalibrationResult{};
  r.rows = n;
  r.flows = F;
  std::vector<float> xf(x.begin(), x.end()), p(n * G);
  predict_prob(m.xgb, xf.data(), n, m.num_features, p.data());
  std::vector<double> g = guard_scores(m, x, n), gmin(F, std::numeric_limits<double>::infinity());
  for (size_t i = 0; i < n; ++i) gmin[fl[i]] = std::min(gmin[fl[i]], g[i]);
  r.guard_threshold = threshold_below(gmin, guard_percentile);
  for (double v : gmin) r.guard_flows += v < r.guard_threshold;
  r.thresholds = m.thresholds;
  size_t classes = 0;
  for (size_t k = 0; k < G && k < m.class_names.size(); ++k) classes += m.class_names[k] != "benign";
  // Each class gets an equal share of the budget, so their union stays within it.
  const double class_pct = 100.0 - (100.0 - percentile) / double(std::max<size_t>(classes, 1));
  for (size_t k = 0; k < G && k < m.class_names.size(); ++k) {
    if (m.class_names[k] == "benign") continue;
    // A flow's score for the class: its highest probability over the rows the guard passes.
    std::vector<float> pmax(F, 0.0f);
    for (size_t i = 0; i < n; ++i)
      if (g[i] < r.guard_threshold) pmax[fl[i]] = std::max(pmax[fl[i]], p[i * G + k]);
    double t = std::max(double(threshold_at_least(pmax, class_pct)), min_threshold);
    r.thresholds[k] = std::min(t, 1.0);
    size_t over = 0;
    for (float v : pmax) over += double(v) >= r.thresholds[k];
    r.figures.emplace_back("class_fpr." + m.class_names[k], double(over) / double(F));
  }
  // The calibrated, guarded model on the same flows.
  LoadedModel c = m;
  c.thresholds = r.thresholds;
  auto guard = std::make_shared<LoadedModel>(*m.guard);
  guard->thresholds = {r.guard_threshold};
  c.guard = guard;
  std::vector<std::string> pred = predict_classes(c, x, n);
  std::vector<uint8_t> hit(F, 0);
  for (size_t i = 0; i < n; ++i) hit[fl[i]] |= pred[i] != "benign";
  for (uint8_t h : hit) r.alert_flows += h;
  return true;
}

namespace {

constexpr int kOk = 0, kBadInput = 1, kUsage = 2;

int usage(const std::string& msg) {
  std::fprintf(stderr, "spectre-ml: calibrate: %s (spectre-ml --help)\n", msg.c_str());
  return kUsage;
}
int bad(const std::string& msg) {
  std::fprintf(stderr, "spectre-ml: %s\n", msg.c_str());
  return kBadInput;
}

// Benign rows of one CSV (all rows without a label column); flow keys "file#:flow_id".
bool read_benign(const std::string& path, size_t file, const LoadedModel& m, const std::string& label,
                 const std::string& benign, std::vector<std::string>& flow, std::vector<double>& x,
                 std::string& err) {
  cli::CsvRows csv;
  if (!csv.open(path, err)) return false;
  const std::vector<std::string>& header = csv.header();
  const int c_flow = cli::find_column(header, "flow_id"), c_label = cli::find_column(header, label);
  if (c_flow < 0) { err = path + ": no 'flow_id' column"; return false; }
  std::vector<int> col;
  if (!cli::map_features(header, m.feature_names, col, err)) { err = path + ": " + err; return false; }
  std::vector<std::string> cells;
  while (csv.next(cells, err)) {
    if (c_label >= 0 && cells[c_label] != benign) continue;
    if (!csv.append(cells, col, x, err)) return false;
    flow.push_back(std::to_string(file) + ":" + cells[c_flow]);
  }
  return err.empty();
}

}  // namespace

int cmd_calibrate(const std::vector<std::string>& a) {
  std::string model, guard, csvs, out, label = "label", benign = "benign", files_from;
  double percentile = 99.9, guard_pct = 99.0, min_t = 0.5;
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string& o = a[i];
    if (i + 1 >= a.size()) return usage(o + " needs a value");
    const std::string& v = a[++i];
    if (o == "--model") model = v;
    else if (o == "--guard") guard = v;
    else if (o == "--csv") csvs = v;
    else if (o == "-o") out = v;
    else if (o == "--label") label = v;
    else if (o == "--benign") benign = v;
    else if (o == "--files-from") files_from = v;
    else if (o == "--percentile") {
      if (!cli::parse_number(v, percentile) || !(percentile > 50 && percentile <= 100))
        return usage("--percentile wants a number in (50, 100], got '" + v + "'");
    } else if (o == "--guard-percentile") {
      if (!cli::parse_number(v, guard_pct) || !(guard_pct > 50 && guard_pct <= 100))
        return usage("--guard-percentile wants a number in (50, 100], got '" + v + "'");
    } else if (o == "--min-threshold") {
      if (!cli::parse_number(v, min_t) || !(min_t >= 0 && min_t <= 1)) return usage("--min-threshold wants [0, 1]");
    } else return usage("unknown option " + o);
  }
  if (model.empty() || csvs.empty() || out.empty()) return usage("needs --model, --csv and -o");
  std::string err;
  LoadedModel m;
  if (!load_artifact_file(model, m, err)) return bad(err);
  if (!guard.empty()) {
    auto g = std::make_shared<LoadedModel>();
    if (!load_artifact_file(guard, *g, err)) return bad(err);
    if (g->kind != ModelKind::IForest || g->guard) return bad(guard + ": a guard must be an isolation forest");
    if (g->feature_names != m.feature_names) return bad(guard + ": its features differ from the model's");
    std::ifstream gf(guard, std::ios::binary);
    m.guard_bytes.assign(std::istreambuf_iterator<char>(gf), std::istreambuf_iterator<char>());
    m.guard_bytes.resize(m.guard_bytes.size());
    m.guard = std::move(g);
  }
  if (!m.guard) return bad(model + " has no guard; give --guard GUARD.spm");
  std::vector<std::string> flow, files = cli::split(csvs, ',');
  std::vector<double> x;
  for (size_t i = 0; i < files.size(); ++i)
    if (!read_benign(files[i], i, m, label, benign, flow, x, err)) return bad(err);
  CalibrationResult r;
  if (!calibrate(m, flow, x, flow.size(), percentile, guard_pct, min_t, r, err)) return bad(err);
  // The guard with its new threshold, then the model around it.
  ArtifactInfo gi = info_of(*m.guard);
  gi.thresholds = {r.guard_threshold};
  std::vector<uint8_t> gbytes, bytes;
  if (!build_artifact_iforest(m.guard->iforest, gi, gbytes, err)) return bad(err);
  ArtifactInfo info = info_of(m);
  info.thresholds = r.thresholds;
  info.guard = gbytes;
  Calibration& k = info.calibration;
  k = Calibration{};
  k.percentile = percentile;
  if (!files_from.empty()) {
    std::string text;
    if (!cli::read_file(files_from, text)) return bad("cannot read " + files_from);
    for (const auto& l : cli::split(text, '\n'))
      if (!cli::trim(l).empty()) k.files.push_back(cli::trim(l));
  } else k.files = files;
  k.rows = r.rows;
  k.flows = r.flows;
  k.guard_fpr = double(r.guard_flows) / double(r.flows);
  k.fpr = double(r.alert_flows) / double(r.flows);
  k.figures = r.figures;
  k.figures.emplace_back("guard_threshold", r.guard_threshold);
  k.figures.emplace_back("guard_percentile", guard_pct);
  k.figures.emplace_back("min_threshold", min_t);
  char by[160];
  std::snprintf(by, sizeof by, "spectre-ml calibrate --percentile %g --guard-percentile %g --min-threshold %g",
                percentile, guard_pct, min_t);
  k.created_by = by;
  if (!build_artifact_xgb(m.xgb, info, bytes, err)) return bad(err);
  LoadedModel check;
  if (!load_artifact(bytes, check, err)) return bad("internal: calibrated artifact does not load: " + err);
  std::ofstream of(out, std::ios::binary | std::ios::trunc);
  if (!of.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size())) || !of.flush())
    return bad("cannot write " + out);
  std::fprintf(stderr, "spectre-ml: wrote %s: %zu benign rows, %zu flows; guard threshold %.6g (%zu flows "
               "below), flows alerting %zu (FPR %.5f)\n", out.c_str(), r.rows, r.flows, r.guard_threshold,
               r.guard_flows, r.alert_flows, k.fpr);
  return kOk;
}

}  // namespace spectre::ml
