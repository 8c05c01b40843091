// Flow stage of the worker (core/stages.h): lookup over the burst, flow
// creation and end (published on the worker's bus), timeout sweeps. The
// per-packet update is inline in core/stages.h.
#include "dataplane/core/stages.h"

namespace spectre {

// A flow ends: its subscribers (core/worker.cc wire_bus) run before the table frees its slot.
void emit_flow_end(WorkerCtx& w, const Flow& cf, EndReason why) {
  Flow& f = const_cast<Flow&>(cf);  // the table hands out its slot before freeing it
  w.bus.flow_end.publish({w.snap, f, why});
}

// Creates a flow for packet `p`; returns its index or 0.
uint32_t flow_create(WorkerCtx& w, const Snapshot& s, const PacketInfo& p) {
  uint32_t idx = w.flows.insert(p.key, p.hash, [&](const Flow& victim) {
    w.ctr.flow.evicted++;
    emit_flow_end(w, victim, EndReason::kForced);
  });
  if (!idx) {
    w.ctr.flow_insert_failed++;
    return 0;
  }
  Flow& f = w.flows.at(idx);
  f.first_ts = f.last_ts = p.ts_ns;
  // The initiator sent the first packet, unless that packet is a SYN-ACK that
  // starts a session (midstream or async-oneside). Otherwise Suricata 7 has
  // no session and its flow runs from the SYN-ACK's sender (to_server).
  bool synack = p.proto == 6 && (p.tcp_flags & (kSyn | kAck)) == (kSyn | kAck) &&
                (s.stream.midstream || s.stream.async_oneside);
  if (p.swapped != synack) f.flags |= kFlowInitSwapped;
  f.icmp_type = p.icmp_type;
  f.icmp_code = p.icmp_code;
  if (w.ctr.home_checked < kHomeNetSample) {  // ~20 cycles, first flows only
    w.ctr.home_checked++;
    if (s.home_net.contains(p.key.lo_addr, p.key.ip_ver) || s.home_net.contains(p.key.hi_addr, p.key.ip_ver))
      w.ctr.home_matched++;
  }
  w.bus.flow_start.publish({s, f, idx, p.ts_ns});
  w.ctr.flow.created++;
  w.ctr.flow.active++;
  return idx;
}

void sweep_flows(WorkerCtx& w, const Snapshot& s, uint64_t now_ns, uint32_t budget) {
  w.flows.expire(now_ns, s.tmo_ns, budget, [&](const Flow& f) { emit_flow_end(w, f, EndReason::kTimeout); });
}

// End of the input (offline: also of an input followed by an earlier one):
// flows idle past their timeout at the last packet's time end as timeouts,
// however far the budgeted sweeps got, the rest as at shutdown.
void end_all_flows(WorkerCtx& w, const Snapshot* s, uint64_t last_ns) {
  if (w.offline && s) sweep_flows(w, *s, last_ns, UINT32_MAX);
  w.flows.flush([&](const Flow& f) { emit_flow_end(w, f, EndReason::kShutdown); });
}

void flow_lookup_stage(WorkerCtx& w, const Snapshot& s, Burst& b) {
  const int n = b.n;
  const PacketInfo* pi = b.pi();
  // With ML on, also the candidates' feature state (every packet updates its
  // lines 0-2): issued a burst ahead of the update instead of one packet ahead.
  const bool ml_on = s.ml.on();
  for (int i = 0; i < n; i++) {
    b.idx[i] = b.ok[i] ? w.flows.candidate(pi[i].hash) : 0;
    if (ml_on && b.idx[i]) {
      const uint8_t* ff = reinterpret_cast<const uint8_t*>(&w.ml->feats.at(b.idx[i]));
      rte_prefetch0(ff);
      rte_prefetch0(ff + 64);
      rte_prefetch0(ff + 128);
    }
  }
}

}  // namespace spectre
