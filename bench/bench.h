// spectre-bench: drives the real worker pipeline (process_burst) from
// pre-built mbufs held in per-worker rte_rings, and compares it with the bare
// ring dequeue+enqueue loop on the same source.
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dataplane/core/worker.h"

namespace spectre::bench {

constexpr double kGoalMpps = 14.88;        // 10GbE line rate, 64-byte frames
constexpr uint32_t kBurst = 32;            // RX burst, as the dataplane's default
constexpr uint32_t kFcs = 4;               // frame sizes count the FCS; mbufs hold frame - FCS
constexpr uint32_t kWireOverhead = 20;     // preamble + SFD + inter-frame gap
constexpr uint64_t kTsBase = 1700000000ull * 1000000000ull;
constexpr uint64_t kTsStep = 1000;         // 1 us between consecutive ring slots
constexpr double kMinCpuShare = 0.95;      // below: another process took the CPU

enum class Proto { kUdp, kTcp, kMix };

// Command line (options.cc).
struct Options {
  std::vector<std::string> profiles;   // "64", "imix", "mix"; empty when pcap is set
  std::string pcap;
  std::vector<uint64_t> flows;         // total concurrent flows per run
  std::vector<uint32_t> workers;
  double seconds = 3.0;                // per measured phase, when packets == 0
  uint64_t packets = 0;                // per measured phase, total over workers
  uint32_t warmup_passes = 1;
  Proto proto = Proto::kMix;
  uint32_t pkts_per_flow = 0;          // 0: 2, or 1 for >= 1M flows
  uint64_t max_flows = 0;              // flow table capacity per worker; 0: automatic
  uint64_t mem_mb = 0;                 // EAL -m; 0: computed
  bool pin = true;
  bool rx_touch = false;               // source writes each mbuf header, like a PMD
  bool pcap_capture_clock = true;      // --pcap-clock capture (default) or slots
  bool nic = false;                    // --source nic: stream frames into a small RX pool
  bool thp = false;                    // madvise(MADV_HUGEPAGE) the EAL's 4K-page memory
  uint64_t seed = 12345;
  std::string json_path;
  // Signatures (-S, --rules-dir): every run is then done twice, without and
  // with the ruleset, and the report compares them.
  std::vector<std::string> rule_files;
  std::string rules_dir, classification;
  std::string mix_out;                 // --mix-out: write the generated mix as a pcap
  // ML stage (--model, --features-only): every run is then also done with
  // feature tracking only and/or with the model, and compared to the run
  // without ML (same traffic, same rules state).
  std::string model_path;
  std::vector<uint32_t> score_points = {4, 16};  // --score-points; empty: 'none'
  bool features_only = false;
  bool behaviour = false;              // --behaviour: the behaviour stage on in every run
  std::vector<std::string> intel;      // --intel: threat-intel feeds matched in every run
  bool rules() const { return !rule_files.empty() || !rules_dir.empty(); }
  bool ml() const { return !model_path.empty() || features_only; }
};

// 0: ok; 1: --help printed; 2: usage error (message printed).
int parse_options(int argc, char** argv, Options& o);
const char* proto_name(Proto p);

// ML stage of a run: off, feature tracking alone (s.ml.on, no model, no
// dump: no row is extracted), or the model (rows extracted and scored).
enum class MlMode : uint8_t { kOff, kFeatures, kModel };
const char* ml_mode_name(MlMode m);

// One combination of profile x flows x workers (x without/with rules x ML mode).
struct RunSpec {
  std::string profile;      // "64", "imix", "mix" or "pcap"
  uint64_t flows = 0;       // synthetic and mix: requested total; pcap: 0
  uint32_t workers = 1;
  bool rules = false;       // the loaded ruleset is in the snapshot
  MlMode ml = MlMode::kOff;
};

// A captured packet held in memory (pcap profile).
struct PcapPacket {
  uint32_t off = 0;         // into PcapData::bytes
  uint32_t caplen = 0;      // captured length (may exceed what fits an mbuf)
  uint32_t stored = 0;      // bytes kept
  uint64_t ts_ns = 0;       // capture time
};
struct PcapData {
  std::string path;
  uint16_t linktype = 1;
  std::vector<uint8_t> bytes;
  std::vector<PcapPacket> pkts;
  uint64_t oversize = 0;    // truncated to the largest mbuf
  bool read_error = false;
  // --pcap-clock capture: packet times keep the capture's spacing and every
  // pass over the capture is `clock_step` later than the one before (its
  // span plus 1 s), so time-based stages see the capture's real rates.
  uint64_t clock_step = 0;
};
// False and `err` on an unreadable or empty capture.
bool load_pcap(const std::string& path, PcapData& out, std::string& err);

// --profile mix (mix.cc): `flows` concurrent application sessions (HTTP, TLS,
// DNS, bulk TCP) generated as an in-memory capture; replayed like --pcap.
struct MixStats {
  uint64_t sessions = 0, http = 0, tls = 0, dns = 0, bulk = 0;
  uint64_t packets = 0, bytes = 0;     // bytes: frames without FCS
  uint64_t size_hist[4] = {};          // frames incl. FCS: <128, <512, <1024, >=1024 bytes
};
void generate_mix(uint64_t flows, uint64_t seed, PcapData& out, MixStats& st);
bool write_pcap_file(const PcapData& d, const std::string& path, std::string& err);

// Inspection-stage counters of one worker (zero when the build has none).
struct InspectSnap {
  uint64_t cyc_inspect = 0, cyc_detect = 0;   // cyc_inspect includes cyc_detect
  uint64_t alerts = 0, alerts_dropped = 0, sessions_full = 0;
  uint64_t stream_bytes = 0, stream_gaps = 0, stream_ooo = 0, stream_retransmits = 0;
  uint64_t det_inspected = 0, det_prefilter_hits = 0, det_rules_evaluated = 0;  // detect calls, candidates
  bool present = false;
};

// ML-stage counters of one worker (MlCounters).
struct MlSnap {
  uint64_t rows = 0, scored = 0, alerts = 0, dumped = 0, cyc_ml = 0;
};

// Everything one worker owns during a run.
struct WorkerSlot {
  uint16_t id = 0;
  unsigned lcore = 0;
  int cpu = -1;                           // pinned CPU, -1 when floating
  std::vector<rte_mempool*> pools;        // one per size class
  rte_ring* ring = nullptr;               // the source: holds every mbuf
  std::vector<rte_mbuf*> ring_order;      // as enqueued
  std::vector<rte_mbuf*> warm_order;      // first warm-up pass
  uint64_t flows = 0;                     // distinct flows in this worker's mbufs
  uint64_t frame_bytes = 0;               // sum of frame sizes (incl. FCS) over ring_order
  uint64_t table_capacity = 0;
  std::unique_ptr<WorkerCtx> ctx;
  // --source nic: the frames of ring_order laid out back to back, and a small RX pool.
  struct WireFrame { uint32_t off, len; MbufMeta meta; };
  std::vector<uint8_t> wire_bytes;
  std::vector<WireFrame> wire;
  rte_mempool* rx_pool = nullptr;
  size_t wire_pos = 0;
  uint64_t clock_step = 0;                // PcapData::clock_step: added to a packet's time per pass

  // Results.
  uint64_t warm_pkts = 0;
  uint64_t base_pkts = 0, base_cyc = 0;   // bare RX + free loop
  uint64_t pipe_pkts = 0, pipe_cyc = 0;   // RX + process_burst + tick + free
  // Thread CPU time and involuntary context switches per measured phase:
  // TSC cycles include time the thread was preempted, so these tell whether
  // another process disturbed the figures.
  uint64_t base_cpu_ns = 0, pipe_cpu_ns = 0, base_ivcsw = 0, pipe_ivcsw = 0;
  WorkerCounters after_warm{}, after_run{};
  InspectSnap insp_warm{}, insp_run{};
  MlSnap ml_warm{}, ml_run{};
};

// Packet construction (packets.cc). Fills each slot's pools, ring and
// orders; `err` on allocation failure.
struct BuildParams {
  RunSpec spec;
  Proto proto = Proto::kMix;
  uint32_t pkts_per_flow = 0;
  uint64_t seed = 0;
  int run_index = 0;
  const PcapData* pcap = nullptr;
};
bool build_sources(const BuildParams& bp, std::vector<WorkerSlot>& ws, std::string& err);
// --source nic: copies each worker's frames (ring order) into its wire and
// creates its RX pool.
bool build_wire(std::vector<WorkerSlot>& ws, int run_index, std::string& err);
void free_sources(std::vector<WorkerSlot>& ws);
// Mbufs per worker and the bytes of DPDK memory a run needs (for -m).
uint64_t mbufs_per_worker(const RunSpec& spec, uint32_t pkts_per_flow, uint32_t worker,
                          const PcapData* pcap);
uint64_t run_memory_bytes(const RunSpec& spec, uint32_t pkts_per_flow, const PcapData* pcap);
uint32_t effective_ppf(const RunSpec& spec, uint32_t pkts_per_flow);
// Frame sizes (incl. FCS) of the synthetic profiles, as a repeating pattern.
const std::vector<uint32_t>& profile_pattern(const std::string& profile);

// Result of one run, as reported (report.cc).
struct RunResult {
  RunSpec spec;
  std::string proto;
  uint64_t mbufs = 0;
  uint64_t table_capacity = 0;
  uint64_t distinct_flows = 0;
  double avg_frame = 0;
  uint64_t packets = 0;
  double seconds = 0;
  double mpps = 0, gbps_l2 = 0, gbps_wire = 0;
  double cpp_total = 0, cpp_decode = 0, cpp_flow = 0, cpp_output = 0, cpp_other = 0;
  struct PerWorker {
    uint16_t id;
    unsigned lcore;
    int cpu;
    uint64_t packets;
    double seconds, mpps, cpp, base_mpps, base_cpp;
    double cpu_share;       // thread CPU time / wall time, pipeline phase
    uint64_t ivcsw;         // involuntary context switches, both phases
  };
  std::vector<PerWorker> per_worker;
  uint64_t base_packets = 0;
  double base_seconds = 0, base_mpps = 0, base_cpp = 0;
  double over_baseline = 0, minus_baseline = 0;
  double cpu_share = 1;     // lowest per-worker share over both phases
  uint64_t ivcsw = 0;
  bool disturbed = false;   // cpu_share < kMinCpuShare: figures unreliable
  uint32_t warm_passes = 0;
  uint64_t warm_packets = 0;
  // Verification.
  uint64_t flows_created = 0, flows_created_measured = 0, evicted = 0, malformed = 0;
  uint64_t ended = 0, insert_failed = 0, events_dropped = 0, not_ip = 0, fragments = 0;
  // Inspection (measured phase unless noted).
  double cpp_inspect = 0, cpp_detect = 0;   // stream + app (without detect); signature matching
  uint64_t alerts = 0, alerts_dropped = 0, alerts_total = 0;  // total: warm-up included
  uint64_t sessions_full = 0, stream_gaps = 0, stream_ooo = 0, stream_retransmits = 0;
  uint64_t det_inspected = 0, det_prefilter_hits = 0, det_rules_evaluated = 0;
  bool inspect_counters = false;
  // The run without rules that this one (with rules) is compared to: same
  // case, same ML mode.
  bool have_norules = false;
  double norules_mpps = 0, norules_cpp = 0;
  // ML stage (measured phase): cyc_ml per packet (feature updates, row
  // extraction, scoring, explanations; not the per-flow start in the flow
  // stage nor app metadata in inspection), rows gathered, rows scored, ML alerts.
  double cpp_ml = 0;
  uint64_t ml_rows = 0, ml_scored = 0, ml_alerts = 0, ml_alerts_total = 0, ml_cyc = 0;
  // The run without ML that this one (features or model) is compared to:
  // same case, same rules state.
  bool have_noml = false;
  double noml_mpps = 0, noml_cpp = 0;
  // Model runs, when the features-only run of the same case exists: cyc_ml
  // per packet of that run, and (model - features) cyc_ml per row gathered.
  bool have_feat = false;
  double feat_cpp_ml = 0, scoring_cyc_per_row = 0;
  bool ok = true;
  std::vector<std::string> errors;
};

struct HostInfo {
  // Rules, when -S / --rules-dir were given.
  uint64_t rules_loaded = 0;
  double rules_load_s = 0;
  std::string rules_summary;
  std::vector<std::pair<uint64_t, MixStats>> mixes;  // per --flows value of the mix profile
  uint64_t tsc_hz = 0;
  std::string cpu_model;
  std::string dpdk_version;
  std::vector<int> cpus;
  std::string lcores_arg;
  uint64_t mem_mb = 0;
  uint64_t thp_bytes = 0;        // EAL memory advised for transparent huge pages
  bool malloc_thp = false;       // GLIBC_TUNABLES has glibc.malloc.hugetlb (flow tables)
  // --model: what was loaded.
  std::string model_name, model_kind, model_version;
  uint64_t model_trees = 0, model_outputs = 0;
  double model_load_s = 0;
  bool alerts_drained = false;   // the bench empties the alert ring after each burst
};

std::string render_json(const HostInfo& h, const Options& o, const std::vector<RunResult>& runs);
void print_human(FILE* f, const HostInfo& h, const std::vector<RunResult>& runs);
// Progress lines of one finished run (stage cycles, checks, comparisons).
void print_run(FILE* f, const RunResult& r);

// runner.cc
int run_all(const Options& o);

}  // namespace spectre::bench
