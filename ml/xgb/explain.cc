// Saabas path contributions (libxgboost's approx pred_contribs), see explain.h.
#include "ml/xgb/explain.h"

#include <cmath>

namespace spectre::ml {
namespace {

// Per-tree sums are kept in a small stack table (one slot per distinct split
// feature on the path) so that they are rounded as libxgboost rounds its
// per-tree vector. Paths longer than this add straight into the output, which
// may differ from libxgboost in the last bits only.
constexpr size_t kPathSlots = 64;

inline bool go_left(const TreeNode& n, float x) {
  return (x < n.value) || (std::isnan(x) && n.default_left());
}

// Adds tree `t`'s contributions for `row` onto out[0..num_feature] (bias last).
void add_tree(const TreeEnsemble& m, size_t t, const float* row, float* out) {
  const TreeNode* nodes = m.nodes.data();
  const float* mean = m.node_mean.data();
  uint32_t feat[kPathSlots];
  float sum[kPathSlots];
  size_t used = 0;
  auto credit = [&](uint32_t f, float d) {
    for (size_t s = 0; s < used; ++s)
      if (feat[s] == f) { sum[s] += d; return; }
    if (used < kPathSlots) { feat[used] = f; sum[used++] = d; return; }
    out[f] += d;
  };
  size_t nid = m.tree_root[t];
  float node_value = mean[nid];
  uint32_t split = 0;
  while (!nodes[nid].is_leaf()) {
    const TreeNode& n = nodes[nid];
    split = n.feature_id();
    nid = static_cast<size_t>(n.left) + (go_left(n, row[split]) ? 0 : 1);
    const float new_value = mean[nid];
    credit(split, new_value - node_value);
    node_value = new_value;
  }
  // libxgboost also credits leaf - mean(leaf) (zero by construction) to the last split.
  if (nid != m.tree_root[t]) credit(split, nodes[nid].value - node_value);
  out[m.num_feature] += mean[m.tree_root[t]];
  for (size_t s = 0; s < used; ++s) out[feat[s]] += sum[s];
}

}  // namespace

bool contributions_approx_group(const TreeEnsemble& m, const float* row, uint32_t group, float* out) {
  if (!m.has_covers() || group >= m.num_group) return false;
  const size_t F = m.num_feature;
  for (size_t f = 0; f <= F; ++f) out[f] = 0.0f;
  for (size_t t = 0; t < m.tree_root.size(); ++t)
    if (m.tree_group[t] == group) add_tree(m, t, row, out);
  out[F] += m.base_margin;
  return true;
}

bool contributions_approx(const TreeEnsemble& m, const float* row, float* out) {
  if (!m.has_covers()) return false;
  const size_t stride = static_cast<size_t>(m.num_feature) + 1;
  for (uint32_t g = 0; g < m.num_group; ++g) contributions_approx_group(m, row, g, out + g * stride);
  return true;
}

size_t top_contributions(const TreeEnsemble& m, const float* row, uint32_t group, size_t k, float* work,
                         FeatureContribution* out) {
  if (k > kMaxTopContributions) k = kMaxTopContributions;
  const size_t stride = static_cast<size_t>(m.num_feature) + 1;
  if (k == 0 || group >= m.num_group) return 0;
  float* c = work + group * stride;
  if (!contributions_approx_group(m, row, group, c)) return 0;
  size_t n = 0;
  // Features are visited in increasing id, so an equal |contribution| never
  // overtakes an earlier (lower) id: insertion uses a strict comparison.
  for (uint32_t f = 0; f < m.num_feature; ++f) {
    const float a = std::fabs(c[f]);
    if (!(a > 0.0f)) continue;
    if (n == k && !(a > std::fabs(out[n - 1].contribution))) continue;
    size_t pos = n < k ? n++ : k - 1;
    while (pos > 0 && a > std::fabs(out[pos - 1].contribution)) {
      out[pos] = out[pos - 1];
      --pos;
    }
    out[pos] = FeatureContribution{f, row[f], c[f]};
  }
  return n;
}

}  // namespace spectre::ml

// ---- Exact TreeSHAP ----
// Follows libxgboost's RegTree::CalculateContributions (ExtendPath, UnwindPath,
// UnwoundPathSum, TreeShap with condition = 0) operation for operation so that
// float rounding agrees; `rounded` blocks FMA fusion where the compiler could
// fuse a product into a following add.
namespace spectre::ml {
namespace {

inline float rounded(float p) {
#if defined(__GNUC__)
  asm("" : "+r,x"(p));
#endif
  return p;
}

void extend_path(ShapPathElement* path, unsigned depth, float zero_fraction, float one_fraction, int32_t feature) {
  path[depth] = ShapPathElement{feature, zero_fraction, one_fraction, depth == 0 ? 1.0f : 0.0f};
  for (int i = static_cast<int>(depth) - 1; i >= 0; --i) {
    path[i + 1].pweight += one_fraction * path[i].pweight * static_cast<float>(i + 1) /
                           static_cast<float>(depth + 1);
    path[i].pweight = zero_fraction * path[i].pweight * static_cast<float>(depth - i) /
                      static_cast<float>(depth + 1);
  }
}

void unwind_path(ShapPathElement* path, unsigned depth, unsigned index) {
  const float one = path[index].one_fraction, zero = path[index].zero_fraction;
  float next_one = path[depth].pweight;
  for (int i = static_cast<int>(depth) - 1; i >= 0; --i) {
    if (one != 0) {
      const float tmp = path[i].pweight;
      path[i].pweight = next_one * static_cast<float>(depth + 1) / (static_cast<float>(i + 1) * one);
      next_one = tmp - path[i].pweight * zero * static_cast<float>(depth - i) / static_cast<float>(depth + 1);
    } else {
      path[i].pweight = (path[i].pweight * static_cast<float>(depth + 1)) / (zero * static_cast<float>(depth - i));
    }
  }
  for (unsigned i = index; i < depth; ++i) {
    path[i].feature = path[i + 1].feature;
    path[i].zero_fraction = path[i + 1].zero_fraction;
    path[i].one_fraction = path[i + 1].one_fraction;
  }
}

float unwound_path_sum(const ShapPathElement* path, unsigned depth, unsigned index) {
  const float one = path[index].one_fraction, zero = path[index].zero_fraction;
  float next_one = path[depth].pweight, total = 0;
  for (int i = static_cast<int>(depth) - 1; i >= 0; --i) {
    if (one != 0) {
      const float tmp = next_one * static_cast<float>(depth + 1) / (static_cast<float>(i + 1) * one);
      total += tmp;
      next_one = path[i].pweight -
                 rounded(tmp * zero * (static_cast<float>(depth - i) / static_cast<float>(depth + 1)));
    } else if (zero != 0) {
      total += (path[i].pweight / zero) / (static_cast<float>(depth - i) / static_cast<float>(depth + 1));
    }
  }
  return total;
}

struct Shap {
  const TreeEnsemble& m;
  const float* row;
  float* phi;

  void recurse(size_t node, unsigned depth, ShapPathElement* parent_path, float parent_zero, float parent_one,
               int32_t parent_feature) {
    ShapPathElement* path = parent_path + depth + 1;
    for (unsigned i = 0; i <= depth; ++i) path[i] = parent_path[i];
    extend_path(path, depth, parent_zero, parent_one, parent_feature);
    const TreeNode& n = m.nodes[node];
    if (n.is_leaf()) {
      for (unsigned i = 1; i <= depth; ++i) {
        const float w = unwound_path_sum(path, depth, i);
        const ShapPathElement& el = path[i];
        phi[el.feature] += rounded(rounded(w * (el.one_fraction - el.zero_fraction)) * n.value);
      }
      return;
    }
    const uint32_t split = n.feature_id();
    const size_t hot = static_cast<size_t>(n.left) + (go_left(n, row[split]) ? 0 : 1);
    const size_t cold = hot == static_cast<size_t>(n.left) ? hot + 1 : hot - 1;
    const float w = m.cover[node];
    const float hot_zero = m.cover[hot] / w, cold_zero = m.cover[cold] / w;
    float in_zero = 1, in_one = 1;
    unsigned index = 0;
    for (; index <= depth; ++index)
      if (static_cast<uint32_t>(path[index].feature) == split) break;
    if (index != depth + 1) {
      in_zero = path[index].zero_fraction;
      in_one = path[index].one_fraction;
      unwind_path(path, depth, index);
      depth -= 1;
    }
    recurse(hot, depth + 1, path, hot_zero * in_zero, in_one, static_cast<int32_t>(split));
    recurse(cold, depth + 1, path, cold_zero * in_zero, 0, static_cast<int32_t>(split));
  }
};

size_t shap_path_size(const TreeEnsemble& m) {
  const size_t d = static_cast<size_t>(m.max_depth) + 2;
  return d * (d + 1) / 2;
}

}  // namespace

void init_shap_workspace(const TreeEnsemble& m, ShapWorkspace& w) {
  w.tree_phi.assign(static_cast<size_t>(m.num_feature) + 1, 0.0f);
  w.path.assign(shap_path_size(m), ShapPathElement{-1, 0, 0, 0});
}

bool contributions_shap(const TreeEnsemble& m, const float* row, ShapWorkspace& w, float* out) {
  const size_t C = static_cast<size_t>(m.num_feature) + 1;
  if (!m.has_covers() || w.tree_phi.size() != C || w.path.size() < shap_path_size(m)) return false;
  float* phi = w.tree_phi.data();
  for (size_t i = 0; i < C * m.num_group; ++i) out[i] = 0.0f;
  Shap s{m, row, phi};
  for (size_t t = 0; t < m.tree_root.size(); ++t) {
    for (size_t c = 0; c < C; ++c) phi[c] = 0.0f;
    const size_t root = m.tree_root[t];
    phi[C - 1] += m.node_mean[root];
    s.recurse(root, 0, w.path.data(), 1.0f, 1.0f, -1);
    float* o = out + m.tree_group[t] * C;
    for (size_t c = 0; c < C; ++c) o[c] += phi[c];
  }
  for (uint32_t g = 0; g < m.num_group; ++g) out[g * C + C - 1] += m.base_margin;
  return true;
}

}  // namespace spectre::ml
