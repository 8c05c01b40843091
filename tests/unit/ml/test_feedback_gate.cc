// Feedback lines (parsing, bad lines counted), FP rates per rule and class,
// row labels from verdicts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include "ml/artifact.h"
#include "ml/feedback.h"

using namespace spectre::ml;

TEST(Feedback, ParseCountsBadLinesAndRates) {
  FeedbackSet fb;
  parse_feedback(
      "{\"flow_id\":\"11\",\"sid\":9000001,\"gid\":9000,\"class\":\"c2\",\"verdict\":\"false_positive\",\"reason\":\"benign_app\"}\n"
      "{\"flow_id\":12,\"sid\":9000001,\"gid\":9000,\"class\":\"c2\",\"verdict\":\"true_positive\"}\n"
      "\n"
      "not json\n"
      "{\"flow_id\":\"13\",\"verdict\":\"maybe\"}\n"
      "{\"flow_id\":\"14\",\"sid\":2001,\"gid\":1,\"signature\":\"ET X\",\"verdict\":\"false_positive\"}\n"
      "{\"flow_id\":\"15\",\"sid\":9000001,\"gid\":9000,\"class\":\"c2\",\"label\":\"web\",\"verdict\":\"true_positive\"}\n"
      "[1,2]\n",
      fb);
  ASSERT_EQ(fb.items.size(), 4u);
  EXPECT_EQ(fb.bad_lines, 3u);
  ASSERT_EQ(fb.problems.size(), 3u);
  EXPECT_NE(fb.problems[0].find("line 4"), std::string::npos) << fb.problems[0];
  EXPECT_EQ(fb.items[1].flow_id, "12");  // numbers accepted
  auto j = nlohmann::json::parse(feedback_rates_json(fb));
  ASSERT_EQ(j["rules"].size(), 2u);
  // sorted by fp count (ties keep gid:sid order)
  EXPECT_EQ(j["rules"][0]["sid"], 2001);
  EXPECT_EQ(j["rules"][0]["fp_rate"], 1.0);
  EXPECT_EQ(j["rules"][1]["tp"], 2);
  EXPECT_EQ(j["rules"][1]["fp"], 1);
  EXPECT_NEAR(j["rules"][1]["fp_rate"].get<double>(), 1.0 / 3, 1e-12);
  ASSERT_EQ(j["classes"].size(), 1u);
  EXPECT_EQ(j["classes"][0]["class"], "c2");
  EXPECT_EQ(j["total"]["fp"], 2);
  EXPECT_EQ(j["bad_lines"], 3);
  auto labels = feedback_labels(fb, "benign");
  EXPECT_EQ(labels["11"], "benign");
  EXPECT_EQ(labels["12"], "c2");
  EXPECT_EQ(labels["15"], "web");  // the analyst's label over the model's class
  EXPECT_EQ(labels["14"], "benign");
}

TEST(Feedback, LaterVerdictWins) {
  FeedbackSet fb;
  parse_feedback("{\"flow_id\":\"1\",\"class\":\"a\",\"verdict\":\"true_positive\"}\n"
                 "{\"flow_id\":\"1\",\"class\":\"a\",\"verdict\":\"false_positive\"}\n"
                 "{\"flow_id\":\"2\",\"verdict\":\"true_positive\"}\n",  // no class: no label
                 fb);
  auto labels = feedback_labels(fb, "benign");
  EXPECT_EQ(labels.size(), 1u);
  EXPECT_EQ(labels["1"], "benign");
  std::string err;
  FeedbackSet none;
  EXPECT_FALSE(read_feedback("/nonexistent/fb.jsonl", none, err));
  EXPECT_NE(err.find("cannot read"), std::string::npos);
}

// ---- gates

#include <cstdio>
#include <fstream>

#include "ml/gate.h"

namespace {

// `m` over features a, b with `classes`, built into an artifact and loaded back.
LoadedModel loaded(const TreeEnsemble& m, std::vector<std::string> classes) {
  ArtifactInfo info;
  info.feature_names = {"a", "b"};
  info.class_names = std::move(classes);
  std::vector<uint8_t> bytes;
  std::string err;
  EXPECT_TRUE(build_artifact_xgb(m, info, bytes, err)) << err;
  LoadedModel out;
  EXPECT_TRUE(load_artifact(bytes, out, err)) << err;
  return out;
}

// Two features a, b; classes benign / attack (softmax): P(attack) high when a >= 0.5.
LoadedModel stump(float split) {
  TreeEnsemble m;
  m.num_feature = 2;
  m.num_group = 2;
  m.link = Link::Softmax;
  m.objective = "multi:softprob";
  m.base_score = 0.5f;
  m.nodes = {TreeNode{0, 0.0f, -1, -1}, TreeNode{0, split, 2, 3}, TreeNode{0, -2.0f, -1, -1}, TreeNode{0, 2.0f, -1, -1}};
  m.tree_root = {0, 1};
  m.tree_group = {0, 1};
  return loaded(m, {"benign", "attack"});
}

// Classes benign / attack / scan: attack as stump(0.5), scan never likely.
LoadedModel stump3() {
  TreeEnsemble m;
  m.num_feature = 2;
  m.num_group = 3;
  m.link = Link::Softmax;
  m.objective = "multi:softprob";
  m.base_score = 0.5f;
  m.nodes = {TreeNode{0, 0.0f, -1, -1}, TreeNode{0, 0.5f, 2, 3}, TreeNode{0, -2.0f, -1, -1},
             TreeNode{0, 2.0f, -1, -1}, TreeNode{0, -2.0f, -1, -1}};
  m.tree_root = {0, 1, 4};
  m.tree_group = {0, 1, 2};
  return loaded(m, {"benign", "attack", "scan"});
}

}  // namespace

// A per-class limit for a class the model names but the hold-out (in the phase
// judged) lacks is a failing check: its detection was not verified.
TEST(Gates, ConfiguredClassLimitWithoutHoldoutFlowsFails) {
  const std::string path = "/tmp/gate-test3-" + std::to_string(::getpid()) + ".csv";
  {
    std::ofstream f(path);
    f << "flow_id,phase,a,b,label\n";
    for (int i = 0; i < 20; ++i) f << i << ",end,0.1,0,benign\n";
    for (int i = 20; i < 30; ++i) f << i << ",end,0.9,0,attack\n";  // no scan flow
  }
  const LoadedModel m = stump3();
  GateConfig cfg;
  GateReport r;
  std::string err;
  ASSERT_TRUE(run_gates(m, nullptr, {path}, cfg, r, err)) << err;
  EXPECT_TRUE(r.passed());  // scan not in the hold-out and no limit for it: not judged
  cfg.class_tpr["scan"] = 0.5;
  ASSERT_TRUE(run_gates(m, nullptr, {path}, cfg, r, err)) << err;
  EXPECT_EQ(r.failed(), (std::vector<std::string>{"tpr.scan"}));
  EXPECT_NE(r.checks.back().detail.find("no hold-out flow of this class in phase any"), std::string::npos);
  cfg.require_tpr = false;
  ASSERT_TRUE(run_gates(m, nullptr, {path}, cfg, r, err)) << err;
  EXPECT_TRUE(r.passed());
  std::remove(path.c_str());
}

TEST(Gates, FprTprAgreementOnHoldoutFlows) {
  const std::string path = "/tmp/gate-test-" + std::to_string(::getpid()) + ".csv";
  {
    std::ofstream f(path);
    f << "flow_id,phase,a,b,label\n";
    for (int i = 0; i < 100; ++i) f << i << ",end," << (i < 2 ? 0.7 : 0.1) << ",0,benign\n";  // 2 FPs at split 0.5
    for (int i = 100; i < 120; ++i) f << i << ",end," << (i < 110 ? 0.9 : 0.6) << ",0,attack\n";
    for (int i = 120; i < 130; ++i) f << i << ",end,0.0,0,scan\n";  // a class the model does not name
  }
  LoadedModel a = stump(0.5f), b = stump(0.8f);
  GateConfig cfg;
  cfg.max_benign_fpr = 0.05;
  cfg.min_tpr = 0.9;
  cfg.min_agreement = 0.9;
  GateReport r;
  std::string err;
  ASSERT_TRUE(run_gates(a, nullptr, {path}, cfg, r, err)) << err;
  ASSERT_EQ(r.checks.size(), 2u);  // benign_fpr, tpr.attack (no tpr.scan, no agreement)
  EXPECT_EQ(r.checks[0].name, "benign_fpr");
  EXPECT_DOUBLE_EQ(r.checks[0].value, 0.02);
  EXPECT_TRUE(r.checks[0].passed);
  EXPECT_EQ(r.checks[1].name, "tpr.attack");
  EXPECT_DOUBLE_EQ(r.checks[1].value, 1.0);
  EXPECT_TRUE(r.passed());
  // b (split 0.8) misses the attack flows at 0.6 and the 2 benign ones at 0.7: TPR 0.5 fails,
  // and it disagrees with a on 12 of 130 flows.
  ASSERT_TRUE(run_gates(b, &a, {path}, cfg, r, err)) << err;
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.failed(), (std::vector<std::string>{"tpr.attack"}));
  EXPECT_NEAR(r.agreement, 118.0 / 130, 1e-12);
  EXPECT_EQ(r.agreement_flows, 130u);
  cfg.class_tpr["attack"] = 0.5;
  cfg.min_agreement = 0.95;
  ASSERT_TRUE(run_gates(b, &a, {path}, cfg, r, err)) << err;
  EXPECT_EQ(r.failed(), (std::vector<std::string>{"agreement"}));
  auto j = nlohmann::json::parse(gate_report_json(r));
  EXPECT_FALSE(j["passed"].get<bool>());
  EXPECT_EQ(j["candidate"]["fp"], 0);
  EXPECT_EQ(j["active"]["fp"], 2);
  // The same capture twice: flow ids of different files never merge.
  ASSERT_TRUE(run_gates(a, nullptr, {path, path}, cfg, r, err)) << err;
  EXPECT_EQ(r.candidate.benign_flows, 200u);
  // Hold-out rows without a class the model names: detection not verified.
  const std::string benign_only = path + ".benign";
  {
    std::ofstream f(benign_only);
    f << "flow_id,phase,a,b,label\n1,end,0.1,0,benign\n2,end,0.0,0,scan\n";
  }
  ASSERT_TRUE(run_gates(a, nullptr, {benign_only}, cfg, r, err)) << err;
  EXPECT_EQ(r.failed(), (std::vector<std::string>{"tpr"}));
  cfg.require_tpr = false;
  ASSERT_TRUE(run_gates(a, nullptr, {benign_only}, cfg, r, err)) << err;
  EXPECT_TRUE(r.passed());
  std::remove(benign_only.c_str());
  EXPECT_FALSE(run_gates(a, nullptr, {}, cfg, r, err));
  EXPECT_FALSE(run_gates(a, nullptr, {"/nonexistent.csv"}, cfg, r, err));
  std::remove(path.c_str());
}
