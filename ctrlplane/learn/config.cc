// The learning: configuration section (see config.h).
#include "ctrlplane/learn/config.h"

#include <cmath>
#include <set>

namespace spectre::learn {

namespace {

bool known_keys(const YAML::Node& m, const std::set<std::string>& keys, const std::string& where, std::string& err) {
  if (!m.IsMap()) {
    err = where + ": must be a mapping";
    return false;
  }
  for (const auto& kv : m) {
    const std::string k = kv.first.as<std::string>();
    if (!keys.count(k)) {
      err = where + ": unknown key '" + k + "'";
      return false;
    }
  }
  return true;
}

bool str(const YAML::Node& n, const std::string& key, std::string& out, std::string& err) {
  if (!n.IsScalar()) {
    err = key + ": must be a string";
    return false;
  }
  out = n.as<std::string>();
  return true;
}

bool strs(const YAML::Node& n, const std::string& key, std::vector<std::string>& out, std::string& err) {
  out.clear();
  if (n.IsScalar()) {
    out.push_back(n.as<std::string>());
    return true;
  }
  if (!n.IsSequence()) {
    err = key + ": must be a string or a list of strings";
    return false;
  }
  for (const auto& e : n) {
    if (!e.IsScalar()) {
      err = key + ": must be a list of strings";
      return false;
    }
    out.push_back(e.as<std::string>());
  }
  return true;
}

template <class T>
bool num(const YAML::Node& n, const std::string& key, T& out, double lo, double hi, std::string& err) {
  double v;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !std::isfinite(v) || v < lo || v > hi) {
    err = key + ": must be a number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    return false;
  }
  out = static_cast<T>(v);
  return true;
}

bool gates(const YAML::Node& g, ml::GateConfig& c, std::string& err) {
  if (!known_keys(g, {"max_benign_fpr", "min_tpr", "class_tpr", "min_agreement", "require_tpr", "phase"},
                  "learning.gates", err))
    return false;
  if (g["max_benign_fpr"] && !num(g["max_benign_fpr"], "learning.gates.max_benign_fpr", c.max_benign_fpr, 0, 1, err)) return false;
  if (g["min_tpr"] && !num(g["min_tpr"], "learning.gates.min_tpr", c.min_tpr, 0, 1, err)) return false;
  if (g["min_agreement"] && !num(g["min_agreement"], "learning.gates.min_agreement", c.min_agreement, 0, 1, err)) return false;
  if (g["require_tpr"]) {
    bool b;
    if (!g["require_tpr"].IsScalar() || !YAML::convert<bool>::decode(g["require_tpr"], b)) {
      err = "learning.gates.require_tpr: must be true or false";
      return false;
    }
    c.require_tpr = b;
  }
  if (g["phase"]) {
    if (!str(g["phase"], "learning.gates.phase", c.phase, err)) return false;
    if (c.phase != "any" && c.phase != "end" && c.phase != "k4" && c.phase != "k16") {
      err = "learning.gates.phase: any, end, k4 or k16";
      return false;
    }
  }
  if (const YAML::Node t = g["class_tpr"]) {
    if (!t.IsMap()) {
      err = "learning.gates.class_tpr: must be a mapping class -> fraction";
      return false;
    }
    for (const auto& kv : t) {
      const std::string cls = kv.first.as<std::string>();
      if (!num(kv.second, "learning.gates.class_tpr." + cls, c.class_tpr[cls], 0, 1, err)) return false;
    }
  }
  return true;
}

bool drift(const YAML::Node& d, ml::DriftOptions& o, std::string& err) {
  if (!known_keys(d, {"window_rows", "min_rows", "psi_threshold", "bucket_s", "adwin_delta", "change_hold_buckets"},
                  "learning.drift", err))
    return false;
  return (!d["window_rows"] || num(d["window_rows"], "learning.drift.window_rows", o.window_rows, 10, 1e7, err)) &&
         (!d["min_rows"] || num(d["min_rows"], "learning.drift.min_rows", o.min_rows, 1, 1e7, err)) &&
         (!d["psi_threshold"] || num(d["psi_threshold"], "learning.drift.psi_threshold", o.psi_threshold, 0, 100, err)) &&
         (!d["bucket_s"] || num(d["bucket_s"], "learning.drift.bucket_s", o.bucket_s, 1, 86400, err)) &&
         (!d["adwin_delta"] || num(d["adwin_delta"], "learning.drift.adwin_delta", o.adwin_delta, 1e-12, 0.5, err)) &&
         (!d["change_hold_buckets"] ||
          num(d["change_hold_buckets"], "learning.drift.change_hold_buckets", o.change_hold_buckets, 1, 1e6, err));
}

}  // namespace

bool parse_learning_config(const YAML::Node& n, LearningOptions& o, std::string& err) {
  if (!n || n.IsNull()) return true;
  if (!known_keys(n, {"spectre_ml", "train", "rows", "feedback", "holdout", "calibrate", "train_args",
                      "feedback_weight", "work_dir", "job_timeout_s", "gates", "drift"},
                  "learning", err))
    return false;
  try {
    if (n["spectre_ml"] && !str(n["spectre_ml"], "learning.spectre_ml", o.spectre_ml, err)) return false;
    if (n["train"] && !strs(n["train"], "learning.train", o.train_csvs, err)) return false;
    if (n["rows"] && !str(n["rows"], "learning.rows", o.rows_csv, err)) return false;
    if (n["feedback"] && !str(n["feedback"], "learning.feedback", o.feedback_jsonl, err)) return false;
    if (n["holdout"] && !strs(n["holdout"], "learning.holdout", o.holdout_csvs, err)) return false;
    if (n["calibrate"] && !strs(n["calibrate"], "learning.calibrate", o.calibrate_csvs, err)) return false;
    if (n["train_args"] && !strs(n["train_args"], "learning.train_args", o.train_args, err)) return false;
    if (n["work_dir"] && !str(n["work_dir"], "learning.work_dir", o.work_dir, err)) return false;
    if (n["feedback_weight"] && !num(n["feedback_weight"], "learning.feedback_weight", o.feedback_weight, 1, 100, err))
      return false;
    if (n["job_timeout_s"] && !num(n["job_timeout_s"], "learning.job_timeout_s", o.job_timeout_s, 10, 86400, err))
      return false;
    if (n["gates"] && !gates(n["gates"], o.gates, err)) return false;
    if (n["drift"] && !drift(n["drift"], o.drift, err)) return false;
  } catch (const YAML::Exception& e) {
    err = std::string("learning: ") + e.what();
    return false;
  }
  return true;
}

bool load_learning_config(const std::string& file, LearningOptions& out, std::string& err) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::Exception& e) {
    err = file + ": " + e.what();
    return false;
  }
  if (root && !root.IsNull() && !root.IsMap()) {
    err = file + ": not a mapping";
    return false;
  }
  if (!parse_learning_config(root ? root["learning"] : YAML::Node(), out, err)) {
    err = file + ": " + err;
    return false;
  }
  return true;
}

}  // namespace spectre::learn
