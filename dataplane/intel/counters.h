// Threat-intel stage counters (see dataplane/core/counter_def.h). hits[] by
// indicator type (stats.intel.hits.*) is written by hand.
#pragma once

#define SPECTRE_INTEL_COUNTERS(X)                                                                 \
  X(expired, "intel.expired", kCounter, "Matches of indicators past their expiry.")               \
  X(repeats, "intel.repeats", kCounter, "Matches again on a flow that already alerted for them.") \
  X(lookups, "intel.lookups", kCounter, "Indicator lookups.")
