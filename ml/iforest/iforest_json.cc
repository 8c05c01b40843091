// JSON load/save of isolation forests (format in iforest.h). A small strict
// reader of our own: RFC 8259 grammar, no NaN/Infinity, nesting capped.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "ml/iforest/iforest.h"

namespace spectre::ml {
namespace {

class JsonCursor {
 public:
  JsonCursor(const char* p, const char* end) : p_(p), begin_(p), end_(end) {}

  std::string err;

  bool fail(const std::string& what) {
    if (err.empty()) err = what + " at offset " + std::to_string(p_ - begin_);
    return false;
  }
  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool at_end() {
    ws();
    return p_ == end_;
  }
  bool peek(char c) {
    ws();
    return p_ < end_ && *p_ == c;
  }
  bool expect(char c) {
    ws();
    if (p_ >= end_) return fail(std::string("truncated input, expected '") + c + "'");
    if (*p_ != c) return fail(std::string("expected '") + c + "'");
    ++p_;
    return true;
  }

  bool string(std::string& s) {
    s.clear();
    if (!expect('"')) return false;
    while (true) {
      if (p_ >= end_) return fail("truncated string");
      const char c = *p_++;
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in string");
      if (c != '\\') {
        s.push_back(c);
        continue;
      }
      if (p_ >= end_) return fail("truncated string");
      const char e = *p_++;
      switch (e) {
        case '"': case '\\': case '/': s.push_back(e); break;
        case 'b': s.push_back('\b'); break;
        case 'f': s.push_back('\f'); break;
        case 'n': s.push_back('\n'); break;
        case 'r': s.push_back('\r'); break;
        case 't': s.push_back('\t'); break;
        case 'u': {
          if (end_ - p_ < 4) return fail("truncated \\u escape");
          unsigned cp = 0;
          auto [q, ec] = std::from_chars(p_, p_ + 4, cp, 16);
          if (ec != std::errc() || q != p_ + 4) return fail("bad \\u escape");
          p_ += 4;
          // Key names are ASCII; other code points are kept as UTF-8 (no surrogate pairing).
          if (cp < 0x80) {
            s.push_back(static_cast<char>(cp));
          } else if (cp < 0x800) {
            s.push_back(static_cast<char>(0xc0 | (cp >> 6)));
            s.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
          } else {
            s.push_back(static_cast<char>(0xe0 | (cp >> 12)));
            s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
            s.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
          }
          break;
        }
        default: return fail("bad escape in string");
      }
    }
  }

  bool number(double& v) {
    ws();
    const char* s = p_;
    const char* q = p_;
    auto digits = [&] {
      const char* d = q;
      while (q < end_ && *q >= '0' && *q <= '9') ++q;
      return q > d;
    };
    if (q < end_ && *q == '-') ++q;
    if (q < end_ && *q == '0') {
      ++q;
    } else if (!digits()) {
      return fail(q >= end_ ? "truncated number" : "expected a number");
    }
    if (q < end_ && *q == '.') {
      ++q;
      if (!digits()) return fail("bad fraction in number");
    }
    if (q < end_ && (*q == 'e' || *q == 'E')) {
      ++q;
      if (q < end_ && (*q == '+' || *q == '-')) ++q;
      if (!digits()) return fail("bad exponent in number");
    }
    auto [r, ec] = std::from_chars(s, q, v);
    if (ec != std::errc() || r != q || !std::isfinite(v)) return fail("number out of range");
    p_ = q;
    return true;
  }

  bool integer(int64_t& out, int64_t lo, int64_t hi) {
    double v;
    if (!number(v)) return false;
    if (v != std::floor(v) || v < static_cast<double>(lo) || v > static_cast<double>(hi))
      return fail("expected an integer in [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + "]");
    out = static_cast<int64_t>(v);
    return true;
  }

  // Calls on_key(key) for each member; on_key parses the value.
  template <class F>
  bool object(F&& on_key) {
    if (!expect('{')) return false;
    if (peek('}')) return expect('}');
    std::string key;
    while (true) {
      if (!string(key) || !expect(':') || !on_key(key)) return false;
      if (peek(',')) {
        ++p_;
        continue;
      }
      return expect('}');
    }
  }

  template <class F>
  bool array(F&& on_elem) {
    if (!expect('[')) return false;
    if (peek(']')) return expect(']');
    while (true) {
      if (!on_elem()) return false;
      if (peek(',')) {
        ++p_;
        continue;
      }
      return expect(']');
    }
  }

  bool numbers(std::vector<double>& v) {
    v.clear();
    return array([&] {
      double d;
      if (!number(d)) return false;
      v.push_back(d);
      return true;
    });
  }

  // Skips any value (unknown keys), nesting capped so hostile input cannot blow the stack.
  bool skip(int depth = 0) {
    if (depth > 64) return fail("nesting too deep");
    ws();
    if (p_ >= end_) return fail("truncated input");
    std::string s;
    switch (*p_) {
      case '{': return object([&](const std::string&) { return skip(depth + 1); });
      case '[': return array([&] { return skip(depth + 1); });
      case '"': return string(s);
      case 't': return word("true");
      case 'f': return word("false");
      case 'n': return word("null");
      default: {
        double d;
        return number(d);
      }
    }
  }

 private:
  bool word(const char* w) {
    for (; *w; ++w, ++p_)
      if (p_ >= end_ || *p_ != *w) return fail("bad literal");
    return true;
  }
  const char* p_;
  const char* begin_;
  const char* end_;
};

struct RawTree {
  std::vector<double> features, left, right, feature, threshold, samples;
  bool has_features = false;
};

bool parse_tree(JsonCursor& c, RawTree& t) {
  uint32_t seen = 0;
  return c.object([&](const std::string& k) {
    static const char* const kKeys[] = {"features", "children_left", "children_right",
                                        "feature", "threshold", "n_node_samples"};
    std::vector<double>* dst[] = {&t.features, &t.left, &t.right,
                                  &t.feature, &t.threshold, &t.samples};
    for (int i = 0; i < 6; ++i) {
      if (k != kKeys[i]) continue;
      if (seen & (1u << i)) return c.fail("duplicate key \"" + k + "\"");
      seen |= 1u << i;
      if (i == 0) t.has_features = true;
      return c.numbers(*dst[i]);
    }
    return c.skip();
  }) && ((seen & 0x3e) == 0x3e || c.fail("tree lacks one of children_left, children_right, "
                                         "feature, threshold, n_node_samples"));
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
  JsonCursor c(text.data(), text.data() + text.size());
  IsolationForest f;
  std::string format;
  int64_t version = 0, n_features = -1, max_samples = -1;
  bool have_offset = false, have_trees = false;
  RawTree tree;
  size_t ntrees = 0;
  std::string tree_err;
  const bool ok = c.object([&](const std::string& k) {
    if (k == "format") return c.string(format);
    if (k == "version") return c.integer(version, 0, INT32_MAX);
    if (k == "n_features") return c.integer(n_features, 1, INT32_MAX);
    if (k == "max_samples") return c.integer(max_samples, 0, UINT32_MAX);
    if (k == "offset") {
      have_offset = true;
      return c.number(f.offset);
    }
    if (k == "trees") {
      if (have_trees) return c.fail("duplicate key \"trees\"");
      if (n_features < 0) return c.fail("\"n_features\" must come before \"trees\"");
      have_trees = true;
      f.n_features = static_cast<uint32_t>(n_features);
      return c.array([&] {
        tree = RawTree{};
        if (!parse_tree(c, tree)) return false;
        if (!add_tree(tree, ntrees++, f, tree_err)) return c.fail(tree_err);
        return true;
      });
    }
    return c.skip();
  });
  if (!ok) {
    err = "iforest json: " + c.err;
    return false;
  }
  if (!c.at_end()) {
    err = "iforest json: trailing data after the top-level object";
    return false;
  }
  if (format != "spectre-iforest" || version != 1) {
    err = "iforest json: not a spectre-iforest version 1 document";
    return false;
  }
  if (n_features < 0 || max_samples < 0 || !have_offset || !have_trees) {
    err = "iforest json: missing n_features, max_samples, offset or trees";
    return false;
  }
  f.max_samples = static_cast<uint32_t>(max_samples);
  if (!finalize_iforest(f, err)) {
    err = "iforest json: " + err;
    return false;
  }
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
