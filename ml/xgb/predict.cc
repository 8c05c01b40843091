#include "ml/xgb/predict.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <utility>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

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

static void apply_link(Link link, uint32_t G, size_t nrows, float* out) {
  const size_t n = nrows * G;
  switch (link) {
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

void predict_prob(const TreeEnsemble& m, const float* rows, size_t nrows, size_t row_stride,
                  float* out) {
  predict_margin(m, rows, nrows, row_stride, out);
  apply_link(m.link, m.num_group, nrows, out);
}

// ---------------------------------------------------------------------------
// Packed form (layout: see predict.h).

namespace {

using Tree = PackedEnsemble::Tree;
using Block = PackedEnsemble::Block;
constexpr uint32_t kMaxDepth = PackedEnsemble::kMaxDepth;

// Level d of a depth-D tree lies in chunk group d / 3 of `bits` levels (3, or
// fewer for the last group). A chunk holds 2^bits - 1 nodes in heap order and
// takes 2^bits slots (one 64-byte line for full groups); group g has 8^g chunks
// starting at node `base`.
struct LevelInfo {
  uint32_t base = 0;  // first node of the group
  uint32_t bits = 0;  // levels in the group
  bool last = false;  // last level of its group
};
struct Layout {
  LevelInfo lv[kMaxDepth];
  uint32_t nodes = 0;  // node slots per tree (a multiple of 8)
};

constexpr Layout make_layout(uint32_t D) {
  Layout L{};
  uint32_t base = 0, chunks = 1;
  for (uint32_t g = 0; 3 * g < D; ++g) {
    const uint32_t bits = std::min(3u, D - 3 * g);
    for (uint32_t w = 0; w < bits; ++w) L.lv[3 * g + w] = {base, bits, w + 1 == bits};
    base += chunks << bits;
    chunks <<= bits;
  }
  L.nodes = (base + 7) & ~7u;
  return L;
}

constexpr auto kLayouts = [] {
  std::array<Layout, kMaxDepth + 1> a{};
  for (uint32_t d = 0; d <= kMaxDepth; ++d) a[d] = make_layout(d);
  return a;
}();

// Deepest leaf below `root` (iterative: trees of the walk path may be deep).
uint32_t tree_depth(const TreeEnsemble& m, uint32_t root) {
  std::vector<std::pair<uint32_t, uint32_t>> stack{{root, 0}};
  uint32_t d = 0;
  while (!stack.empty()) {
    auto [i, lv] = stack.back();
    stack.pop_back();
    d = std::max(d, lv);
    const TreeNode& n = m.nodes[i];
    if (!n.is_leaf()) {
      stack.push_back({static_cast<uint32_t>(n.left), lv + 1});
      stack.push_back({static_cast<uint32_t>(n.right), lv + 1});
    }
  }
  return d;
}

// Writes the subtree of node `src`, reached by path `path` (lv bits, 1 = right)
// into a tree of depth D: splits into `nodes`, leaf values into `leaves`.
void place(const TreeEnsemble& m, uint32_t src, uint32_t path, uint32_t lv, uint32_t D, PackedNode* nodes,
           float* leaves) {
  const TreeNode& n = m.nodes[src];
  if (lv == D) {  // only leaves reach the last level (D >= tree depth)
    leaves[path] = n.value;
    return;
  }
  const LevelInfo& li = kLayouts[D].lv[lv];
  const uint32_t w = lv % 3;  // level inside the chunk
  PackedNode& slot = nodes[li.base + ((path >> w) << li.bits) + (1u << w) - 1 + (path & ((1u << w) - 1))];
  if (n.is_leaf()) {  // pad: always right, the same leaf one level down
    slot = {0, std::numeric_limits<float>::quiet_NaN()};
    place(m, src, 2 * path + 1, lv + 1, D, nodes, leaves);
    return;
  }
  slot = {n.feature, n.value};
  place(m, static_cast<uint32_t>(n.left), 2 * path, lv + 1, D, nodes, leaves);
  place(m, static_cast<uint32_t>(n.right), 2 * path + 1, lv + 1, D, nodes, leaves);
}

// One level of one lane in scalar code: (chunk c, position p) -> child. x < thr
// is false for NaN; then the default bit decides. Padding nodes (thr NaN, no
// bit) always go right.
inline void step(const PackedNode* tree, const LevelInfo& li, uint32_t& c, uint32_t& p, const float* row) {
  const PackedNode n = tree[li.base + (c << li.bits) + p];
  const float x = row[n.feature & TreeNode::kFeatureMask];
  const uint32_t left = static_cast<uint32_t>(x < n.threshold) |
                        (static_cast<uint32_t>(std::isnan(x)) & (n.feature >> 31));
  p = 2 * p + 2 - left;
  if (li.last) {
    c = (c << li.bits) + p - ((1u << li.bits) - 1);
    p = 0;
  }
}

#if defined(__AVX512F__) && defined(__AVX512DQ__)
// AVX-512 kernels: 16 lanes per vector; per level the lanes' split nodes are
// gathered, the row values gathered too (batch kernel) or picked from a row held
// in registers by permutes (one-row kernel, <= 64 features); x < thr and the
// default bit are mask operations, nothing branches on data. Measured on this
// project's machine (docs/BENCH.md "ML scorers"): the one-row kernel, 8 blocks
// of 16 trees in flight, is also the faster one for batches when the row fits
// in registers; a block costs ~22 cycles per level, bounded by the gather
// latency chains the scheduler can keep in flight; the in-order float sum of
// the leaves (needed for bit-identical margins) costs up to a fifth of the time.

inline __m512i splat(uint32_t v) { return _mm512_set1_epi32(static_cast<int>(v)); }

// Split nodes `node` (indices into `base`) of 16 lanes. kWhole: two gathers of
// 8 whole nodes then two permutes (faster for one row), else one gather per
// field (faster for batches, whose permute port is busier).
template <bool kWhole>
inline void fetch(const int* base, __m512i node, __m512i& feat, __m512& thr) {
  if (kWhole) {
    const long long* q = reinterpret_cast<const long long*>(base);
    const __m512i q0 = _mm512_i32gather_epi64(_mm512_castsi512_si256(node), q, 8);
    const __m512i q1 = _mm512_i32gather_epi64(_mm512_extracti64x4_epi64(node, 1), q, 8);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    feat = _mm512_permutex2var_epi32(q0, even, q1);
    thr = _mm512_castsi512_ps(_mm512_permutex2var_epi32(q0, _mm512_add_epi32(even, splat(1)), q1));
  } else {
    const __m512i node2 = _mm512_slli_epi32(node, 1);
    feat = _mm512_i32gather_epi32(node2, base, 4);
    thr = _mm512_i32gather_ps(node2, base + 1, 4);
  }
}

// One level for 16 lanes whose state is n = (chunk << bits) + position in the
// chunk: go left when x < thr, or x is NaN and the default bit (31 of feat) is
// set. At a group's last level the state moves to the next group's chunk
// (c' = (c << bits) + exit, in units of next_bits); after the last level of the
// tree it is the leaf index.
// kNan = false: the caller knows x has no NaN.
template <bool kNan = true>
inline __m512i advance(__m512i n, __m512i pmask, const LevelInfo& li, uint32_t next_bits, __m512 x, __m512 thr,
                       __m512i feat) {
  __mmask16 left = _mm512_cmp_ps_mask(x, thr, _CMP_LT_OQ);
  if (kNan) left |= _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q) & _mm512_movepi32_mask(feat);
  const __m512i pos = _mm512_and_si512(n, pmask);
  if (!li.last) {  // n + pos + 2 - left = (c << bits) + 2 pos + 2 - left
    const __m512i t = _mm512_add_epi32(_mm512_add_epi32(n, pos), splat(2));
    return _mm512_mask_sub_epi32(t, left, t, splat(1));
  }
  __m512i t = _mm512_add_epi32(_mm512_sub_epi32(n, pos), _mm512_add_epi32(pos, pos));
  t = _mm512_sub_epi32(t, splat((1u << li.bits) - 3));
  t = _mm512_mask_sub_epi32(t, left, t, splat(1));
  return _mm512_slli_epi32(t, next_bits);
}

// A row of up to 64 features held in four registers: x = row[feature] by two
// permutes and a blend instead of a gather (bit 31, the default flag, is ignored).
struct RowRegs {
  __m512 r[4];
  RowRegs(const float* row, uint32_t nf) {
    for (uint32_t k = 0; k < 4; ++k) {
      const uint32_t have = nf > 16 * k ? std::min(16u, nf - 16 * k) : 0;
      r[k] = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << have) - 1), row + 16 * k);
    }
  }
  bool has_nan() const {
    __mmask16 m = 0;
    for (const __m512& v : r) m |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    return m != 0;
  }
  __m512 get(__m512i feat) const {
    const __m512 lo = _mm512_permutex2var_ps(r[0], feat, r[1]);
    const __m512 hi = _mm512_permutex2var_ps(r[2], feat, r[3]);
    return _mm512_mask_blend_ps(_mm512_test_epi32_mask(feat, splat(32)), lo, hi);
  }
};

// One row: K consecutive blocks of 16 trees of the same depth D at once (one
// vector per block, K in flight to hide the gather latency; per-level
// constants shared). Lane state n = (chunk << bits) + position in the chunk.
// Leaves are added in tree order.
template <uint32_t K, bool kRegs, bool kNan>
void row_blocks(const PackedEnsemble& p, const Block* blk, uint32_t D, const float* row, const RowRegs& rr,
                float& acc, float* o) {
  const int* nodes = reinterpret_cast<const int*>(p.nodes.data());
  const uint32_t G = p.num_group;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i tree_off = _mm512_mullo_epi32(lane, splat(kLayouts[D].nodes));
  __m512i n[K];
  const int* base[K];
  for (uint32_t v = 0; v < K; ++v) {
    base[v] = nodes + 2 * p.trees[blk[v].first_tree].node_off;
    n[v] = _mm512_setzero_si512();
  }
  for (uint32_t d = 0; d < D; ++d) {
    const LevelInfo& li = kLayouts[D].lv[d];
    const __m512i first = _mm512_add_epi32(tree_off, splat(li.base));
    const __m512i pmask = splat((1u << li.bits) - 1);
    const uint32_t next_bits = d + 1 < D ? kLayouts[D].lv[d + 1].bits : 0;
    for (uint32_t v = 0; v < K; ++v) {
      __m512i feat;
      __m512 thr;
      fetch<true>(base[v], _mm512_add_epi32(first, n[v]), feat, thr);
      const __m512 x = kRegs ? rr.get(feat)
                             : _mm512_i32gather_ps(_mm512_and_si512(feat, splat(TreeNode::kFeatureMask)), row, 4);
      n[v] = advance<kNan>(n[v], pmask, li, next_bits, x, thr, feat);
    }
  }
  alignas(64) float val[16];
  const __m512i leaf_off = _mm512_slli_epi32(lane, D);
  for (uint32_t v = 0; v < K; ++v) {
    const Tree* tb = p.trees.data() + blk[v].first_tree;
    _mm512_store_ps(val, _mm512_i32gather_ps(_mm512_add_epi32(leaf_off, n[v]), p.leaves.data() + tb[0].leaf_off, 4));
    if (G == 1) {
      for (uint32_t l = 0; l < blk[v].count; ++l) acc += val[l];
    } else {
      for (uint32_t l = 0; l < blk[v].count; ++l) o[tb[l].group] += val[l];
    }
  }
}

constexpr size_t kRowGroup = 8;  // blocks in flight for one row (<= 8)

template <bool kRegs, bool kNan>
void row_by_blocks_t(const PackedEnsemble& p, const RowRegs& rr, const float* row, float* o) {
  const uint32_t G = p.num_group;
  float acc = p.base_margin;
  if (G != 1)
    for (uint32_t g = 0; g < G; ++g) o[g] = p.base_margin;
  const Block* blk = p.blocks.data();
  const size_t nb = p.blocks.size();
  for (size_t i = 0; i < nb;) {
    if (blk[i].walk) {
      const Tree* tb = p.trees.data() + blk[i].first_tree;
      for (uint32_t l = 0; l < blk[i].count; ++l) {
        const float w = walk(p.walk_nodes.data(), tb[l].node_off, row);
        if (G == 1) acc += w; else o[tb[l].group] += w;
      }
      ++i;
      continue;
    }
    size_t k = 1;  // consecutive packed blocks of the same depth (the usual case: all)
    while (k < kRowGroup && i + k < nb && !blk[i + k].walk && blk[i + k].depth == blk[i].depth) ++k;
    switch (k) {
      case 8: row_blocks<8, kRegs, kNan>(p, blk + i, blk[i].depth, row, rr, acc, o); break;
      case 7: row_blocks<7, kRegs, kNan>(p, blk + i, blk[i].depth, row, rr, acc, o); break;
      case 6: row_blocks<6, kRegs, kNan>(p, blk + i, blk[i].depth, row, rr, acc, o); break;
      case 5: row_blocks<5, kRegs, kNan>(p, blk + i, blk[i].depth, row, rr, acc, o); break;
      case 4: row_blocks<4, kRegs, kNan>(p, blk + i, blk[i].depth, row, rr, acc, o); break;
      case 3: row_blocks<3, kRegs, kNan>(p, blk + i, blk[i].depth, row, rr, acc, o); break;
      case 2: row_blocks<2, kRegs, kNan>(p, blk + i, blk[i].depth, row, rr, acc, o); break;
      default: row_blocks<1, kRegs, kNan>(p, blk + i, blk[i].depth, row, rr, acc, o); break;
    }
    i += k;
  }
  if (G == 1) o[0] = acc;
}

void row_by_blocks(const PackedEnsemble& p, const float* row, float* o) {
  static_assert(PackedEnsemble::kLanes == 16);
  if (p.num_feature <= 64) {
    const RowRegs rr(row, p.num_feature);
    if (rr.has_nan()) row_by_blocks_t<true, true>(p, rr, row, o);
    else row_by_blocks_t<true, false>(p, rr, row, o);  // no NaN: default directions never apply
  } else {
    row_by_blocks_t<false, true>(p, RowRegs(row, 0), row, o);
  }
}

// Up to 16 * V rows (n <= 16 * V), tree by tree, V vectors in flight so that
// the gathers of one hide the latency of the others. Lanes past n repeat the
// last row and are not stored.
template <uint32_t V>
void rows_by_tree(const PackedEnsemble& p, const float* rows, size_t n, size_t stride, float* out) {
  const int* nodes = reinterpret_cast<const int*>(p.nodes.data());
  const float* leaves = p.leaves.data();
  const uint32_t G = p.num_group;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i last = splat(static_cast<uint32_t>(n - 1));
  __m512i xoff[V];
  __m512 acc[V];
  for (uint32_t v = 0; v < V; ++v) {
    const __m512i r = _mm512_min_epi32(_mm512_add_epi32(lane, splat(16 * v)), last);
    xoff[v] = _mm512_mullo_epi32(r, splat(static_cast<uint32_t>(stride)));
    acc[v] = _mm512_set1_ps(p.base_margin);
  }
  if (G != 1)
    for (size_t k = 0; k < n * G; ++k) out[k] = p.base_margin;
  alignas(64) float val[16 * V];
  for (const Block& b : p.blocks) {
    const Tree* tb = p.trees.data() + b.first_tree;
    for (uint32_t l = 0; l < b.count; ++l) {
      const Tree& t = tb[l];
      __m512 leaf[V];
      if (b.walk) {
        for (uint32_t j = 0; j < 16 * V; ++j)
          val[j] = j < n ? walk(p.walk_nodes.data(), t.node_off, rows + j * stride) : 0.0f;
        for (uint32_t v = 0; v < V; ++v) leaf[v] = _mm512_load_ps(val + 16 * v);
      } else {
        const int* base = nodes + 2 * t.node_off;
        __m512i st[V];  // (chunk << bits) + position, as in row_blocks
        for (uint32_t v = 0; v < V; ++v) st[v] = _mm512_setzero_si512();
        for (uint32_t d = 0; d < b.depth; ++d) {
          const LevelInfo& li = kLayouts[b.depth].lv[d];
          const __m512i first = splat(li.base);
          const __m512i pmask = splat((1u << li.bits) - 1);
          const uint32_t next_bits = d + 1 < b.depth ? kLayouts[b.depth].lv[d + 1].bits : 0;
          for (uint32_t v = 0; v < V; ++v) {
            __m512i feat;
            __m512 thr;
            fetch<false>(base, _mm512_add_epi32(first, st[v]), feat, thr);
            const __m512i col = _mm512_add_epi32(_mm512_and_si512(feat, splat(TreeNode::kFeatureMask)), xoff[v]);
            const __m512 x = _mm512_i32gather_ps(col, rows, 4);
            st[v] = advance(st[v], pmask, li, next_bits, x, thr, feat);
          }
        }
        for (uint32_t v = 0; v < V; ++v) leaf[v] = _mm512_i32gather_ps(st[v], leaves + t.leaf_off, 4);
      }
      if (G == 1) {
        for (uint32_t v = 0; v < V; ++v) acc[v] = _mm512_add_ps(acc[v], leaf[v]);
      } else {
        for (uint32_t v = 0; v < V; ++v) _mm512_store_ps(val + 16 * v, leaf[v]);
        for (uint32_t j = 0; j < n; ++j) out[j * G + t.group] += val[j];
      }
    }
  }
  if (G == 1) {
    for (uint32_t v = 0; v < V; ++v) {
      alignas(64) float a[16];
      _mm512_store_ps(a, acc[v]);
      for (uint32_t j = 0; j < 16 && 16 * v + j < n; ++j) out[16 * v + j] = a[j];
    }
  }
}

constexpr size_t kRowBlock = 64;  // rows per rows_by_tree call (V = 4)
constexpr size_t kMinRowsByTree = 8;

// Batches: with <= 64 features row by row (faster here than rows_by_tree at
// every batch size measured, 1 to 256); wider rows: 64 rows per rows_by_tree.
void margin_packed(const PackedEnsemble& p, const float* rows, size_t nrows, size_t stride, float* out) {
  const uint32_t G = p.num_group;
  size_t r = 0;
  if (p.num_feature <= 64) {
    for (; r < nrows; ++r) row_by_blocks(p, rows + r * stride, out + r * G);
    return;
  }
  for (; r + kRowBlock <= nrows; r += kRowBlock) rows_by_tree<4>(p, rows + r * stride, kRowBlock, stride, out + r * G);
  const size_t left = nrows - r;
  if (left > 32) rows_by_tree<4>(p, rows + r * stride, left, stride, out + r * G);
  else if (left > 16) rows_by_tree<2>(p, rows + r * stride, left, stride, out + r * G);
  else if (left >= kMinRowsByTree) rows_by_tree<1>(p, rows + r * stride, left, stride, out + r * G);
  else for (; r < nrows; ++r) row_by_blocks(p, rows + r * stride, out + r * G);
}

#else  // scalar kernels (no AVX-512): same layout, independent lanes in registers

// One row, the 16 trees of a block at once. Leaves are added in tree order.
void row_by_blocks(const PackedEnsemble& p, const float* row, float* o) {
  constexpr uint32_t L = PackedEnsemble::kLanes;
  const uint32_t G = p.num_group;
  float acc = p.base_margin;
  if (G != 1)
    for (uint32_t g = 0; g < G; ++g) o[g] = p.base_margin;
  for (const Block& b : p.blocks) {
    const Tree* tb = p.trees.data() + b.first_tree;
    if (b.walk) {
      for (uint32_t l = 0; l < b.count; ++l) {
        const float v = walk(p.walk_nodes.data(), tb[l].node_off, row);
        if (G == 1) acc += v; else o[tb[l].group] += v;
      }
      continue;
    }
    const PackedNode* base = p.nodes.data() + tb[0].node_off;
    const uint32_t per = kLayouts[b.depth].nodes;
    uint32_t c[L] = {}, q[L] = {};
    for (uint32_t d = 0; d < b.depth; ++d)
      for (uint32_t l = 0; l < L; ++l) step(base + l * per, kLayouts[b.depth].lv[d], c[l], q[l], row);
    const float* lv = p.leaves.data() + tb[0].leaf_off;
    for (uint32_t l = 0; l < b.count; ++l) {
      const float v = lv[(l << b.depth) + c[l]];
      if (G == 1) acc += v; else o[tb[l].group] += v;
    }
  }
  if (G == 1) o[0] = acc;
}

// Up to B rows (n <= B), tree by tree: B independent lanes per level. Lanes
// past n repeat the last row and are not stored.
template <uint32_t B>
void rows_by_tree(const PackedEnsemble& p, const float* rows, size_t n, size_t stride, float* out) {
  const uint32_t G = p.num_group;
  const float* rp[B];
  for (uint32_t j = 0; j < B; ++j) rp[j] = rows + std::min<size_t>(j, n - 1) * stride;
  float acc[B];
  for (uint32_t j = 0; j < B; ++j) acc[j] = p.base_margin;
  if (G != 1)
    for (size_t k = 0; k < n * G; ++k) out[k] = p.base_margin;
  for (const Block& b : p.blocks) {
    const Tree* tb = p.trees.data() + b.first_tree;
    for (uint32_t l = 0; l < b.count; ++l) {
      const Tree& t = tb[l];
      float v[B];
      if (b.walk) {
        for (uint32_t j = 0; j < B; ++j) v[j] = j < n ? walk(p.walk_nodes.data(), t.node_off, rp[j]) : 0.0f;
      } else {
        const PackedNode* tree = p.nodes.data() + t.node_off;
        uint32_t c[B] = {}, q[B] = {};
        for (uint32_t d = 0; d < b.depth; ++d)
          for (uint32_t j = 0; j < B; ++j) step(tree, kLayouts[b.depth].lv[d], c[j], q[j], rp[j]);
        for (uint32_t j = 0; j < B; ++j) v[j] = p.leaves[t.leaf_off + c[j]];
      }
      if (G == 1) {
        for (uint32_t j = 0; j < B; ++j) acc[j] += v[j];
      } else {
        for (uint32_t j = 0; j < n; ++j) out[j * G + t.group] += v[j];
      }
    }
  }
  if (G == 1)
    for (uint32_t j = 0; j < n; ++j) out[j] = acc[j];
}

void margin_packed(const PackedEnsemble& p, const float* rows, size_t nrows, size_t stride, float* out) {
  constexpr size_t B = 16;
  const uint32_t G = p.num_group;
  size_t r = 0;
  for (; r + B <= nrows; r += B) rows_by_tree<B>(p, rows + r * stride, B, stride, out + r * G);
  if (nrows - r >= 8) {
    rows_by_tree<8>(p, rows + r * stride, 8, stride, out + r * G);
    r += 8;
  }
  for (; r < nrows; ++r) row_by_blocks(p, rows + r * stride, out + r * G);
}

#endif

}  // namespace

size_t PackedEnsemble::bytes() const {
  return nodes.size() * sizeof(PackedNode) + leaves.size() * sizeof(float) + trees.size() * sizeof(Tree) +
         blocks.size() * sizeof(Block) + walk_nodes.size() * sizeof(TreeNode);
}

void pack_ensemble(const TreeEnsemble& m, PackedEnsemble& p) {
  constexpr uint32_t L = PackedEnsemble::kLanes;
  constexpr PackedNode kPad{0, std::numeric_limits<float>::quiet_NaN()};
  p = PackedEnsemble{};
  p.num_feature = m.num_feature;
  p.num_group = m.num_group;
  p.base_margin = m.base_margin;
  p.link = m.link;
  p.num_trees_ = m.num_trees();
  const uint32_t T = static_cast<uint32_t>(m.num_trees());
  for (uint32_t first = 0; first < T; first += L) {
    Block b;
    b.first_tree = first;
    b.count = std::min(L, T - first);
    for (uint32_t t = first; t < first + b.count; ++t) b.depth = std::max(b.depth, tree_depth(m, m.tree_root[t]));
    b.walk = b.depth > kMaxDepth;
    if (b.walk && p.walk_nodes.empty()) p.walk_nodes = m.nodes;
    for (uint32_t l = 0; l < L; ++l) {  // padding trees (l >= count) stay all "go right", leaves 0
      Tree tr;
      tr.depth = b.depth;
      const uint32_t t = first + l;
      if (l < b.count) tr.group = m.tree_group[t];
      if (b.walk) {
        if (l >= b.count) break;
        tr.node_off = m.tree_root[t];
      } else {
        tr.node_off = static_cast<uint32_t>(p.nodes.size());  // a multiple of 8: chunks are 64-byte aligned
        tr.leaf_off = static_cast<uint32_t>(p.leaves.size());
        p.nodes.resize(p.nodes.size() + kLayouts[b.depth].nodes, kPad);
        p.leaves.resize(p.leaves.size() + (size_t(1) << b.depth), 0.0f);
        if (l < b.count)
          place(m, m.tree_root[t], 0, 0, b.depth, p.nodes.data() + tr.node_off, p.leaves.data() + tr.leaf_off);
      }
      p.trees.push_back(tr);
    }
    p.blocks.push_back(b);
  }
}

void predict_margin(const PackedEnsemble& p, const float* rows, size_t nrows, size_t row_stride, float* out) {
  margin_packed(p, rows, nrows, row_stride, out);
}

void predict_prob(const PackedEnsemble& p, const float* rows, size_t nrows, size_t row_stride, float* out) {
  predict_margin(p, rows, nrows, row_stride, out);
  apply_link(p.link, p.num_group, nrows, out);
}

}  // namespace spectre::ml
