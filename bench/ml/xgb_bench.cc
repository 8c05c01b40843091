// XGBoost part of spectre-mlbench: trains random binary:logistic models through
// the libxgboost C API, loads the same JSON into our scorer and libxgboost's
// booster, checks that both agree, then times both per batch size.
#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/ml/mlbench.h"
#include "ml/xgb/model.h"
#include "ml/xgb/predict.h"

namespace spectre::mlbench {
namespace {

constexpr uint32_t kFeatures = 50;
constexpr size_t kPool = 4096;  // distinct rows cycled through by the timed loops

struct Booster {
  BoosterHandle h = nullptr;
  ~Booster() { if (h) XGBoosterFree(h); }
};
struct DMatrix {
  DMatrixHandle h = nullptr;
  ~DMatrix() { if (h) XGDMatrixFree(h); }
};

bool xgb_fail(Report& rep, const char* what) {
  rep.failures.push_back(std::string(what) + ": " + XGBGetLastError());
  rep.xgb_ok = false;
  return false;
}

// Synthetic data: N(0,1) features, 2% missing; the label is a noisy non-linear
// function so that trees grow to full depth.
void make_rows(std::mt19937_64& rng, size_t n, std::vector<float>& x, std::vector<float>* y) {
  std::normal_distribution<float> nd;
  std::uniform_real_distribution<float> u;
  x.resize(n * kFeatures);
  for (auto& v : x) v = u(rng) < 0.02f ? NAN : nd(rng);
  if (!y) return;
  y->resize(n);
  auto f = [](float v) { return std::isnan(v) ? 0.0f : v; };
  for (size_t i = 0; i < n; ++i) {
    const float* r = &x[i * kFeatures];
    const float z = f(r[0]) + f(r[1]) * f(r[2]) - std::sin(f(r[3])) + 0.5f * f(r[4]) * f(r[5]) +
                    0.3f * f(r[6 + i % 40]) + nd(rng);
    (*y)[i] = z > 0 ? 1.0f : 0.0f;
  }
}

// Trains max(trees) rounds of depth `depth` on `nrows` synthetic rows; json[k]
// is the model cut to its first trees[k] trees (XGBoosterSlice), as JSON text.
// extra: parameters set after (and overriding) the defaults; classes > 2 turns
// the label into 4 classes for multi:softprob.
using Params = std::vector<std::pair<std::string, std::string>>;
bool train(const std::vector<uint32_t>& trees, uint32_t depth, size_t nrows, uint64_t seed,
           std::vector<std::string>& json, Report& rep, const Params& extra = {}, int classes = 2) {
  std::mt19937_64 rng(seed);
  std::vector<float> x, y;
  make_rows(rng, nrows, x, &y);
  if (classes > 2)
    for (size_t i = 0; i < nrows; ++i) y[i] += 2.0f * (x[i * kFeatures + 7] > 0.3f);
  DMatrix d;
  if (XGDMatrixCreateFromMat(x.data(), nrows, kFeatures, NAN, &d.h) != 0) return xgb_fail(rep, "DMatrix");
  if (XGDMatrixSetFloatInfo(d.h, "label", y.data(), nrows) != 0) return xgb_fail(rep, "label");
  Booster b;
  if (XGBoosterCreate(&d.h, 1, &b.h) != 0) return xgb_fail(rep, "XGBoosterCreate");
  const std::string dep = std::to_string(depth), sd = std::to_string(seed % 100000);
  const char* params[][2] = {{"objective", "binary:logistic"}, {"max_depth", dep.c_str()},
                             {"eta", "0.1"}, {"tree_method", "hist"}, {"subsample", "0.8"},
                             {"colsample_bytree", "0.8"}, {"min_child_weight", "0.5"},
                             {"seed", sd.c_str()}, {"verbosity", "0"},
                             {"nthread", "1"}};  // OpenMP spinning on 2 shared cores is slower
  for (auto& p : params)
    if (XGBoosterSetParam(b.h, p[0], p[1]) != 0) return xgb_fail(rep, "XGBoosterSetParam");
  for (auto& p : extra)
    if (XGBoosterSetParam(b.h, p.first.c_str(), p.second.c_str()) != 0) return xgb_fail(rep, "XGBoosterSetParam");
  const uint32_t rounds = *std::max_element(trees.begin(), trees.end());
  for (uint32_t it = 0; it < rounds; ++it)
    if (XGBoosterUpdateOneIter(b.h, static_cast<int>(it), d.h) != 0) return xgb_fail(rep, "train");
  json.clear();
  for (uint32_t t : trees) {
    Booster s;
    if (XGBoosterSlice(b.h, 0, static_cast<int>(t), 1, &s.h) != 0) return xgb_fail(rep, "XGBoosterSlice");
    bst_ulong len = 0;
    const char* buf = nullptr;
    if (XGBoosterSaveModelToBuffer(s.h, "{\"format\": \"json\"}", &len, &buf) != 0)
      return xgb_fail(rep, "XGBoosterSaveModelToBuffer");
    json.emplace_back(buf, len);
  }
  return true;
}

bool load_booster(const std::string& json, const char* nthread, Booster& b, Report& rep) {
  if (XGBoosterCreate(nullptr, 0, &b.h) != 0) return xgb_fail(rep, "XGBoosterCreate");
  if (XGBoosterLoadModelFromBuffer(b.h, json.data(), json.size()) != 0) return xgb_fail(rep, "load");
  if (nthread && XGBoosterSetParam(b.h, "nthread", nthread) != 0) return xgb_fail(rep, "nthread");
  return true;
}

// libxgboost's in-place dense predictor with a reused proxy DMatrix and
// pre-formatted array interfaces (its cheapest call form).
struct XgbPredictor {
  BoosterHandle b = nullptr;
  DMatrixHandle proxy = nullptr;
  std::vector<std::string> iface;  // one per batch start in the pool
  std::string config;
  ~XgbPredictor() { if (proxy) XGDMatrixFree(proxy); }

  bool init(BoosterHandle booster, const std::vector<float>& pool, uint32_t batch, int type, Report& rep) {
    b = booster;
    if (!proxy && XGProxyDMatrixCreate(&proxy) != 0) return xgb_fail(rep, "XGProxyDMatrixCreate");
    config = "{\"type\": " + std::to_string(type) + ", \"cache_id\": 0" +
             ", \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
             "\"strict_shape\": false, \"missing\": NaN}";
    iface.clear();
    for (size_t s = 0; s + batch <= kPool; s += batch) {
      char tmp[256];
      std::snprintf(tmp, sizeof tmp,
                    "{\"data\": [%zu, true], \"shape\": [%u, %u], \"typestr\": \"<f4\", \"version\": 3}",
                    reinterpret_cast<size_t>(pool.data() + s * kFeatures), batch, kFeatures);
      iface.emplace_back(tmp);
    }
    return true;
  }
  // Returns libxgboost's result buffer (valid until the next call), or nullptr.
  const float* predict(size_t i, bst_ulong& n) const {
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* res = nullptr;
    if (XGBoosterPredictFromDense(b, iface[i % iface.size()].c_str(), config.c_str(), proxy, &shape,
                                  &dim, &res) != 0)
      return nullptr;
    n = 1;
    for (bst_ulong k = 0; k < dim; ++k) n *= shape[k];
    return res;
  }
};

// Ours against libxgboost on the whole pool: margins must be bit-identical,
// probabilities within 1e-6; the packed scorer must equal the reference walk
// for every batch size it is called with.
bool check(const ml::TreeEnsemble& m, const ml::PackedEnsemble& p, BoosterHandle b,
           const std::vector<float>& pool, const std::string& name, Report& rep) {
  bool ok = true;
  auto fail = [&](const std::string& what) {
    if (ok) rep.failures.push_back(name + ": " + what);
    ok = false;
    rep.xgb_ok = false;
  };
  const size_t G = m.num_group;
  for (int type : {1, 0}) {
    XgbPredictor xp;
    if (!xp.init(b, pool, kPool, type, rep)) return false;
    bst_ulong n = 0;
    const float* ref = xp.predict(0, n);
    if (!ref || n != kPool * G) { fail(std::string("libxgboost predict: ") + XGBGetLastError()); return false; }
    std::vector<float> want(ref, ref + n);
    std::vector<float> simple(kPool * G), packed(kPool * G);
    for (uint32_t chunk : {1u, 3u, 8u, 32u, 255u, 256u, 4096u}) {
      for (size_t s = 0; s < kPool; s += chunk) {
        const size_t k = std::min<size_t>(chunk, kPool - s);
        const float* rows = pool.data() + s * kFeatures;
        if (type == 1) {
          ml::predict_margin(m, rows, k, kFeatures, simple.data() + s * G);
          ml::predict_margin(p, rows, k, kFeatures, packed.data() + s * G);
        } else {
          ml::predict_prob(m, rows, k, kFeatures, simple.data() + s * G);
          ml::predict_prob(p, rows, k, kFeatures, packed.data() + s * G);
        }
      }
      for (size_t i = 0; i < kPool * G; ++i) {
        const double d = std::fabs(double(packed[i]) - double(want[i]));
        if (type == 0 && d > rep.max_prob_diff) rep.max_prob_diff = d;
        const bool same = std::memcmp(&packed[i], &simple[i], 4) == 0;
        const bool good = type == 1 ? std::memcmp(&packed[i], &want[i], 4) == 0 : d <= 1e-6;
        if (!same || !good) {
          char msg[200];
          std::snprintf(msg, sizeof msg, "%s row %zu output %zu chunk %u: packed %.9g reference walk %.9g libxgboost %.9g",
                        type == 1 ? "margin" : "prob", i / G, i % G, chunk, packed[i], simple[i], want[i]);
          fail(msg);
          break;
        }
      }
      if (type == 1) rep.margins_checked += kPool * G;
    }
  }
  return ok;
}

// Correctness only (not timed): a 4-class softprob model (several output
// groups) and deep lossguide trees (blocks deeper than the packed layout's
// limit fall back to the node walk) must agree with libxgboost too.
bool check_extra(const std::vector<float>& pool, Report& rep) {
  struct Extra { const char* name; uint32_t trees, depth; Params params; int classes; };
  const Extra extras[] = {
      {"multi4_d5", 20, 5, {{"objective", "multi:softprob"}, {"num_class", "4"}}, 4},
      {"deep_lossguide", 20, 0,
       {{"grow_policy", "lossguide"}, {"max_leaves", "400"}, {"min_child_weight", "0"}, {"subsample", "1"}}, 2},
  };
  for (const Extra& e : extras) {
    std::vector<std::string> json;
    if (!train({e.trees}, e.depth, 2000, 77, json, rep, e.params, e.classes)) return false;
    ml::TreeEnsemble m;
    ml::PackedEnsemble p;
    std::string err;
    if (!ml::load_xgboost_json(json[0], m, err)) {
      rep.failures.push_back(std::string(e.name) + ": our loader: " + err);
      rep.xgb_ok = false;
      return false;
    }
    ml::pack_ensemble(m, p);
    size_t walked = 0;
    for (const auto& b : p.blocks) walked += b.walk;
    Booster b;
    if (!load_booster(json[0], "1", b, rep)) return false;
    std::fprintf(stderr, "[mlbench] check %s: %zu trees, %u outputs, max depth %u, %zu walked blocks\n", e.name,
                 m.num_trees(), m.num_group, m.max_depth, walked);
    if (!check(m, p, b.h, pool, e.name, rep)) return false;
  }
  return true;
}

}  // namespace

bool run_xgb(const Options& o, Report& rep) {
  int maj = 0, min = 0, pat = 0;
  XGBoostVersion(&maj, &min, &pat);
  rep.xgb_version = std::to_string(maj) + "." + std::to_string(min) + "." + std::to_string(pat);

  struct Cfg { uint32_t trees, depth; };
  // 500 rounds per depth; the 100-tree models are their first 100 trees.
  const std::vector<uint32_t> tree_counts = o.quick ? std::vector<uint32_t>{100} : std::vector<uint32_t>{100, 500};
  const std::vector<uint32_t> depths = o.quick ? std::vector<uint32_t>{6} : std::vector<uint32_t>{6, 8};
  const std::vector<uint32_t> batches = {1, 32, 256};

  std::mt19937_64 rng(42);
  std::vector<float> pool;
  make_rows(rng, kPool, pool, nullptr);
  std::vector<float> out(256);
  volatile float sink = 0;

  struct Model {
    std::string name, json;
    ml::TreeEnsemble m;
    ml::PackedEnsemble p;
    Booster b1, bdef;
    Cfg c;
  };
  std::vector<std::unique_ptr<Model>> models;
  for (uint32_t depth : depths) {
    const double t0 = now_s();
    std::vector<std::string> json;
    if (!train(tree_counts, depth, o.quick ? 2000 : 3000, 1000 + depth, json, rep)) return false;
    const double train_s = now_s() - t0;
    for (size_t k = 0; k < tree_counts.size(); ++k) {
      auto md = std::make_unique<Model>();
      md->c = {tree_counts[k], depth};
      md->name = "t" + std::to_string(md->c.trees) + "_d" + std::to_string(depth);
      md->json = std::move(json[k]);
      if (!o.save_dir.empty()) {  // --save-models: the JSON both sides loaded
        const std::string path = o.save_dir + "/" + md->name + ".json";
        if (FILE* f = std::fopen(path.c_str(), "w")) {
          std::fwrite(md->json.data(), 1, md->json.size(), f);
          std::fclose(f);
        }
      }
      std::string err;
      if (!ml::load_xgboost_json(md->json, md->m, err)) {
        rep.failures.push_back(md->name + ": our loader: " + err);
        rep.xgb_ok = false;
        return false;
      }
      ml::pack_ensemble(md->m, md->p);
      if (!load_booster(md->json, "1", md->b1, rep)) return false;
      if (o.xgb_default_threads && !load_booster(md->json, nullptr, md->bdef, rep)) return false;
      std::fprintf(stderr, "[mlbench] %s: %zu nodes, max depth %u, packed %zu KiB (trained in %.1f s)\n",
                   md->name.c_str(), md->m.nodes.size(), md->m.max_depth, md->p.bytes() / 1024, train_s);
      if (!check(md->m, md->p, md->b1.h, pool, md->name, rep)) {
        std::fprintf(stderr, "[mlbench] %s: MISMATCH: %s\n", md->name.c_str(), rep.failures.back().c_str());
        return false;
      }
      models.push_back(std::move(md));
    }
  }
  std::sort(models.begin(), models.end(), [](const auto& a, const auto& b) {
    return a->c.trees != b->c.trees ? a->c.trees < b->c.trees : a->c.depth < b->c.depth;
  });

  if (!check_extra(pool, rep)) {
    std::fprintf(stderr, "[mlbench] MISMATCH: %s\n", rep.failures.back().c_str());
    return false;
  }

  // Ours and single-threaded libxgboost, interleaved per cell.
  for (auto& md : models) {
    for (uint32_t batch : batches) {
      XgbRow row;
      row.model = md->name;
      row.trees = md->c.trees;
      row.depth = md->c.depth;
      row.features = kFeatures;
      row.nodes = md->m.nodes.size();
      row.batch = batch;
      row.target = batch == 1 ? 20 : batch == 256 ? 5 : 0;
      const size_t starts = kPool / batch;
      const float* base = pool.data();
      XgbPredictor xp;
      if (!xp.init(md->b1.h, pool, batch, 0, rep)) return false;
      bool bad = false;
      std::vector<Job> jobs = {
          {[&](size_t i) {
             ml::predict_prob(md->p, base + (i % starts) * batch * kFeatures, batch, kFeatures, out.data());
             sink = sink + out[0];
           }, batch, true},
          {[&](size_t i) {
             ml::predict_prob(md->m, base + (i % starts) * batch * kFeatures, batch, kFeatures, out.data());
             sink = sink + out[0];
           }, batch, true},
          {[&](size_t i) {
             bst_ulong n = 0;
             const float* r = xp.predict(i, n);
             if (!r) bad = true; else sink = sink + r[0];
           }, batch, true}};
      const std::vector<Timing> t = measure(jobs, o, rep.tsc_ghz);
      if (bad) return xgb_fail(rep, "XGBoosterPredictFromDense");
      row.ours = t[0];
      row.ours_simple = t[1];
      row.xgb1 = t[2];
      rep.xgb.push_back(row);
      std::fprintf(stderr, "[mlbench] %s batch %u: ours %.1f ns/row, reference walk %.1f, libxgboost(1 thread) %.1f\n",
                   md->name.c_str(), batch, row.ours.ns_per_row, row.ours_simple.ns_per_row,
                   row.xgb1.ns_per_row);
    }
  }
  // libxgboost with its default threading last: its OpenMP workers spin for a
  // while after each call and would disturb the single-threaded figures.
  if (o.xgb_default_threads) {
    size_t k = 0;
    for (auto& md : models) {
      for (uint32_t batch : batches) {
        XgbPredictor xp;
        if (!xp.init(md->bdef.h, pool, batch, 0, rep)) return false;
        bool bad = false;
        XgbRow& row = rep.xgb[k++];
        std::vector<Job> jobs = {{[&](size_t i) {
                                    bst_ulong n = 0;
                                    const float* r = xp.predict(i, n);
                                    if (!r) bad = true; else sink = sink + r[0];
                                  }, batch, false}};
        Options od = o;
        od.reps = std::min(o.reps, 5);
        row.xgb_default = measure(jobs, od, rep.tsc_ghz)[0];
        if (bad) return xgb_fail(rep, "XGBoosterPredictFromDense");
        row.have_default = true;
      }
    }
  }
  return rep.xgb_ok;
}

}  // namespace spectre::mlbench
