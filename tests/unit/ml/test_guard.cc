// Open-set guard and calibration (issue 11): the calibration arithmetic
// against brute force, artifacts carrying a guard and a calibration record
// (round trip, refusals, old artifacts), and the guarded decision of
// predict_classes / calibrate against an independent rule.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "ml/artifact.h"
#include "ml/calibrate.h"
#include "ml/eval.h"
#include "ml/iforest/iforest.h"
#include "ml/xgb/predict.h"

using namespace spectre::ml;

namespace {

// Two features, classes benign / attack (softmax): P(attack) = e^2 / (1 + e^2)
// when f0 >= 0.5, else e^-2 / (1 + e^-2).
TreeEnsemble stump_model() {
  TreeEnsemble m;
  m.num_feature = 2;
  m.num_group = 2;
  m.link = Link::Softmax;
  m.objective = "multi:softprob";
  m.base_score = 0.5f;
  m.base_margin = 0.5f;
  m.nodes = {TreeNode{0, 0.0f, -1, -1},                     // tree 0 (benign): a leaf
             TreeNode{0, 0.5f, 2, 3}, TreeNode{0, -2.0f, -1, -1}, TreeNode{0, 2.0f, -1, -1}};
  m.tree_root = {0, 1};
  m.tree_group = {0, 1};
  return m;
}

// Benign rows: both features near 0 (f0 sometimes >= 0.5, so the classifier
// alone would flag some benign rows).
std::vector<double> benign_rows(size_t n, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> d(0.0, 0.3);
  std::vector<double> x;
  for (size_t i = 0; i < 2 * n; ++i) x.push_back(d(g));
  return x;
}

std::vector<uint8_t> guard_bytes(const std::vector<double>& benign, size_t n, double threshold) {
  IsolationForest f = train_iforest(benign.data(), n, 2, 2, 50, 128, 7);
  ArtifactInfo gi;
  gi.feature_names = {"a", "b"};
  gi.thresholds = {threshold};
  std::vector<uint8_t> out;
  std::string err;
  EXPECT_TRUE(build_artifact_iforest(f, gi, out, err)) << err;
  return out;
}

LoadedModel guarded_model(double guard_threshold, double class_threshold) {
  std::vector<double> b = benign_rows(2000, 1);
  ArtifactInfo info;
  info.feature_names = {"a", "b"};
  info.class_names = {"benign", "attack"};
  info.thresholds = {0.5, class_threshold};
  info.guard = guard_bytes(b, 2000, guard_threshold);
  info.calibration.percentile = 99.9;
  info.calibration.files = {"one.pcap", "two.pcap"};
  info.calibration.rows = 30;
  info.calibration.flows = 20;
  info.calibration.guard_fpr = 0.05;
  info.calibration.fpr = 0.0;
  info.calibration.figures = {{"class_fpr.attack", 0.1}};
  std::vector<uint8_t> bytes;
  std::string err;
  EXPECT_TRUE(build_artifact_xgb(stump_model(), info, bytes, err)) << err;
  LoadedModel m;
  EXPECT_TRUE(load_artifact(bytes, m, err)) << err;
  return m;
}

}  // namespace

TEST(Calibration, BudgetIsFloorOfTheTail) {
  EXPECT_EQ(calibration_budget(0, 99.9), 0u);
  EXPECT_EQ(calibration_budget(999, 99.9), 0u);
  EXPECT_EQ(calibration_budget(1000, 99.9), 1u);
  EXPECT_EQ(calibration_budget(10000, 99.9), 10u);
  EXPECT_EQ(calibration_budget(12345, 99.0), 123u);
  EXPECT_EQ(calibration_budget(100, 100.0), 0u);
  EXPECT_EQ(calibration_budget(100, 90.0), 10u);
}

TEST(Calibration, ThresholdsAreTheTightestWithinBudget) {
  std::mt19937_64 g(3);
  for (int trial = 0; trial < 200; ++trial) {
    const size_t n = 1 + g() % 3000;
    const double pct = trial % 2 ? 99.9 : 99.0;
    std::vector<float> hi(n);
    std::vector<double> lo(n);
    for (size_t i = 0; i < n; ++i) {  // coarse values so ties happen
      hi[i] = float(g() % 50) / 50.0f;
      lo[i] = -double(g() % 50) / 50.0;
    }
    const size_t k = calibration_budget(n, pct);
    const float th = threshold_at_least(hi, pct);
    const double tl = threshold_below(lo, pct);
    size_t over = 0, below = 0;
    for (float v : hi) over += v >= th;
    for (double v : lo) below += v < tl;
    EXPECT_LE(over, k);
    EXPECT_LE(below, k);
    // Tightest: one step lower (higher) would exceed the budget, unless no
    // score is left to exclude.
    float lower = std::nextafter(th, -std::numeric_limits<float>::infinity());
    size_t over2 = 0;
    for (float v : hi) over2 += v >= lower;
    if (over2 != over) {
      EXPECT_GT(over2, k);
    }
    double higher = std::nextafter(tl, std::numeric_limits<double>::infinity());
    size_t below2 = 0;
    for (double v : lo) below2 += v < higher;
    if (below2 != below) {
      EXPECT_GT(below2, k);
    }
  }
  EXPECT_TRUE(std::isinf(threshold_at_least({}, 99.9)));
  EXPECT_TRUE(std::isinf(threshold_below({}, 99.9)));
  // All equal: none may alert.
  EXPECT_GT(threshold_at_least(std::vector<float>(5000, 0.7f), 99.9), 0.7f);
  EXPECT_EQ(threshold_below(std::vector<double>(5000, -0.4), 99.9), -0.4);
}

TEST(GuardArtifact, RoundTripKeepsGuardAndCalibration) {
  LoadedModel m = guarded_model(-0.55, 0.6);
  ASSERT_TRUE(m.guard);
  EXPECT_EQ(m.guard->kind, ModelKind::IForest);
  EXPECT_DOUBLE_EQ(m.guard->thresholds[0], -0.55);
  EXPECT_EQ(m.guard->iforest.roots.size(), 50u);
  EXPECT_DOUBLE_EQ(m.calibration.percentile, 99.9);
  EXPECT_EQ(m.calibration.files, (std::vector<std::string>{"one.pcap", "two.pcap"}));
  EXPECT_EQ(m.calibration.rows, 30u);
  EXPECT_EQ(m.calibration.flows, 20u);
  EXPECT_DOUBLE_EQ(m.calibration.guard_fpr, 0.05);
  ASSERT_EQ(m.calibration.figures.size(), 1u);
  // info_of rebuilds the same artifact.
  std::vector<uint8_t> again;
  std::string err;
  ASSERT_TRUE(build_artifact_xgb(m.xgb, info_of(m), again, err)) << err;
  LoadedModel m2;
  ASSERT_TRUE(load_artifact(again, m2, err)) << err;
  EXPECT_EQ(m2.sha256, m.sha256);
}

TEST(GuardArtifact, RefusesBadGuardsAndLoadsUnguardedModels) {
  std::vector<double> b = benign_rows(500, 2);
  ArtifactInfo info;
  info.feature_names = {"a", "b"};
  info.class_names = {"benign", "attack"};
  std::vector<uint8_t> plain, bytes;
  std::string err;
  ASSERT_TRUE(build_artifact_xgb(stump_model(), info, plain, err)) << err;
  LoadedModel m;
  ASSERT_TRUE(load_artifact(plain, m, err)) << err;
  EXPECT_FALSE(m.guard);
  EXPECT_FALSE(m.calibration.present());
  // A guard over other features.
  ArtifactInfo other = info;
  other.guard = guard_bytes(b, 500, -0.5);
  other.feature_names = {"x", "y"};
  EXPECT_FALSE(build_artifact_xgb(stump_model(), other, bytes, err));
  EXPECT_NE(err.find("guard"), std::string::npos) << err;
  // An XGBoost model as a guard.
  ArtifactInfo xg = info;
  xg.guard = plain;
  EXPECT_FALSE(build_artifact_xgb(stump_model(), xg, bytes, err));
  // A corrupt guard.
  ArtifactInfo bad = info;
  bad.guard = guard_bytes(b, 500, -0.5);
  bad.guard[bad.guard.size() / 2] ^= 1;
  EXPECT_FALSE(build_artifact_xgb(stump_model(), bad, bytes, err));
  EXPECT_NE(err.find("checksum"), std::string::npos) << err;
  // A guard that carries a guard.
  ArtifactInfo gg;
  gg.feature_names = {"a", "b"};
  gg.guard = guard_bytes(b, 500, -0.5);
  std::vector<uint8_t> nested;
  ASSERT_TRUE(build_artifact_iforest(train_iforest(b.data(), 500, 2, 2, 10, 64, 1), gg, nested, err)) << err;
  ArtifactInfo outer = info;
  outer.guard = nested;
  EXPECT_FALSE(build_artifact_xgb(stump_model(), outer, bytes, err));
}

TEST(GuardDecision, ClassOnlyWhenUnlikeBenign) {
  LoadedModel m = guarded_model(-0.6, 0.6);
  std::vector<double> x = benign_rows(1000, 9);
  std::mt19937_64 g(4);
  for (int i = 0; i < 300; ++i) {  // outliers, half of them with f0 >= 0.5
    x.push_back(i % 2 ? 3.0 + double(g() % 100) / 10 : -3.0);
    x.push_back(double(g() % 100) / 10 - 5);
  }
  const size_t n = x.size() / 2;
  std::vector<std::string> pred = predict_classes(m, x, n);
  std::vector<float> xf(x.begin(), x.end()), p(n * 2);
  predict_prob(m.xgb, xf.data(), n, 2, p.data());
  std::vector<double> gs(n);
  score_samples(m.guard->iforest, x.data(), n, 2, gs.data());
  size_t vetoed = 0, alerted = 0;
  for (size_t i = 0; i < n; ++i) {
    const bool cls = double(p[i * 2 + 1]) >= 0.6, unlike = gs[i] < -0.6;
    EXPECT_EQ(pred[i], cls && unlike ? "attack" : "benign") << i;
    vetoed += cls && !unlike;
    alerted += cls && unlike;
  }
  EXPECT_GT(vetoed, 10u);   // the guard matters on this data...
  EXPECT_GT(alerted, 100u);  // ...and lets outliers through
}

TEST(GuardCalibrate, StaysWithinBudgetOnItsFlows) {
  LoadedModel m = guarded_model(-0.5, 0.5);
  const size_t n = 4000;
  std::vector<double> x = benign_rows(n, 11);
  std::vector<std::string> flow;
  for (size_t i = 0; i < n; ++i) flow.push_back("f" + std::to_string(i / 2));  // 2 rows per flow
  CalibrationResult r;
  std::string err;
  ASSERT_TRUE(calibrate(m, flow, x, n, 99.5, 99.0, 0.5, r, err)) << err;
  EXPECT_EQ(r.rows, n);
  EXPECT_EQ(r.flows, n / 2);
  EXPECT_LE(r.guard_flows, calibration_budget(n / 2, 99.0));
  EXPECT_GE(r.guard_flows, calibration_budget(n / 2, 99.0) / 2);  // continuous scores: about the budget
  EXPECT_LE(r.alert_flows, r.guard_flows);
  EXPECT_LE(r.alert_flows, calibration_budget(n / 2, 99.5));
  // Independent count of flows whose rows pass both thresholds.
  std::vector<float> xf(x.begin(), x.end()), p(n * 2);
  predict_prob(m.xgb, xf.data(), n, 2, p.data());
  std::vector<double> gs(n);
  score_samples(m.guard->iforest, x.data(), n, 2, gs.data());
  size_t flows = 0;
  for (size_t f = 0; f < n / 2; ++f) {
    bool hit = false;
    for (size_t i = 2 * f; i < 2 * f + 2; ++i)
      hit |= double(p[i * 2 + 1]) >= r.thresholds[1] && gs[i] < r.guard_threshold;
    flows += hit;
  }
  EXPECT_EQ(flows, r.alert_flows);
  EXPECT_GE(r.thresholds[1], 0.5);
  EXPECT_FALSE(calibrate(m, {}, {}, 0, 99.9, 99.0, 0.5, r, err));
}
