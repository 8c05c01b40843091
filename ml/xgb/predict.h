// Allocation-free scoring of a TreeEnsemble, bit-compatible with libxgboost's CPU
// predictor: a row goes left when x < threshold (float compare), NaN follows the
// node's default direction, and leaf values are added in float, tree by tree in
// model order, onto base_margin. Cost: one dependent load per tree level
// (~depth * num_trees node visits per row).
#pragma once

#include <cstddef>

#include "ml/xgb/model.h"

namespace spectre::ml {

// rows: nrows rows of row_stride floats (row_stride >= m.num_feature; NaN = missing).
// out: nrows * m.num_group margins, row-major.
void predict_margin(const TreeEnsemble& m, const float* rows, size_t nrows, size_t row_stride,
                    float* out);

// As predict_margin, then the objective's transform: sigmoid (logistic), softmax
// over the groups of a row (multi:*; also for multi:softmax, which XGBoost reports
// as the argmax class), exp (poisson/gamma/tweedie/cox), 0/1 (hinge), identity.
void predict_prob(const TreeEnsemble& m, const float* rows, size_t nrows, size_t row_stride,
                  float* out);

// Margin of one tree for one row (for explanations and tests).
float predict_tree(const TreeEnsemble& m, size_t tree, const float* row);

}  // namespace spectre::ml
