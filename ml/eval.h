// `spectre-ml eval`: scores labelled feature rows with a model artifact and
// reports per-flow detection figures (TP/FN/TPR per class, FP/TN/FPR over the
// benign flows) and the row-level confusion matrix. Offline tool code.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ml/artifact.h"

namespace spectre::ml {

// The class each row is predicted as, `benign` when the row raises no alert.
// XGBoost, one output: P >= thresholds[0] predicts class_names.back() (the
// positive class; class_names[0] of a two-name model is the negative one).
// XGBoost, several outputs: the outputs whose class is not `benign` and whose
// probability reaches its threshold alert; the most probable of them is the
// prediction. Isolation forest: score_samples < thresholds[0] (the stored
// threshold; by default the sklearn offset, i.e. decision_function < 0)
// predicts class_names[0] ("anomaly"). With a guard (m.guard), a row keeps its
// class only when the guard's score_samples is below its thresholds[0]. x: n rows of m.num_features (NaN = missing).
std::vector<std::string> predict_classes(const LoadedModel& m, const std::vector<double>& x, size_t n,
                                         const std::string& benign = "benign");

struct EvalRow {
  std::string flow_id, phase;
  double ts = 0;
  std::string label;  // true class (`benign` for none)
  std::string pred;   // predicted class (`benign` for no alert)
};

struct ClassFigures {
  std::string name;
  size_t flows = 0, tp = 0, fn = 0;
  size_t exact = 0;  // flows predicted exactly as this class
  double tpr = 0;    // NaN when flows == 0
};

struct EvalResult {
  std::string phase, benign;
  size_t rows_total = 0, rows_used = 0, rows_alerted = 0;
  size_t flows = 0;                  // flows with at least one row in the phase(s)
  std::vector<ClassFigures> classes;  // every true attack class, sorted by name
  ClassFigures all_attacks;           // name "all attacks"
  size_t benign_flows = 0, fp = 0, tn = 0;
  double fpr = 0;                    // NaN when no benign flow
  size_t exact_correct = 0;          // flows whose predicted class equals their class
  double exact_accuracy = 0;         // NaN when no flow (or class_exact false)
  bool class_exact = true;           // false for isolation forests (no class names)
  // Row-level confusion over the rows used: counts[true][pred].
  std::vector<std::string> true_classes, pred_classes;
  std::vector<std::vector<size_t>> counts;
};

// Per flow (rows sharing flow_id): its class is the label of its latest row (by
// ts, ties: the later row in input order; every phase counts), it is flagged
// when any of its rows in the chosen phase ("any", "end", "k4", "k16") alerts,
// and its predicted class is that of its earliest alerting row there. Flows
// without a row in the phase are left out. An attack flow is a TP when flagged
// with any class. pred_classes: the confusion matrix columns after `benign`.
EvalResult aggregate_eval(const std::vector<EvalRow>& rows, const std::string& phase,
                          const std::string& benign, const std::vector<std::string>& pred_classes);

// Reads a labelled CSV: flow_id and the label column by name (first
// occurrence), phase and ts when present, the model's features via
// cli::map_features. rows get flow_id/phase/ts/label; x gets n * num_features.
bool read_eval_csv(const std::string& path, const LoadedModel& m, const std::string& label_col,
                   std::vector<EvalRow>& rows, std::vector<double>& x, std::string& err);

// The model's possible predictions besides benign, in output order.
std::vector<std::string> alert_classes(const LoadedModel& m, const std::string& benign);

std::string eval_table(const EvalResult& r);
std::string eval_json(const EvalResult& r);

}  // namespace spectre::ml
