// Isolation-forest path contributions, see explain.h.
#include "ml/iforest/explain.h"

namespace spectre::ml {

bool iforest_contributions(const IsolationForest& f, const double* row, double* out) {
  const size_t trees = f.roots.size();
  if (trees == 0) return false;
  const size_t F = f.n_features;
  for (size_t i = 0; i <= F; ++i) out[i] = 0.0;
  const IForestNode* nodes = f.nodes.data();
  double bias = 0.0;
  for (size_t t = 0; t < trees; ++t) {
    const IForestNode* nd = nodes + f.roots[t];
    uint32_t depth = 0;
    double e = nd->feature >= 0 ? iforest_average_path_length(nd->n_samples) : nd->value;
    bias += e;
    while (nd->feature >= 0) {
      const double v = static_cast<double>(static_cast<float>(row[nd->feature]));
      const uint32_t feat = static_cast<uint32_t>(nd->feature);
      nd = nodes + (v <= nd->value ? nd->left : nd->right);
      ++depth;
      const double ec = nd->feature >= 0 ? depth + iforest_average_path_length(nd->n_samples) : nd->value;
      out[feat] += e - ec;
      e = ec;
    }
  }
  const double inv = 1.0 / static_cast<double>(trees);
  for (size_t i = 0; i < F; ++i) out[i] *= inv;
  out[F] = bias * inv;
  return true;
}

size_t top_iforest_features(const IsolationForest& f, const double* row, size_t k, double* work,
                            IForestFeatureContribution* out) {
  if (k > kMaxTopIForestFeatures) k = kMaxTopIForestFeatures;
  if (k == 0 || !iforest_contributions(f, row, work)) return 0;
  size_t n = 0;
  // Increasing feature ids + strict comparison keep ties in id order.
  for (uint32_t i = 0; i < f.n_features; ++i) {
    const double c = work[i];
    if (!(c > 0.0)) continue;
    if (n == k && !(c > out[n - 1].contribution)) continue;
    size_t pos = n < k ? n++ : k - 1;
    while (pos > 0 && c > out[pos - 1].contribution) {
      out[pos] = out[pos - 1];
      --pos;
    }
    out[pos] = IForestFeatureContribution{i, row[i], c};
  }
  return n;
}

}  // namespace spectre::ml
