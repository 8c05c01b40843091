// spectre-mlbench output: a table on stdout and the JSON report.
#include <cstdio>
#include <string>

#include "bench/ml/mlbench.h"

namespace spectre::mlbench {

namespace {

double ratio(double ref, double ours) { return ours > 0 ? ref / ours : 0; }

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) o += c;
  }
  return o;
}

void timing(FILE* f, const char* name, const Timing& t, bool comma = true) {
  std::fprintf(f,
               "\"%s\": {\"ns_per_row\": %.2f, \"ns_per_row_min\": %.2f, \"wall_ns_per_row\": %.2f, "
               "\"cycles_per_row\": %.1f}%s",
               name, t.ns_per_row, t.ns_min, t.wall_ns_per_row, t.cycles_per_row, comma ? ", " : "");
}

}  // namespace

void print_table(const Report& rep) {
  std::printf("CPU: %s, TSC %.2f GHz, libxgboost %s\n", rep.cpu.c_str(), rep.tsc_ghz, rep.xgb_version.c_str());
  std::printf("XGBoost binary:logistic, 50 features; ns (cycles) per row: median of repetitions, thread CPU time\n");
  std::printf("%-9s %5s %16s %16s %18s %9s %14s %9s %6s\n", "model", "batch", "ours", "reference walk",
              "libxgb 1 thread", "ratio", "libxgb default", "ratio", "target");
  for (const XgbRow& r : rep.xgb) {
    char tgt[16] = "-";
    if (r.target > 0)
      std::snprintf(tgt, sizeof tgt, "%s%.0fx", ratio(r.xgb1.ns_per_row, r.ours.ns_per_row) >= r.target ? "ok " : "NO ",
                    r.target);
    char def[32] = "-", defr[16] = "-";
    if (r.have_default) {
      std::snprintf(def, sizeof def, "%.0f", r.xgb_default.ns_per_row);
      std::snprintf(defr, sizeof defr, "%.1fx", ratio(r.xgb_default.ns_per_row, r.ours.ns_per_row));
    }
    char a[32], b[32], c[32];
    std::snprintf(a, sizeof a, "%.0f (%.0f)", r.ours.ns_per_row, r.ours.cycles_per_row);
    std::snprintf(b, sizeof b, "%.0f (%.0f)", r.ours_simple.ns_per_row, r.ours_simple.cycles_per_row);
    std::snprintf(c, sizeof c, "%.0f (%.0f)", r.xgb1.ns_per_row, r.xgb1.cycles_per_row);
    std::printf("%-9s %5u %16s %16s %18s %8.1fx %14s %9s %6s\n", r.model.c_str(), r.batch, a, b, c,
                ratio(r.xgb1.ns_per_row, r.ours.ns_per_row), def, defr, tgt);
  }
  if (!rep.xgb.empty())
    std::printf("checks: %zu margins bit-identical to libxgboost, max |prob diff| %.3g: %s\n", rep.margins_checked,
                rep.max_prob_diff, rep.xgb_ok ? "ok" : "FAILED");
  if (rep.have_iforest) {
    std::printf("\nIsolation forest: %u trees, max_samples %u, %u features, %zu nodes (scikit-learn %s)\n",
                rep.if_trees, rep.if_max_samples, rep.if_features, rep.if_nodes, rep.if_sklearn_version.c_str());
    std::printf("%5s %16s %18s %10s\n", "batch", "ours ns (cyc)", "sklearn ns/row", "ratio");
    for (const IfRow& r : rep.iforest) {
      char a[32];
      std::snprintf(a, sizeof a, "%.0f (%.0f)", r.ours.ns_per_row, r.ours.cycles_per_row);
      std::printf("%5u %16s %18.0f %9.0fx\n", r.batch, a, r.sklearn_ns_per_row,
                  ratio(r.sklearn_ns_per_row, r.ours.ns_per_row));
    }
    std::printf("checks: %zu rows, max |ours - sklearn| %.3g: %s\n", rep.if_rows_checked, rep.if_max_diff,
                rep.iforest_ok ? "ok" : "FAILED");
  }
  for (const auto& f : rep.failures) std::printf("FAILED: %s\n", f.c_str());
}

bool write_json(const Report& rep, const Options& o, const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  std::fprintf(f, "{\n  \"tool\": \"spectre-mlbench\", \"quick\": %s, \"cpu\": \"%s\", \"tsc_ghz\": %.3f,\n",
               o.quick ? "true" : "false", esc(rep.cpu).c_str(), rep.tsc_ghz);
  std::fprintf(f, "  \"method\": \"median of %d interleaved repetitions of ~%.0f ms each; ns_per_row = thread CPU "
               "time (wall clock for libxgboost_default_threads), cycles = ns * TSC GHz; rows cycled through a pool "
               "of 4096 distinct rows; libxgboost via XGBoosterPredictFromDense (type 0) with a reused proxy "
               "DMatrix; ours = predict_prob(PackedEnsemble)\",\n",
               o.reps, o.seconds_per_rep * 1e3);
  std::fprintf(f, "  \"ok\": %s,\n  \"failures\": [", rep.xgb_ok && rep.iforest_ok ? "true" : "false");
  for (size_t i = 0; i < rep.failures.size(); ++i)
    std::fprintf(f, "%s\"%s\"", i ? ", " : "", esc(rep.failures[i]).c_str());
  std::fprintf(f, "],\n  \"xgboost\": {\"libxgboost\": \"%s\", \"margins_bit_identical_checked\": %zu, "
               "\"max_prob_diff\": %.3g, \"runs\": [\n", rep.xgb_version.c_str(), rep.margins_checked,
               rep.max_prob_diff);
  for (size_t i = 0; i < rep.xgb.size(); ++i) {
    const XgbRow& r = rep.xgb[i];
    std::fprintf(f, "    {\"model\": \"%s\", \"trees\": %u, \"depth\": %u, \"features\": %u, \"nodes\": %zu, "
                 "\"batch\": %u, ", r.model.c_str(), r.trees, r.depth, r.features, r.nodes, r.batch);
    timing(f, "ours", r.ours);
    timing(f, "ours_reference_walk", r.ours_simple);
    timing(f, "libxgboost_nthread1", r.xgb1);
    if (r.have_default) timing(f, "libxgboost_default_threads", r.xgb_default);
    std::fprintf(f, "\"ratio_vs_nthread1\": %.2f", ratio(r.xgb1.ns_per_row, r.ours.ns_per_row));
    if (r.have_default)
      std::fprintf(f, ", \"ratio_vs_default_threads\": %.2f", ratio(r.xgb_default.ns_per_row, r.ours.ns_per_row));
    if (r.target > 0)
      std::fprintf(f, ", \"target_ratio\": %.0f, \"meets_target\": %s", r.target,
                   ratio(r.xgb1.ns_per_row, r.ours.ns_per_row) >= r.target ? "true" : "false");
    std::fprintf(f, "}%s\n", i + 1 < rep.xgb.size() ? "," : "");
  }
  std::fprintf(f, "  ]}");
  if (rep.have_iforest) {
    std::fprintf(f, ",\n  \"iforest\": {\"sklearn\": \"%s\", \"trees\": %u, \"max_samples\": %u, \"features\": %u, "
                 "\"nodes\": %zu, \"rows_checked\": %zu, \"max_abs_diff\": %.3g, \"runs\": [\n",
                 esc(rep.if_sklearn_version).c_str(), rep.if_trees, rep.if_max_samples, rep.if_features,
                 rep.if_nodes, rep.if_rows_checked, rep.if_max_diff);
    for (size_t i = 0; i < rep.iforest.size(); ++i) {
      const IfRow& r = rep.iforest[i];
      std::fprintf(f, "    {\"batch\": %u, ", r.batch);
      timing(f, "ours", r.ours);
      std::fprintf(f, "\"sklearn_ns_per_row\": %.1f, \"ratio\": %.1f}%s\n", r.sklearn_ns_per_row,
                   ratio(r.sklearn_ns_per_row, r.ours.ns_per_row), i + 1 < rep.iforest.size() ? "," : "");
    }
    std::fprintf(f, "  ]}");
  }
  std::fprintf(f, "\n}\n");
  return std::fclose(f) == 0;
}

}  // namespace spectre::mlbench
