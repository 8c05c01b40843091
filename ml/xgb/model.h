// Tree ensemble flattened for allocation-free scoring, loaded from XGBoost's JSON
// model format (Booster.save_model("m.json"), xgboost 1.x).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace spectre::ml {

// One node, 16 bytes. The loader re-lays every tree breadth-first so that
// children always have larger indices than their parent (traversal terminates
// by construction) and a node's two children are adjacent (right == left + 1).
struct TreeNode {
  static constexpr uint32_t kDefaultLeft = 0x80000000u;  // flag bit in `feature`
  static constexpr uint32_t kFeatureMask = 0x7fffffffu;
  uint32_t feature = 0;   // split feature id | kDefaultLeft when NaN goes left
  float value = 0.0f;     // split threshold (internal) or leaf value (leaf)
  int32_t left = -1;      // absolute index into TreeEnsemble::nodes, -1 for a leaf
  int32_t right = -1;     // absolute index, -1 for a leaf

  bool is_leaf() const { return left < 0; }
  uint32_t feature_id() const { return feature & kFeatureMask; }
  bool default_left() const { return (feature & kDefaultLeft) != 0; }
};

// How margins map to outputs (and how base_score maps to a margin).
enum class Link : uint8_t {
  Identity,  // reg:squarederror, rank:*, ...: output = margin
  Logistic,  // binary:logistic, reg:logistic: sigmoid; base margin = logit(base_score)
  LogitRaw,  // binary:logitraw: output = margin; base margin = logit(base_score)
  Softmax,   // multi:softprob / multi:softmax: softmax over groups; base as is
  Exp,       // count:poisson, reg:gamma, reg:tweedie, survival:cox: exp; base = log
  Hinge,     // binary:hinge: margin > 0 ? 1 : 0
};

struct TreeEnsemble {
  std::vector<TreeNode> nodes;       // all trees, each tree contiguous
  std::vector<uint32_t> tree_root;   // root index of tree t in `nodes`
  std::vector<uint32_t> tree_group;  // output group of tree t (tree_info)
  uint32_t num_feature = 0;          // rows must have at least this many columns
  uint32_t num_group = 1;            // max(num_class, 1)
  uint32_t max_depth = 0;            // deepest leaf over all trees (root = 0)
  float base_score = 0.5f;           // as stored (probability space)
  float base_margin = 0.0f;          // base_score through the objective's link
  Link link = Link::Identity;
  std::string objective;             // e.g. "binary:logistic"
  // For explanations only (ml/xgb/explain.h); both empty when the model carries
  // no covers (then explanations are unavailable), else nodes.size() long and in
  // the same re-laid order as `nodes`.
  std::vector<float> cover;          // XGBoost "sum_hessian" of each node
  std::vector<float> node_mean;      // leaf: leaf value; internal: cover-weighted
                                     // mean of its children (XGBoost's node mean values)

  size_t num_trees() const { return tree_root.size(); }
  bool has_covers() const { return !nodes.empty() && cover.size() == nodes.size() &&
                                   node_mean.size() == nodes.size(); }
};

// Fills m.node_mean from m.cover exactly as libxgboost's FillNodeMeanValues does
// (float: (mean_l * cover_l + mean_r * cover_r) / cover_parent). Needs a
// structurally valid ensemble (children after their parent). Returns false and
// clears both vectors when cover.size() != nodes.size().
bool compute_node_means(TreeEnsemble& m);

// Parses a model saved as JSON. On any problem (syntax, truncation, missing
// fields, inconsistent arrays, out-of-range child/feature ids, cycles, shared
// nodes, categorical splits, vector leaves, unknown objective or booster) returns
// false with a message in `err`; `out` is then left cleared. Covers come from each
// tree's optional "sum_hessian" array: when any tree lacks it, the model loads
// without covers; when present with the wrong length it is refused.
bool load_xgboost_json(const std::string& text, TreeEnsemble& out, std::string& err);

// Reads a file and calls load_xgboost_json.
bool load_xgboost_json_file(const std::string& path, TreeEnsemble& out, std::string& err);

}  // namespace spectre::ml
