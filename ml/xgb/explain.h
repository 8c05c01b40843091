// Per-prediction explanations of a TreeEnsemble: Saabas path contributions,
// equal to libxgboost's pred_contribs with approx_contribs=True (C API predict
// type 3). They need node covers (TreeEnsemble::cover / node_mean, from the JSON
// "sum_hessian" arrays or an artifact that stored them); without covers every
// function here returns false / 0.
//
// For a tree, the row's path root = n0, n1, ..., leaf gives the bias mean(n0)
// and credits the split feature of n_i with mean(n_{i+1}) - mean(n_i), where
// mean is the cover-weighted mean leaf value below a node. Per group, the
// contributions of all features plus the bias (base margin + sum of root means)
// add up to the margin. Float arithmetic in libxgboost's order (per-tree sums,
// then added to the row), so results match it to the last bit or so.
// Cost per row: one tree walk per tree (~depth * num_trees node visits), the
// same as scoring; no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ml/xgb/model.h"

namespace spectre::ml {

// out: (num_feature + 1) * num_group floats for one row, group-major
// (out[g * (num_feature + 1) + f]); the last of each group is the bias (base
// margin + root means). Sum over a group == margin. NaN = missing. No allocation.
// False (out untouched) when the model has no covers.
bool contributions_approx(const TreeEnsemble& m, const float* row, float* out);

// As contributions_approx for one output group only: out has num_feature + 1 floats.
bool contributions_approx_group(const TreeEnsemble& m, const float* row, uint32_t group, float* out);

struct FeatureContribution {
  uint32_t feature;    // column id
  float value;         // the row's value of that column (NaN = missing)
  float contribution;  // margin contribution (positive pushes the margin up)
};

inline constexpr size_t kMaxTopContributions = 8;  // bounded for a cheap insertion sort

// Top k features of output `group` by |contribution| (ties: lower feature id),
// k is clamped to kMaxTopContributions. `work` has (num_feature + 1) * num_group
// floats; on return work[group * (num_feature + 1) ..] holds that group's full
// contribution vector (other groups are not computed). Zero (and NaN)
// contributions are skipped. Returns the count written to out; 0 when the model
// has no covers or group is out of range. No allocation.
size_t top_contributions(const TreeEnsemble& m, const float* row, uint32_t group, size_t k, float* work,
                         FeatureContribution* out);

// ---- Exact TreeSHAP (libxgboost pred_contribs, C API predict type 2) ----
// Lundberg et al.'s polynomial-time algorithm, with libxgboost's float
// arithmetic; same output layout and sum property as contributions_approx.
// Cost per tree ~ leaves * depth^2, far above scoring: for offline/alert-time use.

struct ShapPathElement {
  int32_t feature;  // -1 for the root's placeholder
  float zero_fraction;
  float one_fraction;
  float pweight;
};

// Scratch sized for one model; make it once (allocates), reuse for every row.
struct ShapWorkspace {
  std::vector<float> tree_phi;          // num_feature + 1: one tree's contributions
  std::vector<ShapPathElement> path;    // (max_depth + 2) * (max_depth + 3) / 2
};
void init_shap_workspace(const TreeEnsemble& m, ShapWorkspace& w);

// False (out untouched) without covers or with a workspace not sized for m.
bool contributions_shap(const TreeEnsemble& m, const float* row, ShapWorkspace& w, float* out);

}  // namespace spectre::ml
