// Explanations: XGBoost Saabas contributions (ml/xgb/explain.h) checked against
// libxgboost's approx pred_contribs (C API predict type 3) on models trained
// here through the C API and on gen_xgb_models.py's fixtures; artifact
// round-trip of covers; isolation-forest attributions (ml/iforest/explain.h).
#include <gtest/gtest.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "ml/artifact.h"
#include "ml/iforest/explain.h"
#include "ml/iforest/iforest.h"
#include "ml/xgb/explain.h"
#include "tests/unit/ml/xgb_fixtures.h"
#include "ml/xgb/model.h"
#include "ml/xgb/predict.h"

namespace spectre::ml {
namespace {

// type 3: approx contributions (Saabas), type 2: exact TreeSHAP.
std::string contrib_config(int type) {
  return R"({"type": )" + std::to_string(type) +
         R"(, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false})";
}

struct Data {
  std::vector<float> x;
  std::vector<float> y;
  size_t nrow = 0, ncol = 0;
};

// Gaussian features, NaN with probability nan_frac, column 0 on a coarse grid
// (repeated values exercise threshold ties). Label by `kind`.
Data make_data(std::mt19937& rng, size_t n, size_t ncol, double nan_frac, int kind) {
  std::normal_distribution<float> N(0.0f, 1.0f);
  std::uniform_real_distribution<double> U(0.0, 1.0);
  Data d;
  d.nrow = n;
  d.ncol = ncol;
  for (size_t r = 0; r < n; ++r) {
    float v[64];
    for (size_t c = 0; c < ncol; ++c) {
      v[c] = N(rng);
      if (c == 0) v[c] = std::round(v[c] * 4.0f) / 4.0f;
    }
    const float z = v[0] + 0.5f * v[1] * v[2] - std::sin(v[3]) + 0.3f * N(rng);
    float label = 0;
    if (kind == 0) label = z > 0 ? 1.0f : 0.0f;                                      // binary
    else if (kind == 1) label = static_cast<float>((z > -0.7f) + (z > 0.0f) + (v[4] > 0.8f));  // 4 classes
    else label = 2.0f * v[0] + v[5] * v[5] + 0.5f * N(rng);                           // regression
    for (size_t c = 0; c < ncol; ++c)
      if (U(rng) < nan_frac) v[c] = NAN;
    d.x.insert(d.x.end(), v, v + ncol);
    d.y.push_back(label);
  }
  return d;
}

struct Booster {
  BoosterHandle h = nullptr;
  ~Booster() { if (h) XGBoosterFree(h); }
};
struct DMatrix {
  DMatrixHandle h = nullptr;
  ~DMatrix() { if (h) XGDMatrixFree(h); }
};

// Trains through the C API; returns the model's JSON text ("" on failure).
std::string train(const Data& d, const std::vector<std::pair<std::string, std::string>>& params, int rounds,
                  Booster& b) {
  DMatrix dm;
  if (XGDMatrixCreateFromMat(d.x.data(), d.nrow, d.ncol, NAN, &dm.h) != 0) return "";
  if (XGDMatrixSetFloatInfo(dm.h, "label", d.y.data(), d.nrow) != 0) return "";
  if (XGBoosterCreate(&dm.h, 1, &b.h) != 0) return "";
  XGBoosterSetParam(b.h, "nthread", "1");
  for (const auto& [k, v] : params)
    if (XGBoosterSetParam(b.h, k.c_str(), v.c_str()) != 0) return "";
  for (int i = 0; i < rounds; ++i)
    if (XGBoosterUpdateOneIter(b.h, i, dm.h) != 0) return "";
  bst_ulong len = 0;
  const char* buf = nullptr;
  if (XGBoosterSaveModelToBuffer(b.h, R"({"format": "json"})", &len, &buf) != 0) return "";
  return std::string(buf, len);
}

// libxgboost contributions: nrow * num_group * (ncol + 1).
std::vector<float> reference_contribs(BoosterHandle b, const Data& d, int type) {
  DMatrix dm;
  EXPECT_EQ(XGDMatrixCreateFromMat(d.x.data(), d.nrow, d.ncol, NAN, &dm.h), 0) << XGBGetLastError();
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* res = nullptr;
  EXPECT_EQ(XGBoosterPredictFromDMatrix(b, dm.h, contrib_config(type).c_str(), &shape, &dim, &res), 0) << XGBGetLastError();
  size_t n = 1;
  for (bst_ulong i = 0; i < dim; ++i) n *= shape[i];
  return std::vector<float>(res, res + n);
}

double g_max_diff[2] = {0, 0};
size_t g_exact[2] = {0, 0}, g_total[2] = {0, 0};

// Every element within 1e-5 of libxgboost, and each group sums to our margin.
// exact: TreeSHAP (type 2) instead of approx (type 3).
void compare_one(const std::string& name, const TreeEnsemble& m, BoosterHandle b, const Data& d, bool exact) {
  ASSERT_TRUE(m.has_covers()) << name;
  ASSERT_EQ(d.ncol, m.num_feature) << name;
  const size_t G = m.num_group, C = m.num_feature + 1;
  std::vector<float> ref = reference_contribs(b, d, exact ? 2 : 3);
  ASSERT_EQ(ref.size(), d.nrow * G * C) << name;
  std::vector<float> ours(G * C), margin(G);
  ShapWorkspace ws;
  init_shap_workspace(m, ws);
  size_t bad = 0, bad_sum = 0;
  double& max_diff = g_max_diff[exact];
  size_t& n_exact = g_exact[exact];
  size_t& n_total = g_total[exact];
  for (size_t r = 0; r < d.nrow; ++r) {
    const float* row = d.x.data() + r * d.ncol;
    if (exact) ASSERT_TRUE(contributions_shap(m, row, ws, ours.data()));
    else ASSERT_TRUE(contributions_approx(m, row, ours.data()));
    predict_margin(m, row, 1, d.ncol, margin.data());
    for (size_t i = 0; i < G * C; ++i) {
      const double diff = std::fabs(double(ours[i]) - double(ref[r * G * C + i]));
      max_diff = std::max(max_diff, diff);
      n_exact += ours[i] == ref[r * G * C + i];
      ++n_total;
      if (!(diff <= 1e-5) && bad++ < 5)
        ADD_FAILURE() << name << (exact ? " shap" : " approx") << " row " << r << " group " << i / C << " col " << i % C << ": ours " << ours[i]
                      << " libxgboost " << ref[r * G * C + i];
    }
    for (size_t g = 0; g < G; ++g) {
      double s = 0;
      for (size_t c = 0; c < C; ++c) s += ours[g * C + c];
      if (!(std::fabs(s - margin[g]) <= 1e-4) && bad_sum++ < 5)
        ADD_FAILURE() << name << " row " << r << " group " << g << ": sum " << s << " margin " << margin[g];
    }
  }
  EXPECT_EQ(bad, 0u) << name;
  EXPECT_EQ(bad_sum, 0u) << name;
}

// Approx on all rows, TreeSHAP (slower, both sides) on the first shap_rows.
void compare(const std::string& name, const TreeEnsemble& m, BoosterHandle b, const Data& d,
             size_t shap_rows = 400) {
  compare_one(name, m, b, d, false);
  Data head = d;
  head.nrow = std::min(d.nrow, shap_rows);
  head.x.resize(head.nrow * d.ncol);
  if (head.nrow) compare_one(name, m, b, head, true);
}

class XgbExplainDiff : public ::testing::Test {
 protected:
  static void TearDownTestSuite() {
    for (int e : {0, 1})
      std::printf("[explain] %s: max |ours - libxgboost| %.3g, %zu of %zu contributions bit-identical\n",
                  e ? "TreeSHAP" : "approx", g_max_diff[e], g_exact[e], g_total[e]);
  }
  // Trains, loads our copy from the saved JSON and compares on fresh rows.
  static void run(const std::string& name, int kind, size_t ncol, double nan_frac, int rounds,
                  const std::vector<std::pair<std::string, std::string>>& params, size_t expect_trees) {
    std::mt19937 rng(static_cast<uint32_t>(std::hash<std::string>{}(name)));
    Data train_d = make_data(rng, 2500, ncol, nan_frac, kind);
    Booster b;
    const std::string json = train(train_d, params, rounds, b);
    ASSERT_FALSE(json.empty()) << XGBGetLastError();
    TreeEnsemble m;
    std::string err;
    ASSERT_TRUE(load_xgboost_json(json, m, err)) << err;
    EXPECT_EQ(m.num_trees(), expect_trees);
    compare(name, m, b.h, make_data(rng, 400, ncol, nan_frac, kind));
    compare(name + " train rows", m, b.h, train_d, 0);
  }
};

TEST_F(XgbExplainDiff, BinaryLogisticDepth6) {
  run("bin", 0, 12, 0.2, 60,
      {{"objective", "binary:logistic"}, {"max_depth", "6"}, {"eta", "0.3"}, {"seed", "1"}}, 60);
}

TEST_F(XgbExplainDiff, BinaryLogisticDepth3BaseScoreExact) {
  run("bin_d3", 0, 8, 0.1, 20,
      {{"objective", "binary:logistic"}, {"max_depth", "3"}, {"base_score", "0.3"}, {"tree_method", "exact"},
       {"seed", "2"}},
      20);
}

TEST_F(XgbExplainDiff, MultiSoftprob4Classes) {
  run("multi4", 1, 10, 0.15, 25,
      {{"objective", "multi:softprob"}, {"num_class", "4"}, {"max_depth", "4"}, {"seed", "3"}}, 100);
}

TEST_F(XgbExplainDiff, RegressionDepth8Hist) {
  run("reg", 2, 12, 0.25, 40,
      {{"objective", "reg:squarederror"}, {"max_depth", "8"}, {"base_score", "1.25"}, {"tree_method", "hist"},
       {"subsample", "0.8"}, {"seed", "4"}},
      40);
}

Data read_csv(const std::string& p) {
  testing::FixtureRows r = testing::read_fixture_csv(p);
  Data d;
  d.x = std::move(r.v);
  d.nrow = r.nrow;
  d.ncol = r.ncol;
  return d;
}

// SPECTRE_XGB_FIXTURES=DIR reuses fixtures already generated there (kept).
TEST_F(XgbExplainDiff, JsonFixtures) {
  std::string skip;
  const std::string dir = testing::xgb_fixture_dir(skip);
  if (!skip.empty()) GTEST_SKIP() << skip;
  for (const char* name : {"bin100_d6", "bin500_d8", "multi3", "reg80", "missing60"}) {
    const std::string model = dir + "/" + name + ".json";
    TreeEnsemble m;
    std::string err;
    ASSERT_TRUE(load_xgboost_json_file(model, m, err)) << err;
    Data d = read_csv(dir + "/" + name + ".csv");
    if (d.nrow > 300) d.nrow = 300;  // enough rows; keeps bin500_d8 quick
    d.x.resize(d.nrow * d.ncol);
    Booster b;
    DMatrix dm;
    ASSERT_EQ(XGDMatrixCreateFromMat(d.x.data(), d.nrow, d.ncol, NAN, &dm.h), 0);
    ASSERT_EQ(XGBoosterCreate(&dm.h, 1, &b.h), 0);
    ASSERT_EQ(XGBoosterLoadModel(b.h, model.c_str()), 0) << XGBGetLastError();
    compare(name, m, b.h, d, 100);
  }
}

// Hand-made one-tree model: root splits feature 2 at 0.5; leaves -1 (cover 3), +1 (cover 1).
std::string tiny_model(bool with_hessian, const std::string& hess = "[4.0, 3.0, 1.0]") {
  std::string tree = R"({"tree_param":{"num_nodes":"3"},"left_children":[1,-1,-1],"right_children":[2,-1,-1],)"
                     R"("split_indices":[2,0,0],"split_conditions":[0.5,-1.0,1.0],"default_left":[1,0,0])";
  if (with_hessian) tree += R"(,"sum_hessian":)" + hess;
  tree += "}";
  return R"({"learner":{"learner_model_param":{"base_score":"5E-1","num_class":"0","num_feature":"3"},)"
         R"("objective":{"name":"reg:squarederror"},"gradient_booster":{"name":"gbtree","model":{)"
         R"("tree_info":[0],"trees":[)" + tree + "]}}}}";
}

TEST(XgbExplain, HandComputedTinyModel) {
  TreeEnsemble m;
  std::string err;
  ASSERT_TRUE(load_xgboost_json(tiny_model(true), m, err)) << err;
  ASSERT_TRUE(m.has_covers());
  EXPECT_EQ(m.node_mean[0], -0.5f);  // (-1 * 3 + 1 * 1) / 4
  const float left[3] = {9, 9, 0.4f}, right[3] = {9, 9, 0.5f}, missing[3] = {9, 9, NAN};
  float out[4];
  ASSERT_TRUE(contributions_approx(m, left, out));
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], 0.0f);
  EXPECT_EQ(out[2], -0.5f);
  EXPECT_EQ(out[3], 0.0f);  // base 0.5 + root mean -0.5
  ASSERT_TRUE(contributions_approx(m, right, out));
  EXPECT_EQ(out[2], 1.5f);
  ASSERT_TRUE(contributions_approx(m, missing, out));  // default left
  EXPECT_EQ(out[2], -0.5f);
}

TEST(XgbExplain, JsonWithoutSumHessianLoadsWithoutExplanations) {
  TreeEnsemble m;
  std::string err;
  ASSERT_TRUE(load_xgboost_json(tiny_model(false), m, err)) << err;
  EXPECT_FALSE(m.has_covers());
  EXPECT_TRUE(m.cover.empty());
  const float row[3] = {0, 0, 0.4f};
  float margin = 0;
  predict_margin(m, row, 1, 3, &margin);
  EXPECT_EQ(margin, -0.5f);
  float out[4] = {7, 7, 7, 7}, work[4];
  EXPECT_FALSE(contributions_approx(m, row, out));
  EXPECT_EQ(out[0], 7.0f);  // untouched
  FeatureContribution top[8];
  EXPECT_EQ(top_contributions(m, row, 0, 3, work, top), 0u);

  // Present but inconsistent: refused.
  EXPECT_FALSE(load_xgboost_json(tiny_model(true, "[4.0, 3.0]"), m, err));
  EXPECT_NE(err.find("sum_hessian"), std::string::npos) << err;
  EXPECT_FALSE(load_xgboost_json(tiny_model(true, "[4.0, \"x\", 1.0]"), m, err));
}

// Reference ordering: full sort by |c| descending, then feature id.
std::vector<uint32_t> sorted_features(const float* c, uint32_t F) {
  std::vector<uint32_t> ids;
  for (uint32_t f = 0; f < F; ++f)
    if (std::fabs(c[f]) > 0) ids.push_back(f);
  std::stable_sort(ids.begin(), ids.end(), [&](uint32_t a, uint32_t b) { return std::fabs(c[a]) > std::fabs(c[b]); });
  return ids;
}

TEST(XgbExplain, TopContributionsOrdering) {
  std::mt19937 rng(5);
  Data d = make_data(rng, 1500, 10, 0.1, 1);
  Booster b;
  const std::string json =
      train(d, {{"objective", "multi:softprob"}, {"num_class", "4"}, {"max_depth", "5"}, {"seed", "9"}}, 10, b);
  ASSERT_FALSE(json.empty());
  TreeEnsemble m;
  std::string err;
  ASSERT_TRUE(load_xgboost_json(json, m, err)) << err;
  const size_t C = m.num_feature + 1;
  std::vector<float> work(C * m.num_group), full(C * m.num_group);
  size_t checked = 0;
  for (size_t r = 0; r < 200; ++r) {
    const float* row = d.x.data() + r * d.ncol;
    ASSERT_TRUE(contributions_approx(m, row, full.data()));
    for (uint32_t g = 0; g < m.num_group; ++g) {
      const std::vector<uint32_t> want = sorted_features(full.data() + g * C, m.num_feature);
      for (size_t k : {size_t{1}, size_t{3}, size_t{8}, size_t{20}}) {
        FeatureContribution top[kMaxTopContributions];
        const size_t n = top_contributions(m, row, g, k, work.data(), top);
        ASSERT_EQ(n, std::min({k, want.size(), kMaxTopContributions}));
        for (size_t i = 0; i < n; ++i) {
          EXPECT_EQ(top[i].feature, want[i]) << "row " << r << " group " << g << " rank " << i;
          EXPECT_EQ(top[i].contribution, full[g * C + want[i]]);
          EXPECT_TRUE(top[i].value == row[want[i]] || (std::isnan(top[i].value) && std::isnan(row[want[i]])));
        }
        for (size_t c = 0; c < C; ++c) ASSERT_EQ(work[g * C + c], full[g * C + c]);
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 200u * 4 * 4);
  FeatureContribution top[8];
  EXPECT_EQ(top_contributions(m, d.x.data(), 4, 3, work.data(), top), 0u);  // no such group
}

TEST(XgbExplain, TopContributionsTiesAndZeros) {
  // Two one-split trees on features 1 and 3 with identical values: equal |contribution|.
  auto tree = [](int f) {
    return R"({"tree_param":{"num_nodes":"3"},"left_children":[1,-1,-1],"right_children":[2,-1,-1],)"
           R"("split_indices":[)" + std::to_string(f) + R"(,0,0],"split_conditions":[0.5,-1.0,1.0],)"
           R"("default_left":[1,0,0],"sum_hessian":[2.0,1.0,1.0]})";
  };
  const std::string json =
      R"({"learner":{"learner_model_param":{"base_score":"5E-1","num_class":"0","num_feature":"5"},)"
      R"("objective":{"name":"binary:logitraw"},"gradient_booster":{"name":"gbtree","model":{)"
      R"("tree_info":[0,0],"trees":[)" + tree(3) + "," + tree(1) + "]}}}}";
  TreeEnsemble m;
  std::string err;
  ASSERT_TRUE(load_xgboost_json(json, m, err)) << err;
  const float row[5] = {0, 0.0f, 0, 1.0f, 0};
  float work[6];
  FeatureContribution top[8];
  ASSERT_EQ(top_contributions(m, row, 0, 8, work, top), 2u);  // features 0, 2, 4 contribute 0
  EXPECT_EQ(top[0].feature, 1u);
  EXPECT_EQ(top[0].contribution, -1.0f);
  EXPECT_EQ(top[1].feature, 3u);
  EXPECT_EQ(top[1].contribution, 1.0f);
  EXPECT_EQ(top[1].value, 1.0f);
  ASSERT_EQ(top_contributions(m, row, 0, 1, work, top), 1u);
  EXPECT_EQ(top[0].feature, 1u);
}

TEST(XgbExplain, ArtifactRoundTripKeepsCovers) {
  std::mt19937 rng(6);
  Data d = make_data(rng, 1500, 8, 0.2, 0);
  Booster b;
  const std::string json =
      train(d, {{"objective", "binary:logistic"}, {"max_depth", "5"}, {"seed", "7"}}, 30, b);
  ASSERT_FALSE(json.empty());
  TreeEnsemble m;
  std::string err;
  ASSERT_TRUE(load_xgboost_json(json, m, err)) << err;
  ArtifactInfo info;
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(build_artifact_xgb(m, info, bytes, err)) << err;
  LoadedModel lm;
  ASSERT_TRUE(load_artifact(bytes, lm, err)) << err;
  ASSERT_TRUE(lm.xgb.has_covers());
  EXPECT_EQ(lm.xgb.cover, m.cover);
  EXPECT_EQ(lm.xgb.node_mean, m.node_mean);
  float a[9], c[9];
  for (size_t r = 0; r < 300; ++r) {
    const float* row = d.x.data() + r * d.ncol;
    ASSERT_TRUE(contributions_approx(m, row, a));
    ASSERT_TRUE(contributions_approx(lm.xgb, row, c));
    for (int i = 0; i < 9; ++i) ASSERT_EQ(a[i], c[i]) << "row " << r;
  }

  // Without covers (as artifacts written before covers existed): loads and
  // scores, but cannot explain.
  TreeEnsemble bare = m;
  bare.cover.clear();
  bare.node_mean.clear();
  ASSERT_TRUE(build_artifact_xgb(bare, info, bytes, err)) << err;
  ASSERT_TRUE(load_artifact(bytes, lm, err)) << err;
  EXPECT_FALSE(lm.xgb.has_covers());
  EXPECT_FALSE(contributions_approx(lm.xgb, d.x.data(), c));
  float m1 = 0, m2 = 0;
  predict_margin(m, d.x.data(), 1, d.ncol, &m1);
  predict_margin(lm.xgb, d.x.data(), 1, d.ncol, &m2);
  EXPECT_EQ(m1, m2);
}

// ---- isolation forest ----

constexpr size_t kIfFeat = 6;

struct Blob {
  std::vector<double> x;
  IsolationForest f;
};

const Blob& blob() {
  static const Blob b = [] {
    Blob r;
    std::mt19937 rng(21);
    std::normal_distribution<double> N(0.0, 1.0);
    for (size_t i = 0; i < 2000 * kIfFeat; ++i) r.x.push_back(N(rng));
    r.f = train_iforest(r.x.data(), 2000, kIfFeat, kIfFeat, 200, 256, 77);
    return r;
  }();
  return b;
}

TEST(IForestExplain, OneAnomalousFeatureNamedFirst) {
  const Blob& b = blob();
  ASSERT_EQ(b.f.roots.size(), 200u);
  for (size_t j = 0; j < kIfFeat; ++j)
    for (double v : {6.0, -5.0}) {
      double row[kIfFeat] = {0.1, -0.2, 0.05, 0.3, -0.1, 0.0};
      row[j] = v;
      double work[kIfFeat + 1];
      IForestFeatureContribution top[kMaxTopIForestFeatures];
      const size_t n = top_iforest_features(b.f, row, 3, work, top);
      ASSERT_GE(n, 1u) << "feature " << j;
      EXPECT_EQ(top[0].feature, j) << "value " << v;
      EXPECT_EQ(top[0].value, v);
      // The anomalous feature explains most of the path shortening.
      double pos = 0;
      for (size_t i = 0; i < kIfFeat; ++i) pos += std::max(0.0, work[i]);
      EXPECT_GT(top[0].contribution, 0.6 * pos) << "feature " << j;
      for (size_t i = 1; i < n; ++i) EXPECT_LE(top[i].contribution, top[i - 1].contribution);
    }
}

// bias - sum(contributions) is the mean path length, which reproduces score_samples.
TEST(IForestExplain, ContributionsReproduceScore) {
  const Blob& b = blob();
  const double c = iforest_average_path_length(b.f.max_samples);
  double work[kIfFeat + 1];
  for (size_t r = 0; r < 300; ++r) {
    const double* row = b.x.data() + r * kIfFeat;
    ASSERT_TRUE(iforest_contributions(b.f, row, work));
    double h = work[kIfFeat];
    for (size_t i = 0; i < kIfFeat; ++i) h -= work[i];
    double score = 0;
    score_samples(b.f, row, 1, kIfFeat, &score);
    EXPECT_NEAR(-std::exp2(-h / c), score, 1e-12) << "row " << r;
  }
  // A central row gets small contributions; an outlier gets a large total.
  const double centre[kIfFeat] = {0, 0, 0, 0, 0, 0}, far[kIfFeat] = {4, -4, 4, -4, 4, -4};
  double wc[kIfFeat + 1], wf[kIfFeat + 1];
  ASSERT_TRUE(iforest_contributions(b.f, centre, wc));
  ASSERT_TRUE(iforest_contributions(b.f, far, wf));
  double sc = 0, sf = 0;
  for (size_t i = 0; i < kIfFeat; ++i) { sc += wc[i]; sf += wf[i]; }
  EXPECT_LT(sc, 1.0);
  EXPECT_GT(sf, 4.0);
}

TEST(IForestExplain, HandMadeForestAndEdgeCases) {
  // One tree: root (8 samples) splits feature 1 at 0; left leaf 1 sample, right leaf 7.
  IsolationForest f;
  f.n_features = 3;
  f.max_samples = 8;
  f.roots = {0};
  f.nodes = {IForestNode{0.0, 1, 1, 2, 8}, IForestNode{0, -1, 0, 0, 1}, IForestNode{0, -1, 0, 0, 7}};
  std::string err;
  ASSERT_TRUE(finalize_iforest(f, err)) << err;
  const double c8 = iforest_average_path_length(8), c7 = iforest_average_path_length(7);
  double w[4];
  const double iso[3] = {5, -1, 5}, bulk[3] = {5, 1, 5};
  ASSERT_TRUE(iforest_contributions(f, iso, w));
  EXPECT_DOUBLE_EQ(w[1], c8 - 1.0);  // peeled off alone: c(8) - (1 + c(1))
  EXPECT_EQ(w[0], 0.0);
  EXPECT_EQ(w[2], 0.0);
  EXPECT_DOUBLE_EQ(w[3], c8);
  ASSERT_TRUE(iforest_contributions(f, bulk, w));
  EXPECT_DOUBLE_EQ(w[1], c8 - 1.0 - c7);
  IForestFeatureContribution top[8];
  EXPECT_EQ(top_iforest_features(f, bulk, 8, w, top), 0u);  // negative only
  ASSERT_EQ(top_iforest_features(f, iso, 8, w, top), 1u);
  EXPECT_EQ(top[0].feature, 1u);
  EXPECT_EQ(top_iforest_features(f, iso, 0, w, top), 0u);

  IsolationForest empty;
  EXPECT_FALSE(iforest_contributions(empty, iso, w));
  EXPECT_EQ(top_iforest_features(empty, iso, 3, w, top), 0u);
}

}  // namespace
}  // namespace spectre::ml
