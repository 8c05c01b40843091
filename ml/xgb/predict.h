// Allocation-free scoring of a TreeEnsemble, bit-compatible with libxgboost's CPU
// predictor: a row goes left when x < threshold (float compare), NaN follows the
// node's default direction, and leaf values are added in float, tree by tree in
// model order, onto base_margin.
//
// Two forms:
//  * TreeEnsemble overloads: the reference walk, one dependent load chain and one
//    data-dependent branch per tree level. Used at load time (artifact checks).
//  * PackedEnsemble (built once with pack_ensemble): trees re-laid as complete
//    binary trees of 8-byte nodes in cache-line chunks of 3 levels, walked
//    without data-dependent branches for a fixed number of levels by many
//    independent lanes (AVX-512: a row walks 16 trees per vector, 8 vectors in
//    flight, batches row by row; only rows wider than 64 features take the
//    batch kernel, one tree for 16 rows per vector; without AVX-512, 16 scalar
//    lanes), so the load chains overlap. Same results to the bit; use it on the
//    packet path. Figures: docs/BENCH.md "ML scorers".
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

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

// Split node of a packed tree: go left when x < threshold, or when x is NaN and
// bit 31 of `feature` is set. Padding nodes have threshold NaN and no default
// bit, so every row goes right.
struct PackedNode {
  uint32_t feature = 0;  // column | TreeNode::kDefaultLeft
  float threshold = 0;
};

// Allocator for 64-byte aligned arrays (tree chunks must not straddle lines).
template <class T>
struct CacheAligned {
  using value_type = T;
  CacheAligned() = default;
  template <class U>
  CacheAligned(const CacheAligned<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64})); }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t{64}); }
  bool operator==(const CacheAligned&) const { return true; }
};

// A TreeEnsemble re-laid for speed. Trees come in blocks of kLanes consecutive
// trees, each padded to the block's deepest leaf D (a leaf above depth D is
// pushed down through "always right" nodes), so every walk takes exactly D
// steps. A padded tree is stored as chunks of 3 levels (7 nodes in heap order
// in one 64-byte line; the last group of levels may be shorter): a walk of
// depth 6 touches 2 lines of nodes instead of 6. After D steps the walk's path
// bits (MSB first, 1 = right) index the tree's 2^D leaf values. Blocks deeper
// than kMaxDepth keep the TreeEnsemble layout and the reference walk.
struct PackedEnsemble {
  static constexpr uint32_t kLanes = 16;     // trees walked together for one row
  static constexpr uint32_t kMaxDepth = 12;  // deeper blocks are walked node by node

  struct Tree {
    uint32_t node_off = 0;  // first node slot in `nodes` (packed) or root in `walk_nodes`
    uint32_t leaf_off = 0;  // first leaf in `leaves` (packed)
    uint32_t group = 0;     // output group
    uint32_t depth = 0;     // levels to walk (the block's depth)
  };
  struct Block {
    uint32_t first_tree = 0, count = 0;  // trees [first_tree, first_tree + count)
    uint32_t depth = 0;
    bool walk = false;  // deeper than kMaxDepth: TreeNode layout in walk_nodes
  };

  std::vector<PackedNode, CacheAligned<PackedNode>> nodes;
  std::vector<float, CacheAligned<float>> leaves;
  std::vector<Tree> trees;  // model order; the last block may end with padding trees (leaves 0)
  std::vector<Block> blocks;
  std::vector<TreeNode> walk_nodes;  // copy of the ensemble's nodes when a block walks
  uint32_t num_feature = 0;
  uint32_t num_group = 1;
  float base_margin = 0.0f;
  Link link = Link::Identity;
  size_t num_trees_ = 0;  // model trees (trees.size() includes block padding)

  size_t num_trees() const { return num_trees_; }
  size_t bytes() const;  // memory held by the arrays
};

// Builds the packed form of m (load time; allocates). m must satisfy the loader's
// invariants (check_tree_ensemble): children adjacent and after their parent.
void pack_ensemble(const TreeEnsemble& m, PackedEnsemble& out);

// As the TreeEnsemble overloads, same results to the bit; no allocation.
void predict_margin(const PackedEnsemble& p, const float* rows, size_t nrows, size_t row_stride,
                    float* out);
void predict_prob(const PackedEnsemble& p, const float* rows, size_t nrows, size_t row_stride,
                  float* out);

}  // namespace spectre::ml
