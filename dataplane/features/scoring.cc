#include "dataplane/features/scoring.h"

#include <cmath>
#include <cstring>

#include <rte_cycles.h>

#include "dataplane/core/fixed_str.h"
#include "dataplane/core/inspect.h"
#include "dataplane/core/snapshot.h"
#include "dataplane/core/worker.h"
#include "ml/feature_schema.h"
#include "ml/iforest/explain.h"
#include "ml/xgb/explain.h"
#include "ml/xgb/predict.h"

namespace spectre {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void fill_endpoints(const Flow& f, MlRowMeta& m) {
  FlowEnds e = flow_ends(f);
  std::memcpy(m.src, e.src, 16);
  std::memcpy(m.dst, e.dst, 16);
  m.sport = e.sport;
  m.dport = e.dport;
}

void flush_batch(WorkerCtx& w);

// Whether a scoring point of the flow gives a row (`score`: to be scored,
// else only dumped); counts the points below the model's minimum payload.
// Not timed: ~4 of 5 points on lab 22 stop here, and timing them (two rdtsc,
// ~50 cycles) cost more than the test.
bool row_wanted(MlCtx& c, const Snapshot& s, const FlowFeat& ff, bool& score) {
  score = s.ml.model && !(ff.flags & kFeatMlAlerted);
  if (score && ff.payload_bytes[0] + ff.payload_bytes[1] < s.ml.model->min_payload) {
    score = false;
    c.ctr.below_min_payload++;
  }
  return score || s.ml.dump;
}

// Gathers one row; scores the batch first when it is full. Out of line: at
// ~0.07 calls per packet, inlined into ml_packet it made every packet save and
// restore its registers (~20 instructions).
[[gnu::noinline]] void add_row(WorkerCtx& w, const Snapshot& s, uint32_t idx, const Flow& f, uint16_t phase,
                               bool score) {
  MlCtx& c = *w.ml;
  const FlowFeat& ff = c.feats.at(idx);
  if (c.n == kMlBatch) flush_batch(w);
  if (!c.n) c.batch_tsc = rte_rdtsc();
  MlRowMeta& m = c.meta[c.n];
  m.idx = idx;
  m.score = score;
  fill_endpoints(f, m);
  m.flow_id = flow_id_of(f);
  m.ts_start = f.first_ts;
  m.ts = f.last_ts;
  m.pkts[0] = f.pkts[0];
  m.pkts[1] = f.pkts[1];
  m.bytes[0] = f.bytes[0];
  m.bytes[1] = f.bytes[1];
  m.ip_ver = f.key.ip_ver;
  m.proto = f.key.proto;
  m.app_proto = f.app_proto;
  m.phase = phase;
  HostStats hs = c.hosts.stats(m.src, f.last_ts);
  feat_extract(f, ff, hs, c.rows[c.n], phase == 0);
  c.n++;
  c.ctr.rows++;
}

// Common fields of a record about row i.
void fill_record(WorkerCtx& w, AlertRecord& a, const MlRowMeta& m) {
  a.ts_ns = m.ts;
  a.flow_id = m.flow_id;
  std::memcpy(a.src, m.src, 16);
  std::memcpy(a.dst, m.dst, 16);
  a.sport = m.sport;
  a.dport = m.dport;
  a.ip_ver = m.ip_ver;
  a.proto = m.proto;
  a.app_proto = m.app_proto;
  a.to_server = true;
  a.has_flow = true;
  a.has_app = false;
  a.worker = uint8_t(w.id);
  for (int d = 0; d < 2; d++) {
    a.flow_pkts[d] = m.pkts[d];
    a.flow_bytes[d] = m.bytes[d];
  }
  a.flow_start = m.ts_start;
  a.ml.phase = m.phase;
}

void emit_alert(WorkerCtx& w, const MlModel& mm, uint32_t i, uint32_t out, float score, double gscore) {
  MlCtx& c = *w.ml;
  const MlRowMeta& rm = c.meta[i];
  Flow& f = w.flows.at(rm.idx);
  if (f.feat && flow_id_of(f) == rm.flow_id) c.feats.at(rm.idx).flags |= kFeatMlAlerted;
  AlertRecord* a = claim_alert_slot(w);
  if (!a) return;
  fill_record(w, *a, c.meta[i]);
  a->kind = AlertRecord::kAlert;
  a->action = uint8_t(rules::Action::kAlert);
  a->severity = mm.anomaly ? 3 : 2;
  a->gid = kMlGid;
  a->sid = (mm.anomaly ? 2000 : 1000) + out;
  a->rev = 1;
  const std::string& cls = mm.out_class[out];
  copy_str(a->msg, mm.out_msg[out]);
  copy_str(a->category, mm.anomaly ? "anomaly" : "ML detection");
  a->metadata[0] = 0;
  a->has_ml = true;
  MlAlertMeta& ml = a->ml;
  copy_str(ml.model, mm.name);
  copy_str(ml.version, mm.version);
  copy_str(ml.cls, cls);
  ml.score = score;
  ml.threshold = mm.threshold[out];
  ml.anomaly = mm.anomaly;
  ml.guarded = mm.guard != nullptr;
  ml.guard_score = float(gscore);
  ml.guard_threshold = float(mm.guard_threshold);
  ml.ntop = 0;
  // Reasons: only for rows that alert (~trees * depth node visits each).
  if (mm.anomaly) {
    for (uint32_t k = 0; k < ml::kNumFeatures; k++) c.xrow[k] = c.rows[i][k];
    ml::IForestFeatureContribution top[kMlTop];
    size_t nt = ml::top_iforest_features(mm.m.iforest, c.xrow, kMlTop, c.dwork, top);
    for (size_t k = 0; k < nt; k++)
      ml.top[ml.ntop++] = {uint16_t(top[k].feature), float(top[k].value), float(top[k].contribution)};
  } else {
    ml::FeatureContribution top[kMlTop];
    size_t nt = ml::top_contributions(mm.m.xgb, c.rows[i], out, kMlTop, c.work, top);
    for (size_t k = 0; k < nt; k++) ml.top[ml.ntop++] = {uint16_t(top[k].feature), top[k].value, top[k].contribution};
  }
  w.insp.alerts.commit();
  c.ctr.alerts++;
}

void emit_row(WorkerCtx& w, uint32_t i) {
  MlCtx& c = *w.ml;
  AlertRecord* a = claim_alert_slot(w);
  if (!a) return;
  fill_record(w, *a, c.meta[i]);
  a->kind = AlertRecord::kFeatureRow;
  std::memcpy(a->features, c.rows[i], sizeof(float) * ml::kNumFeatures);
  w.insp.alerts.commit();
  c.ctr.dumped++;
}

// Output index that alerts for row i, or -1. Isolation forest: score below
// the threshold; XGBoost: the most likely non-benign class over its threshold.
int alert_output(const MlModel& mm, const float* out, const double* dout, uint32_t i, float& score) {
  if (mm.anomaly) {
    score = float(dout[i]);
    return dout[i] < mm.threshold[0] ? 0 : -1;
  }
  uint32_t g = uint32_t(mm.out_class.size());
  const float* o = out + size_t(i) * g;
  int best = -1;
  for (uint32_t k = 0; k < g; k++)
    if (int(k) != mm.benign && o[k] >= mm.threshold[k] && (best < 0 || o[k] > o[best])) best = int(k);
  if (best >= 0) score = o[best];
  return best;
}

// Decision per row of [0, n) into dec (output or -1) and score, after the
// model's scores are in out / dout. With a guard, a row alerts only when the
// guard also calls it unlike benign (score < guard_threshold). The decision is
// "guard AND class"; the guard is scored second, on the rows a class flagged,
// because it costs ~10x a row of the classifier (100 isolation trees of
// doubles vs 16-wide SIMD boosted trees) and the classifier rejects most rows.
void decide(MlCtx& c, const MlModel& mm, uint32_t n, const float* out, const double* dout, int* dec,
            float* score, double* gscore) {
  uint32_t m = 0;
  for (uint32_t i = 0; i < n; i++) {
    dec[i] = c.meta[i].score ? alert_output(mm, out, dout, i, score[i]) : -1;
    if (dec[i] >= 0 && mm.guard) c.gidx[m++] = i;
  }
  if (!m) return;
  for (uint32_t j = 0; j < m; j++)
    for (uint32_t k = 0; k < ml::kNumFeatures; k++) c.drows[j][k] = c.rows[c.gidx[j]][k];
  double g[kMlBatch];
  ml::score_samples(*mm.guard, &c.drows[0][0], m, kRowStride, g);
  c.ctr.guarded += m;
  for (uint32_t j = 0; j < m; j++) {
    uint32_t i = c.gidx[j];
    gscore[i] = g[j];
    if (!(g[j] < mm.guard_threshold)) {
      dec[i] = -1;
      c.ctr.guard_vetoed++;
    }
  }
}

// Scores rows [0, n) of the batch with `mm` into out / dout.
void run_model(MlCtx& c, const MlModel& mm, uint32_t n, float* out, double* dout) {
  if (mm.anomaly) {
    for (uint32_t i = 0; i < n; i++)
      for (uint32_t k = 0; k < ml::kNumFeatures; k++) c.drows[i][k] = c.rows[i][k];
    ml::score_samples(mm.m.iforest, &c.drows[0][0], n, kRowStride, dout);
  } else {
    ml::predict_prob(mm.packed, &c.rows[0][0], n, kRowStride, out);
  }
}

void score_batch(WorkerCtx& w, const MlModel& mm, const MlModel* shadow) {
  MlCtx& c = *w.ml;
  uint32_t n = c.n, todo = 0;
  for (uint32_t i = 0; i < n; i++) todo += c.meta[i].score;
  if (!todo) return;
  uint64_t t0 = rte_rdtsc();
  run_model(c, mm, n, c.out, c.dout);
  {
    uint64_t per_row_ns = (rte_rdtsc() - t0) * 1000000000ull / rte_get_tsc_hz() / n;
    uint64_t q = per_row_ns / 100;
    int b = q ? 64 - __builtin_clzll(q) : 0;
    c.ctr.model_lat_hist[b < kMlLatBuckets ? b : kMlLatBuckets - 1] += todo;
  }
  bool* alerted = c.alerted;
  decide(c, mm, n, c.out, c.dout, c.dec, c.dscore, c.gscore);
  for (uint32_t i = 0; i < n; i++) {
    alerted[i] = false;
    int out = c.dec[i];
    if (out < 0) continue;
    // One alert per flow, also when two of its points fall in one batch.
    bool dup = false;
    for (uint32_t j = 0; j < i && !dup; j++) dup = alerted[j] && c.meta[j].flow_id == c.meta[i].flow_id;
    alerted[i] = true;
    if (!dup) emit_alert(w, mm, i, uint32_t(out), c.dscore[i], mm.guard ? c.gscore[i] : 0.0);
  }
  c.ctr.scored += todo;
  if (!shadow) return;
  run_model(c, *shadow, n, c.sout, c.sdout);
  uint64_t guarded = c.ctr.guarded, vetoed = c.ctr.guard_vetoed;  // the shadow's guard is not counted
  decide(c, *shadow, n, c.sout, c.sdout, c.dec, c.dscore, c.gscore);
  c.ctr.guarded = guarded;
  c.ctr.guard_vetoed = vetoed;
  for (uint32_t i = 0; i < n; i++) {
    if (!c.meta[i].score) continue;
    bool s_alert = c.dec[i] >= 0;
    c.ctr.shadow_scored++;
    c.ctr.shadow_alerts += s_alert;
    c.ctr.shadow_agree += s_alert == alerted[i];
  }
}

void flush_batch(WorkerCtx& w) {
  MlCtx& c = *w.ml;
  const Snapshot* s = w.snap;
  if (s && s->ml.model) score_batch(w, *s->ml.model, s->ml.shadow.get());
  if (s && s->ml.dump)
    for (uint32_t i = 0; i < c.n; i++) emit_row(w, i);
  c.n = 0;
}

}  // namespace

MlCtx::MlCtx(uint32_t max_flows, uint32_t hosts_, uint64_t host_window_ns)
    : feats(max_flows), hosts(hosts_, host_window_ns), hold_cycles(rte_get_tsc_hz() / 1000000 * kMlHoldUs) {}

std::shared_ptr<const MlModel> load_ml_model(const std::string& path, std::string& err) {
  auto mm = std::make_shared<MlModel>();
  if (!ml::load_artifact_file(path, mm->m, err)) {
    err = path + ": " + err;
    return nullptr;
  }
  const ml::LoadedModel& m = mm->m;
  if (m.feature_schema_hash != ml::schema_hash()) {
    err = path + ": feature schema mismatch: the model was trained on features with hash " +
          m.feature_schema_hash.substr(0, 16) + "..., this data plane computes " +
          ml::schema_hash().substr(0, 16) + "... (spectre-ml schema); retrain on rows from --dump-features";
    return nullptr;
  }
  if (m.num_features > kRowStride) {
    err = path + ": " + std::to_string(m.num_features) + " features, rows hold " + std::to_string(kRowStride);
    return nullptr;
  }
  size_t outs = m.num_outputs();
  if (outs == 0 || outs > kMlMaxOutputs) {
    err = path + ": " + std::to_string(outs) + " outputs (at most " + std::to_string(kMlMaxOutputs) + ")";
    return nullptr;
  }
  mm->path = path;
  size_t slash = path.find_last_of('/');
  mm->name = path.substr(slash == std::string::npos ? 0 : slash + 1);
  if (mm->name.size() > 4 && mm->name.compare(mm->name.size() - 4, 4, ".spm") == 0)
    mm->name.resize(mm->name.size() - 4);
  mm->version = m.sha256.substr(0, 12);
  for (const auto& [k, v] : m.metrics) {
    if (k == "version") mm->version = std::to_string(int64_t(v));
    if (k == "min_payload_bytes" && v > 0 && v < 1e18) mm->min_payload = uint64_t(v);
  }
  mm->anomaly = m.kind == ml::ModelKind::IForest;
  if (!mm->anomaly) ml::pack_ensemble(m.xgb, mm->packed);
  for (size_t k = 0; k < outs; k++) {
    std::string cls;
    if (mm->anomaly) cls = "anomaly";
    else if (outs == 1) cls = m.class_names.size() >= 2 ? m.class_names[1]
                              : m.class_names.size() == 1 ? m.class_names[0] : "attack";
    else cls = k < m.class_names.size() ? m.class_names[k] : "class" + std::to_string(k);
    mm->out_class.push_back(cls);
    mm->out_msg.push_back("ML: " + cls);
    if (outs > 1 && lower(cls) == "benign") mm->benign = int(k);
    double t = k < m.thresholds.size() ? m.thresholds[k] : (mm->anomaly ? m.iforest.offset : 0.5);
    mm->threshold.push_back(float(t));
  }
  if (m.guard) {
    mm->guard = &m.guard->iforest;
    mm->guard_threshold = m.guard->thresholds[0];
  }
  return mm;
}

const char* ml_phase_name(uint16_t phase, char* buf) {
  if (!phase) std::snprintf(buf, 8, "end");
  else std::snprintf(buf, 8, "k%u", unsigned(phase));
  return buf;
}

void ml_flow_start(WorkerCtx& w, const Snapshot& s, uint32_t idx, Flow& f) {
  f.feat = 0;
  if (!s.ml.on()) return;
  f.feat = 1;
  MlCtx& c = *w.ml;
  feat_reset(c.feats.at(idx), f.first_ts);
  FlowEnds e = flow_ends(f);
  c.hosts.flow_started(e.src, e.dst, e.dport, f.first_ts);
}

void ml_outcome(MlCtx& c, FlowFeat& ff, const Flow& f, const PacketInfo& p) {
  ff.flags |= kFeatOutcome;
  c.hosts.flow_outcome(flow_ends(f).src, p.proto == 6 && (p.tcp_flags & kRst), p.ts_ns);
}

void MlSettings::set_points(const uint32_t* p, size_t n) {
  last_point = 0;
  point_mask = 0;
  for (size_t i = 0; i < kMaxScorePoints; i++) {
    points[i] = i < n ? uint16_t(p[i]) : 0;
    last_point = std::max(last_point, points[i]);
    if (points[i] && points[i] < 64) point_mask |= 1ull << points[i];
  }
}

void ml_points(WorkerCtx& w, const Snapshot& s, uint32_t idx, const Flow& f, uint64_t total) {
  MlCtx& c = *w.ml;
  for (uint32_t k = 0; k < kMaxScorePoints && s.ml.points[k]; k++)
    if (total == s.ml.points[k]) {
      bool score;
      if (!row_wanted(c, s, c.feats.at(idx), score)) continue;
      uint64_t t0 = rte_rdtsc();
      add_row(w, s, idx, f, s.ml.points[k], score);
      c.ctr.cyc_ml += rte_rdtsc() - t0;
    }
}

void ml_app(WorkerCtx& w, Flow& f, bool to_server, const AppMeta& m) {
  if (f.feat) feat_app(w.ml->feats.at(w.flows.index_of(f)), to_server, m);
}

void ml_flow_end(WorkerCtx& w, Flow& f) {
  if (!f.feat) return;
  MlCtx& c = *w.ml;
  uint32_t idx = w.flows.index_of(f);
  FlowFeat& ff = c.feats.at(idx);
  if (!(ff.flags & kFeatOutcome)) {  // never answered
    ff.flags |= kFeatOutcome;
    c.hosts.flow_outcome(flow_ends(f).src, true, f.last_ts);
  }
  bool score;
  if (w.snap && row_wanted(c, *w.snap, ff, score)) {
    uint64_t t0 = rte_rdtsc();
    add_row(w, *w.snap, idx, f, 0, score);
    c.ctr.cyc_ml += rte_rdtsc() - t0;
  }
  f.feat = 0;
}

void ml_poll(WorkerCtx& w) {
  MlCtx& c = *w.ml;
  if (c.n && rte_rdtsc() - c.batch_tsc >= c.hold_cycles) ml_flush(w);
}

void ml_flush(WorkerCtx& w) {
  MlCtx& c = *w.ml;
  if (!c.n) return;
  uint64_t t0 = rte_rdtsc();
  flush_batch(w);
  c.ctr.cyc_ml += rte_rdtsc() - t0;
}

}  // namespace spectre
