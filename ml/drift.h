// Drift monitoring: reference distributions of the benign training rows
// (stored in the .spm artifact, model.fbs Reference), population stability
// index and Kolmogorov-Smirnov distance of a live window against them, and an
// ADWIN change detector for the alert rate. Control plane only (never on the
// packet path): rows arrive from the data plane's --dump-features CSV.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "ml/artifact.h"

namespace spectre::ml {

inline constexpr size_t kReferenceBins = 20;  // quantile bins per feature (ties merge bins)
inline constexpr double kPsiDrifted = 0.2;    // PSI > 0.2: drifted (the usual rule of thumb)

// Quantile edges of the non-missing values (at most bins - 1 distinct edges;
// a value equal to an edge falls in the bin it closes, so a point mass such as
// 0 gets a bin of its own) and the counts of `values` in those bins.
Distribution build_distribution(const std::string& name, std::vector<double> values, size_t bins = kReferenceBins);

// Counts `values` into d's bins (edges kept, counts and missing replaced).
void bin_into(Distribution& d, const std::vector<double>& values);

// Feature distributions of n rows (x: n * m.num_features) and of the model's
// output scores on them (xgboost probabilities, isolation-forest score_samples).
Reference build_reference(const LoadedModel& m, const std::vector<double>& x, size_t n, const std::string& source,
                          size_t bins = kReferenceBins);

// Output scores per row, n * m.num_outputs(), in the reference's units.
std::vector<double> model_scores(const LoadedModel& m, const std::vector<double>& x, size_t n);

// Re-serialises an artifact with reference distributions of the given rows
// (same trees, names, thresholds; a new sha256). False with err.
bool attach_reference(std::vector<uint8_t>& bytes, const std::vector<double>& x, size_t n,
                      const std::string& source, std::string& err);

// PSI = sum over bins (l - r) * ln(l / r) of the live and reference shares,
// the missing values as one more bin; shares are floored at 1e-4 so an empty
// bin does not give infinity. 0 when either side has no values.
double psi(const Distribution& ref, const Distribution& live);
// Kolmogorov-Smirnov distance evaluated at the reference's bin edges (the
// largest gap of the two cumulative shares over non-missing values; exact KS
// is at least this). 0 when either side has no values.
double ks_binned(const Distribution& ref, const Distribution& live);

// ADWIN (Bifet & Gavalda 2007, ADWIN2 with exponential-histogram buckets) over
// a stream of real values: keeps a window of recent values and drops its older
// part when two sub-windows' means differ by more than the bound
// eps = sqrt(2/m * var * ln(2/d)) + 2/(3m) * ln(2/d), d = delta / ln(n),
// m = harmonic mean of the sub-window sizes. O(log n) memory and time per value.
class Adwin {
 public:
  explicit Adwin(double delta = 0.0002, size_t max_buckets = 5, size_t min_window = 10)
      : delta_(delta), max_buckets_(max_buckets), min_window_(min_window) {}
  // Adds a value; true when a change was detected (the window shrank).
  bool add(double v);
  double mean() const { return n_ ? sum_ / double(n_) : 0; }
  uint64_t width() const { return n_; }
  uint64_t changes() const { return changes_; }

 private:
  struct Bucket { double sum, var; uint64_t n; };  // var: sum of squared deviations
  void compress();
  bool cut();
  double delta_;
  size_t max_buckets_, min_window_;
  std::vector<std::deque<Bucket>> rows_;  // rows_[k]: buckets of 2^k values, newest first
  uint64_t n_ = 0, changes_ = 0;
  double sum_ = 0, var_ = 0;
};

struct FeatureDrift {
  std::string name;
  double psi = 0, ks = 0;
  bool drifted = false;
};

struct DriftOptions {
  size_t window_rows = 2000;     // rows per window (the newest; older ones roll out)
  size_t min_rows = 200;         // fewer rows: figures given, nothing flagged
  double psi_threshold = kPsiDrifted;  // drifted: PSI above it (KS is reported, not judged)
  double bucket_s = 60;          // alert-rate bucket (alerts per bucket feed ADWIN)
  double adwin_delta = 0.0002;
  uint64_t change_hold_buckets = 60;  // alert_rate.change stays true this many buckets after a change  // ~1% of 2000-bucket stationary Poisson runs see a false change
};

// Thread-safe live drift state: add_rows() from the row tail, add_alert()
// from alert ingest, report_json()/prometheus() from API/metrics threads.
// All calls take one mutex. Measured (default.spm, 58 features, 2 cores): add_rows
// 0.34 us per row (copy + one model scoring); report_json of a 2000-row window
// 2.5 ms and prometheus 3.7 ms (every window row re-binned per call).
class DriftMonitor {
 public:
  DriftMonitor() = default;
  explicit DriftMonitor(DriftOptions o) : opt_(o), adwin_(o.adwin_delta) {}
  // Sets the model (and its reference) the rows are compared with; clears the
  // window. A model without a reference: rows are counted, nothing measured.
  void set_model(std::shared_ptr<const LoadedModel> m);
  // n rows of the model's features (NaN = missing), rows' unix time ts.
  void add_rows(const std::vector<double>& x, size_t n, double ts);
  // One alert at unix time ts (buckets of opt.bucket_s; closed buckets feed ADWIN).
  void add_alert(double ts);
  // Closes alert-rate buckets up to ts (call periodically so quiet periods count).
  void tick(double ts);

  // The contract's GET /ml/drift object.
  std::string report_json() const;
  // Prometheus text lines (gauges): spectre_ml_feature_psi{feature=".."},
  // spectre_ml_feature_ks, spectre_ml_feature_drifted, spectre_ml_score_psi,
  // spectre_ml_drift_rows, spectre_ml_alert_rate, spectre_ml_alert_rate_change.
  std::string prometheus() const;
  std::vector<FeatureDrift> features() const;
  FeatureDrift score() const;  // worst output score
  bool rate_changed() const;

 private:
  void close_buckets(double ts);
  std::vector<FeatureDrift> features_locked() const;
  FeatureDrift score_locked() const;
  DriftOptions opt_;
  mutable std::mutex mu_;
  std::shared_ptr<const LoadedModel> model_;
  std::deque<std::vector<double>> rows_;    // feature values then scores per row
  std::deque<double> ts_;                   // unix time per row

  uint64_t rows_total_ = 0;
  Adwin adwin_{0.0002};
  double bucket_start_ = 0, bucket_count_ = 0, last_rate_ = 0, baseline_ = 0;
  uint64_t buckets_ = 0, last_change_ = 0;
};

}  // namespace spectre::ml
