// JSON load/save of isolation forests (format in iforest.h), read with the
// shared model JSON reader (ml/json.h); non-finite numbers are refused.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "ml/iforest/iforest.h"
#include "ml/json.h"

namespace spectre::ml {
namespace {

struct RawTree {
  std::vector<double> features, left, right, feature, threshold, samples;
  bool has_features = false;
};

// A member's array of numbers; false with `err` when it is not one.
bool numbers(const json::Doc& d, uint32_t arr, const char* name, std::vector<double>& out, std::string& err) {
  if (d.type(arr) != json::Type::Array) {
    err = std::string("\"") + name + "\" is not an array";
    return false;
  }
  out.clear();
  out.reserve(d.size(arr));
  for (uint32_t e = d.first(arr); e != json::kNone; e = d.next(e)) {
    double v;
    if (!d.to_double(e, v) || !std::isfinite(v)) {
      err = std::string("\"") + name + "\" holds a value that is not a finite number";
      return false;
    }
    out.push_back(v);
  }
  return true;
}

bool parse_tree(const json::Doc& d, uint32_t obj, RawTree& t, std::string& err) {
  if (d.type(obj) != json::Type::Object) {
    err = "a tree is not an object";
    return false;
  }
  static const char* const kKeys[] = {"features", "children_left", "children_right",
                                      "feature", "threshold", "n_node_samples"};
  std::vector<double>* dst[] = {&t.features, &t.left, &t.right, &t.feature, &t.threshold, &t.samples};
  for (int i = 0; i < 6; ++i) {
    uint32_t m = d.find(obj, kKeys[i]);
    if (m == json::kNone) {
      if (i == 0) continue;  // "features" is optional
      err = std::string("tree lacks \"") + kKeys[i] + "\"";
      return false;
    }
    if (i == 0) t.has_features = true;
    if (!numbers(d, m, kKeys[i], *dst[i], err)) return false;
  }
  return true;
}

bool is_int(double v, double lo, double hi) { return v == std::floor(v) && v >= lo && v <= hi; }

// Appends one tree (sklearn arrays, local node ids) to f.
bool add_tree(const RawTree& t, size_t ti, IsolationForest& f, std::string& err) {
  const std::string where = "tree " + std::to_string(ti) + ": ";
  const size_t m = t.left.size();
  if (m == 0 || t.right.size() != m || t.feature.size() != m || t.threshold.size() != m ||
      t.samples.size() != m) {
    err = where + "node arrays empty or of different lengths";
    return false;
  }
  if (f.nodes.size() + m > INT32_MAX) {
    err = where + "too many nodes";
    return false;
  }
  const size_t base = f.nodes.size();
  f.roots.push_back(static_cast<uint32_t>(base));
  for (double g : t.features) {
    if (!is_int(g, 0, static_cast<double>(f.n_features) - 1)) {
      err = where + "estimators_features entry out of range";
      return false;
    }
  }
  for (size_t k = 0; k < m; ++k) {
    IForestNode nd;
    if (!is_int(t.samples[k], 0, UINT32_MAX)) {
      err = where + "bad n_node_samples at node " + std::to_string(k);
      return false;
    }
    nd.n_samples = static_cast<uint32_t>(t.samples[k]);
    const double l = t.left[k], r = t.right[k];
    if (l == -1 && r == -1) {
      f.nodes.push_back(nd);  // leaf: value filled by finalize_iforest
      continue;
    }
    if (!is_int(l, 0, static_cast<double>(m) - 1) || !is_int(r, 0, static_cast<double>(m) - 1)) {
      err = where + "bad child index at node " + std::to_string(k);
      return false;
    }
    const double width = t.has_features ? static_cast<double>(t.features.size())
                                        : static_cast<double>(f.n_features);
    if (!is_int(t.feature[k], 0, width - 1)) {
      err = where + "feature out of range at node " + std::to_string(k);
      return false;
    }
    const size_t local = static_cast<size_t>(t.feature[k]);
    nd.feature = static_cast<int32_t>(t.has_features ? t.features[local] : t.feature[k]);
    nd.value = t.threshold[k];
    nd.left = static_cast<uint32_t>(base + static_cast<size_t>(l));
    nd.right = static_cast<uint32_t>(base + static_cast<size_t>(r));
    f.nodes.push_back(nd);
  }
  return true;
}

void put_double(std::string& s, double v) {
  char buf[40];
  const int n = std::snprintf(buf, sizeof buf, "%.17g", v);
  s.append(buf, static_cast<size_t>(n));
}

}  // namespace

bool load_iforest_json(const std::string& text, IsolationForest& out, std::string& err) {
  json::Doc d;
  std::string e;
  auto fail = [&](const std::string& why) {
    err = "iforest json: " + why;
    return false;
  };
  if (!d.parse(text, e)) return fail(e);
  const uint32_t root = d.root();
  if (d.type(root) != json::Type::Object) return fail("the document is not an object");
  auto member = [&](const char* k) { return d.find(root, k); };
  uint32_t fm = member("format"), vm = member("version"), nf = member("n_features"),
           ms = member("max_samples"), om = member("offset"), tm = member("trees");
  int64_t version = 0, n_features = 0, max_samples = 0;
  if (fm == json::kNone || d.type(fm) != json::Type::String || d.str(fm) != "spectre-iforest" ||
      vm == json::kNone || !d.to_int(vm, version) || version != 1)
    return fail("not a spectre-iforest version 1 document");
  IsolationForest f;
  if (nf == json::kNone || ms == json::kNone || om == json::kNone || tm == json::kNone)
    return fail("missing n_features, max_samples, offset or trees");
  if (!d.to_int(nf, n_features) || n_features < 1 || n_features > INT32_MAX)
    return fail("bad n_features");
  if (!d.to_int(ms, max_samples) || max_samples < 0 || max_samples > UINT32_MAX)
    return fail("bad max_samples");
  if (!d.to_double(om, f.offset) || !std::isfinite(f.offset)) return fail("bad offset");
  if (d.type(tm) != json::Type::Array) return fail("\"trees\" is not an array");
  f.n_features = static_cast<uint32_t>(n_features);
  f.max_samples = static_cast<uint32_t>(max_samples);
  size_t ti = 0;
  for (uint32_t t = d.first(tm); t != json::kNone; t = d.next(t)) {
    RawTree tree;
    if (!parse_tree(d, t, tree, e) || !add_tree(tree, ti++, f, e)) return fail(e);
  }
  if (!finalize_iforest(f, e)) return fail(e);
  out = std::move(f);
  return true;
}

bool save_iforest_json(const IsolationForest& f, std::string& text, std::string& err) {
  IsolationForest check = f;  // validate structure before writing
  if (!finalize_iforest(check, err)) return false;
  std::string s;
  s.reserve(64 + f.nodes.size() * 48);
  s += "{\"format\":\"spectre-iforest\",\"version\":1,\"n_features\":";
  s += std::to_string(f.n_features);
  s += ",\"max_samples\":";
  s += std::to_string(f.max_samples);
  s += ",\"offset\":";
  put_double(s, f.offset);
  s += ",\"trees\":[";
  for (size_t t = 0; t < f.roots.size(); ++t) {
    const size_t begin = f.roots[t];
    const size_t end = t + 1 < f.roots.size() ? f.roots[t + 1] : f.nodes.size();
    if (t) s += ',';
    auto field = [&](const char* name, auto&& emit) {
      s += '"';
      s += name;
      s += "\":[";
      for (size_t i = begin; i < end; ++i) {
        if (i > begin) s += ',';
        emit(f.nodes[i]);
      }
      s += ']';
    };
    auto child = [&](uint32_t c, const IForestNode& nd) {
      s += nd.feature < 0 ? std::string("-1") : std::to_string(c - begin);
    };
    s += '{';
    field("children_left", [&](const IForestNode& nd) { child(nd.left, nd); });
    s += ',';
    field("children_right", [&](const IForestNode& nd) { child(nd.right, nd); });
    s += ',';
    field("feature", [&](const IForestNode& nd) {
      s += std::to_string(nd.feature < 0 ? -2 : nd.feature);
    });
    s += ',';
    field("threshold", [&](const IForestNode& nd) {
      put_double(s, nd.feature < 0 ? -2.0 : nd.value);
    });
    s += ',';
    field("n_node_samples", [&](const IForestNode& nd) { s += std::to_string(nd.n_samples); });
    s += '}';
  }
  s += "]}\n";
  text = std::move(s);
  return true;
}

}  // namespace spectre::ml
