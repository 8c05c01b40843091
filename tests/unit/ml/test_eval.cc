// spectre-ml eval: per-flow aggregation on hand-made rows with every figure
// worked out by hand, and the alert decision of XGBoost (binary and
// multi-class) and isolation-forest models against an independent rule.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "ml/eval.h"
#include "ml/iforest/iforest.h"
#include "ml/xgb/predict.h"

using namespace spectre::ml;

namespace {

// A: scan (true class from its last row), B, D: benign, C, E: brute.
std::vector<EvalRow> hand_rows() {
  auto r = [](const char* f, const char* ph, double ts, const char* label, const char* pred) {
    return EvalRow{f, ph, ts, label, pred};
  };
  return {
      r("A", "k4", 1, "benign", "benign"), r("A", "k16", 2, "scan", "scan"), r("A", "end", 3, "scan", "benign"),
      r("B", "k4", 1, "benign", "scan"),   r("B", "end", 2, "benign", "benign"),
      r("C", "end", 7, "brute", "scan"),
      r("D", "end", 1, "benign", "benign"),
      r("E", "k4", 5, "brute", "brute"),   r("E", "k16", 4, "brute", "scan"),  // earlier row, later in file
  };
}

const ClassFigures* find(const EvalResult& r, const std::string& name) {
  for (const auto& c : r.classes)
    if (c.name == name) return &c;
  return nullptr;
}

}  // namespace

TEST(EvalAggregate, AnyPhase) {
  const EvalResult r = aggregate_eval(hand_rows(), "any", "benign", {"benign", "scan", "brute"});
  EXPECT_EQ(r.rows_total, 9u);
  EXPECT_EQ(r.rows_used, 9u);
  EXPECT_EQ(r.rows_alerted, 5u);
  EXPECT_EQ(r.flows, 5u);
  ASSERT_EQ(r.classes.size(), 2u);
  const ClassFigures* brute = find(r, "brute");
  const ClassFigures* scan = find(r, "scan");
  ASSERT_TRUE(brute && scan);
  EXPECT_EQ(brute->flows, 2u);
  EXPECT_EQ(brute->tp, 2u);
  EXPECT_EQ(brute->fn, 0u);
  EXPECT_EQ(brute->exact, 0u);  // C flagged as scan; E's earliest alert (ts 4) says scan
  EXPECT_DOUBLE_EQ(brute->tpr, 1.0);
  EXPECT_EQ(scan->flows, 1u);
  EXPECT_EQ(scan->tp, 1u);
  EXPECT_EQ(scan->exact, 1u);
  EXPECT_EQ(r.all_attacks.flows, 3u);
  EXPECT_EQ(r.all_attacks.tp, 3u);
  EXPECT_EQ(r.benign_flows, 2u);
  EXPECT_EQ(r.fp, 1u);
  EXPECT_EQ(r.tn, 1u);
  EXPECT_DOUBLE_EQ(r.fpr, 0.5);
  EXPECT_EQ(r.exact_correct, 2u);  // A and D
  EXPECT_DOUBLE_EQ(r.exact_accuracy, 0.4);
  EXPECT_EQ(r.true_classes, (std::vector<std::string>{"benign", "brute", "scan"}));
  EXPECT_EQ(r.pred_classes, (std::vector<std::string>{"benign", "scan", "brute"}));
  const std::vector<std::vector<size_t>> want = {{3, 1, 0}, {0, 2, 1}, {1, 1, 0}};
  EXPECT_EQ(r.counts, want);
  const std::string j = eval_json(r);
  EXPECT_NE(j.find("\"benign\":{\"flows\":2,\"FP\":1,\"TN\":1,\"FPR\":0.5}"), std::string::npos) << j;
  EXPECT_NE(j.find("\"brute\":{\"flows\":2,\"TP\":2,\"FN\":0,\"TPR\":1,\"exact\":0}"), std::string::npos) << j;
  EXPECT_NE(j.find("\"counts\":[[3,1,0],[0,2,1],[1,1,0]]"), std::string::npos) << j;
  const std::string t = eval_table(r);
  EXPECT_NE(t.find("all attacks"), std::string::npos) << t;
}

TEST(EvalAggregate, PhaseFilter) {
  // k4: A (scan, its k4 row did not alert: FN), B (FP), E (brute, TP exact); C, D have no k4 row.
  const EvalResult r = aggregate_eval(hand_rows(), "k4", "benign", {"scan", "brute"});
  EXPECT_EQ(r.rows_used, 3u);
  EXPECT_EQ(r.flows, 3u);
  const ClassFigures* scan = find(r, "scan");
  const ClassFigures* brute = find(r, "brute");
  ASSERT_TRUE(scan && brute);
  EXPECT_EQ(scan->fn, 1u);
  EXPECT_DOUBLE_EQ(scan->tpr, 0.0);
  EXPECT_EQ(brute->tp, 1u);
  EXPECT_EQ(brute->exact, 1u);
  EXPECT_EQ(r.fp, 1u);
  EXPECT_EQ(r.tn, 0u);
  EXPECT_DOUBLE_EQ(r.fpr, 1.0);
  EXPECT_EQ(r.exact_correct, 1u);
  // Row-level: the k4 rows' own labels (A's k4 row is benign).
  EXPECT_EQ(r.true_classes, (std::vector<std::string>{"benign", "brute"}));
  // end: A FN, B TN, C TP (as scan), D TN; E has no end row.
  const EvalResult e = aggregate_eval(hand_rows(), "end", "benign", {"scan", "brute"});
  EXPECT_EQ(e.flows, 4u);
  EXPECT_EQ(e.all_attacks.tp, 1u);
  EXPECT_EQ(e.all_attacks.fn, 1u);
  EXPECT_EQ(e.fp, 0u);
  EXPECT_EQ(e.tn, 2u);
  // No row in the phase: nothing counted, rates undefined.
  const EvalResult n = aggregate_eval(hand_rows(), "k32", "benign", {});
  EXPECT_EQ(n.flows, 0u);
  EXPECT_TRUE(std::isnan(n.fpr));
  EXPECT_TRUE(std::isnan(n.all_attacks.tpr));
  EXPECT_NE(eval_json(n).find("\"FPR\":null"), std::string::npos);
}

namespace {

std::string xgb_tree(int feature, float left, float right) {
  return R"({"tree_param":{"num_nodes":"3"},"left_children":[1,-1,-1],"right_children":[2,-1,-1],)"
         R"("split_indices":[)" + std::to_string(feature) + R"(,0,0],"split_conditions":[0.5,)" +
         std::to_string(left) + "," + std::to_string(right) + R"(],"default_left":[1,0,0]})";
}

std::string xgb_model(const std::string& objective, int num_class, const std::string& info,
                      const std::string& trees) {
  return R"({"learner":{"learner_model_param":{"base_score":"5E-1","num_class":")" + std::to_string(num_class) +
         R"(","num_feature":"3"},"objective":{"name":")" + objective +
         R"("},"gradient_booster":{"name":"gbtree","model":{"tree_info":)" + info + R"(,"trees":[)" + trees +
         "]}}}}";
}

}  // namespace

TEST(EvalPredict, XgbBinaryThreshold) {
  LoadedModel m;
  std::string err;
  ASSERT_TRUE(load_xgboost_json(xgb_model("binary:logistic", 0, "[0]", xgb_tree(0, -1, 1)), m.xgb, err)) << err;
  m.kind = ModelKind::XGBoost;
  m.num_features = 3;
  m.class_names = {"benign", "scan"};
  const std::vector<double> x = {0.4, 0, 0, 0.6, 0, 0, NAN, 0, 0};
  std::vector<float> xf(x.begin(), x.end()), p(3);
  predict_prob(m.xgb, xf.data(), 3, 3, p.data());
  m.thresholds = {0.5};
  EXPECT_EQ(predict_classes(m, x, 3), (std::vector<std::string>{"benign", "scan", "benign"}));  // NaN goes left
  m.thresholds = {static_cast<double>(p[1])};  // probability == threshold alerts
  EXPECT_EQ(predict_classes(m, x, 3)[1], "scan");
  m.thresholds = {std::nextafter(static_cast<double>(p[1]), 1.0)};
  EXPECT_EQ(predict_classes(m, x, 3)[1], "benign");
  m.thresholds = {0.1};
  EXPECT_EQ(predict_classes(m, x, 3), (std::vector<std::string>{"scan", "scan", "scan"}));
  m.class_names = {"attack"};  // one name: that is the positive class
  EXPECT_EQ(predict_classes(m, x, 3, "benign")[0], "attack");
  EXPECT_EQ(alert_classes(m, "benign"), std::vector<std::string>{"attack"});
}

TEST(EvalPredict, XgbMultiClassAgainstIndependentRule) {
  LoadedModel m;
  std::string err;
  const std::string trees = xgb_tree(0, 2, -2) + "," + xgb_tree(1, -1, 1) + "," + xgb_tree(2, -1, 1.5f);
  ASSERT_TRUE(load_xgboost_json(xgb_model("multi:softprob", 3, "[0,1,2]", trees), m.xgb, err)) << err;
  m.kind = ModelKind::XGBoost;
  m.num_features = 3;
  m.class_names = {"benign", "scan", "brute"};
  EXPECT_EQ(alert_classes(m, "benign"), (std::vector<std::string>{"scan", "brute"}));
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  const size_t n = 400;
  std::vector<double> x(n * 3);
  for (auto& v : x) v = u(rng) < 0.1 ? NAN : u(rng);
  std::vector<float> xf(x.begin(), x.end()), p(n * 3);
  predict_prob(m.xgb, xf.data(), n, 3, p.data());
  size_t alerts[3] = {0, 0, 0};
  for (const std::vector<double>& thr : {std::vector<double>{0.5, 0.3, 0.3}, std::vector<double>{0.01, 0.6, 0.2},
                                         std::vector<double>{0.9, 0.9, 0.9}}) {
    m.thresholds = thr;
    const std::vector<std::string> got = predict_classes(m, x, n);
    for (size_t i = 0; i < n; ++i) {
      // Independent rule: attack outputs (1, 2) at or above their threshold; the larger wins.
      const float* q = &p[i * 3];
      std::string want = "benign";
      const bool s = q[1] >= thr[1], b = q[2] >= thr[2];
      if (s && b) want = q[2] > q[1] ? "brute" : "scan";
      else if (s) want = "scan";
      else if (b) want = "brute";
      ASSERT_EQ(got[i], want) << "row " << i;
      alerts[want == "benign" ? 0 : want == "scan" ? 1 : 2]++;
    }
  }
  // The rows exercise every outcome.
  EXPECT_GT(alerts[0], 0u);
  EXPECT_GT(alerts[1], 0u);
  EXPECT_GT(alerts[2], 0u);
  // A benign class under another name: passed as `benign`.
  m.class_names = {"0", "1", "2"};
  m.thresholds = {0.0, 2.0, 2.0};  // only class "0" reaches its threshold: no alert with benign "0"
  EXPECT_EQ(predict_classes(m, x, 4, "0"), (std::vector<std::string>(4, "0")));
}

TEST(EvalPredict, IForestBelowThreshold) {
  std::mt19937 rng(3);
  std::normal_distribution<double> g(0, 1);
  const size_t n = 300, nf = 2;
  std::vector<double> x(n * nf);
  for (size_t i = 0; i < n; ++i) {
    const bool out = i % 10 == 0;  // 10% scattered far outliers
    x[i * nf] = out ? 10 + 5 * std::abs(g(rng)) : g(rng);
    x[i * nf + 1] = out ? -10 - 5 * std::abs(g(rng)) : g(rng);
  }
  LoadedModel m;
  m.kind = ModelKind::IForest;
  m.iforest = train_iforest(x.data(), n, nf, nf, 50, 64, 1);
  ASSERT_FALSE(m.iforest.roots.empty());
  m.num_features = nf;
  m.class_names = {"anomaly"};
  std::vector<double> s(n);
  score_samples(m.iforest, x.data(), n, nf, s.data());
  for (double thr : {m.iforest.offset, -0.6, -0.45}) {
    m.thresholds = {thr};
    const std::vector<std::string> got = predict_classes(m, x, n);
    size_t outliers_flagged = 0;
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(got[i], s[i] < thr ? "anomaly" : "benign") << i;
      outliers_flagged += got[i] == "anomaly" && i % 10 == 0;
    }
    if (thr == m.iforest.offset) {
      EXPECT_EQ(outliers_flagged, n / 10);  // obvious outliers all caught
    }
  }
  EXPECT_EQ(alert_classes(m, "benign"), std::vector<std::string>{"anomaly"});
}
