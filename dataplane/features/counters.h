// ML scoring counters (see dataplane/core/counter_def.h). model_lat_hist[]
// (Prometheus spectre_model_latency_seconds) is written by hand.
#pragma once

#define SPECTRE_ML_COUNTERS(X)                                                                              \
  X(rows, "ml.rows", kCounter, "Flow rows at scoring points.")                                              \
  X(scored, "ml.scored", kCounter, "Rows scored by the model.")                                             \
  X(alerts, "ml.alerts", kCounter, "Model alerts.")                                                         \
  X(dumped, "ml.dumped", kCounter, "Rows written to the features file.")                                    \
  X(guarded, "ml.guard.scored", kCounter, "Rows the guard model scored.")                                   \
  X(guard_vetoed, "ml.guard.vetoed", kCounter, "Rows the guard found benign (no alert).")                   \
  X(below_min_payload, "ml.below_min_payload", kCounter, "Points with less payload than the model's minimum.") \
  X(shadow_scored, "ml.shadow.scored", kCounter, "Rows the shadow model scored.")                           \
  X(shadow_alerts, "ml.shadow.alerts", kCounter, "Shadow model alerts (not raised).")                       \
  X(shadow_agree, "ml.shadow.agree", kCounter, "Rows where the shadow decided as the active model.")        \
  X(cyc_ml, "cycles.ml", kCounter, "TSC cycles in row extraction, scoring and explanations.")
