// Threat-intel matching on the workers: a flow's endpoints on its first
// packet, DNS query names, TLS SNI and JA3, HTTP host and URL. One alert per
// flow per indicator (per-worker table of (flow id, indicator identity)).
// Worker thread only; no allocation after Ctx construction.
#pragma once
#include <cstdint>
#include <memory>

#include "dataplane/core/counter_def.h"
#include "dataplane/intel/counters.h"
#include "dataplane/intel/intel.h"

namespace spectre {

struct WorkerCtx;
struct Snapshot;
struct Flow;
struct AppMeta;

namespace intel {

struct Counters {
  uint64_t hits[size_t(Type::kCount)];  // alerts written, by indicator type
  SPECTRE_INTEL_COUNTERS(SPECTRE_COUNTER_FIELD)  // dataplane/intel/counters.h
};

struct Ctx {
  explicit Ctx(uint32_t slots = 16384);  // power of two; 16 B each
  struct Seen {
    uint64_t flow, ident;
  };
  std::unique_ptr<Seen[]> seen;  // 2-way sets; a full set drops its older entry
  uint32_t mask;
  Counters ctr{};
  // True the first time (flow, ident) is offered (modulo evictions).
  bool first_time(uint64_t flow, uint64_t ident);
};

}  // namespace intel

// Flow creation (the flow's first packet): both endpoints. ~2 hash probes per
// listed prefix length when feeds are loaded; one pointer test otherwise.
void intel_flow_start(WorkerCtx& w, const Snapshot& s, Flow& f, uint64_t ts);
// A completed app-layer transaction direction (inspect stage's on_tx).
void intel_app(WorkerCtx& w, Flow& f, bool to_server, const AppMeta& m, uint64_t ts);

}  // namespace spectre
