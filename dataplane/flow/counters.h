// Flow table counters (see dataplane/core/counter_def.h). stats.flow.ended
// (the sum of the three ends) is written by hand.
#pragma once

#define SPECTRE_FLOW_COUNTERS(X)                                                           \
  X(created, "flow.created", kCounter, "Flows created.")                                   \
  X(active, "flow.active", kGauge, "Flows in the table.")                                 \
  X(ended_timeout, "flow.timeout", kCounter, "Flows ended by their timeout.")              \
  X(ended_forced, "flow.forced", kCounter, "Flows ended early (TCP close, table pressure).") \
  X(ended_shutdown, "flow.shutdown", kCounter, "Flows ended at shutdown.")                 \
  X(evicted, "flow.evicted", kCounter, "Flows evicted for a new one.")
