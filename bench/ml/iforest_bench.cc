// Isolation-forest part of spectre-mlbench: the forest, rows, scores and
// timings come from bench/ml/iforest_sklearn.py (scikit-learn); we load the
// same forest, check our scores against sklearn's (1e-6) and time ours on the
// same rows.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/ml/mlbench.h"
#include "ml/iforest/iforest.h"
#include "ml/json.h"

namespace spectre::mlbench {

namespace {

bool fail(Report& rep, const std::string& why) {
  rep.failures.push_back("iforest: " + why);
  rep.iforest_ok = false;
  return false;
}

bool read_numbers(const ml::json::Doc& d, uint32_t arr, std::vector<double>& out) {
  if (arr == ml::json::kNone || d.type(arr) != ml::json::Type::Array) return false;
  for (uint32_t e = d.first(arr); e != ml::json::kNone; e = d.next(e)) {
    if (d.type(e) == ml::json::Type::Array) {
      if (!read_numbers(d, e, out)) return false;
      continue;
    }
    double v;
    if (!d.to_double(e, v)) return false;
    out.push_back(v);
  }
  return true;
}

}  // namespace

// The file: the spectre-iforest JSON of ml/export_iforest.py plus a "bench"
// member: {"sklearn": version, "rows": [[...50 values...], ...], "scores": [...],
// "sklearn_ns_per_row": {"1": ns, "32": ns, "256": ns}}.
bool run_iforest(const Options& o, const std::string& path, Report& rep) {
  rep.have_iforest = true;
  std::ifstream f(path, std::ios::binary);
  if (!f) return fail(rep, "cannot read " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  ml::IsolationForest forest;
  std::string err;
  if (!ml::load_iforest_json(text, forest, err)) return fail(rep, err);
  ml::json::Doc d;
  if (!d.parse(text, err)) return fail(rep, err);
  const uint32_t bench = d.find(d.root(), "bench");
  if (bench == ml::json::kNone) return fail(rep, "no \"bench\" member in " + path);
  const uint32_t ver = d.find(bench, "sklearn");
  if (ver != ml::json::kNone) rep.if_sklearn_version = d.str(ver);
  std::vector<double> rows, scores;
  if (!read_numbers(d, d.find(bench, "rows"), rows) || !read_numbers(d, d.find(bench, "scores"), scores))
    return fail(rep, "bad rows/scores");
  const size_t F = forest.n_features, n = scores.size();
  if (n < 256 || rows.size() != n * F) return fail(rep, "rows/scores sizes disagree with n_features");
  rep.if_trees = static_cast<uint32_t>(forest.roots.size());
  rep.if_features = forest.n_features;
  rep.if_max_samples = forest.max_samples;
  rep.if_nodes = forest.nodes.size();

  // Same scores as sklearn, whatever the batch the rows come in.
  std::vector<double> ours(n);
  for (size_t chunk : {size_t(1), size_t(32), n}) {
    for (size_t s = 0; s < n; s += chunk)
      ml::score_samples(forest, rows.data() + s * F, std::min(chunk, n - s), F, ours.data() + s);
    for (size_t i = 0; i < n; ++i) {
      const double diff = std::fabs(ours[i] - scores[i]);
      rep.if_max_diff = std::max(rep.if_max_diff, diff);
      if (!(diff <= 1e-6)) {
        char msg[160];
        std::snprintf(msg, sizeof msg, "row %zu: ours %.17g sklearn %.17g (chunk %zu)", i, ours[i], scores[i], chunk);
        return fail(rep, msg);
      }
    }
  }
  rep.if_rows_checked = n;

  const uint32_t skt = d.find(bench, "sklearn_ns_per_row");
  volatile double sink = 0;
  for (uint32_t batch : {1u, 32u, 256u}) {
    IfRow r;
    r.batch = batch;
    const size_t starts = n / batch;
    std::vector<Job> jobs = {{[&](size_t i) {
                                ml::score_samples(forest, rows.data() + (i % starts) * batch * F, batch, F,
                                                  ours.data());
                                sink = sink + ours[0];
                              }, batch, true}};
    r.ours = measure(jobs, o, rep.tsc_ghz)[0];
    if (skt != ml::json::kNone) d.to_double(d.find(skt, std::to_string(batch)), r.sklearn_ns_per_row);
    rep.iforest.push_back(r);
  }
  return true;
}

}  // namespace spectre::mlbench
