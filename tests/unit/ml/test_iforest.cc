// Isolation forest: differential test against scikit-learn's score_samples
// (forests exported by ml/export_iforest.py), an independent reference scorer
// for our trainer, AUC on an obvious outlier cluster, JSON round trip and refusals.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "ml/iforest/iforest.h"

namespace fs = std::filesystem;
using spectre::ml::IForestNode;
using spectre::ml::IsolationForest;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Source tree: $SPECTRE_SOURCE_ROOT, else walk up from cwd and from the test
// binary, accepting a dir holding ml/export_iforest.py or a meson build dir
// (meson-info/meson-info.json names the source dir).
fs::path source_root() {
  if (const char* e = std::getenv("SPECTRE_SOURCE_ROOT"); e && *e) return e;
  std::vector<fs::path> starts{fs::current_path()};
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) starts.push_back(exe.parent_path());
  for (fs::path d : starts) {
    for (; !d.empty(); d = d.parent_path()) {
      if (fs::exists(d / "ml" / "export_iforest.py")) return d;
      const fs::path info = d / "meson-info" / "meson-info.json";
      if (fs::exists(info)) {
        const std::string t = read_text(info);
        const std::string key = "\"source\": \"";
        const size_t at = t.find(key);
        if (at != std::string::npos) {
          const size_t b = at + key.size(), q = t.find('"', b);
          const fs::path src = t.substr(b, q - b);
          if (fs::exists(src / "ml" / "export_iforest.py")) return src;
        }
      }
      if (d == d.parent_path()) break;
    }
  }
  return {};
}

// Test data shared by the sklearn tests: generated once per process.
struct SklearnData {
  bool ok = false;
  std::string skip_reason;
  fs::path dir;
  std::vector<std::string> configs;
  ~SklearnData() {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
};

const SklearnData& sklearn_data() {
  static const SklearnData data = [] {
    SklearnData d;
    const fs::path root = source_root();
    if (root.empty()) {
      d.skip_reason = "source tree not found (set SPECTRE_SOURCE_ROOT)";
      return d;
    }
    if (std::system("/usr/bin/python3 -c 'import sklearn' >/dev/null 2>&1") != 0) {
      d.skip_reason = "/usr/bin/python3 lacks sklearn";
      return d;
    }
    d.dir = fs::temp_directory_path() / ("spectre-iforest-" + std::to_string(getpid()));
    fs::create_directories(d.dir);
    const std::string cmd = "/usr/bin/python3 '" +
                            (root / "tests/unit/ml/gen_iforest.py").string() + "' '" +
                            d.dir.string() + "'";
    if (std::system(cmd.c_str()) != 0) {
      d.skip_reason = "gen_iforest.py failed: " + cmd;
      return d;
    }
    std::istringstream in(read_text(d.dir / "configs.txt"));
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) d.configs.push_back(line);
    d.ok = !d.configs.empty();
    return d;
  }();
  return data;
}

struct Rows {
  size_t n = 0, nfeat = 0;
  std::vector<double> x, expected;
};

bool parse_double(const std::string& tok, double& v) {
  auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
  return ec == std::errc() && p == tok.data() + tok.size();
}

Rows read_rows(const fs::path& p) {
  Rows r;
  std::istringstream in(read_text(p));
  in >> r.n >> r.nfeat;
  std::string tok;
  for (size_t i = 0; i < r.n; ++i) {
    for (size_t j = 0; j <= r.nfeat; ++j) {
      double v = 0;
      in >> tok;
      EXPECT_TRUE(parse_double(tok, v)) << tok;
      (j < r.nfeat ? r.x : r.expected).push_back(v);
    }
  }
  return r;
}

// Independent model: recursive walk over the node structure computing
// depth + c(n_samples) from scratch, sklearn's formula in long double.
long double ref_c(long double n) {
  if (n <= 1) return 0;
  if (n == 2) return 1;
  return 2 * (std::log(n - 1) + 0.5772156649015328606L) - 2 * (n - 1) / n;
}
long double ref_path(const IsolationForest& f, uint32_t k, const double* x, int depth) {
  const IForestNode& nd = f.nodes[k];
  if (nd.feature < 0) return depth + ref_c(nd.n_samples);
  const float v = static_cast<float>(x[nd.feature]);
  return ref_path(f, v <= nd.value ? nd.left : nd.right, x, depth + 1);
}
double ref_score(const IsolationForest& f, const double* x) {
  long double sum = 0;
  for (uint32_t r : f.roots) sum += ref_path(f, r, x, 0);
  const long double den = f.roots.size() * ref_c(f.max_samples);
  return static_cast<double>(-std::pow(2.0L, den != 0 ? -sum / den : -1.0L));
}

int max_depth(const IsolationForest& f, uint32_t k) {
  const IForestNode& nd = f.nodes[k];
  if (nd.feature < 0) return 0;
  return 1 + std::max(max_depth(f, nd.left), max_depth(f, nd.right));
}

// Inliers: gaussian blob; outliers: small cluster far away (label 1).
void blob_data(size_t n_in, size_t n_out, size_t nfeat, uint32_t seed, std::vector<double>& x,
               std::vector<int>& label) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  for (size_t i = 0; i < n_in + n_out; ++i) {
    const bool out = i >= n_in;
    for (size_t j = 0; j < nfeat; ++j) x.push_back(out ? 6.0 + 0.3 * nd(g) : nd(g));
    label.push_back(out ? 1 : 0);
  }
}

double auc_outliers_lower(const std::vector<double>& score, const std::vector<int>& label) {
  // P(score(outlier) < score(inlier)), ties counted half.
  double good = 0, pairs = 0;
  for (size_t i = 0; i < score.size(); ++i) {
    if (!label[i]) continue;
    for (size_t j = 0; j < score.size(); ++j) {
      if (label[j]) continue;
      pairs += 1;
      good += score[i] < score[j] ? 1.0 : score[i] == score[j] ? 0.5 : 0.0;
    }
  }
  return good / pairs;
}

std::vector<double> scores_of(const IsolationForest& f, const std::vector<double>& x,
                              size_t nfeat) {
  std::vector<double> s(x.size() / nfeat);
  spectre::ml::score_samples(f, x.data(), s.size(), nfeat, s.data());
  return s;
}

}  // namespace

TEST(IForestMath, AveragePathLengthMatchesSklearn) {
  using spectre::ml::iforest_average_path_length;
  EXPECT_EQ(iforest_average_path_length(0), 0.0);
  EXPECT_EQ(iforest_average_path_length(1), 0.0);
  EXPECT_EQ(iforest_average_path_length(2), 1.0);
  // Values printed by sklearn.ensemble._iforest._average_path_length.
  EXPECT_NEAR(iforest_average_path_length(3), 1.207392357589623, 1e-15);
  EXPECT_NEAR(iforest_average_path_length(64), 7.471950782586131, 1e-14);
  EXPECT_NEAR(iforest_average_path_length(256), 10.244770920119917, 1e-14);
}

TEST(IForestSklearn, ScoreSamplesMatchWithin1e6) {
  const SklearnData& d = sklearn_data();
  if (!d.ok) GTEST_SKIP() << d.skip_reason;
  double worst = 0;
  size_t total_rows = 0;
  for (const std::string& name : d.configs) {
    SCOPED_TRACE(name);
    IsolationForest f;
    std::string err;
    ASSERT_TRUE(spectre::ml::load_iforest_json(read_text(d.dir / (name + ".json")), f, err))
        << err;
    const Rows r = read_rows(d.dir / (name + ".rows"));
    ASSERT_EQ(r.x.size(), r.n * r.nfeat);
    ASSERT_EQ(f.n_features, r.nfeat);
    std::vector<double> ours(r.n);
    spectre::ml::score_samples(f, r.x.data(), r.n, r.nfeat, ours.data());
    double cfg_worst = 0;
    for (size_t i = 0; i < r.n; ++i) {
      const double diff = std::fabs(ours[i] - r.expected[i]);
      cfg_worst = std::max(cfg_worst, diff);
      EXPECT_LE(diff, 1e-6) << "row " << i << " ours " << ours[i] << " sklearn " << r.expected[i];
      // The flattened scorer and the independent recursive model agree too.
      EXPECT_NEAR(ours[i], ref_score(f, r.x.data() + i * r.nfeat), 1e-12) << "row " << i;
    }
    // Same rows laid out with a wider stride (padding columns hold garbage).
    const size_t stride = r.nfeat + 3;
    std::vector<double> padded(r.n * stride, 1e30), again(r.n);
    for (size_t i = 0; i < r.n; ++i)
      std::copy_n(r.x.data() + i * r.nfeat, r.nfeat, padded.data() + i * stride);
    spectre::ml::score_samples(f, padded.data(), r.n, stride, again.data());
    EXPECT_EQ(again, ours);
    worst = std::max(worst, cfg_worst);
    total_rows += r.n;
    std::printf("[ IForest  ] %-16s trees %zu rows %zu max |ours - sklearn| %.3g\n", name.c_str(),
                f.roots.size(), r.n, cfg_worst);
  }
  std::printf("[ IForest  ] %zu configs, %zu rows, max |ours - sklearn| = %.3g\n",
              d.configs.size(), total_rows, worst);
}

TEST(IForestSklearn, ExportedModelSurvivesSaveLoad) {
  const SklearnData& d = sklearn_data();
  if (!d.ok) GTEST_SKIP() << d.skip_reason;
  for (const std::string& name : d.configs) {
    SCOPED_TRACE(name);
    IsolationForest f, g;
    std::string err, text;
    ASSERT_TRUE(spectre::ml::load_iforest_json(read_text(d.dir / (name + ".json")), f, err));
    ASSERT_TRUE(spectre::ml::save_iforest_json(f, text, err)) << err;
    ASSERT_TRUE(spectre::ml::load_iforest_json(text, g, err)) << err;
    EXPECT_EQ(g.offset, f.offset);
    EXPECT_EQ(g.max_samples, f.max_samples);
    const Rows r = read_rows(d.dir / (name + ".rows"));
    EXPECT_EQ(scores_of(f, r.x, r.nfeat), scores_of(g, r.x, r.nfeat));
  }
}

TEST(IForestTrain, OutlierClusterRanksBelowInliers) {
  std::vector<double> x;
  std::vector<int> label;
  blob_data(2000, 40, 5, 7, x, label);
  const IsolationForest f = spectre::ml::train_iforest(x.data(), label.size(), 5, 5, 100, 256, 42);
  ASSERT_EQ(f.roots.size(), 100u);
  EXPECT_EQ(f.max_samples, 256u);
  const std::vector<double> s = scores_of(f, x, 5);
  const double auc = auc_outliers_lower(s, label);
  EXPECT_GT(auc, 0.95) << "AUC " << auc;
  for (double v : s) {
    EXPECT_LT(v, 0.0);
    EXPECT_GE(v, -1.0);
  }
  // Held-out points from the same distributions.
  std::vector<double> y;
  std::vector<int> ly;
  blob_data(500, 20, 5, 99, y, ly);
  EXPECT_GT(auc_outliers_lower(scores_of(f, y, 5), ly), 0.95);
}

TEST(IForestTrain, StructureHeightLimitAndReferenceModel) {
  std::vector<double> x;
  std::vector<int> label;
  blob_data(300, 10, 4, 3, x, label);
  for (uint32_t ms : {2u, 7u, 64u, 256u, 1000u}) {
    SCOPED_TRACE(ms);
    const IsolationForest f = spectre::ml::train_iforest(x.data(), label.size(), 4, 4, 20, ms, ms);
    const uint32_t psi = std::min<uint32_t>(ms, 310);
    EXPECT_EQ(f.max_samples, psi);
    const int limit = static_cast<int>(std::ceil(std::log2(static_cast<double>(psi))));
    for (uint32_t r : f.roots) {
      EXPECT_LE(max_depth(f, r), limit);
      EXPECT_EQ(f.nodes[r].n_samples, psi);
    }
    const std::vector<double> s = scores_of(f, x, 4);
    for (size_t i = 0; i < s.size(); ++i) EXPECT_NEAR(s[i], ref_score(f, x.data() + i * 4), 1e-12);
  }
}

TEST(IForestTrain, DeterministicPerSeedAndDegenerateInputs) {
  std::vector<double> x;
  std::vector<int> label;
  blob_data(200, 5, 3, 11, x, label);
  const auto a = spectre::ml::train_iforest(x.data(), 205, 3, 3, 30, 64, 5);
  const auto b = spectre::ml::train_iforest(x.data(), 205, 3, 3, 30, 64, 5);
  const auto c = spectre::ml::train_iforest(x.data(), 205, 3, 3, 30, 64, 6);
  EXPECT_EQ(scores_of(a, x, 3), scores_of(b, x, 3));
  EXPECT_NE(scores_of(a, x, 3), scores_of(c, x, 3));
  // No input, no trees: empty forest, never a crash.
  EXPECT_TRUE(spectre::ml::train_iforest(x.data(), 0, 3, 3, 30, 64, 5).roots.empty());
  EXPECT_TRUE(spectre::ml::train_iforest(x.data(), 10, 3, 3, 0, 64, 5).roots.empty());
  // Constant data cannot be split: single leaves, every row gets the same score.
  const std::vector<double> flat(50 * 2, 1.5);
  const auto k = spectre::ml::train_iforest(flat.data(), 50, 2, 2, 10, 32, 1);
  EXPECT_EQ(k.nodes.size(), 10u);
  const std::vector<double> probe{1.5, 1.5, 100, -100};
  const auto ks = scores_of(k, probe, 2);
  EXPECT_EQ(ks[0], ks[1]);
  EXPECT_NEAR(ks[0], -0.5, 1e-12);  // path length c(32) over c(32)
}

TEST(IForestJson, TrainerRoundTripGivesIdenticalScores) {
  std::vector<double> x;
  std::vector<int> label;
  blob_data(500, 20, 6, 21, x, label);
  const auto f = spectre::ml::train_iforest(x.data(), 520, 6, 6, 50, 128, 77);
  std::string text, err;
  ASSERT_TRUE(spectre::ml::save_iforest_json(f, text, err)) << err;
  IsolationForest g;
  ASSERT_TRUE(spectre::ml::load_iforest_json(text, g, err)) << err;
  EXPECT_EQ(g.nodes.size(), f.nodes.size());
  EXPECT_EQ(g.roots, f.roots);
  EXPECT_EQ(g.offset, f.offset);
  std::vector<double> probe = x;
  std::mt19937_64 r(5);
  std::uniform_real_distribution<double> u(-10, 10);
  for (int i = 0; i < 600; ++i) probe.push_back(u(r));
  EXPECT_EQ(scores_of(f, probe, 6), scores_of(g, probe, 6));  // bitwise
  // Saving the reloaded forest gives the same text.
  std::string text2;
  ASSERT_TRUE(spectre::ml::save_iforest_json(g, text2, err));
  EXPECT_EQ(text, text2);
}

TEST(IForestJson, RefusesCorruptAndTruncatedInput) {
  const std::string good =
      R"({"format":"spectre-iforest","version":1,"n_features":2,"max_samples":4,"offset":-0.5,)"
      R"("trees":[{"features":[1,0],"children_left":[1,-1,-1],"children_right":[2,-1,-1],)"
      R"("feature":[0,-2,-2],"threshold":[0.25,-2,-2],"n_node_samples":[4,1,3]}]})";
  IsolationForest f;
  std::string err;
  ASSERT_TRUE(spectre::ml::load_iforest_json(good, f, err)) << err;
  ASSERT_EQ(f.nodes.size(), 3u);
  EXPECT_EQ(f.nodes[0].feature, 1);  // mapped through "features"
  const double row_l[2] = {9, 0.25}, row_r[2] = {-9, 0.2500001};
  double s[2];
  spectre::ml::score_samples(f, row_l, 1, 2, s);
  spectre::ml::score_samples(f, row_r, 1, 2, s + 1);
  const double c4 = spectre::ml::iforest_average_path_length(4);
  EXPECT_NEAR(s[0], -std::exp2(-1.0 / c4), 1e-15);
  EXPECT_NEAR(s[1], -std::exp2(-(1.0 + spectre::ml::iforest_average_path_length(3)) / c4), 1e-15);

  // Every strict prefix is refused, with a message, leaving out untouched.
  for (size_t len = 0; len < good.size(); ++len) {
    IsolationForest keep = f;
    err.clear();
    EXPECT_FALSE(spectre::ml::load_iforest_json(good.substr(0, len), keep, err)) << len;
    EXPECT_FALSE(err.empty()) << len;
    EXPECT_EQ(keep.nodes.size(), 3u);
  }
  auto refused = [&](const std::string& from, const std::string& to) {
    std::string bad = good;
    const size_t at = bad.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    bad.replace(at, from.size(), to);
    IsolationForest g;
    std::string e;
    const bool ok = spectre::ml::load_iforest_json(bad, g, e);
    EXPECT_FALSE(ok) << "accepted: " << bad;
    EXPECT_FALSE(e.empty());
    return e;
  };
  refused("\"children_left\":[1,", "\"children_left\":[5,");        // child out of range
  refused("\"children_left\":[1,", "\"children_left\":[0,");        // self loop
  refused("\"children_right\":[2,", "\"children_right\":[1,");      // both children the same
  refused("\"children_left\":[1,-1,-1]", "\"children_left\":[1,-1,1]");  // half leaf
  refused("\"features\":[1,0]", "\"features\":[1,2]");               // mapping past n_features
  refused("\"feature\":[0,", "\"feature\":[2,");                      // past the mapping
  refused("\"feature\":[0,", "\"feature\":[0.5,");                    // not an integer
  refused("0.25", "NaN");
  refused("0.25", "1e999");
  refused("0.25", "-");
  refused("0.25", "01");
  refused("[4,1,3]", "[4,1]");                                        // length mismatch
  refused("[4,1,3]", "[4,-1,3]");                                     // negative count
  refused("\"spectre-iforest\"", "\"xgboost\"");
  refused("\"version\":1", "\"version\":2");
  refused("\"offset\":-0.5,", "");
  refused("\"trees\":[{", "\"trees\":[],\"x\":[{");                  // no trees
  refused("}]}", "}]}x");                                             // trailing data
  refused("}]}", "}]");                                               // unbalanced
  refused("\"n_features\":2", "\"n_features\":\"2\"");
  refused("\"n_node_samples\":[", "\"n_node_samples\":[],\"n_node_samples\":[");
  EXPECT_NE(refused("\"offset\"", "\"zz\":" + std::string(200, '[') + "1" +
                                      std::string(200, ']') + ",\"offset\"")
                .find("deep"),
            std::string::npos);
  // Unknown keys of any shape are skipped.
  std::string extra = good;
  extra.insert(1, R"("note":{"a":[true,false,null,"x\u00e9\"",-1.5e3]},)");
  EXPECT_TRUE(spectre::ml::load_iforest_json(extra, f, err)) << err;
}
