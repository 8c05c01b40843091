// Per-feature attribution of an isolation-forest score for one row: Saabas-style
// path contributions on expected path length.
//
// For a node n let E(n) = depth(n) + c(n_samples(n)) (c = iforest_average_path_length):
// the expected path length of a row that reaches n. For a leaf this is exactly
// the path length the scorer credits (IForestNode::value). Along the row's path
// root = n0 -> n1 -> ... -> leaf in tree t, the split at n_i credits its feature
// with E(n_i) - E(n_{i+1}) = c(n_samples(n_i)) - 1 - c(n_samples(n_{i+1})).
// Summed over the path these telescope to E(root) - h_t(x), so with T trees:
//   contribution[f] = (1/T) * sum over trees and path splits on f of E(n_i) - E(n_{i+1})
//   bias            = (1/T) * sum_t E(root_t)
//   bias - sum_f contribution[f] = mean path length h(x), and
//   score_samples(x) = -2^(-h(x) / c(max_samples)).
// Positive = the feature shortened the row's paths (pushed it towards anomaly).
// A split that peels the row off alone from n samples earns c(n) - 1 (large); a
// split that keeps the row with the bulk earns about 0 (slightly negative).
// Traversal is the scorer's: (double)(float)x <= threshold goes left, NaN right.
// Cost: one tree walk per tree plus one log() per visited node; no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ml/iforest/iforest.h"

namespace spectre::ml {

// out: n_features + 1 doubles: contribution[f] for f < n_features, then bias.
// False (out untouched) for a forest without trees.
bool iforest_contributions(const IsolationForest& f, const double* row, double* out);

struct IForestFeatureContribution {
  uint32_t feature;     // column id
  double value;         // the row's value of that column
  double contribution;  // path-length shortening credited to it (see above)
};

inline constexpr size_t kMaxTopIForestFeatures = 8;  // bounded for a cheap insertion sort

// The k features with the largest positive contributions (largest first; ties:
// lower feature id); k is clamped to kMaxTopIForestFeatures. `work` has
// n_features + 1 doubles and holds iforest_contributions on return. Features
// with contribution <= 0 are skipped. Returns the count written to out.
size_t top_iforest_features(const IsolationForest& f, const double* row, size_t k, double* work,
                            IForestFeatureContribution* out);

}  // namespace spectre::ml
