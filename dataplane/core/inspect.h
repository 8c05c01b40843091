// Inspection stage, after the flow stage: TCP reassembly, app-layer parsing
// and signature detection for one decoded packet, plus the end-of-flow flush.
// Worker thread only; everything here is sized at construction.
#pragma once
#include <cstdint>
#include <memory>

#include "dataplane/app/app.h"
#include "dataplane/core/counter_def.h"
#include "dataplane/core/counters.h"
#include "dataplane/core/session.h"
#include "dataplane/detect/detect.h"
#include "dataplane/events/event.h"
#include "dataplane/events/spsc_ring.h"
#include "dataplane/stream/reassembly.h"
#include "dataplane/yaramatch/scan.h"

namespace spectre {

struct InspectConfig {
  uint32_t sessions = 4096;        // per worker
  uint32_t segment_chunks = 1024;  // per worker
  uint32_t alert_ring = 1024;
  AppConfig app;
};

struct InspectCounters {
  SPECTRE_INSPECT_COUNTERS(SPECTRE_COUNTER_FIELD)  // dataplane/core/counters.h
};

// The outer flows of tunnels (inspect_tunnel_outer): which directions sent
// a packet, for Suricata's first-packet-per-direction IP-only rules, without
// a flow record of their own. Direct-mapped by a 64-bit hash of the outer
// 5-tuple: a collision forgets the older outer flow (its IP-only rules may run again).
struct OuterFlow {
  uint64_t tag = 0, last_ns = 0;
  uint8_t seen = 0;     // bit d: direction d sent a packet
  uint8_t init_lo = 0;  // the first packet came from the lower (address, port) end
};
constexpr uint32_t kOuterFlows = 4096;

struct InspectCtx {
  InspectCtx(uint16_t worker_id, const InspectConfig& cfg);
  SessionPool sessions;
  SegmentPool segs;
  AppCtx app;
  DetectCtx det;
  SpscRing<AlertRecord> alerts;
  StreamCounters stream_ctr{};
  InspectCounters ctr{};
  std::unique_ptr<uint8_t[]> window;  // kStreamWindow + kWindowChunk: tail + chunk, inspected together
  std::unique_ptr<OuterFlow[]> outer;  // kOuterFlows
  std::unique_ptr<yara::Ctx> yara;     // the worker's YARA scanner and matches (~61 KiB, always there)
};
constexpr uint32_t kWindowChunk = 65536;

struct WorkerCtx;
struct Snapshot;
struct PacketInfo;
struct Flow;

// A slot of the worker's alert ring (has_ml cleared); null when the ring is
// full in live mode (counted in alerts_dropped). Offline it waits. The caller
// fills it and calls w.insp.alerts.commit().
AlertRecord* claim_alert_slot(WorkerCtx& w);

// `dir` 0: to server. Cost: ~10 cycles when neither rules nor app layer are on.
void inspect_packet(WorkerCtx& w, const Snapshot& s, const PacketInfo& p, Flow& f, int dir);
// Before the flow's record is emitted: flushes reassembly and app parsers
// (which may alert), then frees the session. `s` may be null (no detection).
void inspect_flow_end(WorkerCtx& w, const Snapshot* s, Flow& f);
// A frame the decoder rejected (p.malformed says why; frame/len: as captured):
// the ruleset's decode-event rules for that reason. Rare: not on the fast path.
void inspect_malformed(WorkerCtx& w, const Snapshot& s, const PacketInfo& p, const uint8_t* frame, uint32_t len);
// An IP fragment (decode's kFragment, before defrag): detect_fragment's rules.
void inspect_fragment(WorkerCtx& w, const Snapshot& s, const PacketInfo& p);
// The outer packet of a tunnel (p.outer_l3 set), as Suricata's tunnel root:
// inspected on its own addresses, protocol and headers, without payload and
// flow record. Per tunnelled packet: a hash of the outer tuple (~40 cycles)
// and one detect call with no data to scan.
void inspect_tunnel_outer(WorkerCtx& w, const Snapshot& s, const PacketInfo& p);

}  // namespace spectre
