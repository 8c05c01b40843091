// The learning: configuration section (see config.h), read with the shared
// strict YAML readers (dataplane/core/yaml_reader.h): errors "where:line: ...".
#include "ctrlplane/learn/config.h"

#include "dataplane/core/yaml_reader.h"

namespace spectre::learn {

namespace {

// An integer-valued number in [lo, hi] into an integer field.
template <class T>
bool whole(YamlReader& r, const YAML::Node& n, T& out, double lo, double hi) {
  double v;
  if (!r.num(n, v, lo, hi)) return false;
  out = static_cast<T>(v);
  return true;
}

bool gates(YamlReader& r, const YAML::Node& g, ml::GateConfig& c) {
  return r.each(g, "learning.gates", [&](const std::string& k, const YAML::Node& v) {
    if (k == "max_benign_fpr") return r.num(v, c.max_benign_fpr, 0, 1);
    if (k == "min_tpr") return r.num(v, c.min_tpr, 0, 1);
    if (k == "min_agreement") return r.num(v, c.min_agreement, 0, 1);
    if (k == "require_tpr") return r.boolean(v, c.require_tpr);
    if (k == "phase") {
      if (!r.str(v, c.phase)) return false;
      return c.phase == "any" || c.phase == "end" || c.phase == "k4" || c.phase == "k16" ||
             r.fail(v, "learning.gates.phase: any, end, k4 or k16");
    }
    if (k == "class_tpr")
      return r.each(v, "learning.gates.class_tpr",
                    [&](const std::string& cls, const YAML::Node& f) { return r.num(f, c.class_tpr[cls], 0, 1); });
    return false;
  });
}

bool drift(YamlReader& r, const YAML::Node& d, ml::DriftOptions& o) {
  return r.each(d, "learning.drift", [&](const std::string& k, const YAML::Node& v) {
    if (k == "window_rows") return whole(r, v, o.window_rows, 10, 1e7);
    if (k == "min_rows") return whole(r, v, o.min_rows, 1, 1e7);
    if (k == "psi_threshold") return r.num(v, o.psi_threshold, 0, 100);
    if (k == "bucket_s") return r.num(v, o.bucket_s, 1, 86400);
    if (k == "adwin_delta") return r.num(v, o.adwin_delta, 1e-12, 0.5);
    if (k == "change_hold_buckets") return whole(r, v, o.change_hold_buckets, 1, 1e6);
    return false;
  });
}

bool parse(const YAML::Node& n, LearningOptions& o, const std::string& where, std::string& err) {
  if (!n || n.IsNull()) return true;
  YamlReader r{where, err};
  auto list = [&](const YAML::Node& v, std::vector<std::string>& out) {
    out.clear();
    return r.strs(v, out);
  };
  return r.each(n, "learning", [&](const std::string& k, const YAML::Node& v) {
    if (k == "spectre_ml") return r.str(v, o.spectre_ml);
    if (k == "train") return list(v, o.train_csvs);
    if (k == "rows") return r.str(v, o.rows_csv);
    if (k == "feedback") return r.str(v, o.feedback_jsonl);
    if (k == "holdout") return list(v, o.holdout_csvs);
    if (k == "calibrate") return list(v, o.calibrate_csvs);
    if (k == "train_args") return list(v, o.train_args);
    if (k == "work_dir") return r.str(v, o.work_dir);
    if (k == "feedback_weight") return r.num(v, o.feedback_weight, 1, 100);
    if (k == "job_timeout_s") return whole(r, v, o.job_timeout_s, 10, 86400);
    if (k == "gates") return gates(r, v, o.gates);
    if (k == "drift") return drift(r, v, o.drift);
    return false;
  });
}

}  // namespace

bool parse_learning_config(const YAML::Node& n, LearningOptions& o, std::string& err) {
  err.clear();
  return parse(n, o, "", err);
}

bool load_learning_config(const std::string& file, LearningOptions& out, std::string& err) {
  err.clear();
  YAML::Node root;
  if (!load_yaml_file(file, root, err, "cannot open")) return false;
  if (root && !root.IsNull() && !root.IsMap()) {
    err = yaml_error(file, root.Mark(), "not a mapping");
    return false;
  }
  return parse(root ? root["learning"] : YAML::Node(), out, file, err);
}

}  // namespace spectre::learn
