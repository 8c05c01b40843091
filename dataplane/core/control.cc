#include "dataplane/core/control.h"

#include <cerrno>
#include <chrono>
#include <cstring>

#include <signal.h>

#include "ctrl_generated.h"
#include "dataplane/core/counter_table.h"
#include "dataplane/core/worker.h"
#include "dataplane/features/scoring.h"

namespace spectre {

namespace fbc = spectre::fb::ctrl;

namespace {

// 16-byte address as two big-endian halves; IPv4 as ::ffff:a.b.c.d.
fbc::FlowKey make_key(const uint8_t* src, const uint8_t* dst, uint16_t sp, uint16_t dp, uint8_t proto,
                      uint8_t ver) {
  auto halves = [ver](const uint8_t* a, uint64_t& hi, uint64_t& lo) {
    uint8_t b[16] = {};
    if (ver == 4) {
      b[10] = b[11] = 0xff;
      std::memcpy(b + 12, a, 4);
    } else {
      std::memcpy(b, a, 16);
    }
    hi = lo = 0;
    for (int i = 0; i < 8; i++) hi = hi << 8 | b[i];
    for (int i = 8; i < 16; i++) lo = lo << 8 | b[i];
  };
  uint64_t sh, sl, dh, dl;
  halves(src, sh, sl);
  halves(dst, dh, dl);
  return fbc::FlowKey(sh, sl, dh, dl, sp, dp, proto, ver);
}

const char* reason_name(EndReason r) {
  switch (r) {
    case EndReason::kTimeout: return "timeout";
    case EndReason::kForced: return "forced";
    default: return "shutdown";
  }
}

}  // namespace

std::unique_ptr<ControlLink> ControlLink::create(const ControlConfig& cfg, uint32_t workers, std::string& err) {
  ctrl::RingSizes sizes;
  uint32_t ev = cfg.event_ring_kb * 1024u, p2 = ctrl::kRingMinBytes;
  while (p2 < ev && p2 < ctrl::kRingMaxBytes) p2 <<= 1;
  sizes.event_bytes = p2;
  auto ch = ctrl::ShmChannel::create(cfg.instance, workers, sizes, err, mode_t(cfg.mode),
                                     cfg.gid < 0 ? gid_t(-1) : gid_t(cfg.gid));
  if (!ch) return nullptr;
  std::unique_ptr<ControlLink> l(new ControlLink());
  for (uint32_t w = 0; w < workers; w++) l->events_.push_back(ch->event_producer(w));
  l->commands_ = ch->command_consumer();
  l->responses_ = ch->response_producer();
  l->ch_ = std::move(ch);
  l->ch_->heartbeat();
  return l;
}

ControlLink::~ControlLink() {
  if (ch_) {
    std::string err;
    std::string name = ch_->name();
    ch_->detach();
    ctrl::ShmChannel::unlink(name, err);
  }
}

// A consumer pid whose process is gone (spectre-cp killed) counts as detached,
// so EVE falls back to the local file. kill(pid, 0) at most every 10 ms.
bool ControlLink::consumer_attached() const {
  int32_t pid = ch_->header().consumer_pid.load(std::memory_order_acquire);
  if (pid <= 0) return false;
  auto now = std::chrono::steady_clock::now();
  if (pid != checked_pid_ || now - checked_at_ > std::chrono::milliseconds(10)) {
    checked_pid_ = pid;
    checked_at_ = now;
    checked_alive_ = kill(pid, 0) == 0 || errno == EPERM;
  }
  return checked_alive_;
}

void ControlLink::push(uint32_t worker, uint16_t type) {
  if (worker >= events_.size()) worker = 0;
  // A full ring counts the drop itself (RingCtl::drops; the sequence shows the gap).
  events_[worker].try_push(type, fbb_.GetBufferPointer(), fbb_.GetSize());
}

void ControlLink::push_alert(uint32_t worker, const AlertRecord& a, std::string_view eve) {
  fbb_.Clear();
  auto msg = fbb_.CreateString(a.msg);
  auto cat = fbb_.CreateString(a.category);
  auto ev = fbb_.CreateString(eve.data(), eve.size());
  auto act = fbb_.CreateString(a.action == uint8_t(rules::Action::kDrop) || a.action == uint8_t(rules::Action::kReject)
                                   ? "would drop" : "allowed");
  auto app = fbb_.CreateString(rules::app_proto_name(rules::AppProto(a.app_proto)));
  flatbuffers::Offset<flatbuffers::String> model, cls, phase;
  if (a.has_ml) {
    model = fbb_.CreateString(std::string(a.ml.model) + "@" + a.ml.version);
    cls = fbb_.CreateString(a.ml.cls);
    char pb[8];
    phase = fbb_.CreateString(ml_phase_name(a.ml.phase, pb));
  }
  fbc::AlertBuilder b(fbb_);
  b.add_ts_ns(a.ts_ns);
  b.add_worker(a.worker);
  b.add_flow_id(a.flow_id);
  fbc::FlowKey key = make_key(a.src, a.dst, a.sport, a.dport, a.proto, a.ip_ver);
  b.add_key(&key);
  b.add_to_server(a.to_server);
  b.add_source(a.has_ml ? fbc::AlertSource::Model : fbc::AlertSource::Signature);
  b.add_gid(a.gid);
  b.add_sid(a.sid);
  b.add_rev(a.rev);
  b.add_msg(msg);
  b.add_classtype(cat);
  b.add_severity(a.severity);
  b.add_action(act);
  b.add_app_proto(app);
  b.add_eve(ev);
  if (a.has_ml) {
    b.add_model(model);
    b.add_score(a.ml.score);
    b.add_threshold(a.ml.threshold);
    b.add_class_name(cls);
    b.add_phase(phase);
  }
  fbb_.Finish(b.Finish());
  push(worker, uint16_t(fbc::MsgType::Alert));
}

void ControlLink::push_flow(uint32_t worker, const FlowRecord& r, std::string_view eve) {
  fbb_.Clear();
  auto ev = fbb_.CreateString(eve.data(), eve.size());
  auto reason = fbb_.CreateString(reason_name(r.reason));
  auto app = fbb_.CreateString(rules::app_proto_name(rules::AppProto(r.app_proto)));
  fbc::FlowRecordBuilder b(fbb_);
  b.add_flow_id(r.flow_id);
  b.add_worker(r.worker);
  fbc::FlowKey key = make_key(r.src, r.dst, r.sport, r.dport, r.proto, r.ip_ver);
  b.add_key(&key);
  b.add_start_ns(r.first_ts);
  b.add_end_ns(r.last_ts);
  b.add_pkts_toserver(r.pkts[0]);
  b.add_pkts_toclient(r.pkts[1]);
  b.add_bytes_toserver(r.bytes[0]);
  b.add_bytes_toclient(r.bytes[1]);
  b.add_tcp_flags(uint8_t(r.tcp_flags_ts | r.tcp_flags_tc));
  b.add_reason(reason);
  b.add_app_proto(app);
  b.add_alerted(r.flags & kFlowAlerted);
  b.add_eve(ev);
  fbb_.Finish(b.Finish());
  push(worker, uint16_t(fbc::MsgType::FlowRecord));
}

void ControlLink::push_eve_line(uint32_t worker, std::string_view event_type, std::string_view eve) {
  fbb_.Clear();
  auto t = fbb_.CreateString(event_type.data(), event_type.size());
  auto e = fbb_.CreateString(eve.data(), eve.size());
  fbb_.Finish(fbc::CreateEveLine(fbb_, uint16_t(worker), t, e));
  push(worker, uint16_t(fbc::MsgType::EveLine));
}

void ControlLink::push_stats(uint32_t worker, uint64_t ts_ns, const WorkerCounters& c, const MlCounters& ml,
                             uint64_t alerts, std::span<const uint64_t> counters,
                             std::span<const uint64_t> io) {
  fbb_.Clear();
  auto cv = fbb_.CreateVector(counters.data(), counters.size());
  auto iv = fbb_.CreateVector(io.data(), io.size());
  uint64_t bounds[kLoopBuckets];
  for (int i = 0; i < kLoopBuckets - 1; i++) bounds[i] = 1000ull << i;
  auto hb = fbb_.CreateVector(bounds, kLoopBuckets - 1);
  auto hc = fbb_.CreateVector(c.loop_hist, kLoopBuckets);
  auto hist = fbc::CreateHistogram(fbb_, hb, hc);
  // Finite upper bounds; the extra last count is the +Inf bucket.
  uint64_t mb[kMlLatBuckets - 1];
  for (int i = 0; i < kMlLatBuckets - 1; i++) mb[i] = 100ull << i;
  auto mlh = fbc::CreateHistogram(fbb_, fbb_.CreateVector(mb, kMlLatBuckets - 1),
                                  fbb_.CreateVector(ml.model_lat_hist, kMlLatBuckets));
  fbc::WorkerStatsBuilder b(fbb_);
  b.add_worker(uint16_t(worker));
  b.add_ts_ns(ts_ns);
  b.add_drops(0);  // packet drops are per port (stats.capture), not per worker
  b.add_alerts(alerts);
  b.add_loop_time(hist);
  b.add_model_latency(mlh);
  b.add_counters(cv);
  b.add_counters_layout(counters_layout());
  b.add_io_counters(iv);
  fbb_.Finish(b.Finish());
  push(worker, uint16_t(fbc::MsgType::WorkerStats));
}

void ControlLink::respond(uint64_t id, bool ok, const std::string& msg, const std::string& json) {
  rfbb_.Clear();
  auto m = rfbb_.CreateString(msg);
  auto j = rfbb_.CreateString(json);
  fbc::ResponseBuilder b(rfbb_);
  b.add_seq(id);
  b.add_ok(ok);
  b.add_message(m);
  b.add_json(j);
  rfbb_.Finish(b.Finish());
  // Responses are small and rare; a full response ring means nobody reads them.
  responses_.try_push(uint16_t(fbc::MsgType::Response), rfbb_.GetBufferPointer(), rfbb_.GetSize());
}

void ControlLink::poll(ControlActions& act) {
  ch_->heartbeat();
  commands_.drain([&](const ctrl::Message& m) {
    if (m.type != uint16_t(fbc::MsgType::Command)) return;
    flatbuffers::Verifier v(m.data, m.length);
    if (!v.VerifyBuffer<fbc::Command>(nullptr)) {
      respond(0, false, "malformed command (flatbuffer verification failed)");
      return;
    }
    const fbc::Command* c = flatbuffers::GetRoot<fbc::Command>(m.data);
    std::string arg0 = c->args() && c->args()->size() ? c->args()->Get(0)->str() : std::string();
    std::string msg;  // a refusal, answered below
    switch (c->kind()) {
      case fbc::CommandKind::Status: respond(c->id(), true, "ok", act.status_json()); return;
      case fbc::CommandKind::Stats: respond(c->id(), true, "ok", act.stats_json()); return;
      case fbc::CommandKind::ModelLoad:
      case fbc::CommandKind::ModelRollback:
      case fbc::CommandKind::ModelShadow:
        if (arg0.empty() && c->kind() != fbc::CommandKind::ModelShadow) {
          msg = "model command needs a file";
          break;
        }
        act.load_model(c->id(), arg0, c->kind() == fbc::CommandKind::ModelShadow);
        return;  // answered when loaded
      case fbc::CommandKind::ConfigReload: act.reload_config(c->id()); return;
      case fbc::CommandKind::RulesReload: {
        std::vector<std::string> files;
        if (c->args())
          for (const auto* a : *c->args()) files.push_back(a->str());
        if (act.start_rules_reload(c->id(), files, msg)) return;  // answered when the compile ends
        break;
      }
      case fbc::CommandKind::FlowsTop:
        msg = "flows top is answered by spectre-cp from flow records";
        break;
      default: msg = "unknown command"; break;
    }
    respond(c->id(), false, msg);
  });
}

}  // namespace spectre
