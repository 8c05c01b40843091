// `spectre-ml calibrate`: sets a model's class thresholds and its open-set
// guard's threshold on benign flows training never saw, so that at most
// (100 - percentile)% of those flows alert, and records how (schemas/model.fbs
// Calibration). Offline tool code, never on the packet path.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ml/artifact.h"

namespace spectre::ml {

// Flows allowed to alert at `percentile` (e.g. 99.9) of n flows: floor(n * (100 - p) / 100).
size_t calibration_budget(size_t n, double percentile);

// Smallest float threshold t such that at most calibration_budget(n, p) of the
// scores reach it (alert when score >= t, as the classes do). +inf when n == 0.
float threshold_at_least(std::vector<float> flow_max, double percentile);

// Largest threshold t such that at most calibration_budget(n, p) of the scores
// are below it (alert when score < t, as the guard does). -inf when n == 0.
double threshold_below(std::vector<double> flow_min, double percentile);

// Per-row guard scores (score_samples of m.guard) of n rows; empty without a guard.
std::vector<double> guard_scores(const LoadedModel& m, const std::vector<double>& x, size_t n);

struct CalibrationResult {
  std::vector<double> thresholds;  // per output (benign's unchanged)
  double guard_threshold = 0;
  size_t rows = 0, flows = 0;
  size_t guard_flows = 0;          // flows the guard alone calls unlike benign
  size_t alert_flows = 0;          // flows the calibrated, guarded model alerts on
  std::vector<std::pair<std::string, double>> figures;
};

// m: an XGBoost model with m.guard set. flow: the flow key of each of the n rows
// of x (n * num_features). The guard threshold leaves (100 - guard_percentile)%
// of the flows "unlike benign"; each of the C alerting classes then gets
// (100 - percentile)/C % of the flows, scored over the rows the guard passes,
// so the guarded model alerts on at most (100 - percentile)% of them. Class
// thresholds never go below min_threshold.
bool calibrate(const LoadedModel& m, const std::vector<std::string>& flow, const std::vector<double>& x,
               size_t n, double percentile, double guard_percentile, double min_threshold, CalibrationResult& r,
               std::string& err);

// `spectre-ml calibrate` (args after the command); exit code 0/1/2.
int cmd_calibrate(const std::vector<std::string>& args);
extern const char* const kCalibrateHelp;

}  // namespace spectre::ml
