#include "dataplane/core/worker.h"

#include <stdexcept>

#include <rte_cycles.h>
#include <rte_pause.h>

#include "dataplane/core/stages.h"

namespace spectre {

namespace {

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
void ml_app_sub(void* c, const bus::AppTx& m) { ml_app(worker_of(c), m.f, m.to_server, m.meta); }
void behave_app_sub(void*, const bus::AppTx& m) {  // HTTP requests and 401/403 answers, on the flow
  if (m.meta.proto == rules::AppProto::kHttp || (m.meta.proto == rules::AppProto::kHttp2 && !m.meta.h2_ctrl))
    behave_http(m.f, m.to_server, m.meta.http_status);
}
void intel_app_sub(void* c, const bus::AppTx& m) { intel_app(worker_of(c), m.f, m.to_server, m.meta, m.ts); }

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
// inspection (which may still alert), then ML, behaviour, and last the record;
// an app transaction goes to ML, behaviour and intel before the inspection
// stage logs and detects it.
void wire_bus(WorkerCtx& w) {
  bus::WorkerBus& b = w.bus;
  bool ok = b.flow_start.subscribe(ml_flow_start_sub, &w, bus::kRankMl) &&
            b.flow_start.subscribe(intel_flow_start_sub, &w, bus::kRankIntel) &&
            b.flow_end.subscribe(inspect_flow_end_sub, &w, bus::kRankInspect) &&
            b.flow_end.subscribe(ml_flow_end_sub, &w, bus::kRankMl) &&
            b.flow_end.subscribe(behave_flow_end_sub, &w, bus::kRankBehave) &&
            b.flow_end.subscribe(out_flow_end, &w, bus::kRankOutput) &&
            b.app_tx.subscribe(ml_app_sub, &w, bus::kRankMl) &&
            b.app_tx.subscribe(behave_app_sub, &w, bus::kRankBehave) &&
            b.app_tx.subscribe(intel_app_sub, &w, bus::kRankIntel);
  if (!ok) throw std::logic_error("worker bus: a topic is full");
}

// A new snapshot generation (a reload) since the last burst.
inline void begin_burst(WorkerCtx& w, const Snapshot& s) {
  w.snap = &s;
  if (w.last_gen != s.generation) {
    w.last_gen = s.generation;
    w.ctr.reloads_seen++;
    w.defrag.set_timeout(s.defrag_timeout_ns);
  }
}

}  // namespace

WorkerCtx::WorkerCtx(uint16_t id_, uint32_t max_flows, const DefragConfig& dcfg, uint32_t event_ring,
                     const InspectConfig& icfg, uint32_t ml_hosts, uint64_t ml_window_ns)
    : id(id_), flows(max_flows), defrag(dcfg), events(event_ring), insp(id_, icfg),
      ml(std::make_unique<MlCtx>(max_flows, ml_hosts, ml_window_ns)),
      intel(std::make_unique<intel::Ctx>()) {
  wire_bus(*this);
}

// The stages in the order a packet meets them (core/stages.h). cyc_decode and
// cyc_flow are counted here; inspection, ML, behaviour and output count their
// own cycles, which cyc_flow leaves out.
void process_burst(WorkerCtx& w, const Snapshot& s, rte_mbuf** m, uint16_t n, uint64_t now_ns) {
  Burst b;
  b.m = m;
  b.n = n > kMaxBurst ? kMaxBurst : n;
  begin_burst(w, s);

  uint64_t t0 = rte_rdtsc();
  decode_stage(w, s, b, now_ns);  // decode, defrag, tunnel roots; prefetch flow buckets
  uint64_t t1 = rte_rdtsc();
  uint64_t out0 = w.ctr.cyc_output, insp0 = w.insp.ctr.cyc_inspect, ml0 = w.ml->ctr.cyc_ml;
  uint64_t bh0 = w.behave ? w.behave->eng.ctr.cyc_behave : 0;

  flow_lookup_stage(w, s, b);  // candidates; prefetch flows (and ML state)
  PacketInfo* pi = b.pi();
  const int nb = b.n;
  for (int i = 0; i < nb; i++) {
    int dir;
    uint32_t f = flow_stage(w, s, b, i, dir);  // sweeps due, flow update: TCP state, behaviour
    if (!f) continue;
    Flow& fl = w.flows.at(f);
    inspect_packet(w, s, pi[i], fl, dir);  // stream -> app layer -> detection (core/inspect.cc)
    if (fl.feat) ml_packet(w, *w.ml, s.ml, s, f, fl, pi[i], dir);  // features, scoring points
  }
  w.cur_pcap_cnt = 0;
  w.cur_pkt_src = kPktSrcNone;
  // ML batches and behaviour summaries are run by worker_tick, once per loop.
  decode_release(w, b);
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
