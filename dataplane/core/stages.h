// The worker's stages over one burst, in the order a packet meets them
// (process_burst in core/worker.cc reads as the list): decode (with defrag and
// tunnel roots) -> flow lookup -> per packet: flow update (TCP state,
// behaviour) -> inspection (stream, app layer, detection; core/inspect.cc)
// -> features and ML (features/scoring.h). Flow starts and ends reach their
// subscribers through the worker's bus (bus/bus.h). The stages still take the
// whole WorkerCtx, so they live in core/ for now.
#pragma once
#include <cstdint>

#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "dataplane/core/worker.h"
#include "dataplane/flow/flow_tcp.h"

namespace spectre {

// What a burst carries from stage to stage: on process_burst's stack, filled
// by the stages (not initialised: no per-burst clearing).
struct Burst {
  rte_mbuf** m;
  int n;  // <= kMaxBurst
  alignas(PacketInfo) unsigned char pi_mem[sizeof(PacketInfo) * kMaxBurst];
  bool ok[kMaxBurst];  // decoded: goes on to the flow stage
  // Offline: sweep for timeouts before this packet's flow stage; a later -r
  // input that starts earlier than the last packet ends the flows before it.
  bool sweep[kMaxBurst], epoch[kMaxBurst];
  uint64_t epoch_end[kMaxBurst];  // with epoch: the last packet time of the input before
  uint32_t idx[kMaxBurst];        // flow lookup stage: the candidate flow or 0
  int held[kMaxBurst];            // defrag slots to release at the end of the burst
  int nheld;
  PacketInfo* pi() { return reinterpret_cast<PacketInfo*>(pi_mem); }
};

// Decode stage (core/stage_decode.cc): every packet of the burst decoded (data
// prefetched 4 ahead), fragments reassembled, tunnel roots, fragments and
// malformed packets inspected by themselves; prefetches each decoded packet's
// flow buckets. Live, `now_ns` stamps every packet.
void decode_stage(WorkerCtx& w, const Snapshot& s, Burst& b, uint64_t now_ns);
// End of the burst: frees the defrag slots its reassembled packets pointed into.
inline void decode_release(WorkerCtx& w, Burst& b) {
  for (int i = 0; i < b.nheld; i++) w.defrag.release(b.held[i]);
}

// Flow stage (core/stage_flow.cc).
// Lookup over the burst (buckets are in cache by now): candidates into b.idx,
// their flows (and, ML on, their feature state) prefetched.
void flow_lookup_stage(WorkerCtx& w, const Snapshot& s, Burst& b);
// Out of line: a new flow (publishes FlowStart), a flow's end (FlowEnd).
uint32_t flow_create(WorkerCtx& w, const Snapshot& s, const PacketInfo& p);
void emit_flow_end(WorkerCtx& w, const Flow& f, EndReason why);
// Timeout sweep of at most `budget` flows idle at `now_ns`.
void sweep_flows(WorkerCtx& w, const Snapshot& s, uint64_t now_ns, uint32_t budget);
// End of an input: idle flows end as timeouts, the rest as at shutdown.
void end_all_flows(WorkerCtx& w, const Snapshot* s, uint64_t last_ns);

// Flow update for one decoded packet. `idx` is the lookup result or 0.
// Returns the flow's index (0: not tracked) and its direction in `dir`.
// Forced inline, as flow_stage: left to the compiler, this header's external
// linkage kept it out of line (the static function of worker.cc it was is
// inlined), +80 TSC cycles/packet in the flow stage (spectre-bench --profile 64).
[[gnu::always_inline]] inline uint32_t flow_update(WorkerCtx& w, const Snapshot& s, const PacketInfo& p, uint32_t idx, int& dir) {
  if (idx) {
    Flow& f = w.flows.at(idx);
    bool expired = p.ts_ns > f.last_ts + s.tmo_ns[f.tmo_class];
    bool reuse = p.proto == 6 && f.tcp_state == TcpState::kClosed &&
                 (p.tcp_flags & (kSyn | kAck)) == kSyn;
    if (expired || reuse) {
      emit_flow_end(w, f, expired ? EndReason::kTimeout : EndReason::kForced);
      w.flows.remove(idx);
      idx = 0;
    }
  }
  if (!idx && !(idx = flow_create(w, s, p))) return 0;
  Flow& f = w.flows.at(idx);
  dir = p.swapped == bool(f.flags & kFlowInitSwapped) ? 0 : 1;
  f.pkts[dir]++;
  f.bytes[dir] += p.frame_len;
  f.flags |= dir == 0 ? kFlowSeenToServer : kFlowSeenToClient;
  if (p.ts_ns > f.last_ts) f.last_ts = p.ts_ns;
  w.cur_tcp_before = f.tcp_state;
  if (p.proto == 6) flow_tcp_track(f, p.tcp_flags, dir, {s.stream.midstream, s.stream.async_oneside});
  if (w.behave && !(f.bh & kBhDone)) behave_packet(w, s, f, p, dir);
  // Lazy LRU: re-link on a class change or ~1.07 s after the last re-link.
  // Saves two random cache-line writes per packet; expiry may lag by <= ~1 s
  // (records stay exact: the timeout check above uses last_ts).
  uint8_t cls = timeout_class(f);
  uint32_t stamp = uint32_t(p.ts_ns >> 20);
  int32_t dt = int32_t(stamp - f.lru_stamp);
  if (cls != f.tmo_class || dt >= 1024 || dt <= -1024) {
    if (w.behave && cls == kTmoTcpEstablished) behave_relink(w, s, f, f.lru_stamp);
    w.flows.touch(idx, cls);
    f.lru_stamp = stamp;
  }
  return idx;
}

// Flow stage for packet i of the burst, after the lookup stage: sweeps due
// before it (offline), its flow found again if an earlier packet of the burst
// changed it, then updated. Returns the flow's index (0: not decoded or not
// tracked) and the packet's direction in `dir`.
[[gnu::always_inline]] inline uint32_t flow_stage(WorkerCtx& w, const Snapshot& s, Burst& b, int i, int& dir) {
  const PacketInfo& p = b.pi()[i];
  if (b.epoch[i] | b.sweep[i]) {
    // What flows ending here log belongs to no packet (pcap_cnt none, pkt_src
    // flow timeout): not to the burst's previous packet, whose place in a
    // burst depends on timing.
    w.cur_pcap_cnt = 0;
    w.cur_pkt_src = kPktSrcNone;
    if (b.epoch[i]) end_all_flows(w, &s, b.epoch_end[i]);
    if (b.sweep[i]) sweep_flows(w, s, p.ts_ns, s.expire_budget);
  }
  if (!b.ok[i]) return 0;
  uint32_t f = b.idx[i];
  // An earlier packet of this burst may have created, ended or replaced the flow.
  if (!f || !(w.flows.at(f).key == p.key)) f = w.flows.lookup(p.key, p.hash);
  // The next packet's session slot: its first read is otherwise a cache
  // and TLB miss (~100+ cycles) inside inspect_packet.
  if (i + 1 < b.n && b.idx[i + 1]) {
    uint32_t sid = w.flows.at(b.idx[i + 1]).session;
    if (sid) rte_prefetch0(&w.insp.sessions.hdr(sid));
  }
  dir = 0;
  w.cur_pcap_cnt = w.offline ? mbuf_meta(b.m[i])->pcap_cnt : 0;  // reassembled: the last fragment's
  w.cur_pkt_src = p.reassembled ? kPktSrcDefrag : kPktSrcWire;
  return flow_update(w, s, p, f, dir);
}

}  // namespace spectre
