// Detection counters (see dataplane/core/counter_def.h).
#pragma once

#define SPECTRE_DETECT_COUNTERS(X)                                                                          \
  X(alerts, "detect.alerts", kCounter, "Signature alerts.")                                                 \
  X(inspected, "detect.inspected", kCounter, "Packets and buffers inspected.")                              \
  X(prefilter_hits, "detect.prefilter_hits", kCounter, "Prefilter matches.")                                \
  X(rules_evaluated, "detect.rules_evaluated", kCounter, "Rules evaluated after the prefilter.")             \
  X(suppressed_threshold, "detect.suppressed_threshold", kCounter, "Alerts suppressed by thresholds.")      \
  X(suppressed_pass, "detect.suppressed_pass", kCounter, "Alerts suppressed by pass rules.")                \
  X(suppressed_config, "detect.suppressed_config", kCounter, "Alerts suppressed by threshold.config.")      \
  X(rate_filtered, "detect.rate_filtered", kCounter, "Alerts whose action a rate_filter changed.")          \
  X(threshold_table_full, "detect.threshold_evicted", kCounter, "Threshold entries evicted for new ones.")   \
  X(xbits_full, "detect.xbits_full", kCounter, "xbits sets dropped: table full.")                           \
  X(flowint_full, "detect.flowint_full", kCounter, "flowint sets dropped: flow holds the maximum.")         \
  X(dataset_full, "detect.dataset_full", kCounter, "dataset set/unset dropped: overlay full.")              \
  X(recursion_limit, "detect.recursion_limit", kCounter, "Rule evaluations cut by the inspection budget.")  \
  X(pcre_errors, "detect.pcre_errors", kCounter, "PCRE2 match limit hit or other errors.")                  \
  X(flowbits_full, "detect.flowbits_full", kCounter, "flowbits sets failed: the flow holds 7 bits.")        \
  X(bad_worker, "detect.bad_worker", kCounter, "Not inspected: worker beyond the ruleset's count.")         \
  X(xform_cut, "detect.xform_cut", kCounter, "Transformed buffers cut at their limit.")
