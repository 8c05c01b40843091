#include "ml/xgb/model.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "ml/json.h"

namespace spectre::ml {
namespace {

using json::Doc;
using json::kNone;
using json::Type;

// Largest accepted tree; XGBoost's own limit on depth is far below this.
constexpr size_t kMaxNodesPerTree = 1u << 24;

struct Ctx {
  const Doc& d;
  std::string& err;
  bool fail(const std::string& m) { err = "xgboost model: " + m; return false; }
};

uint32_t member(Ctx& c, uint32_t obj, const char* key, Type t) {
  uint32_t i = c.d.find(obj, key);
  if (i == kNone) { c.fail(std::string("missing field '") + key + "'"); return kNone; }
  if (c.d.type(i) != t) { c.fail(std::string("field '") + key + "' has the wrong type"); return kNone; }
  return i;
}

// XGBoost 1.x writes scalar parameters as strings ("5E-1"); accept numbers too.
template <typename T>
bool scalar(Ctx& c, uint32_t obj, const char* key, T& v, bool required = true) {
  uint32_t i = c.d.find(obj, key);
  if (i == kNone) return required ? c.fail(std::string("missing field '") + key + "'") : true;
  std::string_view r;
  if (c.d.type(i) == Type::String) r = c.d.raw(i);
  else if (c.d.type(i) == Type::Number) r = c.d.raw(i);
  else return c.fail(std::string("field '") + key + "' is not a number");
  auto res = std::from_chars(r.data(), r.data() + r.size(), v);
  if (res.ec != std::errc() || res.ptr != r.data() + r.size())
    return c.fail(std::string("field '") + key + "' is not a valid number: '" + std::string(r) + "'");
  return true;
}

bool int_array(Ctx& c, uint32_t tree, const char* key, std::vector<int64_t>& out) {
  uint32_t a = member(c, tree, key, Type::Array);
  if (a == kNone) return false;
  out.clear();
  out.reserve(c.d.size(a));
  for (uint32_t e = c.d.first(a); e != kNone; e = c.d.next(e)) {
    int64_t v;
    if (!c.d.to_int(e, v)) return c.fail(std::string("non-integer in '") + key + "'");
    out.push_back(v);
  }
  return true;
}

bool float_array(Ctx& c, uint32_t tree, const char* key, std::vector<float>& out) {
  uint32_t a = member(c, tree, key, Type::Array);
  if (a == kNone) return false;
  out.clear();
  out.reserve(c.d.size(a));
  for (uint32_t e = c.d.first(a); e != kNone; e = c.d.next(e)) {
    float v;
    if (!c.d.to_float(e, v)) return c.fail(std::string("non-number in '") + key + "'");
    out.push_back(v);
  }
  return true;
}

bool objective_link(const std::string& name, Link& link) {
  static const struct { const char* name; Link link; } kTable[] = {
      {"binary:logistic", Link::Logistic},   {"reg:logistic", Link::Logistic},
      {"binary:logitraw", Link::LogitRaw},   {"multi:softprob", Link::Softmax},
      {"multi:softmax", Link::Softmax},      {"reg:squarederror", Link::Identity},
      {"reg:linear", Link::Identity},        {"reg:squaredlogerror", Link::Identity},
      {"reg:pseudohubererror", Link::Identity}, {"reg:absoluteerror", Link::Identity},
      {"rank:pairwise", Link::Identity},     {"rank:ndcg", Link::Identity},
      {"rank:map", Link::Identity},          {"count:poisson", Link::Exp},
      {"reg:gamma", Link::Exp},              {"reg:tweedie", Link::Exp},
      {"survival:cox", Link::Exp},           {"binary:hinge", Link::Hinge},
  };
  for (const auto& e : kTable)
    if (name == e.name) { link = e.link; return true; }
  return false;
}

// Appends one tree to `out`, re-laid breadth-first with adjacent children.
// Covers are appended too while `covers` is true; a tree without "sum_hessian"
// sets it to false (the caller then drops all covers).
bool load_tree(Ctx& c, uint32_t tree, size_t t, TreeEnsemble& out, bool& covers) {
  const std::string where = "tree " + std::to_string(t) + ": ";
  std::vector<int64_t> left, right, feat, dleft;
  std::vector<float> cond;
  if (!int_array(c, tree, "left_children", left) || !int_array(c, tree, "right_children", right) ||
      !int_array(c, tree, "split_indices", feat) || !int_array(c, tree, "default_left", dleft) ||
      !float_array(c, tree, "split_conditions", cond))
    return c.fail(where + c.err.substr(c.err.find(": ") + 2));
  uint32_t tp = member(c, tree, "tree_param", Type::Object);
  if (tp == kNone) return false;
  int64_t num_nodes = 0, leaf_vec = 0;
  if (!scalar(c, tp, "num_nodes", num_nodes) || !scalar(c, tp, "size_leaf_vector", leaf_vec, false))
    return false;
  if (leaf_vec > 1) return c.fail(where + "vector leaves are not supported");
  if (num_nodes < 1 || static_cast<size_t>(num_nodes) > kMaxNodesPerTree)
    return c.fail(where + "bad num_nodes " + std::to_string(num_nodes));
  const size_t n = static_cast<size_t>(num_nodes);
  if (left.size() != n || right.size() != n || feat.size() != n || dleft.size() != n || cond.size() != n)
    return c.fail(where + "node arrays disagree with num_nodes " + std::to_string(n));
  std::vector<float> hess;
  if (c.d.find(tree, "sum_hessian") == kNone) {
    covers = false;
  } else {
    if (!float_array(c, tree, "sum_hessian", hess)) return c.fail(where + c.err.substr(c.err.find(": ") + 2));
    if (hess.size() != n) return c.fail(where + "sum_hessian disagrees with num_nodes " + std::to_string(n));
  }
  uint32_t st = c.d.find(tree, "split_type");
  if (st != kNone && c.d.type(st) == Type::Array)
    for (uint32_t e = c.d.first(st); e != kNone; e = c.d.next(e)) {
      int64_t v;
      if (!c.d.to_int(e, v) || v != 0) return c.fail(where + "categorical splits are not supported");
    }
  uint32_t cn = c.d.find(tree, "categories_nodes");
  if (cn != kNone && c.d.size(cn) != 0) return c.fail(where + "categorical splits are not supported");

  // Breadth-first relayout. queue[k] = original id of new node (base + k).
  const size_t base = out.nodes.size();
  if (base + n > static_cast<size_t>(INT32_MAX)) return c.fail("model too large");
  std::vector<int64_t> queue{0};
  std::vector<uint32_t> depth{0};
  std::vector<uint8_t> seen(n, 0);
  seen[0] = 1;
  out.tree_root.push_back(static_cast<uint32_t>(base));
  for (size_t k = 0; k < queue.size(); ++k) {
    const size_t i = static_cast<size_t>(queue[k]);
    TreeNode node;
    if (left[i] == -1 || right[i] == -1) {
      if (left[i] != right[i]) return c.fail(where + "node " + std::to_string(i) + " has one child");
      node.value = cond[i];
      if (depth[k] > out.max_depth) out.max_depth = depth[k];
    } else {
      for (int64_t ch : {left[i], right[i]}) {
        if (ch < 0 || static_cast<size_t>(ch) >= n)
          return c.fail(where + "node " + std::to_string(i) + " has child out of range");
        if (seen[ch]) return c.fail(where + "node " + std::to_string(ch) + " reached twice (cycle)");
        seen[ch] = 1;
        queue.push_back(ch);
        depth.push_back(depth[k] + 1);
      }
      if (feat[i] < 0 || feat[i] >= static_cast<int64_t>(out.num_feature))
        return c.fail(where + "split feature " + std::to_string(feat[i]) + " out of range (num_feature " +
                      std::to_string(out.num_feature) + ")");
      node.feature = static_cast<uint32_t>(feat[i]) | (dleft[i] ? TreeNode::kDefaultLeft : 0u);
      node.value = cond[i];
      node.left = static_cast<int32_t>(base + queue.size() - 2);
      node.right = node.left + 1;
    }
    out.nodes.push_back(node);
    if (covers) out.cover.push_back(hess[i]);
  }
  return true;
}

bool load(const Doc& d, TreeEnsemble& out, std::string& err) {
  Ctx c{d, err};
  uint32_t learner = member(c, d.root(), "learner", Type::Object);
  if (learner == kNone) return false;
  uint32_t mp = member(c, learner, "learner_model_param", Type::Object);
  uint32_t obj = member(c, learner, "objective", Type::Object);
  uint32_t gb = member(c, learner, "gradient_booster", Type::Object);
  if (mp == kNone || obj == kNone || gb == kNone) return false;

  int64_t num_class = 0, num_feature = 0, num_target = 1;
  if (!scalar(c, mp, "base_score", out.base_score) || !scalar(c, mp, "num_class", num_class) ||
      !scalar(c, mp, "num_feature", num_feature) || !scalar(c, mp, "num_target", num_target, false))
    return false;
  if (num_class < 0 || num_class > 65536) return c.fail("bad num_class " + std::to_string(num_class));
  if (num_feature < 0 || num_feature > (1 << 24)) return c.fail("bad num_feature " + std::to_string(num_feature));
  if (num_target != 1) return c.fail("multi-target models are not supported");
  out.num_group = num_class > 1 ? static_cast<uint32_t>(num_class) : 1;
  out.num_feature = static_cast<uint32_t>(num_feature);

  uint32_t oname = member(c, obj, "name", Type::String);
  if (oname == kNone) return false;
  out.objective = d.str(oname);
  if (!objective_link(out.objective, out.link)) return c.fail("unsupported objective '" + out.objective + "'");
  // Same transforms as XGBoost's ObjFunction::ProbToMargin, computed in float.
  const float bs = out.base_score;
  switch (out.link) {
    case Link::Logistic:
    case Link::LogitRaw:
      if (!(bs > 0.0f && bs < 1.0f)) return c.fail("base_score must be in (0,1) for " + out.objective);
      out.base_margin = -std::log(1.0f / bs - 1.0f);
      break;
    case Link::Exp:
      if (!(bs > 0.0f)) return c.fail("base_score must be > 0 for " + out.objective);
      out.base_margin = std::log(bs);
      break;
    default:
      out.base_margin = bs;
  }

  uint32_t gname = member(c, gb, "name", Type::String);
  if (gname == kNone) return false;
  if (d.str(gname) != "gbtree") return c.fail("unsupported booster '" + d.str(gname) + "' (only gbtree)");
  uint32_t model = member(c, gb, "model", Type::Object);
  if (model == kNone) return false;
  uint32_t trees = member(c, model, "trees", Type::Array);
  uint32_t info = member(c, model, "tree_info", Type::Array);
  if (trees == kNone || info == kNone) return false;
  if (d.size(trees) != d.size(info)) return c.fail("tree_info length differs from number of trees");
  uint32_t mparam = d.find(model, "gbtree_model_param");
  if (mparam != kNone) {
    int64_t nt = 0;
    if (!scalar(c, mparam, "num_trees", nt)) return false;
    if (nt != d.size(trees)) return c.fail("num_trees disagrees with the trees array");
  }
  size_t t = 0;
  bool covers = true;
  for (uint32_t e = d.first(trees), g = d.first(info); e != kNone; e = d.next(e), g = d.next(g), ++t) {
    int64_t grp;
    if (!d.to_int(g, grp) || grp < 0 || grp >= out.num_group)
      return c.fail("tree_info[" + std::to_string(t) + "] is not a valid output group");
    if (d.type(e) != Type::Object) return c.fail("tree " + std::to_string(t) + " is not an object");
    out.tree_group.push_back(static_cast<uint32_t>(grp));
    if (!load_tree(c, e, t, out, covers)) return false;
  }
  if (!covers) out.cover.clear();
  if (!out.cover.empty()) compute_node_means(out);
  return true;
}

// a * b rounded to float on its own: with -march=native the compiler would fuse
// it into an FMA, and libxgboost (built for baseline x86-64) does not.
inline float mul_rounded(float a, float b) {
  float p = a * b;
#if defined(__GNUC__)
  asm("" : "+r,x"(p));
#endif
  return p;
}
}  // namespace

bool compute_node_means(TreeEnsemble& m) {
  const size_t n = m.nodes.size();
  if (m.cover.size() != n) {
    m.cover.clear();
    m.node_mean.clear();
    return false;
  }
  m.node_mean.assign(n, 0.0f);
  // Children have larger indices than their parent, so a backward sweep sees
  // both children of a node before the node itself.
  for (size_t i = n; i-- > 0;) {
    const TreeNode& nd = m.nodes[i];
    if (nd.is_leaf()) {
      m.node_mean[i] = nd.value;
    } else {
      const size_t l = static_cast<size_t>(nd.left), r = static_cast<size_t>(nd.right);
      if (l <= i || r <= i || l >= n || r >= n) {  // not a loader-checked layout
        m.cover.clear();
        m.node_mean.clear();
        return false;
      }
      float v = mul_rounded(m.node_mean[l], m.cover[l]);
      v += mul_rounded(m.node_mean[r], m.cover[r]);
      v /= m.cover[i];
      m.node_mean[i] = v;
    }
  }
  return true;
}

bool load_xgboost_json(const std::string& text, TreeEnsemble& out, std::string& err) {
  out = TreeEnsemble{};
  json::Doc doc;
  if (!doc.parse(text, err) || !load(doc, out, err)) {
    out = TreeEnsemble{};
    return false;
  }
  out.nodes.shrink_to_fit();
  out.cover.shrink_to_fit();
  return true;
}

bool load_xgboost_json_file(const std::string& path, TreeEnsemble& out, std::string& err) {
  std::ifstream f(path, std::ios::binary);
  if (!f) { err = "xgboost model: cannot open " + path; out = TreeEnsemble{}; return false; }
  std::ostringstream ss;
  ss << f.rdbuf();
  return load_xgboost_json(ss.str(), out, err);
}

}  // namespace spectre::ml
