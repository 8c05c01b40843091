// Behaviour stage counters (see dataplane/core/counter_def.h).
#pragma once

#define SPECTRE_BEHAVE_COUNTERS(X)                                                        \
  X(summaries, "behaviour.summaries", kCounter, "Flow summaries processed by an owner.")  \
  X(alerts, "behaviour.alerts", kCounter, "Behaviour alerts.")                            \
  X(episodes, "behaviour.episodes", kCounter, "Behaviour episodes.")                      \
  X(evictions, "behaviour.evictions", kCounter, "Behaviour states evicted.")              \
  X(mailbox_drops, "behaviour.mailbox_drops", kCounter, "Summaries dropped: mailbox full.") \
  X(cyc_behave, "cycles.behaviour", kCounter, "TSC cycles in the behaviour stage.")
