// Isolation forest: flattened trees, a scorer that reproduces scikit-learn's
// IsolationForest.score_samples, our own trainer (Liu et al. 2008) and a JSON
// form shared with ml/export_iforest.py.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace spectre::ml {

// One node of a flattened isolation tree (24 bytes).
// Internal node: feature >= 0 is a column of the input row (estimators_features_
// already applied); go left when (double)(float)x <= threshold, as scikit-learn
// does (its trees compare float32 inputs against float64 thresholds).
// Leaf: feature == -1, left == right == 0, and `value` holds the whole path
// length credited to a row ending here: depth + c(n_samples).
struct IForestNode {
  double value = 0;      // threshold (internal) or path length (leaf)
  int32_t feature = -1;  // input column, -1 for a leaf
  uint32_t left = 0;     // absolute index into IsolationForest::nodes
  uint32_t right = 0;
  uint32_t n_samples = 0;  // training samples that reached the node (kept for save/inspect)
};

struct IsolationForest {
  uint32_t n_features = 0;   // row width the forest expects (max feature id + 1 at least)
  uint32_t max_samples = 0;  // sklearn max_samples_: sample size for the c(n) normalisation
  double offset = -0.5;      // sklearn offset_: decision_function = score - offset
  double denominator = 0;    // n_trees * c(max_samples), precomputed by finalize_iforest
  std::vector<uint32_t> roots;     // root node index of each tree
  std::vector<IForestNode> nodes;  // all trees, each tree's nodes contiguous
};

// scikit-learn's _average_path_length: c(n) = 2(ln(n-1) + gamma) - 2(n-1)/n for
// n > 2, c(2) = 1, c(n <= 1) = 0.
double iforest_average_path_length(double n);

// Recomputes leaf values (depth + c(n)) and the denominator from the structure.
// Returns false with err when the trees are malformed (bad child index, cycle,
// node shared by two parents, feature out of range).
bool finalize_iforest(IsolationForest& f, std::string& err);

// score_samples: out[i] = -2^(-sum_t h_t(x_i) / (T * c(max_samples))); lower is
// more anomalous, range [-1, 0). Row i starts at rows + i * stride. No allocation;
// cost is T tree walks of depth <= ceil(log2(max_samples)) per row. NaN inputs go
// right (sklearn refuses NaN).
void score_samples(const IsolationForest& f, const double* rows, size_t n, size_t stride,
                   double* out);

// JSON form (see ml/export_iforest.py):
// {"format":"spectre-iforest","version":1,"n_features":F,"max_samples":m,"offset":o,
//  "trees":[{"features":[...],"children_left":[...],"children_right":[...],
//            "feature":[...],"threshold":[...],"n_node_samples":[...]}, ...]}
// Per tree, node k's feature is features[feature[k]]; "features" may be omitted
// (identity). Leaves have children -1. Unknown keys are ignored. Refuses
// corrupt, truncated or inconsistent input with a message in err (out untouched).
bool load_iforest_json(const std::string& text, IsolationForest& out, std::string& err);

// Writes f in the JSON form above (features omitted: ids are already global).
// Doubles are printed with 17 significant digits, so load(save(f)) scores identically.
bool save_iforest_json(const IsolationForest& f, std::string& text, std::string& err);

// Our trainer (Liu et al. 2008): each tree draws min(max_samples, n) rows without
// replacement, then splits recursively on a random non-constant feature at a
// threshold uniform in [min, max) of that feature over the node's rows, up to
// height ceil(log2(sample size)). Inputs are rounded to float like the scorer.
// Deterministic for a given seed. Offset is -0.5 (sklearn's contamination "auto").
// Empty result (no trees) when n == 0, nfeat == 0 or trees == 0.
IsolationForest train_iforest(const double* rows, size_t n, size_t nfeat, size_t stride,
                              uint32_t trees, uint32_t max_samples, uint64_t seed);

}  // namespace spectre::ml
