// ML stage of the worker: per-flow feature tracking, scoring points (after K
// packets and at flow end), batch scoring with the snapshot's compiled model,
// ML alerts with explanations, and feature-row dumps.
//
// Threads: load_ml_model off the workers (main lcore at start, a reload helper
// later); everything else on the owning worker. The worker never allocates
// here: rows are gathered into a fixed batch and scored when it fills or at
// the end of each burst / tick.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/core/counter_def.h"
#include "dataplane/features/counters.h"
#include "dataplane/features/flow_features.h"
#include "dataplane/features/host_window.h"
#include "dataplane/flow/flow.h"
#include "ml/artifact.h"
#include "ml/xgb/predict.h"

namespace spectre {

constexpr uint32_t kMlBatch = 64;          // rows scored together
constexpr uint32_t kMlHoldUs = 1000;       // longest wait of a row for its batch (alert latency)
constexpr uint32_t kMlMaxOutputs = 32;     // classes per model
constexpr uint32_t kMaxScorePoints = 3;    // early points besides flow end
constexpr uint32_t kMlTop = 3;             // explained features per alert
constexpr uint32_t kMlGid = 9000;          // alert gid of ML detections
constexpr int kMlLatBuckets = 12;          // model latency: < 100 ns .. >= 102 us

// A model as published in the snapshot (immutable once built).
struct MlModel {
  ml::LoadedModel m;
  ml::PackedEnsemble packed;               // m.xgb laid out for 16-tree SIMD walks (same scores)
  std::string path, name, version;
  std::vector<std::string> out_class;      // class per output
  std::vector<std::string> out_msg;        // alert signature per output: "ML: <class>"
  std::vector<float> threshold;            // per output
  int benign = -1;                         // output never alerted (class "benign")
  bool anomaly = false;                    // isolation forest: alert when score < threshold
  // Open-set guard (issue 11): a row alerts only when the guard's score is
  // below guard_threshold ("unlike benign") and a class reaches its threshold.
  const ml::IsolationForest* guard = nullptr;  // into m.guard; null: no guard
  double guard_threshold = 0;
  // Metric min_payload_bytes: a flow with fewer payload bytes (both
  // directions) is not scored. Set when no attack row of the training data
  // was payload-less, so the classes never learned such rows; it skips the
  // extraction and scoring of lone SYNs, scans and floods (79% of lab 22's
  // rows), which the behaviour detectors judge. 0: every row is scored.
  uint64_t min_payload = 0;
};

// Loads an artifact for this data plane: its feature schema hash must equal
// ours (schemas/features.def), at most kMlMaxOutputs outputs. Null + err.
std::shared_ptr<const MlModel> load_ml_model(const std::string& path, std::string& err);

// Snapshot part (built from Config).
struct MlSettings {
  bool dump = false;    // feature rows go to the dump file
  uint16_t points[kMaxScorePoints] = {4, 16, 0};  // early scoring after N packets; 0 = unused
  uint16_t last_point = 16;                        // the largest: later packets skip the search
  uint64_t point_mask = 1ull << 4 | 1ull << 16;    // bit k: k (< 64) is a point
  // Sets points[] from the first n of p (the rest 0), last_point and point_mask.
  void set_points(const uint32_t* p, size_t n);
  // Whether a flow's total-th packet may be a scoring point: one test per
  // packet instead of a call for each of a flow's first last_point packets.
  bool maybe_point(uint64_t total) const {
    return total <= last_point && (total >= 64 || (point_mask >> total & 1));
  }
  std::shared_ptr<const MlModel> model;
  // Shadow model (spectrectl model shadow): scored beside `model` on the same
  // rows, never alerts; counters show agreement and its would-be alert rate.
  std::shared_ptr<const MlModel> shadow;
  bool track = false;   // features without model or dump (spectre-bench --features-only)
  // Track features: a model is loaded, rows are dumped, or asked for.
  bool on() const { return track || dump || model; }
};

struct MlCounters {
  SPECTRE_ML_COUNTERS(SPECTRE_COUNTER_FIELD)  // dataplane/features/counters.h
  // Model latency per scored row (batch time / rows): bucket b counts rows of
  // < 2^b * 100 ns (the last bucket holds the rest); for /metrics.
  uint64_t model_lat_hist[kMlLatBuckets];
};

struct MlRowMeta {
  uint64_t flow_id, ts_start, ts;
  uint64_t pkts[2], bytes[2];
  uint8_t src[16], dst[16];                // initiator first
  uint16_t sport, dport;
  uint8_t ip_ver, proto, app_proto;
  uint16_t phase;                          // K of the early point, 0 = flow end
  uint32_t idx;                            // flow-table index (valid while flow_id matches)
  bool score;                              // false: the flow already raised its ML alert
};

struct alignas(64) MlCtx {
  MlCtx(uint32_t max_flows, uint32_t hosts, uint64_t host_window_ns);
  FeatureStore feats;
  HostWindow hosts;
  uint32_t n = 0;
  // TSC when the batch's first row was queued. The tick scores a batch once
  // that row waited kMlHoldUs (or when full): a 16-wide tree block costs the
  // same for 1 row as for 16, and at a row per ~200 packets a per-burst
  // flush scored ~1.4 rows per call (~29k instructions each).
  uint64_t batch_tsc = 0;
  uint64_t hold_cycles = 0;
  float rows[kMlBatch][kRowStride];
  double drows[kMlBatch][kRowStride];      // isolation-forest input
  float out[kMlBatch * kMlMaxOutputs];
  double dout[kMlBatch];
  float sout[kMlBatch * kMlMaxOutputs];    // shadow model outputs
  double sdout[kMlBatch];
  bool alerted[kMlBatch];                  // active model's decision per row
  int dec[kMlBatch];                       // alerting output per row, -1 none
  float dscore[kMlBatch];                  // its score
  double gscore[kMlBatch];                 // guard score of rows the classifier flagged
  uint32_t gidx[kMlBatch];                 // those rows' indices
  float work[(kRowStride + 1) * kMlMaxOutputs];  // explanation scratch
  double dwork[kRowStride * 2];
  double xrow[kRowStride];                 // isolation-forest explanation input
  MlRowMeta meta[kMlBatch];
  MlCounters ctr{};
};

struct WorkerCtx;
struct Snapshot;
struct Flow;
struct PacketInfo;
struct AppMeta;

// Flow stage hooks (no-ops unless s.ml.on()). ml_flow_start right after the
// flow is created; ml_packet after the packet was counted and inspected.
void ml_flow_start(WorkerCtx& w, const Snapshot& s, uint32_t idx, Flow& f);
// Per packet: the feature update inline (every packet of every tracked flow;
// `c` is *w.ml, `ms` is s.ml), the rare parts out of line.
void ml_outcome(MlCtx& c, FlowFeat& ff, const Flow& f, const PacketInfo& p);
void ml_points(WorkerCtx& w, const Snapshot& s, uint32_t idx, const Flow& f, uint64_t total);
inline void ml_packet(WorkerCtx& w, MlCtx& c, const MlSettings& ms, const Snapshot& s, uint32_t idx, Flow& f,
                      const PacketInfo& p, int dir);
// App transaction direction (called from inspection).
void ml_app(WorkerCtx& w, Flow& f, bool to_server, const AppMeta& m);
// Before the flow's slot is freed: the end scoring point.
void ml_flow_end(WorkerCtx& w, Flow& f);
// Scores and emits pending rows now (end of input, shutdown).
void ml_flush(WorkerCtx& w);
// Worker tick: scores pending rows once the oldest waited kMlHoldUs. An
// alert is the same as with an immediate flush (a flow's later rows that
// share a batch with its alerting row are suppressed as duplicates).
void ml_poll(WorkerCtx& w);

// "k4", "k16", "end" into buf (>= 8 bytes); returns buf. EVE, CSV and the control channel.
const char* ml_phase_name(uint16_t phase, char* buf);

inline void ml_packet(WorkerCtx& w, MlCtx& c, const MlSettings& ms, const Snapshot& s, uint32_t idx, Flow& f,
                      const PacketInfo& p, int dir) {
  FlowFeat& ff = c.feats.at(idx);
  feat_packet(ff, p, dir);  // not timed: rdtsc twice per packet would cost more than the update
  // The first answer settles the flow's outcome for its initiator's window.
  if (dir == 1 && !(ff.flags & kFeatOutcome)) ml_outcome(c, ff, f, p);
  // Flow reads only after the update: the flow stage counted this packet.
  uint64_t total = f.pkts[0] + f.pkts[1];
  if (ms.maybe_point(total)) ml_points(w, s, idx, f, total);
}

}  // namespace spectre
