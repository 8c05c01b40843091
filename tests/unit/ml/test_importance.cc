#include <gtest/gtest.h>

#include "ml/importance.h"

using namespace spectre::ml;

namespace {
TreeNode split(uint32_t f, int32_t left) {
  TreeNode n;
  n.feature = f;
  n.left = left;
  n.right = left + 1;
  return n;
}
TreeNode leaf() { return TreeNode{}; }

// One tree: root on feature 2 (cover 10), its left child on feature 0 (cover 6).
LoadedModel two_split_model(bool covers) {
  LoadedModel m;
  m.kind = ModelKind::XGBoost;
  m.num_features = 3;
  m.feature_names = {"a", "b", "c"};
  m.xgb.nodes = {split(2, 1), split(0, 3), leaf(), leaf(), leaf()};
  m.xgb.tree_root = {0};
  m.xgb.tree_group = {0};
  m.xgb.num_feature = 3;
  if (covers) {
    m.xgb.cover = {10, 6, 4, 3, 3};
    m.xgb.node_mean = {0, 0, 0, 0, 0};
  }
  return m;
}
}  // namespace

TEST(MlImportance, XgbCoverImportanceIsNormalisedAndSorted) {
  Importance im = model_importance(two_split_model(true));
  EXPECT_EQ(im.method, "total_cover");
  ASSERT_EQ(im.features.size(), 2u);  // "b" never splits: left out
  EXPECT_EQ(im.features[0].first, "c");
  EXPECT_DOUBLE_EQ(im.features[0].second, 10.0 / 16.0);
  EXPECT_EQ(im.features[1].first, "a");
  EXPECT_DOUBLE_EQ(im.features[1].second, 6.0 / 16.0);
}

TEST(MlImportance, XgbWithoutCoversCountsSplits) {
  Importance im = model_importance(two_split_model(false));
  EXPECT_EQ(im.method, "weight");
  ASSERT_EQ(im.features.size(), 2u);
  EXPECT_DOUBLE_EQ(im.features[0].second, 0.5);
  EXPECT_DOUBLE_EQ(im.features[1].second, 0.5);
}

TEST(MlImportance, IForestCountsSplitsAndIgnoresLeaves) {
  LoadedModel m;
  m.kind = ModelKind::IForest;
  m.num_features = 2;
  m.feature_names = {"x", "y"};
  IForestNode a, b, c, l;
  a.feature = 1;
  b.feature = 1;
  c.feature = 0;
  m.iforest.nodes = {a, b, c, l, l};
  Importance im = model_importance(m);
  ASSERT_EQ(im.features.size(), 2u);
  EXPECT_EQ(im.features[0].first, "y");
  EXPECT_NEAR(im.features[0].second, 2.0 / 3.0, 1e-12);
}

TEST(MlImportance, EmptyModelHasNoFeatures) {
  LoadedModel m;
  m.num_features = 4;
  EXPECT_TRUE(model_importance(m).features.empty());
}
