// EAL start-up, per-run set-up, the measured worker loops and the
// post-run correctness checks.
//
// Each worker lcore runs, against its own ring:
//   1. warm-up pass 1: every mbuf once through process_burst, in an order
//      unrelated to the ring's (creates all flows);
//   2. warm-up passes 2..K: full pipeline over the ring;
//   --- barrier ---
//   3. baseline: dequeue 32 + enqueue back ("RX and free" alone);
//   --- barrier ---
//   4. pipeline: worker_poll_once (dataplane/core/worker_loop.h, the
//      dataplane's loop iteration): dequeue 32 + process_burst + enqueue
//      back + worker_tick.
// Phases 3 and 4 run for --seconds each (checked every 16 bursts) or for an
// exact --packets quota. The main lcore only sleeps while workers run.
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_memory.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_version.h>

#include "dataplane/core/clock.h"
#include "bench/bench.h"
#include "dataplane/intel/config.h"
#include "dataplane/core/snapshot.h"
#include "dataplane/core/stats.h"
#include "dataplane/core/worker_loop.h"
#include "dataplane/detect/detect.h"
#include "dataplane/io/eal.h"

// Signature support lands in the dataplane in steps: use what this build has.
#if __has_include("dataplane/core/rules_setup.h")
#include "dataplane/core/rules_setup.h"
#define SPECTRE_BENCH_RULES 1
#else
#define SPECTRE_BENCH_RULES 0
#endif
#if __has_include("dataplane/core/inspect.h")
#include "dataplane/core/inspect.h"
#define SPECTRE_BENCH_INSPECT 1
#else
#define SPECTRE_BENCH_INSPECT 0
#endif

namespace spectre::bench {

namespace {

struct Shared {
  const Snapshot* snap = nullptr;
  bool realign = false;  // capture-like sources: start the pipeline phase at the first packet
  uint32_t nw = 0;
  uint32_t warm_passes = 1;
  uint64_t tsc_limit = 0;  // cycles per measured phase; 0: packet quota
  bool rx_touch = false;
  bool nic = false;
  bool drain = false;      // empty the alert ring after each burst (--model / --features-only)
  std::atomic<uint32_t> arrive[2] = {0, 0};
  std::atomic<uint32_t> done{0};
};

struct LaunchArg {
  Shared* sh;
  WorkerSlot* ws;
  uint64_t quota;  // packets per measured phase (packet mode)
};

struct Phase {
  uint64_t pkts = 0, cyc = 0, cpu_ns = 0, ivcsw = 0;
};

uint64_t thread_cpu_ns() { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }
uint64_t thread_ivcsw() {
  rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  return uint64_t(ru.ru_nivcsw);
}

// Outside the measured phases. Yields after a while: with --no-pin or more
// workers than CPUs, a spinning waiter could hold the CPU a late worker needs.
void barrier(Shared& sh, int k) {
  sh.arrive[k].fetch_add(1, std::memory_order_acq_rel);
  for (uint32_t spins = 0; sh.arrive[k].load(std::memory_order_acquire) < sh.nw; spins++) {
    if (spins < 100000) rte_pause();
    else sched_yield();
  }
}

// --source nic "RX": a burst from the small RX pool, frames copied in from the
// wire (sequential, so the hardware prefetcher streams it like DMA would).
unsigned nic_rx(WorkerSlot& ws, rte_mbuf** mb, unsigned want) {
  if (rte_pktmbuf_alloc_bulk(ws.rx_pool, mb, want) != 0) return 0;
  const uint16_t room = uint16_t(rte_pktmbuf_data_room_size(ws.rx_pool) - RTE_PKTMBUF_HEADROOM);
  const uint8_t* bytes = ws.wire_bytes.data();
  const size_t nf = ws.wire.size();
  for (unsigned i = 0; i < want; i++) {
    WorkerSlot::WireFrame& f = ws.wire[ws.wire_pos];
    if (++ws.wire_pos == nf) ws.wire_pos = 0;
    uint16_t len = uint16_t(f.len < room ? f.len : room);
    rte_memcpy(rte_pktmbuf_mtod(mb[i], void*), bytes + f.off, len);
    mb[i]->data_len = len;
    mb[i]->pkt_len = len;
    *mbuf_meta(mb[i]) = f.meta;
    f.meta.ts_ns += ws.clock_step;  // its next pass
  }
  return want;
}

// What the output thread does with the alert ring, without formatting:
// release every record (a peek and an index store each).
template <class W>
void drain_alerts(W& w) {
  if constexpr (requires { w.insp.alerts.peek(); })
    while (w.insp.alerts.peek()) w.insp.alerts.release();
}

// Capture clock (ring source): a consumed mbuf's next pass is `step` later.
// Done in the baseline loop too (one store to the mbuf's private area).
void advance_clock(rte_mbuf** mb, unsigned n, uint64_t step) {
  for (unsigned i = 0; i < n; i++) mbuf_meta(mb[i])->ts_ns += step;
}

// Capture clock: what was consumed without the source loop (the warm-up's
// first pass, the frames a realignment skips) moves on by one pass too.
void advance_all(WorkerSlot& ws, bool nic, size_t wire_from) {
  if (!ws.clock_step) return;
  if (nic)
    for (size_t i = wire_from; i < ws.wire.size(); i++) ws.wire[i].meta.ts_ns += ws.clock_step;
  else
    advance_clock(ws.ring_order.data(), unsigned(ws.ring_order.size()), ws.clock_step);
}

// The bench's rx source for worker_poll_once: a --source nic burst copied in
// from the wire, or a dequeue from the worker's ring; done() frees the nic
// mbufs and puts the ring's back (never short: every mbuf just left it).
struct BenchSource {
  rte_ring* r;
  WorkerSlot* nic;
  bool rx_touch;
  uint64_t step;

  static unsigned parts() { return 1; }
  unsigned rx(unsigned, rte_mbuf** mb, unsigned want) const {
    unsigned got = nic ? nic_rx(*nic, mb, want)
                       : rte_ring_sc_dequeue_burst(r, reinterpret_cast<void**>(mb), want, nullptr);
    if (rx_touch)  // what a PMD's RX writes into each mbuf (values unchanged here)
      for (unsigned i = 0; i < got; i++) {
        mb[i]->ol_flags = 0;
        mb[i]->pkt_len = mb[i]->data_len;
      }
    return got;
  }
  void done(rte_mbuf** mb, unsigned n) const {
    if (nic) {
      rte_pktmbuf_free_bulk(mb, n);
    } else {
      if (step) advance_clock(mb, n, step);
      rte_ring_sp_enqueue_burst(r, reinterpret_cast<void* const*>(mb), n, nullptr);
    }
  }
};

// Pipeline: the dataplane's own loop iteration (worker_poll_once). Baseline:
// the same source with nothing between RX and done.
template <bool kPipeline>
Phase source_loop(WorkerCtx& w, const Snapshot& s, rte_ring* r, uint64_t quota, uint64_t tsc_limit,
                  bool rx_touch, bool drain, WorkerSlot* nic, uint64_t step) {
  BenchSource src{r, nic, rx_touch, step};
  uint64_t n = 0;
  uint32_t iter = 0;
  const uint64_t cpu0 = thread_cpu_ns(), cs0 = thread_ivcsw();
  const uint64_t t0 = rte_rdtsc();
  const uint64_t deadline = tsc_limit ? t0 + tsc_limit : UINT64_MAX;
  for (;;) {
    unsigned want = kBurst;
    if (quota) {
      if (n >= quota) break;
      if (quota - n < want) want = unsigned(quota - n);
    }
    unsigned got;
    if constexpr (kPipeline) {
      got = worker_poll_once(w, s, src, want, 0);
      if (drain) drain_alerts(w);
    } else {
      rte_mbuf* mb[kBurst];
      got = src.rx(0, mb, want);
      src.done(mb, got);
    }
    n += got;
    if (tsc_limit && (++iter & 15) == 0 && rte_rdtsc() >= deadline) break;
  }
  const uint64_t t1 = rte_rdtsc();
  return {n, t1 - t0, thread_cpu_ns() - cpu0, thread_ivcsw() - cs0};
}

// The worker's inspection counters, whichever of them this build has.
template <class W>
InspectSnap inspect_snap(const W& w) {
  InspectSnap s;
  if constexpr (requires { w.insp.ctr.cyc_detect; }) {
    s.present = true;
    s.cyc_inspect = w.insp.ctr.cyc_inspect;
    s.cyc_detect = w.insp.ctr.cyc_detect;
    s.alerts = w.insp.det.ctr.alerts;
    s.alerts_dropped = w.insp.ctr.alerts_dropped;
    s.sessions_full = w.insp.ctr.sessions_full;
  } else if constexpr (requires { w.ctr.cyc_detect; }) {
    s.present = true;
    s.cyc_detect = w.ctr.cyc_detect;
  }
  if constexpr (requires { w.insp.det.ctr.rules_evaluated; }) {
    s.det_inspected = w.insp.det.ctr.inspected;
    s.det_prefilter_hits = w.insp.det.ctr.prefilter_hits;
    s.det_rules_evaluated = w.insp.det.ctr.rules_evaluated;
  }
  if constexpr (requires { w.insp.stream_ctr.gaps; }) {
    s.stream_bytes = w.insp.stream_ctr.bytes_delivered;
    s.stream_gaps = w.insp.stream_ctr.gaps;
    s.stream_ooo = w.insp.stream_ctr.ooo_segments;
    s.stream_retransmits = w.insp.stream_ctr.retransmits;
  }
  return s;
}

MlSnap ml_snap(const WorkerCtx& w) {
  const MlCounters& c = w.ml->ctr;
  return {c.rows, c.scored, c.alerts, c.dumped, c.cyc_ml};
}

// Capture-like sources (pcap, mix) replay sessions in order: after the
// baseline phase, turn the ring (or wire) back to the first packet so the
// measured phase does not start in the middle of every open session.
void realign_source(WorkerSlot& ws, uint64_t consumed, bool nic) {
  if (nic) {
    if (ws.wire_pos) advance_all(ws, true, ws.wire_pos);
    ws.wire_pos = 0;
    return;
  }
  const uint64_t n = ws.ring_order.size();
  uint64_t k = (n - consumed % n) % n;
  rte_mbuf* mb[kBurst];
  while (k) {
    unsigned want = unsigned(std::min<uint64_t>(k, kBurst));
    unsigned got = rte_ring_sc_dequeue_burst(ws.ring, reinterpret_cast<void**>(mb), want, nullptr);
    if (ws.clock_step) advance_clock(mb, got, ws.clock_step);
    rte_ring_sp_enqueue_burst(ws.ring, reinterpret_cast<void* const*>(mb), got, nullptr);
    k -= got;
  }
}

int worker_entry(void* varg) {
  auto* a = static_cast<LaunchArg*>(varg);
  Shared& sh = *a->sh;
  WorkerSlot& ws = *a->ws;
  WorkerCtx& w = *ws.ctx;
  const Snapshot& s = *sh.snap;

  const size_t m = ws.warm_order.size();
  for (size_t i = 0; i < m; i += kBurst) {
    process_burst(w, s, ws.warm_order.data() + i, uint16_t(std::min<size_t>(kBurst, m - i)), 0);
    worker_tick(w, s, 0);
    if (sh.drain) drain_alerts(w);
  }
  ws.warm_pkts = m;
  advance_all(ws, sh.nic, 0);
  for (uint32_t p = 1; p < sh.warm_passes; p++)
    ws.warm_pkts += source_loop<true>(w, s, ws.ring, m, 0, sh.rx_touch, sh.drain, sh.nic ? &ws : nullptr, ws.clock_step).pkts;
  ws.after_warm = w.ctr;
  ws.insp_warm = inspect_snap(w);
  ws.ml_warm = ml_snap(w);

  barrier(sh, 0);
  Phase b = source_loop<false>(w, s, ws.ring, a->quota, sh.tsc_limit, sh.rx_touch, false, sh.nic ? &ws : nullptr, ws.clock_step);
  if (sh.realign) realign_source(ws, b.pkts, sh.nic);
  ws.base_pkts = b.pkts;
  ws.base_cyc = b.cyc;
  ws.base_cpu_ns = b.cpu_ns;
  ws.base_ivcsw = b.ivcsw;
  barrier(sh, 1);
  Phase p = source_loop<true>(w, s, ws.ring, a->quota, sh.tsc_limit, sh.rx_touch, sh.drain, sh.nic ? &ws : nullptr, ws.clock_step);
  ws.pipe_pkts = p.pkts;
  ws.pipe_cyc = p.cyc;
  ws.pipe_cpu_ns = p.cpu_ns;
  ws.pipe_ivcsw = p.ivcsw;
  ws.after_run = w.ctr;
  ws.insp_run = inspect_snap(w);
  ws.ml_run = ml_snap(w);
  sh.done.fetch_add(1, std::memory_order_release);
  return 0;
}

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof set, &set);
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      size_t c = line.find(':');
      if (c != std::string::npos) return line.substr(line.find_first_not_of(" \t", c + 1));
    }
  return "unknown";
}

// Worker i runs on lcore i+1, pinned to the i-th CPU counted from the
// highest allowed one (CPU 0 usually takes interrupts); main floats.
int pinned_cpu(const std::vector<int>& cpus, uint32_t i) {
  return cpus[(cpus.size() - 1 - (i % cpus.size()))];
}

std::string lcores_arg(const std::vector<int>& cpus, uint32_t maxw) {
  std::string all;
  for (int c : cpus) {
    if (!all.empty()) all += ',';
    all += std::to_string(c);
  }
  std::string s = fmt::format("--lcores=0@({})", all);
  for (uint32_t i = 0; i < maxw; i++) s += fmt::format(",{}@{}", i + 1, pinned_cpu(cpus, i));
  return s;
}

WorkerCounters diff(const WorkerCounters& a, const WorkerCounters& b) {
  WorkerCounters d;
  const uint64_t* pa = reinterpret_cast<const uint64_t*>(&a);
  const uint64_t* pb = reinterpret_cast<const uint64_t*>(&b);
  uint64_t* pd = reinterpret_cast<uint64_t*>(&d);
  static_assert(sizeof(WorkerCounters) % 8 == 0);
  for (size_t i = 0; i < sizeof(WorkerCounters) / 8; i++) pd[i] = pa[i] - pb[i];
  return d;
}

// Checks the counters of one finished run and fills the verification fields.
// `mix`: generated sessions, complete and in order: reassembly must see no
// gap and every flow must get a session.
void verify(RunResult& r, const std::vector<WorkerSlot>& ws, bool synthetic, bool mix) {
  auto fail = [&](std::string msg) {
    r.ok = false;
    r.errors.push_back(std::move(msg));
  };
  for (const WorkerSlot& w : ws) {
    const WorkerCounters& a = w.after_run;
    const WorkerCounters& wa = w.after_warm;
    WorkerCounters d = diff(a, wa);
    uint64_t ended = a.flow.ended_timeout + a.flow.ended_forced + a.flow.ended_shutdown;
    r.flows_created += a.flow.created;
    r.flows_created_measured += d.flow.created;
    r.evicted += a.flow.evicted;
    r.malformed += a.dec.malformed_total;
    r.ended += ended;
    r.insert_failed += a.flow_insert_failed;
    r.events_dropped += a.events_dropped;
    r.not_ip += a.dec.not_ip;
    r.fragments += a.dec.ipv4_frags + a.dec.ipv6_frags;
    if (wa.dec.pkts != w.warm_pkts)
      fail(fmt::format("worker {}: warm-up decoded {} packets, fed {}", w.id, wa.dec.pkts, w.warm_pkts));
    if (d.dec.pkts != w.pipe_pkts)
      fail(fmt::format("worker {}: pipeline decoded {} packets, fed {}", w.id, d.dec.pkts, w.pipe_pkts));
    if (w.pipe_pkts == 0 || w.base_pkts == 0) fail(fmt::format("worker {}: processed no packets", w.id));
    if (a.flow.evicted) fail(fmt::format("worker {}: {} flows evicted (table too small?)", w.id, a.flow.evicted));
    if (a.flow_insert_failed) fail(fmt::format("worker {}: {} flow inserts failed", w.id, a.flow_insert_failed));
    const InspectSnap& in = w.insp_run;
    r.sessions_full += in.sessions_full;
    r.stream_gaps += in.stream_gaps;
    r.stream_ooo += in.stream_ooo;
    r.stream_retransmits += in.stream_retransmits;
    if (mix) {
      if (a.dec.malformed_total) fail(fmt::format("worker {}: {} malformed packets", w.id, a.dec.malformed_total));
      if (in.sessions_full) fail(fmt::format("worker {}: {} packets found no free session", w.id, in.sessions_full));
      if (in.stream_gaps) fail(fmt::format("worker {}: {} gaps in reassembled streams", w.id, in.stream_gaps));
      if (in.stream_ooo) fail(fmt::format("worker {}: {} out-of-order segments", w.id, in.stream_ooo));
    }
    if (w.clock_step) {  // capture clock: one step per pass, passes whole before the measured phase
      const uint64_t n = w.ring_order.size(), before = (w.warm_pkts + w.base_pkts + n - 1) / n;
      const uint64_t passes = before + w.pipe_pkts / n, t = w.ctx->clock_ns - kTsBase;
      if (t + w.clock_step < passes * w.clock_step || t > (passes + 1) * w.clock_step)
        fail(fmt::format("worker {}: packet clock at {:.3f} s after {} passes of {:.3f} s", w.id, t / 1e9,
                         passes, w.clock_step / 1e9));
    }
    if (!synthetic) continue;
    if (wa.flow.created != w.flows)
      fail(fmt::format("worker {}: warm-up created {} flows, expected {}", w.id, wa.flow.created, w.flows));
    if (d.flow.created) fail(fmt::format("worker {}: {} flows created while measuring", w.id, d.flow.created));
    if (a.flow.active != w.flows)
      fail(fmt::format("worker {}: {} flows active, expected {}", w.id, a.flow.active, w.flows));
    if (ended) fail(fmt::format("worker {}: {} flows ended (timeout/forced)", w.id, ended));
    if (a.dec.malformed_total) fail(fmt::format("worker {}: {} malformed packets", w.id, a.dec.malformed_total));
    if (a.dec.not_ip) fail(fmt::format("worker {}: {} non-IP packets", w.id, a.dec.not_ip));
    if (a.events_dropped || a.events_waited) fail(fmt::format("worker {}: events emitted", w.id));
  }
}

RunResult summarise(const RunSpec& spec, const Options& o, const std::vector<WorkerSlot>& ws,
                    uint64_t hz) {
  RunResult r;
  r.spec = spec;
  r.proto = spec.profile == "pcap" ? "capture" : spec.profile == "mix" ? "http,tls,dns,bulk" : proto_name(o.proto);
  uint64_t insp = 0, det = 0, mlc = 0;
  r.warm_passes = o.warmup_passes;
  uint64_t cyc = 0, bcyc = 0, dec = 0, flow = 0, out = 0, mb = 0, fb = 0;
  double l2 = 0, wire = 0;
  for (const WorkerSlot& w : ws) {
    WorkerCounters d = diff(w.after_run, w.after_warm);
    RunResult::PerWorker p;
    p.id = w.id;
    p.lcore = w.lcore;
    p.cpu = w.cpu;
    p.packets = w.pipe_pkts;
    p.seconds = double(w.pipe_cyc) / double(hz);
    p.mpps = p.seconds > 0 ? double(w.pipe_pkts) / p.seconds / 1e6 : 0;
    p.cpp = w.pipe_pkts ? double(w.pipe_cyc) / double(w.pipe_pkts) : 0;
    double bs = double(w.base_cyc) / double(hz);
    p.base_mpps = bs > 0 ? double(w.base_pkts) / bs / 1e6 : 0;
    p.base_cpp = w.base_pkts ? double(w.base_cyc) / double(w.base_pkts) : 0;
    p.cpu_share = p.seconds > 0 ? double(w.pipe_cpu_ns) / 1e9 / p.seconds : 1;
    p.ivcsw = w.base_ivcsw + w.pipe_ivcsw;
    double bshare = bs > 0 ? double(w.base_cpu_ns) / 1e9 / bs : 1;
    r.cpu_share = std::min({r.cpu_share, p.cpu_share, bshare});
    r.ivcsw += p.ivcsw;
    r.per_worker.push_back(p);
    r.packets += w.pipe_pkts;
    r.seconds = std::max(r.seconds, p.seconds);
    r.mpps += p.mpps;
    r.base_packets += w.base_pkts;
    r.base_seconds = std::max(r.base_seconds, bs);
    r.base_mpps += p.base_mpps;
    cyc += w.pipe_cyc;
    bcyc += w.base_cyc;
    dec += d.cyc_decode;
    flow += d.cyc_flow;
    out += d.cyc_output;
    insp += w.insp_run.cyc_inspect - w.insp_warm.cyc_inspect;
    det += w.insp_run.cyc_detect - w.insp_warm.cyc_detect;
    r.alerts += w.insp_run.alerts - w.insp_warm.alerts;
    r.alerts_dropped += w.insp_run.alerts_dropped - w.insp_warm.alerts_dropped;
    r.alerts_total += w.insp_run.alerts;
    r.det_inspected += w.insp_run.det_inspected - w.insp_warm.det_inspected;
    r.det_prefilter_hits += w.insp_run.det_prefilter_hits - w.insp_warm.det_prefilter_hits;
    r.det_rules_evaluated += w.insp_run.det_rules_evaluated - w.insp_warm.det_rules_evaluated;
    r.inspect_counters = r.inspect_counters || w.insp_run.present;
    mlc += w.ml_run.cyc_ml - w.ml_warm.cyc_ml;
    r.ml_rows += w.ml_run.rows - w.ml_warm.rows;
    r.ml_scored += w.ml_run.scored - w.ml_warm.scored;
    r.ml_alerts += w.ml_run.alerts - w.ml_warm.alerts;
    r.ml_alerts_total += w.ml_run.alerts;
    // dec.bytes counts captured bytes (no FCS): add it back per frame.
    if (p.seconds > 0) {
      l2 += double(d.dec.bytes + kFcs * w.pipe_pkts) * 8 / p.seconds / 1e9;
      wire += double(d.dec.bytes + (kFcs + kWireOverhead) * w.pipe_pkts) * 8 / p.seconds / 1e9;
    }
    mb += w.ring_order.size();
    fb += w.frame_bytes;
    r.distinct_flows += w.flows;
    r.table_capacity = w.table_capacity;
    r.warm_packets += w.warm_pkts;
  }
  r.mbufs = mb;
  r.avg_frame = mb ? double(fb) / double(mb) : 0;
  r.gbps_l2 = l2;
  r.gbps_wire = wire;
  if (r.packets) {
    double n = double(r.packets);
    r.cpp_total = double(cyc) / n;
    r.cpp_decode = double(dec) / n;
    r.cpp_flow = double(flow) / n;
    r.cpp_output = double(out) / n;
    r.cpp_detect = double(det) / n;
    r.cpp_inspect = double(insp - std::min(insp, det)) / n;
    r.cpp_ml = double(mlc) / n;
    r.cpp_other = r.cpp_total - r.cpp_decode - r.cpp_flow - r.cpp_output - r.cpp_inspect - r.cpp_detect - r.cpp_ml;
  }
  if (r.base_packets) r.base_cpp = double(bcyc) / double(r.base_packets);
  r.ml_cyc = mlc;
  r.disturbed = r.cpu_share < kMinCpuShare;
  if (r.base_cpp > 0) {
    r.over_baseline = r.cpp_total / r.base_cpp;
    r.minus_baseline = r.cpp_total - r.base_cpp;
  }
  return r;
}

// --thp: the EAL maps --no-huge memory as anonymous 4K pages, untouched
// until pools are populated; advising it now lets the kernel fault it in as
// 2 MiB pages (THP "madvise" mode).
int advise_thp(const rte_memseg_list* msl, void* arg) {
  if (msl->base_va && msl->page_sz < (2u << 20) && madvise(msl->base_va, msl->len, MADV_HUGEPAGE) == 0)
    *static_cast<uint64_t*>(arg) += msl->len;
  return 0;
}

void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

// Puts the ruleset into the snapshot (when this build's Snapshot has rules).
template <class S>
void set_rules(S& snap, const std::shared_ptr<const CompiledRuleset>& rs) {
  if constexpr (requires { snap.rules = rs; }) snap.rules = rs;
}

// Builds one worker context. With an inspection stage, every flow of the
// worker's traffic may hold a session, so the pool is sized to the flows.
template <class C>
std::unique_ptr<WorkerCtx> make_ctx(uint16_t id, uint64_t cap, uint64_t flows, const DefragConfig& dcfg,
                                    const C& cfg) {
#if SPECTRE_BENCH_INSPECT
  InspectConfig ic;
  if constexpr (requires { cfg.sessions; }) ic.sessions = std::max<uint32_t>(cfg.sessions, uint32_t(std::min<uint64_t>(flows + flows / 4 + 64, cap)));
  if constexpr (requires { cfg.segment_chunks; }) ic.segment_chunks = cfg.segment_chunks;
  if constexpr (requires { cfg.alert_ring_size; }) ic.alert_ring = cfg.alert_ring_size;
  if constexpr (requires { cfg.http_body_limit; }) {
    ic.app.request_body_limit = cfg.http_body_limit;
    ic.app.response_body_limit = cfg.http_body_limit;
  }
  uint32_t hosts = 65536;
  uint64_t window_ns = 60000000000ull;
  if constexpr (requires { cfg.ml_hosts; cfg.ml_host_window_s; }) {
    hosts = cfg.ml_hosts;
    window_ns = uint64_t(cfg.ml_host_window_s) * 1000000000ull;
  }
  return std::make_unique<WorkerCtx>(id, uint32_t(cap), dcfg, cfg.event_ring_size, ic, hosts, window_ns);
#else
  (void)flows;
  return std::make_unique<WorkerCtx>(id, uint32_t(cap), dcfg, cfg.event_ring_size);
#endif
}

// Builds, runs and tears down one combination. False on a set-up error.
bool run_one(const Options& o, const RunSpec& spec, int index, const PcapData* pcap,
             const std::shared_ptr<const CompiledRuleset>& rules,
             const std::shared_ptr<const MlModel>& model, const std::vector<unsigned>& lcores, const std::vector<int>& cpus, uint64_t hz,
             RunResult& out, std::string& err) {
  const uint32_t nw = spec.workers;
  std::vector<WorkerSlot> ws(nw);
  for (uint32_t i = 0; i < nw; i++) {
    ws[i].id = uint16_t(i);
    ws[i].lcore = lcores[i];
    ws[i].cpu = o.pin ? pinned_cpu(cpus, i) : -1;
  }
  BuildParams bp;
  bp.spec = spec;
  bp.proto = o.proto;
  bp.pkts_per_flow = o.pkts_per_flow;
  bp.seed = o.seed;
  bp.run_index = index;
  bp.pcap = pcap;
  double t0 = double(rte_rdtsc());
  if (!build_sources(bp, ws, err) || (o.nic && !build_wire(ws, index, err))) {
    free_sources(ws);
    return false;
  }

  Config cfg;
  cfg.workers = nw;
  cfg.ml_points = o.score_points;
  std::unique_ptr<Snapshot> snap = build_snapshot(cfg, 1);
  if (spec.rules) set_rules(*snap, rules);
  // Features only: tracking on, nothing extracted (no model, no dump).
  if (spec.ml == MlMode::kFeatures) snap->ml.track = true;
  if (spec.ml == MlMode::kModel) set_model(*snap, model);
  if (!o.intel.empty()) {  // read per run, outside the measured part
    std::vector<intel::FeedSpec> feeds;
    for (const std::string& p : o.intel) {
      intel::FeedSpec f;
      f.path = p;
      f.name = intel::feed_name_for(p);
      feeds.push_back(f);
    }
    if (!(snap->intel = intel::load_intel(feeds, err))) {
      free_sources(ws);
      return false;
    }
  }
  DefragConfig dcfg{cfg.defrag_max_datagrams, uint16_t(cfg.defrag_max_frags),
                    uint64_t(cfg.defrag_timeout_s) * 1000000000ull};
  try {
    for (WorkerSlot& w : ws) {
      uint64_t cap = o.max_flows ? o.max_flows
                                 : std::max<uint64_t>(cfg.max_flows / nw, w.flows + w.flows / 4 + 64);
      w.table_capacity = cap;
      w.ctx = make_ctx(w.id, cap, w.flows, dcfg, cfg);
      w.ctx->offline = true;
      // Nothing drains the event ring here: never wait on it (drops are counted).
      w.ctx->block_on_full = false;
    }
  } catch (const std::bad_alloc&) {
    err = "out of memory for the flow tables";
    free_sources(ws);
    return false;
  }
  std::unique_ptr<behave::Bus> bus;
  snap->behave.c.enabled = o.behaviour;
  if (o.behaviour) {
    if (nw > 1) bus = std::make_unique<behave::Bus>(nw, cfg.behave.mailbox);
    for (WorkerSlot& w : ws) w.ctx->behave = std::make_unique<behave::Ctx>(w.id, behave::Sizes{}, bus.get());
  }
  uint64_t mbufs = 0;
  for (const WorkerSlot& w : ws) mbufs += w.ring_order.size();
  fmt::print(stderr, "  built {} mbufs over {} worker(s) in {:.1f} s; running{}\n", mbufs, nw,
             (double(rte_rdtsc()) - t0) / double(hz),
             o.packets ? fmt::format(" {} packets per phase", o.packets)
                       : fmt::format(" {:.1f} s per phase", o.seconds));

  Shared sh;
  sh.snap = snap.get();
  sh.realign = pcap != nullptr;
  sh.nw = nw;
  sh.warm_passes = o.warmup_passes;
  sh.rx_touch = o.rx_touch;
  sh.nic = o.nic;
  sh.drain = o.ml();
  sh.tsc_limit = o.packets ? 0 : uint64_t(o.seconds * double(hz));
  std::vector<LaunchArg> args(nw);
  for (uint32_t i = 0; i < nw; i++) {
    uint64_t q = o.packets ? o.packets / nw + (i < o.packets % nw ? 1 : 0) : 0;
    args[i] = {&sh, &ws[i], q};
  }
  for (uint32_t i = 0; i < nw; i++) {
    int rc = rte_eal_remote_launch(worker_entry, &args[i], ws[i].lcore);
    if (rc != 0) {
      // Launched workers would wait at the barrier forever: nothing to do but exit.
      fmt::print(stderr, "spectre-bench: cannot launch worker {} on lcore {} ({})\n", i, ws[i].lcore, rc);
      std::_Exit(1);
    }
  }
  // The main lcore shares CPUs with the workers: sleep, do not spin, and wake
  // rarely (each wake-up preempts a worker: at 2 ms polls they lost ~2%).
  while (sh.done.load(std::memory_order_acquire) < nw) sleep_ms(50);
  for (const WorkerSlot& w : ws) rte_eal_wait_lcore(w.lcore);

  out = summarise(spec, o, ws, hz);
  verify(out, ws, pcap == nullptr, spec.profile == "mix");
  if (o.behaviour) {
    uint64_t cyc = 0, pk = 0, sums = 0, drops = 0;
    for (const WorkerSlot& w : ws) {
      cyc += w.ctx->behave->eng.ctr.cyc_behave;
      sums += w.ctx->behave->eng.ctr.summaries;
      drops += w.ctx->behave->eng.ctr.mailbox_drops;
      pk += w.ctx->ctr.dec.pkts;
    }
    fmt::print(stderr, "  behaviour stage: {:.1f} cycles/packet over the run ({} packets, {} summaries, {} mailbox drops)\n",
               pk ? double(cyc) / double(pk) : 0.0, pk, sums, drops);
  }
  free_sources(ws);
  return true;
}

}  // namespace

int run_all(const Options& o) {
  PcapData pcap;
  std::string err;
  if (!o.pcap.empty() && !load_pcap(o.pcap, pcap, err)) {
    fmt::print(stderr, "spectre-bench: {}\n", err);
    return 1;
  }
  const PcapData* pc = o.pcap.empty() ? nullptr : &pcap;
  if (pc && o.pcap_capture_clock) {
    uint64_t lo = UINT64_MAX, hi = 0;
    for (const PcapPacket& k : pcap.pkts) { lo = std::min(lo, k.ts_ns); hi = std::max(hi, k.ts_ns); }
    pcap.clock_step = hi - lo + 1000000000ull;
  }
  if (pc)
    fmt::print(stderr, "spectre-bench: {}: {} packets, {} bytes, link type {}{}\n", o.pcap, pcap.pkts.size(),
               pcap.bytes.size(), pcap.linktype,
               pcap.oversize ? fmt::format(", {} truncated to the largest mbuf", pcap.oversize) : "");

  // The mix profile: one generated capture per --flows value, built before
  // the EAL starts so that its memory can be sized.
  std::map<uint64_t, PcapData> mixes;
  HostInfo host;
  if (std::find(o.profiles.begin(), o.profiles.end(), "mix") != o.profiles.end())
    for (uint64_t f : o.flows) {
      if (mixes.count(f)) continue;
      MixStats st;
      double t0 = double(clock_ns(CLOCK_MONOTONIC));
      generate_mix(f, o.seed, mixes[f], st);
      host.mixes.emplace_back(f, st);
      fmt::print(stderr, "spectre-bench: mix of {} sessions ({} HTTP, {} TLS, {} DNS, {} bulk): {} packets, "
                         "{:.1f} MB, {:.0f} B/frame, generated in {:.1f} s\n",
                 f, st.http, st.tls, st.dns, st.bulk, st.packets, double(st.bytes) / 1e6,
                 double(st.bytes + kFcs * st.packets) / double(std::max<uint64_t>(st.packets, 1)),
                 (double(clock_ns(CLOCK_MONOTONIC)) - t0) / 1e9);
      if (!o.mix_out.empty() && f == o.flows[0]) {
        if (!write_pcap_file(mixes[f], o.mix_out, err)) {
          fmt::print(stderr, "spectre-bench: {}\n", err);
          return 1;
        }
        fmt::print(stderr, "spectre-bench: wrote the mix to {}\n", o.mix_out);
      }
    }
  auto data_for = [&](const RunSpec& s) -> const PcapData* {
    return s.profile == "mix" ? &mixes.at(s.flows) : pc;
  };

  // Per case: {without, with rules} x {no ML, features only, model}, in that
  // order; each run is compared with the earlier ones that differ only in
  // rules or only in ML.
  std::vector<MlMode> ml_modes = {MlMode::kOff};
  if (o.features_only) ml_modes.push_back(MlMode::kFeatures);
  if (!o.model_path.empty()) ml_modes.push_back(MlMode::kModel);
  std::vector<RunSpec> specs;
  for (const std::string& p : o.profiles)
    for (uint64_t f : (pc ? std::vector<uint64_t>{0} : o.flows))
      for (uint32_t w : o.workers)
        for (bool ru : {false, true}) {
          if (ru && !o.rules()) continue;
          for (MlMode m : ml_modes) specs.push_back({p, f, w, ru, m});
        }
  uint32_t maxw = *std::max_element(o.workers.begin(), o.workers.end());
  uint64_t need = 0;
  for (const RunSpec& s : specs) need = std::max(need, run_memory_bytes(s, o.pkts_per_flow, data_for(s)));

  // Rules: loaded and compiled once, with scratch for the most workers.
  std::shared_ptr<const CompiledRuleset> rules;
  if (o.rules()) {
#if SPECTRE_BENCH_RULES
    Config rc;
    rc.rule_files = o.rule_files;
    rc.rules_dir = o.rules_dir;
    rc.classification_file = o.classification;
    if (rc.classification_file.empty() && !o.rules_dir.empty() &&
        access((o.rules_dir + "/classification.config").c_str(), R_OK) == 0)
      rc.classification_file = o.rules_dir + "/classification.config";
    double t0 = double(clock_ns(CLOCK_MONOTONIC));
    rules = load_ruleset(rc, maxw, err, host.rules_summary);
    host.rules_load_s = (double(clock_ns(CLOCK_MONOTONIC)) - t0) / 1e9;
    if (!rules) {
      if (err.empty()) err = "no rule is active (every rule was skipped or rejected)";
      fmt::print(stderr, "spectre-bench: rules: {}\n", err);
      return 1;
    }
    host.rules_loaded = ruleset_rule_count(*rules);
    fmt::print(stderr, "{}{}spectre-bench: {} rules in the ruleset, loaded in {:.1f} s\n", host.rules_summary,
               host.rules_summary.empty() || host.rules_summary.back() == '\n' ? "" : "\n", host.rules_loaded,
               host.rules_load_s);
#else
    fmt::print(stderr, "spectre-bench: this build has no signature support yet "
                       "(dataplane/core/rules_setup.h is missing): cannot use -S / --rules-dir\n");
    return 1;
#endif
  }

  std::shared_ptr<const MlModel> model;
  if (!o.model_path.empty()) {
    double t0 = double(clock_ns(CLOCK_MONOTONIC));
    model = load_ml_model(o.model_path, err);
    host.model_load_s = (double(clock_ns(CLOCK_MONOTONIC)) - t0) / 1e9;
    if (!model) {
      fmt::print(stderr, "spectre-bench: model: {}\n", err);
      return 1;
    }
    host.model_name = model->name;
    host.model_version = model->version;
    host.model_kind = model->anomaly ? "isolation forest" : "xgboost";
    host.model_trees = model->anomaly ? model->m.iforest.roots.size() : model->m.xgb.num_trees();
    host.model_outputs = model->out_class.size();
    fmt::print(stderr, "spectre-bench: ML model {} ({}, {} trees, {} outputs, version {}), loaded in {:.2f} s\n",
               host.model_name, host.model_kind, host.model_trees, host.model_outputs, host.model_version,
               host.model_load_s);
  }
  host.alerts_drained = o.ml();

  host.cpus = allowed_cpus();
  host.cpu_model = cpu_model();
  host.dpdk_version = rte_version();
  host.mem_mb = o.mem_mb ? o.mem_mb : std::max<uint64_t>(512, (need + need / 8) / (1 << 20) + 256);
  if (maxw > host.cpus.size())
    fmt::print(stderr, "spectre-bench: warning: {} workers on {} CPUs: workers share CPUs, figures are not per-core\n",
               maxw, host.cpus.size());

  std::vector<std::string> eal = offline_eal_args(maxw + 1);
  eal[0] = "spectre-bench";
  for (size_t i = 0; i + 1 < eal.size(); i++)
    if (eal[i] == "-m") eal[i + 1] = std::to_string(host.mem_mb);
  for (std::string& a : eal)
    if (a.rfind("--lcores=", 0) == 0) {
      if (o.pin) a = lcores_arg(host.cpus, maxw);
      host.lcores_arg = a;
    }
  if (!eal_start(eal, err)) {
    fmt::print(stderr, "spectre-bench: {} (asked for -m {})\n", err, host.mem_mb);
    return 1;
  }
  host.tsc_hz = rte_get_tsc_hz();
  if (const char* t = getenv("GLIBC_TUNABLES")) host.malloc_thp = strstr(t, "glibc.malloc.hugetlb=1") != nullptr;
  if (o.thp) {
    rte_memseg_list_walk(advise_thp, &host.thp_bytes);
    if (!host.thp_bytes) fmt::print(stderr, "spectre-bench: warning: --thp: no EAL memory could be advised\n");
  }
  std::vector<unsigned> lcores;
  unsigned lc;
  RTE_LCORE_FOREACH_WORKER(lc) lcores.push_back(lc);
  if (lcores.size() < maxw) {
    fmt::print(stderr, "spectre-bench: EAL gave {} worker lcores, need {}\n", lcores.size(), maxw);
    eal_stop();
    return 1;
  }
  fmt::print(stderr, "spectre-bench: {} | TSC {:.3f} GHz | {} | EAL -m {} | {}\n", host.cpu_model,
             double(host.tsc_hz) / 1e9, host.dpdk_version, host.mem_mb, host.lcores_arg);

  std::vector<RunResult> results;
  int rc = 0;
  for (size_t i = 0; i < specs.size(); i++) {
    const RunSpec& s = specs[i];
    fmt::print(stderr, "[{}/{}] profile {}{}, {} worker(s){}{}\n", i + 1, specs.size(), s.profile,
               pc ? "" : fmt::format(", {} flows", s.flows), s.workers,
               o.rules() ? (s.rules ? ", with rules" : ", without rules") : "",
               !o.ml() ? "" : s.ml == MlMode::kModel ? ", with the model"
                            : s.ml == MlMode::kFeatures ? ", ML features only" : ", without ML");
    RunResult r;
    if (!run_one(o, s, int(i), data_for(s), rules, model, lcores, host.cpus, host.tsc_hz, r, err)) {
      fmt::print(stderr, "spectre-bench: {}\n", err);
      rc = 1;
      break;
    }
    // The earlier run of the same case that differs only in rules / only in ML.
    auto find_run = [&](bool ru, MlMode m) -> const RunResult* {
      for (const RunResult& b : results)
        if (b.spec.profile == s.profile && b.spec.flows == s.flows && b.spec.workers == s.workers &&
            b.spec.rules == ru && b.spec.ml == m)
          return &b;
      return nullptr;
    };
    if (s.rules)
      if (const RunResult* b = find_run(false, s.ml)) {
        r.have_norules = true;
        r.norules_mpps = b->mpps;
        r.norules_cpp = b->cpp_total;
      }
    if (s.ml != MlMode::kOff)
      if (const RunResult* b = find_run(s.rules, MlMode::kOff)) {
        r.have_noml = true;
        r.noml_mpps = b->mpps;
        r.noml_cpp = b->cpp_total;
      }
    if (s.ml == MlMode::kModel)
      if (const RunResult* b = find_run(s.rules, MlMode::kFeatures)) {
        r.have_feat = true;
        r.feat_cpp_ml = b->cpp_ml;
        if (r.ml_rows) r.scoring_cyc_per_row = (r.cpp_ml - b->cpp_ml) * double(r.packets) / double(r.ml_rows);
      }
    print_run(stderr, r);
    if (!r.ok) rc = 3;
    results.push_back(std::move(r));
  }

  if (!results.empty()) {
    std::string js = render_json(host, o, results);
    fmt::print(stdout, "{}\n", js);
    std::fflush(stdout);
    if (!o.json_path.empty()) {
      FILE* f = std::fopen(o.json_path.c_str(), "w");
      bool ok = f && std::fputs((js + "\n").c_str(), f) >= 0;
      if (f && std::fclose(f) != 0) ok = false;
      if (!ok) {
        fmt::print(stderr, "spectre-bench: {}: cannot write JSON report: {}\n", o.json_path, strerror(errno));
        if (rc == 0) rc = 1;
      }
    }
    print_human(stderr, host, results);
  }
  eal_stop();
  return rc;
}

}  // namespace spectre::bench
