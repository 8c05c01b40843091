// Per-core worker: one cache-aligned context passed by reference; owns its
// flow table, defrag state and event ring. Only its own thread mutates it;
// other threads read counters with relaxed loads (stats may lag a burst).
#pragma once
#include <cstdint>
#include <memory>

#include <rte_mbuf.h>

#include "dataplane/behave/stage.h"
#include "dataplane/bus/bus.h"
#include "dataplane/core/counters.h"
#include "dataplane/core/inspect.h"
#include "dataplane/core/snapshot.h"
#include "dataplane/decode/decode.h"
#include "dataplane/decode/defrag.h"
#include "dataplane/events/event.h"
#include "dataplane/events/spsc_ring.h"
#include "dataplane/features/scoring.h"
#include "dataplane/flow/flow_table.h"
#include "dataplane/intel/stage.h"

namespace spectre {

constexpr uint16_t kMaxBurst = 64;
constexpr int kLoopBuckets = 16;
constexpr uint64_t kHomeNetSample = 1000;  // flows per worker checked against $HOME_NET  // loop-time histogram: < 1 us .. >= 16 ms

// Stored in each mbuf's private area (pool priv_size).
struct MbufMeta {
  uint64_t ts_ns;
  uint32_t caplen;     // captured length; may exceed the mbuf for oversize frames
  uint16_t linktype;
  uint16_t file_idx;  // offline: which -r input (a new one whose time is earlier starts a new epoch)
  uint64_t pcap_cnt;  // offline: 1-based packet number in the capture(s), EVE pcap_cnt
};
inline MbufMeta* mbuf_meta(rte_mbuf* m) { return static_cast<MbufMeta*>(rte_mbuf_to_priv(m)); }
constexpr uint16_t kMbufPrivSize = 24;  // a multiple of RTE_MBUF_PRIV_ALIGN (8)
static_assert(sizeof(MbufMeta) <= kMbufPrivSize);

struct WorkerCounters {
  DecodeCounters dec;
  FlowTableCounters flow;
  SPECTRE_WORKER_COUNTERS(SPECTRE_COUNTER_FIELD)  // dataplane/core/counters.h
  // Busy part of each worker loop iteration (RX, bursts, housekeeping; not
  // the idle pause): loop_hist[b] counts iterations of < 2^b us (b = 0: < 1
  // us; the last bucket holds the rest). Shows whether a reload or swap stalls a worker.
  uint64_t loop_hist[kLoopBuckets];
};

// Records one loop iteration's busy time (two rdtsc per loop, ~1.5 cycles/packet).
inline void record_loop_time(WorkerCounters& c, uint64_t cycles, uint64_t ns_per_cyc_q32) {
  uint64_t ns = uint64_t((unsigned __int128)cycles * ns_per_cyc_q32 >> 32);
  uint64_t us = ns / 1000;
  int b = us ? 64 - __builtin_clzll(us) : 0;
  c.loop_hist[b < kLoopBuckets ? b : kLoopBuckets - 1]++;
  if (ns > c.loop_max_ns) c.loop_max_ns = ns;
}

struct alignas(64) WorkerCtx {
  WorkerCtx(uint16_t id, uint32_t max_flows, const DefragConfig& dcfg, uint32_t event_ring,
            const InspectConfig& icfg = InspectConfig{}, uint32_t ml_hosts = 65536,
            uint64_t ml_window_ns = 60000000000ull);
  WorkerCtx(const WorkerCtx&) = delete;  // the bus's subscribers hold its address
  WorkerCtx& operator=(const WorkerCtx&) = delete;

  uint16_t id;
  bool offline = true;        // timestamps from mbuf meta, not the TSC
  bool block_on_full = true;  // event ring full: wait (offline) or drop (live)
  uint64_t clock_ns = 0;      // newest packet time seen (offline) / now (live)
  // Offline, flows and fragments are swept for timeouts every kSweepEvery
  // packets at that packet's time (not per loop, whose bursts depend on
  // timing), so a run's records depend only on the capture.
  uint32_t sweep_pkts = 0;
  uint64_t last_pkt_ns = 0;   // time of the last packet decoded
  uint16_t file_idx = 0;      // offline: the -r input of the last packet
  uint64_t last_gen = 0;
  // The packet being processed, for the records it produces (EVE pcap_cnt,
  // pkt_src): 0 / kPktSrcNone outside a packet (flow timeout, shutdown, batched ML).
  uint64_t cur_pcap_cnt = 0;
  uint8_t cur_pkt_src = 0;    // PktSrc (dataplane/events/event.h)
  TcpState cur_tcp_before = TcpState::kNone;  // the flow's TCP state before the current packet
  FlowTable flows;
  Defrag defrag;
  SpscRing<Event> events;
  InspectCtx insp;            // reassembly, app layer, detection, alert ring
  std::unique_ptr<MlCtx> ml;  // features, scoring points, model scoring
  std::unique_ptr<behave::Ctx> behave;  // behaviour detectors; null: stage off (set at start)
  std::unique_ptr<intel::Ctx> intel;    // threat-intel dedup table and counters (always set)
  const Snapshot* snap = nullptr;  // as of the last burst/tick; valid until the next quiescent()
  WorkerCounters ctr{};
  // Flow starts and ends reach the stages through it (wired by the constructor, core/worker.cc).
  bus::WorkerBus bus;
};

// Runs decode -> flow stages over a burst. Does not free the mbufs.
// In live mode `now_ns` stamps every packet; offline it is ignored.
// Cost target: ~100 cycles/packet for decode + flow with 100k flows.
void process_burst(WorkerCtx& w, const Snapshot& s, rte_mbuf** m, uint16_t n, uint64_t now_ns);

// Housekeeping after each loop's bursts: expire flows and fragments at
// `now_ns`, score the ML batch once due, run the behaviour summaries.
void worker_tick(WorkerCtx& w, const Snapshot& s, uint64_t now_ns);

// End of input or shutdown: every flow ends with reason "shutdown".
void worker_flush(WorkerCtx& w);

}  // namespace spectre
