#include "dataplane/core/worker.h"

#include <new>
#include <stdexcept>

#include <rte_cycles.h>
#include <rte_pause.h>
#include <rte_prefetch.h>

#include "dataplane/flow/flow_tcp.h"

namespace spectre {

namespace {

constexpr int kPrefetchAhead = 4;

// Flow stage: a flow ends. The subscribers (wire_bus) run before the table frees its slot.
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

// Flow stage for one decoded packet. `idx` is the lookup result or 0.
// Returns the flow's index (0: not tracked) and its direction in `dir`.
inline uint32_t flow_update(WorkerCtx& w, const Snapshot& s, const PacketInfo& p, uint32_t idx, int& dir) {
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

// A tunnel's outer packet: its own inspection (header rules), as Suricata's
// tunnel root packet. One branch for packets that are not tunnelled.
inline void tunnel_outer(WorkerCtx& w, const Snapshot& s, const PacketInfo& p, rte_mbuf* mb) {
  if (!p.outer_l3 || !s.rules) return;
  w.cur_pcap_cnt = w.offline ? mbuf_meta(mb)->pcap_cnt : 0;
  w.cur_pkt_src = kPktSrcWire;
  inspect_tunnel_outer(w, s, p);
  w.cur_pcap_cnt = 0;
  w.cur_pkt_src = kPktSrcNone;
}

// Bus subscribers: the stages' flow hooks, unchanged, behind the bus's signature.
WorkerCtx& worker_of(void* c) { return *static_cast<WorkerCtx*>(c); }
void ml_flow_start_sub(void* c, const bus::FlowStart& m) { ml_flow_start(worker_of(c), m.s, m.idx, m.f); }
void intel_flow_start_sub(void* c, const bus::FlowStart& m) {
  if (m.s.intel) intel_flow_start(worker_of(c), m.s, m.f, m.ts);
}
void inspect_flow_end_sub(void* c, const bus::FlowEnd& m) {
  if (m.f.session) inspect_flow_end(worker_of(c), m.s, m.f);
}
void ml_flow_end_sub(void* c, const bus::FlowEnd& m) {
  if (m.f.feat) ml_flow_end(worker_of(c), m.f);
}
void behave_flow_end_sub(void* c, const bus::FlowEnd& m) {
  WorkerCtx& w = worker_of(c);
  if (w.behave) behave_flow_end(w, m.f);
}

// Output: the flow's record to the event ring (offline: waits when full; live: drops and counts).
void out_flow_end(void* c, const bus::FlowEnd& m) {
  WorkerCtx& w = *static_cast<WorkerCtx*>(c);
  const Flow& f = m.f;
  const EndReason why = m.why;
  uint64_t t0 = rte_rdtsc();
  Event ev;
  ev.type = EventType::kFlow;
  FlowRecord& r = ev.flow;
  r.flow_id = flow_id_of(f);
  r.app_proto = f.app_proto;
  r.first_ts = f.first_ts;
  r.last_ts = f.last_ts;
  r.pkts[0] = f.pkts[0]; r.pkts[1] = f.pkts[1];
  r.bytes[0] = f.bytes[0]; r.bytes[1] = f.bytes[1];
  FlowEnds e = flow_ends(f);
  std::memcpy(r.src, e.src, 16);
  std::memcpy(r.dst, e.dst, 16);
  r.sport = e.sport;
  r.dport = e.dport;
  r.vlan[0] = f.key.vlan[0];
  r.vlan[1] = f.key.vlan[1];
  r.ip_ver = f.key.ip_ver;
  r.proto = f.key.proto;
  r.icmp_type = f.icmp_type;
  r.icmp_code = f.icmp_code;
  r.tcp_flags_ts = f.tcp_flags_ts;
  r.tcp_flags_tc = f.tcp_flags_tc;
  r.tcp_state = f.tcp_state;
  r.reason = why;
  r.flags = f.flags;
  r.worker = uint8_t(w.id);
  switch (why) {
    case EndReason::kTimeout: w.ctr.flow.ended_timeout++; break;
    case EndReason::kForced: w.ctr.flow.ended_forced++; break;
    case EndReason::kShutdown: w.ctr.flow.ended_shutdown++; break;
  }
  w.ctr.flow.active--;
  if (!w.events.push(ev)) {
    if (!w.block_on_full) {
      w.ctr.events_dropped++;
    } else {
      w.ctr.events_waited++;
      while (!w.events.push(ev)) rte_pause();
    }
  }
  w.ctr.cyc_output += rte_rdtsc() - t0;
}

// The worker's subscribers, by rank (bus/bus.h): a flow end is flushed through
// inspection (which may still alert), then ML, behaviour, and last the record.
void wire_bus(WorkerCtx& w) {
  bus::WorkerBus& b = w.bus;
  bool ok = b.flow_start.subscribe(ml_flow_start_sub, &w, bus::kRankMl) &&
            b.flow_start.subscribe(intel_flow_start_sub, &w, bus::kRankIntel) &&
            b.flow_end.subscribe(inspect_flow_end_sub, &w, bus::kRankInspect) &&
            b.flow_end.subscribe(ml_flow_end_sub, &w, bus::kRankMl) &&
            b.flow_end.subscribe(behave_flow_end_sub, &w, bus::kRankBehave) &&
            b.flow_end.subscribe(out_flow_end, &w, bus::kRankOutput);
  if (!ok) throw std::logic_error("worker bus: a topic is full");
}

// Offline sweep period in packets: about one per burst, as live sweeps once per loop.
constexpr uint32_t kSweepEvery = 32;

}  // namespace

WorkerCtx::WorkerCtx(uint16_t id_, uint32_t max_flows, const DefragConfig& dcfg, uint32_t event_ring,
                     const InspectConfig& icfg, uint32_t ml_hosts, uint64_t ml_window_ns)
    : id(id_), flows(max_flows), defrag(dcfg), events(event_ring), insp(id_, icfg),
      ml(std::make_unique<MlCtx>(max_flows, ml_hosts, ml_window_ns)),
      intel(std::make_unique<intel::Ctx>()) {
  wire_bus(*this);
}

void process_burst(WorkerCtx& w, const Snapshot& s, rte_mbuf** m, uint16_t n, uint64_t now_ns) {
  alignas(PacketInfo) unsigned char pi_mem[sizeof(PacketInfo) * kMaxBurst];
  PacketInfo* pi = reinterpret_cast<PacketInfo*>(pi_mem);
  bool ok[kMaxBurst];
  // Offline: sweep for timeouts before this packet's flow stage; a later -r
  // input that starts earlier than the last packet ends the flows before it.
  bool sweep[kMaxBurst], epoch[kMaxBurst];
  uint64_t epoch_end[kMaxBurst];  // with epoch: the last packet time of the input before
  uint32_t idx[kMaxBurst];
  int held[kMaxBurst];  // defrag slots to release at the end of the burst
  int nheld = 0;
  if (n > kMaxBurst) n = kMaxBurst;
  w.snap = &s;
  if (w.last_gen != s.generation) {
    w.last_gen = s.generation;
    w.ctr.reloads_seen++;
    w.defrag.set_timeout(s.defrag_timeout_ns);
  }

  uint64_t t0 = rte_rdtsc();
  for (int i = 0; i < n; i++) {
    rte_prefetch0(m[i]);
    rte_prefetch0(rte_mbuf_to_priv(m[i]));
  }
  for (int i = 0; i < n && i < kPrefetchAhead; i++) rte_prefetch0(rte_pktmbuf_mtod(m[i], void*));
  for (int i = 0; i < n; i++) {
    if (i + kPrefetchAhead < n) {
      rte_prefetch0(rte_pktmbuf_mtod(m[i + kPrefetchAhead], void*));
      rte_prefetch0(rte_mbuf_to_priv(m[i + kPrefetchAhead]));
    }
    rte_mbuf* mb = m[i];
    PacketInfo& p = *new (&pi[i]) PacketInfo;
    uint16_t linktype = kLinkEthernet;
    sweep[i] = epoch[i] = false;
    if (w.offline) {
      const MbufMeta* meta = mbuf_meta(mb);
      p.ts_ns = meta->ts_ns;
      linktype = meta->linktype;
      if (meta->file_idx != w.file_idx) {
        w.file_idx = meta->file_idx;
        if (p.ts_ns < w.last_pkt_ns) {  // starts before the last input's last packet
          epoch[i] = true;
          epoch_end[i] = w.last_pkt_ns;
          w.defrag.expire(UINT64_MAX);
        }
      }
      if (++w.sweep_pkts == kSweepEvery) {
        w.sweep_pkts = 0;
        sweep[i] = true;
        if (w.defrag.in_flight()) w.defrag.expire(p.ts_ns);
      }
    } else {
      p.ts_ns = now_ns;
    }
    uint32_t data_len = rte_pktmbuf_data_len(mb);
    p.frame_len = w.offline ? mbuf_meta(mb)->caplen : data_len;
    w.ctr.dec.pkts++;
    w.ctr.dec.bytes += p.frame_len;
    if (p.ts_ns > w.clock_ns) w.clock_ns = p.ts_ns;
    w.last_pkt_ns = p.ts_ns;
    DecodeStatus st = decode_frame(rte_pktmbuf_mtod(mb, const uint8_t*), data_len, linktype, p, w.ctr.dec);
    tunnel_outer(w, s, p, mb);
    if (st == DecodeStatus::kFragment) {
      if (s.rules) {  // each fragment is also a packet (header-only rules), as Suricata
        w.cur_pcap_cnt = w.offline ? mbuf_meta(mb)->pcap_cnt : 0;
        w.cur_pkt_src = kPktSrcWire;
        inspect_fragment(w, s, p);
        w.cur_pcap_cnt = 0;
        w.cur_pkt_src = kPktSrcNone;
      }
      Defrag::Done d;
      st = DecodeStatus::kNotIp;
      if (w.defrag.add(p, p.ts_ns, p.frame_len, d)) {
        held[nheld++] = d.slot;
        PacketInfo whole;
        whole.vlan_count = p.vlan_count;
        whole.vlan[0] = p.vlan[0];
        whole.vlan[1] = p.vlan[1];
        whole.ts_ns = p.ts_ns;
        whole.frame_len = d.frame_bytes;
        whole.reassembled = true;
        st = decode_ip(d.l3, d.len, d.ethertype, whole, w.ctr.dec);
        p = whole;
        tunnel_outer(w, s, p, mb);  // a tunnel in a reassembled datagram
      }
    }
    ok[i] = st == DecodeStatus::kOk;
    if (st == DecodeStatus::kMalformed && s.rules) {
      w.cur_pcap_cnt = w.offline ? mbuf_meta(mb)->pcap_cnt : 0;
      w.cur_pkt_src = kPktSrcWire;
      inspect_malformed(w, s, p, rte_pktmbuf_mtod(mb, const uint8_t*), data_len);
      w.cur_pcap_cnt = 0;
      w.cur_pkt_src = kPktSrcNone;
    }
    if (ok[i]) w.flows.prefetch_buckets(p.hash);
  }
  uint64_t t1 = rte_rdtsc();
  uint64_t out0 = w.ctr.cyc_output, insp0 = w.insp.ctr.cyc_inspect, ml0 = w.ml->ctr.cyc_ml;
  uint64_t bh0 = w.behave ? w.behave->eng.ctr.cyc_behave : 0;

  // Lookup pass: buckets are in cache by now; start loading the flows.
  // With ML on, also the candidates' feature state (every packet updates its
  // lines 0-2): issued a burst ahead of the update instead of one packet ahead.
  const bool ml_on = s.ml.on();
  for (int i = 0; i < n; i++) {
    idx[i] = ok[i] ? w.flows.candidate(pi[i].hash) : 0;
    if (ml_on && idx[i]) {
      const uint8_t* ff = reinterpret_cast<const uint8_t*>(&w.ml->feats.at(idx[i]));
      rte_prefetch0(ff);
      rte_prefetch0(ff + 64);
      rte_prefetch0(ff + 128);
    }
  }
  for (int i = 0; i < n; i++) {
    if (epoch[i]) end_all_flows(w, &s, epoch_end[i]);
    if (sweep[i]) sweep_flows(w, s, pi[i].ts_ns, s.expire_budget);
    if (!ok[i]) continue;
    uint32_t f = idx[i];
    // An earlier packet of this burst may have created, ended or replaced the flow.
    if (!f || !(w.flows.at(f).key == pi[i].key)) f = w.flows.lookup(pi[i].key, pi[i].hash);
    // The next packet's session slot: its first read is otherwise a cache
    // and TLB miss (~100+ cycles) inside inspect_packet.
    if (i + 1 < n && idx[i + 1]) {
      uint32_t sid = w.flows.at(idx[i + 1]).session;
      if (sid) rte_prefetch0(&w.insp.sessions.hdr(sid));
    }
    int dir = 0;
    w.cur_pcap_cnt = w.offline ? mbuf_meta(m[i])->pcap_cnt : 0;  // reassembled: the last fragment's
    w.cur_pkt_src = pi[i].reassembled ? kPktSrcDefrag : kPktSrcWire;
    f = flow_update(w, s, pi[i], f, dir);
    if (f) {
      Flow& fl = w.flows.at(f);
      inspect_packet(w, s, pi[i], fl, dir);
      if (fl.feat) ml_packet(w, *w.ml, s.ml, s, f, fl, pi[i], dir);
    }
  }
  w.cur_pcap_cnt = 0;
  w.cur_pkt_src = kPktSrcNone;
  // ML batches and behaviour summaries are run by worker_tick, once per loop.
  for (int i = 0; i < nheld; i++) w.defrag.release(held[i]);
  uint64_t t2 = rte_rdtsc();
  w.ctr.cyc_decode += t1 - t0;
  w.ctr.cyc_flow += (t2 - t1) - (w.ctr.cyc_output - out0) - (w.insp.ctr.cyc_inspect - insp0) -
                    (w.ml->ctr.cyc_ml - ml0) - ((w.behave ? w.behave->eng.ctr.cyc_behave : 0) - bh0);
  w.ctr.bursts++;
}

void worker_tick(WorkerCtx& w, const Snapshot& s, uint64_t now_ns) {
  w.snap = &s;
  if (now_ns) {  // offline (0): process_burst sweeps at fixed packet counts
    if (now_ns > w.clock_ns) w.clock_ns = now_ns;
    sweep_flows(w, s, w.clock_ns, s.expire_budget);
    if (w.defrag.in_flight()) w.defrag.expire(w.clock_ns);
  }
  if (w.ml->n) ml_poll(w);
  if (w.behave) behave_poll(w, s);
}

void worker_flush(WorkerCtx& w) {
  end_all_flows(w, w.snap, w.last_pkt_ns);
  ml_flush(w);
  if (w.behave) behave_finish(w);
}

}  // namespace spectre
