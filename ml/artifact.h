// Model artifact (.spm, schemas/model.fbs): a flatbuffer holding a compiled
// XGBoost ensemble or isolation forest with feature/class names, per-output
// thresholds, metrics and validation rows, followed by a 32-byte sha256 trailer.
// Load time only (never on the packet path).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ml/iforest/iforest.h"
#include "ml/xgb/model.h"

namespace spectre::ml {

inline constexpr uint32_t kArtifactVersion = 1;
inline constexpr size_t kArtifactTrailer = 32;  // sha256 of the bytes before it

enum class ModelKind : uint8_t { XGBoost = 0, IForest = 1 };

struct ValidationRow {
  std::vector<double> features;  // num_features values, NaN = missing
  std::vector<double> expected;  // XGBoost margins (num_group) or iforest score_samples (1)
};

// How thresholds were set (schemas/model.fbs Calibration). percentile 0 = absent.
struct Calibration {
  double percentile = 0;
  std::vector<std::string> files;
  uint64_t rows = 0, flows = 0;
  double guard_fpr = 0, fpr = 0;
  std::vector<std::pair<std::string, double>> figures;
  std::string created_by;
  bool present() const { return percentile > 0; }
};

// One feature's (or output's) distribution over reference rows (model.fbs
// Distribution): bin i = (edges[i-1], edges[i]]; counts.size() == edges.size() + 1.
struct Distribution {
  std::string name;
  std::vector<double> edges;
  std::vector<uint64_t> counts;
  uint64_t missing = 0;  // NaN values
  uint64_t total() const;  // counted values, missing ones included
};

// Reference distributions of the benign training rows (schemas/model.fbs
// Reference; built by ml/drift.h build_reference). rows 0 = absent.
struct Reference {
  uint64_t rows = 0;
  std::string source;
  std::vector<Distribution> features;  // in feature order
  std::vector<Distribution> scores;    // in output order
  bool present() const { return rows > 0; }
};

// Everything in the artifact besides the trees.
struct ArtifactInfo {
  std::vector<std::string> feature_names;  // empty: f0..f{n-1}
  std::vector<std::string> class_names;    // empty: class0.. (multi), "attack" (binary), "anomaly"
  std::vector<double> thresholds;          // per output; empty: 0.5 (xgb) / offset (iforest)
  std::vector<std::pair<std::string, double>> metrics;
  // Validation inputs; `expected` is ignored and recomputed by our scorer.
  std::vector<ValidationRow> validation;
  std::string created_by;
  // Optional open-set guard: the bytes of an isolation-forest artifact (see
  // model.fbs). Checked (loaded) when the outer artifact is built and loaded.
  std::vector<uint8_t> guard;
  Calibration calibration;
  Reference reference;  // optional (drift monitoring)
};

struct LoadedModel {
  ModelKind kind = ModelKind::XGBoost;
  uint32_t format_version = 0;
  TreeEnsemble xgb;          // kind == XGBoost
  IsolationForest iforest;   // kind == IForest
  uint32_t num_features = 0;
  std::vector<std::string> feature_names;
  std::string feature_schema_hash;
  std::vector<std::string> class_names;
  std::vector<double> thresholds;
  std::vector<std::pair<std::string, double>> metrics;
  std::vector<ValidationRow> validation;  // all checked at load
  std::string created_by;
  std::string sha256;  // hex of the trailer
  // Guard (an isolation forest whose thresholds[0] is the guard threshold) and
  // the bytes it was loaded from; null without a guard.
  std::shared_ptr<const LoadedModel> guard;
  std::vector<uint8_t> guard_bytes;
  Calibration calibration;
  Reference reference;  // absent (rows 0) in artifacts made before issue 14
  size_t num_outputs() const { return kind == ModelKind::XGBoost ? xgb.num_group : 1; }
};

// The ArtifactInfo that rebuilds m (names, thresholds, metrics, validation
// inputs, guard, calibration), e.g. to re-threshold a model.
ArtifactInfo info_of(const LoadedModel& m);

// sha256 hex of the names, each followed by '\n'.
std::string feature_schema_hash(const std::vector<std::string>& names);

// Write the artifact (flatbuffer + sha256 trailer) into out. False with err on
// inconsistent info (name/threshold counts, validation row width).
bool build_artifact_xgb(const TreeEnsemble& m, const ArtifactInfo& info, std::vector<uint8_t>& out,
                        std::string& err);
bool build_artifact_iforest(const IsolationForest& f, const ArtifactInfo& info,
                            std::vector<uint8_t>& out, std::string& err);

// Refuses a short file, a bad trailer ("checksum mismatch"), a failing verifier,
// wrong identifier/version, malformed trees, or validation rows whose scores
// differ from the stored ones by more than 1e-6. out is left empty on failure.
bool load_artifact(const std::vector<uint8_t>& bytes, LoadedModel& out, std::string& err);
bool load_artifact_file(const std::string& path, LoadedModel& out, std::string& err);

// Structural checks of a TreeEnsemble as produced by load_xgboost_json (trees
// contiguous, children adjacent and after their parent, one parent each,
// feature ids in range); recomputes max_depth.
bool check_tree_ensemble(TreeEnsemble& m, std::string& err);

}  // namespace spectre::ml
