// Learning::explain: the per-feature contributions of the model that alerted
// on one dumped feature row (GET /api/v1/alerts/{id}/explain), see learning.h.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "ctrlplane/learn/learning.h"
#include "ml/artifact.h"
#include "ml/cli_util.h"
#include "ml/iforest/explain.h"
#include "ml/xgb/explain.h"

namespace spectre::learn {

namespace {

using ojson = nlohmann::ordered_json;

LearnResult fail(int status, const std::string& why) { return {status, ojson{{"error", why}}.dump()}; }

// The newest row of flow_id at phase (the index, else the bounded scan of the
// newest 32 MiB: row_index.h), as the model's features (NaN = missing).
// False when not there.
bool find_row(RowIndex& index, const std::string& rows_csv, const std::string& flow_id, const std::string& phase,
              const std::vector<std::string>& names, std::vector<float>& row, std::string& ts, std::string& err) {
  RowIndex::Found f;
  if (!index.lookup(rows_csv, flow_id, phase, f, err)) return false;
  const auto cols = ml::cli::split(f.header, ','), cells = ml::cli::split(f.line, ',');
  std::vector<int> map;
  if (!ml::cli::map_features(cols, names, map, err)) return false;
  row.assign(names.size(), NAN);
  for (size_t j = 0; j < map.size(); ++j) {
    double v = NAN;
    if (size_t(map[j]) < cells.size() && ml::cli::parse_number(cells[size_t(map[j])], v)) row[j] = float(v);
  }
  const int tc = ml::cli::find_column(cols, "ts");
  ts = tc >= 0 && size_t(tc) < cells.size() ? cells[size_t(tc)] : "";
  return true;
}

}  // namespace

std::shared_ptr<const ml::LoadedModel> Learning::explain_model(const std::string& path, std::string& err) {
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0) {
    err = "cannot read the model " + path;
    return nullptr;
  }
  const std::string key = path + ":" + std::to_string(sb.st_size) + ":" + std::to_string(sb.st_mtim.tv_sec) + "." +
                          std::to_string(sb.st_mtim.tv_nsec);
  {
    std::lock_guard g(explain_mu_);
    if (key == explain_key_) return explain_model_;
  }
  auto m = std::make_shared<ml::LoadedModel>();
  if (!ml::load_artifact_file(path, *m, err)) return nullptr;
  std::lock_guard g(explain_mu_);
  explain_key_ = key;
  explain_model_ = m;
  return m;
}

LearnResult Learning::explain(const std::string& flow_id, const std::string& phase, const std::string& version,
                              const std::string& cls) {
  if (flow_id.empty() || phase.empty() || version.empty()) return fail(400, "explain: flow_id, phase and version needed");
  if (opt_.rows_csv.empty()) return fail(404, "no rows file configured (learning.rows): the row is not kept");
  std::string err, path;
  reg_.refresh(err);
  if (const auto e = reg_.find_version(version)) {
    path = reg_.path_of(e->sha256);
  } else {  // the data plane's own model (drift follows it while the registry has none)
    std::lock_guard g(mu_);
    cp::ModelCandidate c;
    if (!drift_path_.empty() && cp::ModelRegistry::validate(drift_path_, "", c, err) && c.entry.version == version)
      path = drift_path_;
  }
  if (path.empty()) return fail(404, "model version " + version + " is not in the registry");
  const std::shared_ptr<const ml::LoadedModel> mp = explain_model(path, err);
  if (!mp) return fail(500, err);
  const ml::LoadedModel& m = *mp;
  std::vector<float> row;
  std::string ts;
  if (!find_row(row_index_, opt_.rows_csv, flow_id, phase, m.feature_names, row, ts, err)) return fail(404, err);
  const size_t nf = m.num_features;
  std::vector<float> c(nf + 1, 0.0f);
  std::string method;
  if (m.kind == ml::ModelKind::XGBoost) {
    // The alerted class's output (a binary model has one).
    const auto it = std::find(m.class_names.begin(), m.class_names.end(), cls);
    uint32_t g = m.num_outputs() > 1 && it != m.class_names.end() ? uint32_t(it - m.class_names.begin()) : 0;
    if (!ml::contributions_approx_group(m.xgb, row.data(), g, c.data()))
      return fail(409, "the model stores no node covers: no contributions");
    method = "saabas (xgboost approx_contribs) of output " + (g < m.class_names.size() ? m.class_names[g] : "0");
  } else {
    std::vector<double> x(row.begin(), row.end()), out(nf + 1, 0.0);
    if (!ml::iforest_contributions(m.iforest, x.data(), out.data())) return fail(409, "the forest has no trees");
    for (size_t j = 0; j <= nf; ++j) c[j] = float(out[j]);
    method = "isolation forest path-length contributions";
  }
  std::vector<size_t> order(nf);
  for (size_t j = 0; j < nf; ++j) order[j] = j;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return std::fabs(c[a]) > std::fabs(c[b]); });
  ojson list = ojson::array();
  auto num = [](float v) { return std::isfinite(v) ? ojson(v) : ojson(nullptr); };
  for (size_t j : order) list.push_back({{"feature", m.feature_names[j]}, {"value", num(row[j])}, {"contribution", num(c[j])}});
  ojson out{{"model", {{"version", version}, {"sha256", m.sha256}}}, {"method", method},
            {"row", {{"flow_id", flow_id}, {"phase", phase}, {"ts", ts}}}, {"bias", num(c[nf])}, {"contributions", list}};
  return {200, out.dump()};
}

bool Learning::warm_explain(std::string& err) {
  if (opt_.rows_csv.empty()) {
    err = "no rows file configured";
    return false;
  }
  reg_.refresh(err);
  if (const auto a = reg_.active()) explain_model(reg_.path_of(a->sha256), err);  // an unreadable model: explain says so
  return row_index_.warm(opt_.rows_csv, err);
}

void Learning::start_warm() {
  if (opt_.rows_csv.empty() || warm_.joinable()) return;
  warm_ = std::thread([this] {
    std::string err;
    const auto t0 = std::chrono::steady_clock::now();
    const bool ok = warm_explain(err);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const RowIndex::Stats st = row_index_.stats();
    if (ok)
      std::fprintf(stderr, "spectre-cp: explain index warm: %llu rows in %.0f ms\n", (unsigned long long)st.warm_indexed, ms);
    else
      std::fprintf(stderr, "spectre-cp: explain index not warmed: %s\n", err.c_str());
  });
}

std::string Learning::explain_metrics() {
  const RowIndex::Stats st = row_index_.stats();
  std::string o =
      "# HELP spectre_explain_rows_indexed_total Rows of the rows file indexed for explain: at warm-up (off the request path) or inside an explain.\n"
      "# TYPE spectre_explain_rows_indexed_total counter\n";
  o += "spectre_explain_rows_indexed_total{by=\"warm\"} " + std::to_string(st.warm_indexed) + "\n";
  o += "spectre_explain_rows_indexed_total{by=\"lookup\"} " + std::to_string(st.lookup_indexed) + "\n";
  o += "# HELP spectre_explain_index_hits_total Explain lookups answered from the row index.\n"
       "# TYPE spectre_explain_index_hits_total counter\n"
       "spectre_explain_index_hits_total " + std::to_string(st.index_hits) + "\n";
  o += "# HELP spectre_explain_scans_total Explain lookups that scanned the part of the tail the index does not cover.\n"
       "# TYPE spectre_explain_scans_total counter\n"
       "spectre_explain_scans_total " + std::to_string(st.scans) + "\n";
  return o;
}

}  // namespace spectre::learn
