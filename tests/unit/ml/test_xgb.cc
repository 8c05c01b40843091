// Differential tests of the XGBoost JSON loader and scorer (ml/xgb) against
// libxgboost's C API, on models trained by gen_xgb_models.py at test time.
#include <gtest/gtest.h>
#include <xgboost/c_api.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "ml/json.h"
#include "ml/xgb/model.h"
#include "ml/xgb/predict.h"
#include "tests/unit/ml/xgb_fixtures.h"


namespace spectre::ml {
namespace {

std::string read_file(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

using Rows = testing::FixtureRows;
using testing::read_fixture_csv;

// Models and rows are produced once per process into a temp dir.
class XgbDiff : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dir_ = testing::xgb_fixture_dir(skip_); }
  static void TearDownTestSuite() {
    std::printf("[xgb] max |ours - libxgboost|: margins %.3g, outputs %.3g\n", max_diff_, max_diff_prob_);
  }
  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
  }

  static std::string path(const std::string& name, const char* ext) { return dir_ + "/" + name + ext; }

  // libxgboost predictions, option_mask 1 = margin, 0 = transformed.
  static std::vector<float> reference(const std::string& model, const Rows& x, int mask) {
    BoosterHandle b = nullptr;
    DMatrixHandle dm = nullptr;
    EXPECT_EQ(XGDMatrixCreateFromMat(x.v.data(), x.nrow, x.ncol, NAN, &dm), 0) << XGBGetLastError();
    EXPECT_EQ(XGBoosterCreate(&dm, 1, &b), 0) << XGBGetLastError();
    EXPECT_EQ(XGBoosterLoadModel(b, model.c_str()), 0) << XGBGetLastError();
    bst_ulong len = 0;
    const float* res = nullptr;
    EXPECT_EQ(XGBoosterPredict(b, dm, mask, 0, 0, &len, &res), 0) << XGBGetLastError();
    std::vector<float> out(res, res + len);
    XGBoosterFree(b);
    XGDMatrixFree(dm);
    return out;
  }

  // Loads `name`, scores `x` both ways and compares margins and outputs.
  static void compare(const std::string& name, const Rows& x, size_t expect_groups) {
    TreeEnsemble m;
    std::string err;
    ASSERT_TRUE(load_xgboost_json_file(path(name, ".json"), m, err)) << err;
    ASSERT_EQ(m.num_group, expect_groups);
    ASSERT_LE(m.num_feature, x.ncol);
    const size_t G = m.num_group;
    PackedEnsemble packed;
    pack_ensemble(m, packed);
    // Both scorers: the reference walk and the packed 16-tree form the data plane uses.
    for (int mask : {1, 0, 3, 2}) {  // bit 1: packed
      std::vector<float> ref = reference(path(name, ".json"), x, mask & 1);
      ASSERT_EQ(ref.size(), x.nrow * G);
      std::vector<float> ours(x.nrow * G);
      if (mask == 1) predict_margin(m, x.v.data(), x.nrow, x.ncol, ours.data());
      else if (mask == 0) predict_prob(m, x.v.data(), x.nrow, x.ncol, ours.data());
      else if (mask == 3) predict_margin(packed, x.v.data(), x.nrow, x.ncol, ours.data());
      else predict_prob(packed, x.v.data(), x.nrow, x.ncol, ours.data());
      size_t bad = 0;
      for (size_t i = 0; i < ours.size(); ++i) {
        double d = std::fabs(double(ours[i]) - double(ref[i]));
        double& mx = (mask & 1) ? max_diff_ : max_diff_prob_;
        if (d > mx) mx = d;
        if (!(d <= 1e-5) && bad++ < 5)
          ADD_FAILURE() << name << " mask " << mask << " row " << i / G << " group " << i % G << ": ours "
                        << ours[i] << " libxgboost " << ref[i];
      }
      EXPECT_EQ(bad, 0u) << name;
    }
  }

  static std::string skip_, dir_;
  static double max_diff_, max_diff_prob_;
};
std::string XgbDiff::skip_, XgbDiff::dir_;
double XgbDiff::max_diff_ = 0, XgbDiff::max_diff_prob_ = 0;

TEST_F(XgbDiff, Binary100Depth6) {
  TreeEnsemble m;
  std::string err;
  ASSERT_TRUE(load_xgboost_json_file(path("bin100_d6", ".json"), m, err)) << err;
  EXPECT_EQ(m.num_trees(), 100u);
  EXPECT_EQ(m.objective, "binary:logistic");
  EXPECT_EQ(m.link, Link::Logistic);
  EXPECT_EQ(m.num_feature, 16u);
  EXPECT_LE(m.max_depth, 6u);
  EXPECT_FLOAT_EQ(m.base_margin, 0.0f);  // logit(0.5)
  compare("bin100_d6", read_fixture_csv(path("bin100_d6", ".csv")), 1);
}

TEST_F(XgbDiff, Binary500Depth8BaseScore) {
  TreeEnsemble m;
  std::string err;
  ASSERT_TRUE(load_xgboost_json_file(path("bin500_d8", ".json"), m, err)) << err;
  EXPECT_EQ(m.num_trees(), 500u);
  EXPECT_GE(m.max_depth, 7u);
  EXPECT_NEAR(m.base_margin, std::log(0.3 / 0.7), 1e-6);
  compare("bin500_d8", read_fixture_csv(path("bin500_d8", ".csv")), 1);
}

TEST_F(XgbDiff, MultiSoftprob3) {
  TreeEnsemble m;
  std::string err;
  ASSERT_TRUE(load_xgboost_json_file(path("multi3", ".json"), m, err)) << err;
  EXPECT_EQ(m.num_trees(), 120u);
  for (size_t t = 0; t < m.num_trees(); ++t) EXPECT_EQ(m.tree_group[t], t % 3);
  compare("multi3", read_fixture_csv(path("multi3", ".csv")), 3);
}

TEST_F(XgbDiff, Regression) { compare("reg80", read_fixture_csv(path("reg80", ".csv")), 1); }

TEST_F(XgbDiff, MissingValues) {
  Rows x = read_fixture_csv(path("missing60", ".csv"));
  size_t nans = 0;
  for (float f : x.v) nans += std::isnan(f);
  EXPECT_GT(nans, x.v.size() / 5);
  compare("missing60", x, 1);
}

// Rows whose features sit exactly on split thresholds (and one ulp below, and
// NaN), which pins down '<' versus '<=' and the default direction.
TEST_F(XgbDiff, ThresholdTies) {
  for (const char* name : {"bin100_d6", "missing60", "multi3"}) {
    TreeEnsemble m;
    std::string err;
    ASSERT_TRUE(load_xgboost_json_file(path(name, ".json"), m, err)) << err;
    Rows base = read_fixture_csv(path(name, ".csv"));
    Rows x;
    x.ncol = base.ncol;
    std::mt19937 rng(7);
    for (size_t i = 0; i < m.nodes.size() && x.nrow < 3000; i += 3) {
      const TreeNode& n = m.nodes[i];
      if (n.is_leaf()) continue;
      for (int variant = 0; variant < 3; ++variant) {
        size_t r = rng() % base.nrow;
        std::vector<float> row(base.v.begin() + r * base.ncol, base.v.begin() + (r + 1) * base.ncol);
        row[n.feature_id()] = variant == 0 ? n.value
                              : variant == 1 ? std::nextafter(n.value, -INFINITY)
                                             : NAN;
        x.v.insert(x.v.end(), row.begin(), row.end());
        ++x.nrow;
      }
    }
    ASSERT_GT(x.nrow, 300u);
    compare(name, x, m.num_group);
  }
}

// Structural invariants that make scoring safe whatever file was loaded.
void check_invariants(const TreeEnsemble& m) {
  ASSERT_EQ(m.tree_root.size(), m.tree_group.size());
  for (size_t t = 0; t < m.num_trees(); ++t) ASSERT_LT(m.tree_group[t], m.num_group);
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    const TreeNode& n = m.nodes[i];
    if (n.is_leaf()) continue;
    ASSERT_GT(n.left, static_cast<int32_t>(i));
    ASSERT_EQ(n.right, n.left + 1);
    ASSERT_LT(static_cast<size_t>(n.right), m.nodes.size());
    ASSERT_LT(n.feature_id(), m.num_feature);
  }
}

TEST_F(XgbDiff, TruncatedModelsRefused) {
  const std::string text = read_file(path("multi3", ".json"));
  ASSERT_GT(text.size(), 1000u);
  TreeEnsemble m;
  std::string err;
  ASSERT_TRUE(load_xgboost_json(text, m, err)) << err;
  std::string last = text;
  while (!last.empty() && std::isspace(static_cast<unsigned char>(last.back()))) last.pop_back();
  for (int k = 0; k < 20; ++k) {
    size_t cut = k == 0 ? 0 : k == 19 ? last.size() - 1 : text.size() * k / 19;
    err.clear();
    EXPECT_FALSE(load_xgboost_json(last.substr(0, cut), m, err)) << "cut at " << cut;
    EXPECT_FALSE(err.empty());
    EXPECT_EQ(m.num_trees(), 0u);
  }
}

TEST_F(XgbDiff, FlippedCharactersNeverCrash) {
  const std::string text = read_file(path("bin100_d6", ".json"));
  std::mt19937 rng(11);
  const char subst[] = "x9\"]}[{,:-. 0e";
  int refused = 0, accepted = 0;
  std::vector<float> out(1);
  const float row[16] = {0};
  for (int k = 0; k < 400; ++k) {
    std::string t = text;
    int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) t[rng() % t.size()] = subst[rng() % (sizeof(subst) - 1)];
    TreeEnsemble m;
    std::string err;
    if (load_xgboost_json(t, m, err)) {
      ++accepted;
      check_invariants(m);
      if (m.num_feature <= 16) predict_margin(m, row, 1, 16, out.data());
    } else {
      ++refused;
      EXPECT_EQ(err.rfind("json: ", 0) == 0 || err.rfind("xgboost model: ", 0) == 0, true) << err;
    }
  }
  EXPECT_GT(refused, 200);
  std::printf("[xgb] corrupted models: %d refused, %d still valid\n", refused, accepted);
}

// Hand-made inconsistent models must be refused with a clear message.
TEST(XgbLoad, InconsistentModelsRefused) {
  auto model = [](const std::string& tree, const std::string& objective = "binary:logistic",
                  const std::string& info = "[0]") {
    return R"({"learner":{"learner_model_param":{"base_score":"5E-1","num_class":"0","num_feature":"3"},)"
           R"("objective":{"name":")" + objective + R"("},"gradient_booster":{"name":"gbtree","model":{)"
           R"("tree_info":)" + info + R"(,"trees":[)" + tree + "]}}}}";
  };
  auto tree = [](const std::string& l, const std::string& r, const std::string& f = "[2,0,0]",
                 const std::string& n = "3") {
    return R"({"tree_param":{"num_nodes":")" + n + R"("},"left_children":)" + l + R"(,"right_children":)" + r +
           R"(,"split_indices":)" + f + R"(,"split_conditions":[0.5,-1.0,1.0],"default_left":[1,0,0]})";
  };
  TreeEnsemble m;
  std::string err;
  ASSERT_TRUE(load_xgboost_json(model(tree("[1,-1,-1]", "[2,-1,-1]")), m, err)) << err;
  ASSERT_EQ(m.nodes.size(), 3u);
  float rows[4][3] = {{0, 0, 0.4f}, {0, 0, 0.5f}, {0, 0, NAN}, {0, 0, 7}};
  float out[4];
  predict_margin(m, &rows[0][0], 4, 3, out);
  EXPECT_EQ(out[0], -1.0f);
  EXPECT_EQ(out[1], 1.0f);   // x == threshold goes right
  EXPECT_EQ(out[2], -1.0f);  // NaN follows default_left
  EXPECT_EQ(out[3], 1.0f);
  EXPECT_EQ(predict_tree(m, 0, rows[0]), -1.0f);

  struct Case { std::string text, expect; } cases[] = {
      {model(tree("[1,-1,-1]", "[5,-1,-1]")), "out of range"},
      {model(tree("[1,-1,-1]", "[1,-1,-1]")), "reached twice"},
      {model(tree("[1,0,-1]", "[2,2,-1]")), "reached twice"},
      {model(tree("[1,-1]", "[2,-1,-1]")), "disagree"},
      {model(tree("[1,-1,-1]", "[2,-1,-1]", "[2,0,0]", "4")), "disagree"},
      {model(tree("[1,-1,-1]", "[2,-1,-1]", "[3,0,0]")), "split feature 3 out of range"},
      {model(tree("[1,5,-1]", "[2,-1,-1]")), "one child"},
      {model(tree("[1,-1,-1]", "[2,-1,-1]"), "reg:madeup"), "unsupported objective"},
      {model(tree("[1,-1,-1]", "[2,-1,-1]"), "binary:logistic", "[1]"), "tree_info"},
      {model(tree("[1,-1,-1]", "[2,-1,-1]"), "binary:logistic", "[0,0]"), "tree_info"},
      {model(tree("[1.5,-1,-1]", "[2,-1,-1]")), "non-integer"},
      {model(R"({"tree_param":{"num_nodes":"1"}})"), "missing field 'left_children'"},
      {"{\"learner\":" + std::string(200, '[') + std::string(200, ']') + "}", "too deep"},
      {R"({"learner":"\q"})", "bad escape"},
      {"", "unexpected end"},
      {"{} x", "trailing"},
  };
  for (const auto& c : cases) {
    err.clear();
    EXPECT_FALSE(load_xgboost_json(c.text, m, err)) << c.text;
    EXPECT_NE(err.find(c.expect), std::string::npos) << "got: " << err << "\nwant: " << c.expect;
    EXPECT_EQ(m.nodes.size(), 0u);
  }
}

TEST(XgbJson, ParsesValuesAndEscapes) {
  json::Doc d;
  std::string err;
  const std::string text = R"( {"a": [1, -2.5e1, true, null, "x\"\u00e9"], "b": {}, "c": [], "d": NaN} )";
  ASSERT_TRUE(d.parse(text, err)) << err;
  uint32_t a = d.find(d.root(), "a");
  ASSERT_NE(a, json::kNone);
  ASSERT_EQ(d.size(a), 5u);
  uint32_t e = d.first(a);
  int64_t i;
  float f;
  ASSERT_TRUE(d.to_int(e, i));
  EXPECT_EQ(i, 1);
  e = d.next(e);
  ASSERT_TRUE(d.to_float(e, f));
  EXPECT_EQ(f, -25.0f);
  EXPECT_FALSE(d.to_int(e, i));
  e = d.next(e);
  EXPECT_EQ(d.type(e), json::Type::Bool);
  e = d.next(e);
  EXPECT_EQ(d.type(e), json::Type::Null);
  e = d.next(e);
  EXPECT_EQ(d.str(e), "x\"\xc3\xa9");
  EXPECT_EQ(d.next(e), json::kNone);
  EXPECT_EQ(d.size(d.find(d.root(), "b")), 0u);
  EXPECT_EQ(d.first(d.find(d.root(), "c")), json::kNone);
  ASSERT_TRUE(d.to_float(d.find(d.root(), "d"), f));
  EXPECT_TRUE(std::isnan(f));
  EXPECT_EQ(d.find(d.root(), "zz"), json::kNone);
  for (const char* bad : {"[1,]", "{\"a\" 1}", "01", "1.", "-", "[1 2]", "\"abc", "\"a\nb\"", "tru",
                          "{\"a\":1,}", "\"\\u12g4\"", "1e"}) {
    EXPECT_FALSE(d.parse(bad, err)) << bad;
  }
}

}  // namespace
}  // namespace spectre::ml
