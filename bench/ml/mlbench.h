// spectre-mlbench: our compiled tree-ensemble scorers against the reference
// libraries (libxgboost's in-place predictor, scikit-learn's score_samples).
#pragma once

#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace spectre::mlbench {

struct Options {
  bool quick = false;
  std::string json_path;        // --json FILE
  std::string iforest_json;     // --iforest-json FILE (written by iforest_sklearn.py)
  std::string iforest_py;       // --iforest-py SCRIPT: run it first, then as --iforest-json
  double seconds_per_rep = 0.02;  // timed seconds per repetition
  int reps = 11;                  // repetitions; the median is reported
  bool xgb_default_threads = true;
  std::string save_dir;  // --save-models DIR: write the trained models' JSON there
};

struct Timing {
  double ns_per_row = 0;       // median over repetitions (thread CPU time)
  double ns_min = 0;           // best repetition
  double wall_ns_per_row = 0;  // median, wall clock
  double cycles_per_row = 0;   // ns_per_row * TSC GHz
};

// One measured cell of the XGBoost comparison.
struct XgbRow {
  std::string model;  // e.g. "t500_d8"
  uint32_t trees = 0, depth = 0, features = 0;
  size_t nodes = 0;
  uint32_t batch = 0;
  Timing ours, ours_simple, xgb1, xgb_default;
  bool have_default = false;
  double target = 0;  // required ours/xgb1 speed ratio
};

struct IfRow {
  uint32_t batch = 0;
  Timing ours;
  double sklearn_ns_per_row = 0;
};

struct Report {
  double tsc_ghz = 0;
  std::string cpu;
  std::string xgb_version;
  std::vector<XgbRow> xgb;
  double max_prob_diff = 0;
  size_t margins_checked = 0;
  bool xgb_ok = true;
  std::vector<std::string> failures;
  // Isolation forest (only when a forest was given).
  bool have_iforest = false;
  bool iforest_ok = true;
  uint32_t if_trees = 0, if_features = 0, if_max_samples = 0;
  size_t if_nodes = 0;
  double if_max_diff = 0;
  size_t if_rows_checked = 0;
  std::string if_sklearn_version;
  std::vector<IfRow> iforest;
};

inline double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0 : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

inline double thread_cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// One scorer to time: fn(i), i = 0, 1, 2, ..., scores `rows` rows per call.
struct Job {
  std::function<void(size_t)> fn;
  size_t rows = 1;
  bool cpu_time = true;  // false for multi-threaded callees: wall clock only
};

// Times the jobs with their repetitions interleaved (job 0 rep 0, job 1 rep 0,
// ..., job 0 rep 1, ...) so that other load on the shared cores hits them
// alike. Each job's call count is calibrated to last o.seconds_per_rep. The
// figure is this thread's CPU time (time while descheduled is not counted);
// cycles = that time * TSC GHz.
inline std::vector<Timing> measure(std::vector<Job>& jobs, const Options& o, double tsc_ghz) {
  const size_t J = jobs.size();
  std::vector<size_t> calls(J, 1), k(J, 0);
  for (size_t j = 0; j < J; ++j) {  // calibration (also warms caches and predictors)
    for (;;) {
      const double t0 = now_s();
      for (size_t i = 0; i < calls[j]; ++i) jobs[j].fn(k[j]++);
      const double dt = now_s() - t0;
      if (dt >= 0.004 || calls[j] >= (size_t(1) << 30)) {
        calls[j] = std::max<size_t>(1, static_cast<size_t>(calls[j] * (o.seconds_per_rep / dt)));
        break;
      }
      calls[j] *= dt < 0.0005 ? 8 : 2;
    }
  }
  std::vector<std::vector<double>> cpu(J), wall(J);
  for (int r = 0; r < o.reps; ++r) {
    for (size_t j = 0; j < J; ++j) {
      const double w0 = now_s(), c0 = thread_cpu_s();
      for (size_t i = 0; i < calls[j]; ++i) jobs[j].fn(k[j]++);
      const double c1 = thread_cpu_s(), w1 = now_s();
      const double n = static_cast<double>(calls[j]) * static_cast<double>(jobs[j].rows);
      wall[j].push_back((w1 - w0) * 1e9 / n);
      cpu[j].push_back((jobs[j].cpu_time ? c1 - c0 : w1 - w0) * 1e9 / n);
    }
  }
  std::vector<Timing> out(J);
  for (size_t j = 0; j < J; ++j) {
    out[j].ns_per_row = median(cpu[j]);
    out[j].ns_min = *std::min_element(cpu[j].begin(), cpu[j].end());
    out[j].wall_ns_per_row = median(wall[j]);
    out[j].cycles_per_row = out[j].ns_per_row * tsc_ghz;
  }
  return out;
}

// The three parts (xgb_bench.cc, iforest_bench.cc, report.cc).
bool run_xgb(const Options& o, Report& rep);
bool run_iforest(const Options& o, const std::string& path, Report& rep);
void print_table(const Report& rep);
bool write_json(const Report& rep, const Options& o, const std::string& path);

}  // namespace spectre::mlbench
