// spectre-ml train-xgb / train-iforest (see train.h).
#include "ml/train.h"

#include "ml/cli_util.h"

#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "ml/artifact.h"
#include "ml/drift.h"
#include "ml/xgb/predict.h"

namespace spectre::ml {

const char* const kTrainHelp =
    "  train-xgb --csv TRAIN.csv --label COLUMN -o MODEL.spm [--json MODEL.json]\n"
    "          [--classes a,b,...] [--objective binary|multi] [--rounds 200] [--depth 6]\n"
    "          [--eta 0.3] [--valid-frac 0.2] [--early-stop 10] [--class-weight none|auto]\n"
    "          [--seed 0] [--drop col,col] [--split-by COLUMN] [--reference yes|no]\n"
    "      Features: every numeric column except the label and --drop (default\n"
    "      flow_id,phase,ts_start,ts,src_ip,src_port,dst_ip,dest_ip,episode_id,label);\n"
    "      the leading spectre-dp --dump-features metadata columns (flow_id..proto)\n"
    "      are never features; non-numeric columns are skipped and reported.\n"
    "      Classes: --classes order, else 'benign'/'0' first then sorted; binary\n"
    "      predicts the second class. Stratified validation split; early stopping on\n"
    "      its logloss (0 = off). Empty cell or nan = missing. --split-by flow_id:\n"
    "      all rows of one flow (its scoring points) fall on the same side of the split.\n"
    "      --reference yes (default): the artifact keeps per-feature and per-output\n"
    "      quantile distributions of the benign (first class) training rows, for drift.\n"
    "  train-iforest --csv TRAIN.csv -o MODEL.spm [--trees 100] [--max-samples 256]\n"
    "          [--seed 0] [--label COLUMN --benign NAME] [--drop col,col] [--contamination F]\n"
    "      Isolation forest on all rows, or only rows whose label is NAME. Threshold:\n"
    "      scikit-learn's offset (-0.5), or with --contamination F (0 < F < 0.5) the\n"
    "      F-quantile of the training rows' scores, so a fraction F of them alerts.\n"
    "      The artifact keeps reference distributions of those rows (--reference no: not).\n";

namespace {

using cli::parse_number;
using cli::split;
using cli::trim;

using cli::bad;
using cli::kOk;
using cli::usage;
using cli::write_bytes;
constexpr size_t kValidationRows = 8;
// Identifiers and times, never features. The --dump-features metadata block is
// dropped by position (its dst_port/proto are also schema features later on).
constexpr const char* kDefaultDrop = "flow_id,phase,ts_start,ts,src_ip,src_port,dst_ip,dest_ip,episode_id,label";

// A feature CSV: numeric feature columns (row-major) and the label strings.
struct Table {
  std::vector<std::string> feature_names;
  std::vector<double> x;  // rows * feature_names.size()
  std::vector<std::string> labels;
  std::vector<std::string> groups;  // --split-by column per row; empty: each row its own group
  size_t rows = 0;
  size_t nf() const { return feature_names.size(); }
};

// label may be empty (no label column). Columns in `drop`, and columns with any
// non-numeric cell, are not features; the latter are reported on stderr.
bool read_table(const std::string& path, const std::string& label, const std::set<std::string>& drop,
                Table& t, std::string& err, const std::string& group = "") {
  cli::CsvRows csv;
  if (!csv.open(path, err)) return false;
  const std::vector<std::string> header = csv.header();
  // The --dump-features metadata block (flow_id..proto) is never a feature, even
  // where a name (dst_port, proto) is also a feature column further on.
  const size_t meta = cli::meta_prefix(header);
  int label_col = label.empty() ? -1 : cli::find_column(header, label, meta);
  if (label_col < 0 && !label.empty()) label_col = cli::find_column(header, label);
  if (!label.empty() && label_col < 0) {
    err = path + ": no label column '" + label + "' in the header";
    return false;
  }
  const int group_col = group.empty() ? -1 : cli::find_column(header, group);
  if (!group.empty() && group_col < 0) {
    err = path + ": no --split-by column '" + group + "' in the header";
    return false;
  }
  std::vector<std::vector<std::string>> cells;
  for (std::vector<std::string> row; csv.next(row, err);) cells.push_back(std::move(row));
  if (!err.empty()) return false;
  if (cells.empty()) { err = path + ": no data rows"; return false; }
  std::vector<size_t> cols;
  std::string skipped;
  for (size_t c = meta; c < header.size(); ++c) {
    if (static_cast<int>(c) == label_col || drop.count(header[c])) continue;
    if (cli::find_column(header, header[c], meta) != static_cast<int>(c)) {
      err = path + ": column '" + header[c] + "' appears twice in the header";
      return false;
    }
    bool numeric = true;
    double v;
    for (const auto& r : cells)
      if (!parse_number(r[c], v)) { numeric = false; break; }
    if (numeric) cols.push_back(c);
    else skipped += (skipped.empty() ? "" : ",") + header[c];
  }
  if (!skipped.empty()) std::fprintf(stderr, "spectre-ml: skipped non-numeric columns: %s\n", skipped.c_str());
  if (cols.empty()) { err = path + ": no numeric feature columns"; return false; }
  t = Table{};
  for (size_t c : cols) t.feature_names.push_back(header[c]);
  t.rows = cells.size();
  t.x.reserve(t.rows * cols.size());
  for (const auto& r : cells) {
    for (size_t c : cols) {
      double v;
      parse_number(r[c], v);
      t.x.push_back(v);
    }
    if (label_col >= 0) t.labels.push_back(r[label_col]);
    if (group_col >= 0) t.groups.push_back(r[group_col]);
  }
  return true;
}

// Option parser shared by both commands: "--name value" pairs plus -o.
struct Opts {
  std::map<std::string, std::string> v;
  std::string error;
  bool parse(const std::vector<std::string>& a, const std::set<std::string>& known) {
    for (size_t i = 0; i < a.size(); ++i) {
      std::string k = a[i] == "--output" ? "-o" : a[i];
      if (!known.count(k)) { error = "unknown option or argument '" + a[i] + "'"; return false; }
      if (i + 1 >= a.size()) { error = a[i] + " needs a value"; return false; }
      v[k] = a[++i];
    }
    return true;
  }
  std::string get(const std::string& k, const std::string& def = "") const {
    auto it = v.find(k);
    return it == v.end() ? def : it->second;
  }
};

template <class T>
bool num_opt(const Opts& o, const std::string& k, T& dst, double lo, double hi, std::string& err) {
  if (!o.v.count(k)) return true;
  double d;
  const std::string s = o.get(k);
  if (!parse_number(s, d) || std::isnan(d) || d < lo || d > hi) {
    err = k + ": bad value '" + s + "'";
    return false;
  }
  dst = static_cast<T>(d);
  return true;
}

std::set<std::string> drop_set(const Opts& o) {
  std::set<std::string> d;
  for (const auto& s : split(o.get("--drop", kDefaultDrop), ','))
    if (!s.empty()) d.insert(s);
  return d;
}

// RAII for xgboost handles.
struct DMat {
  DMatrixHandle h = nullptr;
  ~DMat() { if (h) XGDMatrixFree(h); }
};
struct Booster {
  BoosterHandle h = nullptr;
  ~Booster() { if (h) XGBoosterFree(h); }
};

std::string xgb_err(const char* what) { return std::string(what) + ": " + XGBGetLastError(); }

// Mean negative log-likelihood and accuracy of probabilities p (n * G, G == 1:
// P(class 1)) against integer labels.
void loss_acc(const float* p, const std::vector<float>& y, size_t G, double& loss, double& acc) {
  constexpr double kEps = 1e-15;
  loss = acc = 0;
  const size_t n = y.size();
  for (size_t i = 0; i < n; ++i) {
    const size_t c = static_cast<size_t>(y[i]);
    if (G == 1) {
      const double q = std::clamp(static_cast<double>(p[i]), kEps, 1 - kEps);
      loss -= c ? std::log(q) : std::log(1 - q);
      acc += (q >= 0.5) == (c == 1);
    } else {
      const float* r = p + i * G;
      loss -= std::log(std::clamp(static_cast<double>(r[c]), kEps, 1.0));
      acc += static_cast<size_t>(std::max_element(r, r + G) - r) == c;
    }
  }
  if (n) { loss /= n; acc /= n; }
}

bool predict(BoosterHandle b, DMatrixHandle d, int mask, size_t expect, std::vector<float>& out,
             std::string& err) {
  bst_ulong len = 0;
  const float* r = nullptr;
  if (XGBoosterPredict(b, d, mask, 0, 0, &len, &r) != 0) { err = xgb_err("XGBoosterPredict"); return false; }
  if (len != expect) { err = "XGBoosterPredict returned " + std::to_string(len) + " values"; return false; }
  out.assign(r, r + len);
  return true;
}

}  // namespace

int cmd_train_xgb(const std::vector<std::string>& args) {
  Opts o;
  if (!o.parse(args, {"--csv", "--label", "--classes", "--objective", "--rounds", "--depth", "--eta",
                      "--valid-frac", "--early-stop", "--class-weight", "--seed", "-o", "--json",
                      "--drop", "--split-by", "--reference"}))
    return usage("train-xgb: " + o.error);
  const std::string csv = o.get("--csv"), label = o.get("--label"), out = o.get("-o");
  if (csv.empty() || label.empty() || out.empty())
    return usage("train-xgb needs --csv TRAIN.csv --label COLUMN -o MODEL.spm");
  int rounds = 200, depth = 6, early = 10;
  double eta = 0.3, vfrac = 0.2;
  uint64_t seed = 0;
  std::string err;
  if (!num_opt(o, "--rounds", rounds, 1, 100000, err) || !num_opt(o, "--depth", depth, 1, 32, err) ||
      !num_opt(o, "--eta", eta, 1e-6, 1, err) || !num_opt(o, "--valid-frac", vfrac, 0, 0.9, err) ||
      !num_opt(o, "--early-stop", early, 0, 100000, err) || !num_opt(o, "--seed", seed, 0, 4294967295.0, err))
    return usage("train-xgb: " + err);
  const std::string objective = o.get("--objective"), cw = o.get("--class-weight", "none");
  if (!objective.empty() && objective != "binary" && objective != "multi")
    return usage("train-xgb: --objective must be binary or multi");
  if (cw != "none" && cw != "auto") return usage("train-xgb: --class-weight must be none or auto");

  Table t;
  if (!read_table(csv, label, drop_set(o), t, err, o.get("--split-by"))) return bad(err);
  const size_t nf = t.nf();

  // Class order.
  std::vector<std::string> classes;
  if (o.v.count("--classes")) {
    classes = split(o.get("--classes"), ',');
    if (std::set<std::string>(classes.begin(), classes.end()).size() != classes.size() ||
        std::count(classes.begin(), classes.end(), "") > 0)
      return usage("train-xgb: --classes has empty or duplicate names");
  } else {
    std::set<std::string> seen(t.labels.begin(), t.labels.end());
    for (const char* first : {"benign", "0"})
      if (seen.erase(first)) { classes.push_back(first); break; }
    classes.insert(classes.end(), seen.begin(), seen.end());
  }
  std::map<std::string, size_t> class_id;
  for (size_t i = 0; i < classes.size(); ++i) class_id[classes[i]] = i;
  std::vector<float> y(t.rows);
  std::vector<size_t> count(classes.size());
  for (size_t r = 0; r < t.rows; ++r) {
    auto it = class_id.find(t.labels[r]);
    if (it == class_id.end())
      return bad(csv + ": row " + std::to_string(r + 1) + ": label '" + t.labels[r] + "' is not in --classes");
    y[r] = static_cast<float>(it->second);
    ++count[it->second];
  }
  std::string class_list;
  for (size_t i = 0; i < classes.size(); ++i) class_list += (i ? "," : "") + classes[i];
  if (classes.size() < 2) return bad(csv + ": need at least 2 classes, found: " + class_list);
  const bool binary = objective.empty() ? classes.size() == 2 : objective == "binary";
  if (binary && classes.size() != 2)
    return bad(csv + ": --objective binary needs exactly 2 classes, found " +
               std::to_string(classes.size()) + ": " + class_list);
  const size_t G = binary ? 1 : classes.size();

  // Stratified split: a fraction of each class's groups (at least one when the
  // class has two or more) goes to validation. A group is one row, or with
  // --split-by all rows sharing that column's value (one flow's scoring points:
  // otherwise near-copies of a training row sit in validation).
  std::mt19937_64 rng(seed);
  std::vector<size_t> tr, va;
  size_t train_groups = 0, valid_groups = 0;
  for (size_t c = 0; c < classes.size(); ++c) {
    std::vector<std::vector<size_t>> groups;  // rows per group, first appearance order
    std::map<std::string, size_t> gid;
    for (size_t r = 0; r < t.rows; ++r) {
      if (static_cast<size_t>(y[r]) != c) continue;
      if (t.groups.empty()) {
        groups.push_back({r});
        continue;
      }
      auto [it, fresh] = gid.try_emplace(t.groups[r], groups.size());
      if (fresh) groups.emplace_back();
      groups[it->second].push_back(r);
    }
    std::shuffle(groups.begin(), groups.end(), rng);
    size_t nv = static_cast<size_t>(std::llround(vfrac * groups.size()));
    if (vfrac > 0 && nv == 0 && groups.size() >= 2) nv = 1;
    for (size_t g = 0; g < groups.size(); ++g)
      (g < nv ? va : tr).insert((g < nv ? va : tr).end(), groups[g].begin(), groups[g].end());
    valid_groups += nv;
    train_groups += groups.size() - nv;
  }
  std::sort(va.begin(), va.end());  // validation rows keep file order
  std::shuffle(tr.begin(), tr.end(), rng);
  if (tr.empty()) return bad(csv + ": no training rows left after the validation split");
  auto gather = [&](const std::vector<size_t>& ix, std::vector<float>& xs, std::vector<float>& ys) {
    xs.clear();
    ys.clear();
    for (size_t r : ix) {
      for (size_t j = 0; j < nf; ++j) xs.push_back(static_cast<float>(t.x[r * nf + j]));
      ys.push_back(y[r]);
    }
  };
  std::vector<float> xtr, ytr, xva, yva;
  gather(tr, xtr, ytr);
  gather(va, xva, yva);

  DMat dtr, dva;
  const float kMissing = std::nanf("");
  if (XGDMatrixCreateFromMat(xtr.data(), tr.size(), nf, kMissing, &dtr.h) != 0 ||
      XGDMatrixSetFloatInfo(dtr.h, "label", ytr.data(), ytr.size()) != 0)
    return bad(xgb_err("training DMatrix"));
  if (cw == "auto") {
    // Inverse class frequency, normalised so the weights average to 1.
    std::vector<size_t> ctr(classes.size());
    for (float v : ytr) ++ctr[static_cast<size_t>(v)];
    size_t present = 0;
    for (size_t c : ctr) present += c > 0;
    std::vector<float> w(ytr.size());
    for (size_t i = 0; i < w.size(); ++i)
      w[i] = static_cast<float>(static_cast<double>(ytr.size()) /
                                (static_cast<double>(present) * ctr[static_cast<size_t>(ytr[i])]));
    if (XGDMatrixSetFloatInfo(dtr.h, "weight", w.data(), w.size()) != 0) return bad(xgb_err("weights"));
  }
  if (!va.empty() && XGDMatrixCreateFromMat(xva.data(), va.size(), nf, kMissing, &dva.h) != 0)
    return bad(xgb_err("validation DMatrix"));

  Booster b;
  DMatrixHandle cache[] = {dtr.h};
  if (XGBoosterCreate(cache, 1, &b.h) != 0) return bad(xgb_err("XGBoosterCreate"));
  const std::vector<std::pair<std::string, std::string>> params = {
      {"objective", binary ? "binary:logistic" : "multi:softprob"},
      {"num_class", binary ? "0" : std::to_string(G)},
      {"max_depth", std::to_string(depth)},
      {"eta", std::to_string(eta)},
      {"seed", std::to_string(seed)},
      {"nthread", "2"},
      {"verbosity", "1"},
  };
  for (const auto& [k, v] : params)
    if (!(binary && k == "num_class") && XGBoosterSetParam(b.h, k.c_str(), v.c_str()) != 0)
      return bad(xgb_err("XGBoosterSetParam"));

  double best_loss = INFINITY;
  int best_iter = -1, done = 0;
  std::vector<float> p;
  for (int it = 0; it < rounds; ++it) {
    if (XGBoosterUpdateOneIter(b.h, it, dtr.h) != 0) return bad(xgb_err("XGBoosterUpdateOneIter"));
    done = it + 1;
    if (va.empty()) { best_iter = it; continue; }
    if (!predict(b.h, dva.h, 0, va.size() * G, p, err)) return bad(err);
    double loss, acc;
    loss_acc(p.data(), yva, G, loss, acc);
    if (loss < best_loss - 1e-12) { best_loss = loss; best_iter = it; }
    if (early > 0 && it - best_iter >= early) break;
  }
  // Keep rounds [0, best_iter]; layers after it are dropped.
  Booster sliced;
  BoosterHandle fin = b.h;
  if (best_iter + 1 < done) {
    if (XGBoosterSlice(b.h, 0, best_iter + 1, 1, &sliced.h) != 0) return bad(xgb_err("XGBoosterSlice"));
    fin = sliced.h;
  }
  double train_loss, train_acc, valid_loss = 0, valid_acc = 0;
  if (!predict(fin, dtr.h, 0, tr.size() * G, p, err)) return bad(err);
  loss_acc(p.data(), ytr, G, train_loss, train_acc);
  if (!va.empty()) {
    if (!predict(fin, dva.h, 0, va.size() * G, p, err)) return bad(err);
    loss_acc(p.data(), yva, G, valid_loss, valid_acc);
  }

  const bool keep_json = o.v.count("--json") > 0;
  const std::string json = keep_json ? o.get("--json") : out + ".tmp" + std::to_string(getpid()) + ".json";
  if (XGBoosterSaveModel(fin, json.c_str()) != 0) return bad(xgb_err("XGBoosterSaveModel"));
  TreeEnsemble m;
  const bool loaded = load_xgboost_json_file(json, m, err);
  if (!keep_json) std::remove(json.c_str());
  if (!loaded) return bad("internal: cannot load the trained model: " + err);
  if (m.num_feature < nf) m.num_feature = static_cast<uint32_t>(nf);

  // Our scorer must agree with libxgboost on the validation (else training) margins.
  double max_diff = 0;
  {
    const bool v = !va.empty();
    const std::vector<float>& xs = v ? xva : xtr;
    const size_t n = v ? va.size() : tr.size();
    if (!predict(fin, v ? dva.h : dtr.h, 1, n * G, p, err)) return bad(err);
    std::vector<float> ours(n * G);
    predict_margin(m, xs.data(), n, nf, ours.data());
    for (size_t i = 0; i < ours.size(); ++i)
      max_diff = std::max(max_diff, std::fabs(static_cast<double>(ours[i]) - p[i]));
    if (!(max_diff <= 1e-4)) return bad("internal: compiled model disagrees with libxgboost by " + std::to_string(max_diff));
  }

  ArtifactInfo info;
  info.feature_names = t.feature_names;
  info.class_names = classes;
  info.thresholds.assign(G, 0.5);
  info.metrics = {{"train_loss", train_loss},       {"train_accuracy", train_acc},
                  {"valid_loss", valid_loss},       {"valid_accuracy", valid_acc},
                  {"best_iteration", best_iter},    {"rounds_trained", done},
                  {"train_rows", double(tr.size())}, {"valid_rows", double(va.size())},
                  {"max_margin_diff_vs_xgboost", max_diff}};
  if (!t.groups.empty()) {  // only then: artifacts of earlier commands stay byte-identical
    info.metrics.push_back({"train_groups", double(train_groups)});
    info.metrics.push_back({"valid_groups", double(valid_groups)});
  }
  const std::vector<size_t>& vrows = va.empty() ? tr : va;
  for (size_t i = 0; i < vrows.size() && i < kValidationRows; ++i)
    info.validation.push_back({std::vector<double>(t.x.begin() + vrows[i] * nf, t.x.begin() + (vrows[i] + 1) * nf), {}});
  info.created_by = "spectre-ml train-xgb --csv " + csv + " --label " + label + " (" +
                    (binary ? "binary:logistic" : "multi:softprob") + ", rounds " + std::to_string(rounds) +
                    ", depth " + std::to_string(depth) + ", eta " + std::to_string(eta) + ", seed " +
                    std::to_string(seed) + ", class-weight " + cw + ")";
  std::vector<uint8_t> bytes;
  if (!build_artifact_xgb(m, info, bytes, err)) return bad(err);
  if (o.get("--reference", "yes") == "yes") {  // the negative class's training rows (else all of them)
    const bool has_neg = classes[0] == "benign" || classes[0] == "0";
    std::vector<double> ref;
    size_t nref = 0;
    for (size_t r : tr)
      if (!has_neg || y[r] == 0) {
        ref.insert(ref.end(), t.x.begin() + long(r * nf), t.x.begin() + long((r + 1) * nf));
        ++nref;
      }
    if (nref && !attach_reference(bytes, ref, nref, "train-xgb " + csv + " (" + classes[0] + " training rows)", err))
      return bad("reference: " + err);
  } else if (o.get("--reference") != "no") {
    return usage("train-xgb: --reference must be yes or no");
  }
  LoadedModel check;
  if (!load_artifact(bytes, check, err)) return bad("internal: trained artifact does not load: " + err);
  if (!write_bytes(out, bytes)) return bad("cannot write " + out);
  std::fprintf(stderr,
               "spectre-ml: wrote %s: %zu features, classes %s, best_iteration %d of %d rounds, "
               "train_loss %.6g, valid_loss %.6g, valid_accuracy %.6g\n",
               out.c_str(), nf, class_list.c_str(), best_iter, done, train_loss, valid_loss, valid_acc);
  return kOk;
}

int cmd_train_iforest(const std::vector<std::string>& args) {
  Opts o;
  if (!o.parse(args, {"--csv", "--trees", "--max-samples", "--seed", "--label", "--benign", "-o", "--drop",
                      "--contamination", "--reference"}))
    return usage("train-iforest: " + o.error);
  const std::string csv = o.get("--csv"), out = o.get("-o"), label = o.get("--label"),
                    benign = o.get("--benign");
  if (csv.empty() || out.empty()) return usage("train-iforest needs --csv TRAIN.csv -o MODEL.spm");
  if (label.empty() != benign.empty()) return usage("train-iforest: --label and --benign go together");
  uint32_t trees = 100, max_samples = 256;
  uint64_t seed = 0;
  std::string err;
  const std::string with_ref = o.get("--reference", "yes");
  if (with_ref != "yes" && with_ref != "no") return usage("train-iforest: --reference must be yes or no");
  if (!num_opt(o, "--trees", trees, 1, 100000, err) || !num_opt(o, "--max-samples", max_samples, 2, 1 << 24, err) ||
      !num_opt(o, "--seed", seed, 0, 4294967295.0, err))
    return usage("train-iforest: " + err);
  double contamination = 0;
  if (!o.get("--contamination").empty() &&
      (!parse_number(o.get("--contamination"), contamination) || !(contamination > 0 && contamination < 0.5)))
    return usage("train-iforest: --contamination wants a fraction in (0, 0.5), got '" + o.get("--contamination") + "'");
  Table t;
  if (!read_table(csv, label, drop_set(o), t, err)) return bad(err);
  const size_t nf = t.nf();
  std::vector<double> rows;
  size_t n = 0;
  for (size_t r = 0; r < t.rows; ++r)
    if (label.empty() || t.labels[r] == benign) {
      rows.insert(rows.end(), t.x.begin() + r * nf, t.x.begin() + (r + 1) * nf);
      ++n;
    }
  if (n == 0) return bad(csv + ": no rows with " + label + " == '" + benign + "'");
  IsolationForest f = train_iforest(rows.data(), n, nf, nf, trees, max_samples, seed);
  if (f.roots.empty()) return bad("internal: isolation forest training produced no trees");
  std::vector<double> s(n);
  score_samples(f, rows.data(), n, nf, s.data());
  double threshold = f.offset;
  if (contamination > 0) {  // scores at or above it pass: the lowest F of the rows alert
    std::vector<double> sorted = s;
    std::sort(sorted.begin(), sorted.end());
    threshold = sorted[std::min(n - 1, size_t(contamination * double(n)))];
  }
  double mean = 0;
  size_t below = 0;
  for (double v : s) { mean += v; below += v < threshold; }
  ArtifactInfo info;
  info.thresholds = {threshold};
  info.feature_names = t.feature_names;
  info.metrics = {{"train_rows", double(n)},
                  {"trees", double(trees)},
                  {"max_samples", double(f.max_samples)},
                  {"train_mean_score", mean / n},
                  {"train_anomaly_fraction", double(below) / n}};
  for (size_t i = 0; i < n && i < kValidationRows; ++i)
    info.validation.push_back({std::vector<double>(rows.begin() + i * nf, rows.begin() + (i + 1) * nf), {}});
  info.created_by = "spectre-ml train-iforest --csv " + csv + " (trees " + std::to_string(trees) +
                    ", max-samples " + std::to_string(max_samples) + ", seed " + std::to_string(seed) +
                    (label.empty() ? "" : ", " + label + " == " + benign) + ")";
  std::vector<uint8_t> bytes;
  if (!build_artifact_iforest(f, info, bytes, err)) return bad(err);
  if (with_ref == "yes" && !attach_reference(bytes, rows, n, "train-iforest " + csv, err))
    return bad("reference: " + err);
  LoadedModel check;
  if (!load_artifact(bytes, check, err)) return bad("internal: trained artifact does not load: " + err);
  if (!write_bytes(out, bytes)) return bad("cannot write " + out);
  std::fprintf(stderr, "spectre-ml: wrote %s: %zu features, %zu rows, %u trees, threshold %.3g, "
               "train anomaly fraction %.4g\n",
               out.c_str(), nf, n, trees, threshold, double(below) / n);
  return kOk;
}

}  // namespace spectre::ml
