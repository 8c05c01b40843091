#include "ml/xgb/predict.h"

#include <cmath>

namespace spectre::ml {

static inline float walk(const TreeNode* nodes, uint32_t root, const float* row) {
  const TreeNode* n = nodes + root;
  while (n->left >= 0) {
    const float x = row[n->feature & TreeNode::kFeatureMask];
    // x < thr is false for NaN, so NaN takes the default branch.
    const bool go_left = (x < n->value) || (std::isnan(x) && (n->feature & TreeNode::kDefaultLeft));
    n = nodes + n->left + (go_left ? 0 : 1);  // right == left + 1 (see model.h)
  }
  return n->value;
}

float predict_tree(const TreeEnsemble& m, size_t tree, const float* row) {
  return walk(m.nodes.data(), m.tree_root[tree], row);
}

void predict_margin(const TreeEnsemble& m, const float* rows, size_t nrows, size_t row_stride,
                    float* out) {
  const TreeNode* nodes = m.nodes.data();
  const uint32_t* roots = m.tree_root.data();
  const size_t ntrees = m.tree_root.size();
  const uint32_t G = m.num_group;
  for (size_t r = 0; r < nrows; ++r) {
    const float* row = rows + r * row_stride;
    float* o = out + r * G;
    if (G == 1) {
      float acc = m.base_margin;
      for (size_t t = 0; t < ntrees; ++t) acc += walk(nodes, roots[t], row);
      o[0] = acc;
    } else {
      const uint32_t* group = m.tree_group.data();
      for (uint32_t g = 0; g < G; ++g) o[g] = m.base_margin;
      for (size_t t = 0; t < ntrees; ++t) o[group[t]] += walk(nodes, roots[t], row);
    }
  }
}

void predict_prob(const TreeEnsemble& m, const float* rows, size_t nrows, size_t row_stride,
                  float* out) {
  predict_margin(m, rows, nrows, row_stride, out);
  const uint32_t G = m.num_group;
  const size_t n = nrows * G;
  switch (m.link) {
    case Link::Logistic:
      for (size_t i = 0; i < n; ++i) out[i] = 1.0f / (1.0f + std::exp(-out[i]));
      break;
    case Link::Exp:
      for (size_t i = 0; i < n; ++i) out[i] = std::exp(out[i]);
      break;
    case Link::Hinge:
      for (size_t i = 0; i < n; ++i) out[i] = out[i] > 0.0f ? 1.0f : 0.0f;
      break;
    case Link::Softmax:
      for (size_t r = 0; r < nrows; ++r) {
        float* o = out + r * G;
        float mx = o[0];
        for (uint32_t g = 1; g < G; ++g) mx = o[g] > mx ? o[g] : mx;
        float sum = 0.0f;
        for (uint32_t g = 0; g < G; ++g) { o[g] = std::exp(o[g] - mx); sum += o[g]; }
        for (uint32_t g = 0; g < G; ++g) o[g] /= sum;
      }
      break;
    case Link::Identity:
    case Link::LogitRaw:
      break;
  }
}

}  // namespace spectre::ml
