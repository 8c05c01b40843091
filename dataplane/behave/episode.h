// Episodes: one alert when a behaviour crosses its threshold (start), again
// when its flow count grew by `grow` since the last alert (grow), and when it
// has been idle for its window or input ends (end). Engine internals.
#pragma once
#include <cstdint>

#include "dataplane/behave/engine.h"

namespace spectre::behave {

struct Engine::Episode {  // 64 B
  uint64_t first_seen, last_seen;  // ns, event time
  uint64_t flow_ids[3];            // the first flows of the episode
  uint32_t flows;                  // flows counted in the episode
  uint32_t alerted;                // flows at the last alert
  uint32_t idle_s;                 // ends after this long without a contributing flow
  uint8_t active, nids, proto, pad;
  uint8_t pad2[8];
};
using Episode = Engine::Episode;
static_assert(sizeof(Episode) == 64);

// The entity an alert is about: src_ip/dest_ip/dest_port of the alert.
struct Entity {
  const uint8_t* src;
  const uint8_t* dst;
  uint8_t ver;
  uint16_t dport;
  uint8_t proto;
  uint8_t det;
};

// Evidence as of the alert (BehaveAlertMeta's counts).
struct Evidence {
  float distinct_dsts, distinct_ports, failed_ratio, half_open_per_s, flows_per_s;
  float intervals_cv, mean_interval_s, size_cv;
  uint64_t bytes_out, baseline_bytes;
  uint32_t window_s, attempts, sources;
};

struct EpisodeCtx {
  const Settings& s;
  Sink& out;
  Counters& ctr;
  uint16_t worker;
};

enum Stage : uint8_t { kStageStart, kStageGrow, kStageEnd };

// Writes one alert for `ep` (worker side: a few hundred cycles, once per episode stage).
void emit_alert(EpisodeCtx& x, const Episode& ep, const Entity& ent, Stage st, const Evidence& ev, uint64_t ts);

// One event of the entity: `hit` = the threshold holds now; `contributes` =
// this event is one more flow of the behaviour; `in_window` = flows of the
// behaviour in the window now (the episode's initial count).
void step_episode(EpisodeCtx& x, Episode& ep, const Entity& ent, bool hit, bool contributes, uint32_t in_window,
                  const Summary& m, const Evidence& ev, uint64_t idle_ns);

// Ends `ep` if open and (force or idle at `now`).
void end_episode(EpisodeCtx& x, Episode& ep, const Entity& ent, uint64_t now, bool force);

}  // namespace spectre::behave
