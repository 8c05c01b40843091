// Isolation forest: structure checks, scikit-learn-exact scoring, our trainer.
#include "ml/iforest/iforest.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace spectre::ml {

double iforest_average_path_length(double n) {
  // Same branches and expression as sklearn.ensemble._iforest._average_path_length.
  if (n <= 1.0) return 0.0;
  if (n == 2.0) return 1.0;
  constexpr double kEulerGamma = 0.57721566490153286060651209008240243;
  return 2.0 * (std::log(n - 1.0) + kEulerGamma) - 2.0 * (n - 1.0) / n;
}

bool finalize_iforest(IsolationForest& f, std::string& err) {
  const size_t total = f.nodes.size();
  if (f.roots.empty()) {
    err = "isolation forest has no trees";
    return false;
  }
  if (f.roots[0] != 0) {
    err = "first tree does not start at node 0";
    return false;
  }
  // Each tree's nodes are contiguous; children come after their parent and
  // have exactly one parent, which makes every tree a finite tree.
  std::vector<uint32_t> parents(total, 0);
  std::vector<uint32_t> depth(total, 0);
  for (size_t t = 0; t < f.roots.size(); ++t) {
    const size_t begin = f.roots[t];
    const size_t end = t + 1 < f.roots.size() ? f.roots[t + 1] : total;
    if (end <= begin || end > total) {
      err = "tree " + std::to_string(t) + ": empty or out-of-order node range";
      return false;
    }
    for (size_t i = begin; i < end; ++i) {
      IForestNode& nd = f.nodes[i];
      if (i != begin && parents[i] != 1) {
        err = "tree " + std::to_string(t) + ": node " + std::to_string(i - begin) +
              (parents[i] == 0 ? " is unreachable" : " has several parents");
        return false;
      }
      if (nd.feature < 0) {
        if (nd.feature != -1 || nd.left != 0 || nd.right != 0) {
          err = "tree " + std::to_string(t) + ": malformed leaf";
          return false;
        }
        nd.value = depth[i] + iforest_average_path_length(static_cast<double>(nd.n_samples));
        continue;
      }
      if (static_cast<uint32_t>(nd.feature) >= f.n_features) {
        err = "tree " + std::to_string(t) + ": feature " + std::to_string(nd.feature) +
              " out of range (n_features " + std::to_string(f.n_features) + ")";
        return false;
      }
      if (!std::isfinite(nd.value)) {
        err = "tree " + std::to_string(t) + ": non-finite threshold";
        return false;
      }
      if (nd.left <= i || nd.right <= i || nd.left >= end || nd.right >= end ||
          nd.left == nd.right) {
        err = "tree " + std::to_string(t) + ": bad child index at node " +
              std::to_string(i - begin);
        return false;
      }
      ++parents[nd.left];
      ++parents[nd.right];
      depth[nd.left] = depth[i] + 1;
      depth[nd.right] = depth[i] + 1;
    }
  }
  f.denominator = static_cast<double>(f.roots.size()) *
                  iforest_average_path_length(static_cast<double>(f.max_samples));
  return true;
}

void score_samples(const IsolationForest& f, const double* rows, size_t n, size_t stride,
                   double* out) {
  const IForestNode* nodes = f.nodes.data();
  const uint32_t* roots = f.roots.data();
  const size_t trees = f.roots.size();
  for (size_t i = 0; i < n; ++i) {
    const double* x = rows + i * stride;
    double depths = 0.0;
    for (size_t t = 0; t < trees; ++t) {
      const IForestNode* nd = nodes + roots[t];
      while (nd->feature >= 0) {
        // sklearn casts inputs to float32 before comparing with the float64 threshold.
        const double v = static_cast<double>(static_cast<float>(x[nd->feature]));
        nd = nodes + (v <= nd->value ? nd->left : nd->right);
      }
      depths += nd->value;
    }
    // sklearn: 2 ** -divide(depths, denom, out=ones, where=denom != 0), negated.
    const double ratio = f.denominator != 0.0 ? depths / f.denominator : 1.0;
    out[i] = -std::exp2(-ratio);
  }
}

namespace {

// xoshiro256** seeded through splitmix64: fast, deterministic across platforms.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& w : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      w = z ^ (z >> 31);
    }
  }
  uint64_t next() {
    const uint64_t r = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return r;
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  size_t below(size_t n) { return static_cast<size_t>(uniform() * static_cast<double>(n)); }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

struct Builder {
  const double* rows;
  size_t nfeat, stride;
  uint32_t limit;
  Rng& rng;
  std::vector<uint32_t>& idx;   // row ids of the current tree's sample, partitioned in place
  std::vector<uint32_t>& feats;  // scratch: candidate features
  std::vector<IForestNode>& nodes;

  double val(uint32_t r, size_t q) const {
    return static_cast<double>(static_cast<float>(rows[r * stride + q]));
  }

  uint32_t build(size_t lo, size_t hi, uint32_t depth) {
    const uint32_t me = static_cast<uint32_t>(nodes.size());
    nodes.push_back(IForestNode{});
    nodes[me].n_samples = static_cast<uint32_t>(hi - lo);
    if (depth >= limit || hi - lo <= 1) return me;
    // Random feature; a constant one cannot split, so draw again without
    // replacement until one varies (all constant: leaf).
    for (size_t k = 0; k < nfeat; ++k) feats[k] = static_cast<uint32_t>(k);
    for (size_t left = nfeat; left > 0; --left) {
      const size_t pick = rng.below(left);
      const uint32_t q = feats[pick];
      feats[pick] = feats[left - 1];
      double mn = val(idx[lo], q), mx = mn;
      for (size_t i = lo + 1; i < hi; ++i) {
        const double v = val(idx[i], q);
        mn = std::min(mn, v);
        mx = std::max(mx, v);
      }
      if (!(mn < mx)) continue;
      double p = mn + rng.uniform() * (mx - mn);
      if (p >= mx) p = mn;  // keep the right side non-empty despite rounding
      size_t mid = lo;
      for (size_t i = lo; i < hi; ++i)
        if (val(idx[i], q) <= p) std::swap(idx[i], idx[mid++]);
      nodes[me].feature = static_cast<int32_t>(q);
      nodes[me].value = p;
      const uint32_t l = build(lo, mid, depth + 1);
      const uint32_t r = build(mid, hi, depth + 1);
      nodes[me].left = l;
      nodes[me].right = r;
      return me;
    }
    return me;
  }
};

}  // namespace

IsolationForest train_iforest(const double* rows, size_t n, size_t nfeat, size_t stride,
                              uint32_t trees, uint32_t max_samples, uint64_t seed) {
  IsolationForest f;
  if (n == 0 || nfeat == 0 || trees == 0 || n > UINT32_MAX || nfeat > INT32_MAX) return f;
  if (max_samples == 0) max_samples = 256;
  const size_t psi = std::min<size_t>(max_samples, n);
  uint32_t limit = 0;
  while ((size_t{1} << limit) < psi) ++limit;  // ceil(log2(psi))
  f.n_features = static_cast<uint32_t>(nfeat);
  f.max_samples = static_cast<uint32_t>(psi);
  f.offset = -0.5;
  Rng rng(seed);
  std::vector<uint32_t> all(n), idx(psi), feats(nfeat);
  for (size_t i = 0; i < n; ++i) all[i] = static_cast<uint32_t>(i);
  Builder b{rows, nfeat, stride, limit, rng, idx, feats, f.nodes};
  for (uint32_t t = 0; t < trees; ++t) {
    // Partial Fisher-Yates: the first psi entries are a uniform sample without replacement.
    for (size_t i = 0; i < psi; ++i) {
      std::swap(all[i], all[i + rng.below(n - i)]);
      idx[i] = all[i];
    }
    f.roots.push_back(static_cast<uint32_t>(f.nodes.size()));
    b.build(0, psi, 0);
  }
  std::string err;
  finalize_iforest(f, err);  // cannot fail on a forest built above
  return f;
}

}  // namespace spectre::ml
