#include "ctrlplane/cp/shm_link.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "ctrl_generated.h"
#include "ctrlplane/cp/json_out.h"
#include "dataplane/core/counter_table.h"

namespace spectre::cp {

namespace fbc = spectre::fb::ctrl;
namespace js = ml::json;
using exporter::CpAlert;
using exporter::CpFlow;

namespace {

std::string fb_str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

const char* proto_text(uint8_t p, char* buf, size_t n) {
  switch (p) {
    case 1: return "ICMP";
    case 6: return "TCP";
    case 17: return "UDP";
    case 58: return "IPv6-ICMP";
    default: std::snprintf(buf, n, "%u", unsigned(p)); return buf;
  }
}

std::string app_text(const flatbuffers::String* s) {
  std::string a = fb_str(s);
  return a == "unknown" || a == "none" ? std::string() : a;
}

// Member at a path of nested objects; kNone when any step is missing.
uint32_t jpath(const js::Doc& d, uint32_t obj, std::initializer_list<std::string_view> keys) {
  uint32_t i = obj;
  for (auto k : keys) {
    if (i == js::kNone || d.type(i) != js::Type::Object) return js::kNone;
    i = d.find(i, k);
  }
  return i;
}

uint64_t jnum(const js::Doc& d, uint32_t i) {
  int64_t v = 0;
  if (i != js::kNone && d.type(i) == js::Type::Number && d.to_int(i, v) && v > 0) return uint64_t(v);
  double x = 0;
  if (i != js::kNone && d.type(i) == js::Type::Number && d.to_double(i, x) && x > 0) return uint64_t(x);
  return 0;
}

uint64_t mono_now_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch()).count());
}

}  // namespace

std::string flow_key_addr(uint64_t hi, uint64_t lo, uint8_t ip_version) {
  char buf[INET6_ADDRSTRLEN];
  if (ip_version == 4) {
    uint32_t a = uint32_t(lo);
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
    return buf;
  }
  uint8_t b[16];
  for (int i = 0; i < 8; i++) b[i] = uint8_t(hi >> (56 - 8 * i));
  for (int i = 0; i < 8; i++) b[8 + i] = uint8_t(lo >> (56 - 8 * i));
  if (!inet_ntop(AF_INET6, b, buf, sizeof buf)) return "?";
  return buf;
}

ShmDataPlaneLink::ShmDataPlaneLink(ShmLinkOptions opt, ShmLinkSinks sinks)
    : opt_(std::move(opt)), sinks_(sinks), records_(make_record_sinks(sinks_, latency_)), alert_counts_(5000) {
  // Ids differ from those of an earlier spectre-cp whose responses may still sit in the ring.
  next_id_ = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count());
  info_.instance = opt_.instance;
}

ShmDataPlaneLink::~ShmDataPlaneLink() { stop(); }

void ShmDataPlaneLink::start() {
  if (reader_.joinable()) return;
  stop_ = false;
  reader_ = std::thread([this] { run(); });
  syncer_ = std::thread([this] { sync_loop(); });
}

void ShmDataPlaneLink::stop() {
  {
    std::lock_guard g(chan_mu_);
    stopping_ = true;
  }
  stop_ = true;
  chan_cv_.notify_all();
  if (reader_.joinable()) reader_.join();  // detaches: waiting commands fail
  if (syncer_.joinable()) syncer_.join();
}

bool ShmDataPlaneLink::wait_attached(std::chrono::milliseconds timeout) {
  std::unique_lock lk(chan_mu_);
  return chan_cv_.wait_for(lk, timeout, [&] { return attached_.load() || stopping_; }) && attached_;
}

// ---------------------------------------------------------------- reader thread

void ShmDataPlaneLink::run() {
  auto next_check = std::chrono::steady_clock::now();
  auto next_try = next_check;
  while (!stop_) {
    auto now = std::chrono::steady_clock::now();
    if (!attached_) {
      if (now >= next_try) {
        next_try = now + opt_.retry;
        if (try_attach()) continue;
      }
      if (now >= next_metrics_) publish_metrics();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    size_t n = drain_events() + drain_responses();
    if (now >= next_check) {
      next_check = now + std::chrono::milliseconds(100);
      if (ch_->replaced()) {
        drain_events();  // what the data plane pushed before it went away
        detach("data plane '" + opt_.instance + "' exited or was restarted");
        std::fprintf(stderr, "spectre-cp: data plane '%s' went away; re-attaching every %lld ms\n",
                     opt_.instance.c_str(), static_cast<long long>(opt_.retry.count()));
        continue;
      }
    }
    if (now >= next_metrics_) publish_metrics();
    // Idle: a short sleep bounds the added alert latency to ~0.5 ms at no CPU cost.
    if (n == 0) std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  if (attached_) {
    drain_events();
    detach("spectre-cp is stopping");
  }
  publish_metrics();
}

bool ShmDataPlaneLink::try_attach() {
  std::string err;
  auto ch = ctrl::ShmChannel::attach(opt_.instance, err, true);
  if (!ch) {
    std::lock_guard g(chan_mu_);
    if (err != last_error_) std::fprintf(stderr, "spectre-cp: attach: %s\n", err.c_str());
    last_error_ = err;
    return false;
  }
  ev_.clear();
  for (uint32_t w = 0; w < ch->workers(); w++) ev_.push_back(ch->event_consumer(w));
  resp_ = ch->response_consumer();
  // Responses addressed to an earlier spectre-cp: nobody waits for them.
  stale_ += resp_.drain([](const ctrl::Message&) {});
  {
    std::lock_guard g(state_mu_);
    last_stats_.assign(ch->workers(), LastStats{});
    gaps_at_attach_.clear();
    for (auto& c : ev_) gaps_at_attach_.push_back(c.gaps());
    info_.pid = ch->header().creator_pid;
    info_.workers = ch->workers();
  }
  int32_t pid = ch->header().creator_pid;
  uint32_t workers = ch->workers();
  {
    std::lock_guard g(chan_mu_);
    ch_ = std::move(ch);
    cmd_ = ch_->command_producer();
    attach_gen_++;
    last_error_.clear();
    attached_ = true;
  }
  attaches_++;
  chan_cv_.notify_all();
  std::fprintf(stderr, "spectre-cp: attached to data plane '%s' (pid %d, %u workers)\n", opt_.instance.c_str(),
               int(pid), workers);
  return true;
}

void ShmDataPlaneLink::detach(const std::string& why) {
  {
    std::lock_guard g(chan_mu_);
    attached_ = false;
    for (auto& [id, p] : waiting_) {
      if (p->done) continue;
      p->done = true;
      p->transport_fail = true;
      p->message = why;
    }
    cmd_ = ctrl::RingProducer();
    if (ch_) ch_->detach();
    ch_.reset();
    last_error_ = why;
  }
  ev_.clear();
  resp_ = ctrl::RingConsumer();
  chan_cv_.notify_all();
  next_metrics_ = {};  // /health turns 503 now
}

size_t ShmDataPlaneLink::drain_events() {
  size_t n = 0;
  for (uint32_t w = 0; w < ev_.size(); w++)
    n += ev_[w].drain([&](const ctrl::Message& m) { handle_event(w, m); }, 4096);
  events_ += n;
  return n;
}

size_t ShmDataPlaneLink::drain_responses() {
  return resp_.drain([&](const ctrl::Message& m) {
    if (m.type != uint16_t(fbc::MsgType::Response)) { invalid_++; return; }
    flatbuffers::Verifier v(m.data, m.length);
    if (!v.VerifyBuffer<fbc::Response>(nullptr)) { invalid_++; return; }
    auto* r = flatbuffers::GetRoot<fbc::Response>(m.data);
    responses_++;
    std::lock_guard g(chan_mu_);
    auto it = waiting_.find(r->seq());
    if (it == waiting_.end() || it->second->done) { stale_++; return; }
    Pending* p = it->second;
    p->done = true;
    p->ok = r->ok();
    p->message = fb_str(r->message());
    p->json = fb_str(r->json());
    chan_cv_.notify_all();
  });
}

void ShmDataPlaneLink::handle_event(uint32_t worker, const ctrl::Message& m) {
  flatbuffers::Verifier v(m.data, m.length);
  char pbuf[8];
  switch (fbc::MsgType(m.type)) {
    case fbc::MsgType::Alert: {
      if (!v.VerifyBuffer<fbc::Alert>(nullptr)) break;
      auto* a = flatbuffers::GetRoot<fbc::Alert>(m.data);
      alerts_++;
      CpAlert c;
      c.ts_ns = a->ts_ns();
      c.flow_id = a->flow_id();
      c.worker = a->worker();
      if (const fbc::FlowKey* k = a->key()) {
        c.src_ip = flow_key_addr(k->src_ip_hi(), k->src_ip_lo(), k->ip_version());
        c.dst_ip = flow_key_addr(k->dst_ip_hi(), k->dst_ip_lo(), k->ip_version());
        c.src_port = k->src_port();
        c.dst_port = k->dst_port();
        c.proto = proto_text(k->proto(), pbuf, sizeof pbuf);
      }
      c.app_proto = app_text(a->app_proto());
      c.direction = a->to_server() ? "to_server" : "to_client";
      if (a->action()) c.action = a->action()->str();
      c.gid = a->gid();
      c.sid = a->sid();
      c.rev = a->rev();
      c.signature = fb_str(a->msg());
      c.category = fb_str(a->classtype());
      c.severity = a->severity();
      if (a->source() == fbc::AlertSource::Model) {
        exporter::CpMl ml;
        std::string mv = fb_str(a->model());
        size_t at = mv.rfind('@');
        ml.model = mv.substr(0, at);
        if (at != std::string::npos) ml.version = mv.substr(at + 1);
        ml.score = a->score();
        ml.threshold = a->threshold();
        ml.cls = fb_str(a->class_name());
        ml.phase = fb_str(a->phase());
        c.ml = std::move(ml);
      }
      c.eve_json = fb_str(a->eve());
      std::string line;  // the data plane sent no EVE line: formatted once, for every sink
      if (c.eve_json.empty()) exporter::format_eve(line, c);
      records_.alert(c, c.eve_json.empty() ? std::string_view(line) : std::string_view(c.eve_json));
      alert_counts_.add(c);
      return;
    }
    case fbc::MsgType::FlowRecord: {
      if (!v.VerifyBuffer<fbc::FlowRecord>(nullptr)) break;
      auto* r = flatbuffers::GetRoot<fbc::FlowRecord>(m.data);
      flows_n_++;
      FlowEntry f;
      if (const fbc::FlowKey* k = r->key()) {
        f.src = flow_key_addr(k->src_ip_hi(), k->src_ip_lo(), k->ip_version());
        f.dst = flow_key_addr(k->dst_ip_hi(), k->dst_ip_lo(), k->ip_version());
        f.sport = k->src_port();
        f.dport = k->dst_port();
        f.proto = k->proto();
      }
      f.packets = r->pkts_toserver() + r->pkts_toclient();
      f.bytes = r->bytes_toserver() + r->bytes_toclient();
      f.age_s = r->end_ns() > r->start_ns() ? double(r->end_ns() - r->start_ns()) / 1e9 : 0.0;
      f.app = app_text(r->app_proto());
      std::string eve = fb_str(r->eve());
      if (records_.wants_flow_struct(!eve.empty())) {
        CpFlow c;
        c.flow_id = r->flow_id();
        c.worker = r->worker();
        c.src_ip = f.src;
        c.dst_ip = f.dst;
        c.src_port = f.sport;
        c.dst_port = f.dport;
        c.proto = proto_text(f.proto, pbuf, sizeof pbuf);
        c.app_proto = f.app;
        c.pkts_toserver = r->pkts_toserver();
        c.pkts_toclient = r->pkts_toclient();
        c.bytes_toserver = r->bytes_toserver();
        c.bytes_toclient = r->bytes_toclient();
        c.start_ns = r->start_ns();
        c.end_ns = r->end_ns();
        c.state = fb_str(r->state());
        c.reason = fb_str(r->reason());
        c.alerted = r->alerted();
        c.eve_json = eve;
        records_.flow(&c, eve);
      } else {
        records_.flow(nullptr, eve);
      }
      std::lock_guard g(state_mu_);
      flows_.push_back(std::move(f));
      if (flows_.size() > opt_.recent_flows) flows_.pop_front();
      flows_seen_++;
      return;
    }
    case fbc::MsgType::EveLine: {
      if (!v.VerifyBuffer<fbc::EveLine>(nullptr)) break;
      auto* e = flatbuffers::GetRoot<fbc::EveLine>(m.data);
      eve_lines_++;
      if (e->eve() && e->eve()->size()) records_.eve_line(e->eve()->string_view());
      return;
    }
    case fbc::MsgType::WorkerStats: {
      if (!v.VerifyBuffer<fbc::WorkerStats>(nullptr)) break;
      auto* s = flatbuffers::GetRoot<fbc::WorkerStats>(m.data);
      wstats_++;
      LastStats ls;
      ls.have = true;
      ls.ts_ns = s->ts_ns();
      ls.s.worker = s->worker();
      ls.s.drops = s->drops();
      ls.s.alerts = s->alerts();
      if (s->counters_layout() == counters_layout()) {  // written from the same lists
        if (s->counters()) ls.counters.assign(s->counters()->begin(), s->counters()->end());
        if (s->io_counters()) ls.io_counters.assign(s->io_counters()->begin(), s->io_counters()->end());
      }
      ls.s.packets = ls.get(SPECTRE_COUNTER_INDEX("decoder.pkts"));
      ls.s.bytes = ls.get(SPECTRE_COUNTER_INDEX("decoder.bytes"));
      ls.s.flows_active = ls.get(SPECTRE_COUNTER_INDEX("flow.active"));
      ls.s.events_dropped =
          ls.get(SPECTRE_COUNTER_INDEX("events.dropped")) + ls.get(SPECTRE_COUNTER_INDEX("detect.alerts_dropped"));
      if (auto* h = s->model_latency(); h && h->bounds_ns() && h->counts()) {
        for (auto b : *h->bounds_ns()) ls.lat_bounds_ns.push_back(b);
        for (auto c : *h->counts()) ls.lat_counts.push_back(c);
      }
      std::lock_guard g(state_mu_);
      uint32_t w = s->worker() < last_stats_.size() ? s->worker() : worker;
      if (w < last_stats_.size()) last_stats_[w] = std::move(ls);
      next_metrics_ = {};  // fresh counters: publish now
      return;
    }
    default:
      break;
  }
  invalid_++;
}

void ShmDataPlaneLink::publish_metrics() {
  next_metrics_ = std::chrono::steady_clock::now() + opt_.metrics_every;
  if (!sinks_.metrics) return;
  auto s = std::make_shared<exporter::MetricsSnapshot>();
  s->instance = opt_.instance;
  s->dp_attached = attached_;
  s->heartbeat_max_age_s = double(opt_.heartbeat_max_age.count()) / 1e3;
  if (attached_ && ch_) {
    ctrl::Liveness l = ch_->liveness();
    uint64_t now = mono_now_ns();
    if (l.creator_alive && l.heartbeat_mono_ns && l.age_ns < now) s->heartbeat_steady_ns = now - l.age_ns;
  }
  ShmLinkCounters c = counters();
  {
    std::lock_guard g(state_mu_);
    s->model_name = info_.model_name;
    s->model_version = info_.model_version;
    s->ruleset_version = info_.ruleset_version;
    for (uint32_t w = 0; w < last_stats_.size(); w++) {
      const LastStats& ls = last_stats_[w];
      exporter::CpWorkerStats x;
      x.worker = w;
      if (ls.have) {
        x.packets = ls.s.packets;
        x.bytes = ls.s.bytes;
        x.drops = ls.s.drops;
        x.flows = ls.s.flows_active;
        x.alerts = ls.s.alerts;
        if (!ls.lat_bounds_ns.empty() && ls.lat_counts.size() >= ls.lat_bounds_ns.size()) {
          if (s->stats.latency_bounds_s.empty())
            for (auto b : ls.lat_bounds_ns) s->stats.latency_bounds_s.push_back(double(b) / 1e9);
          x.latency_counts = ls.lat_counts;
        }
        x.counters = ls.counters;
        if (!ls.io_counters.empty()) s->stats.io_counters = ls.io_counters;
        auto wl = std::vector<std::pair<std::string, std::string>>{{"worker", std::to_string(w)}};
        s->extra.push_back({"spectre_worker_loop_max_seconds", "Longest worker loop iteration.", "gauge", wl,
                            double(ls.get(SPECTRE_COUNTER_INDEX("loop.max_ns"))) / 1e9});
        s->extra.push_back({"spectre_worker_ml_rows_total", "Flows scored by the model.", "counter", wl,
                            double(ls.get(SPECTRE_COUNTER_INDEX("ml.rows")))});
        s->extra.push_back({"spectre_worker_ml_alerts_total", "Model alerts.", "counter", wl, double(ls.get(SPECTRE_COUNTER_INDEX("ml.alerts")))});
        s->extra.push_back({"spectre_worker_events_dropped_total", "Events the worker could not queue.", "counter",
                            wl, double(ls.s.events_dropped)});
      }
      if (w < c.rings.size()) {
        x.ring_used = c.rings[w].used_bytes;
        x.ring_capacity = c.rings[w].capacity;
        x.ring_drops = c.rings[w].producer_drops;
      }
      s->stats.workers.push_back(std::move(x));
    }
  }
  s->stats.ts_ns = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count());
  alert_counts_.fill(*s);
  using L = std::vector<std::pair<std::string, std::string>>;
  for (const auto& r : c.rings) {
    L l{{"ring", r.ring}};
    s->extra.push_back({"spectre_cp_ring_received_total", "Messages spectre-cp read from a channel ring.", "counter",
                        l, double(r.received)});
    s->extra.push_back({"spectre_cp_ring_gaps_total",
                        "Sequence numbers never received (dropped by the data plane: ring full).", "counter", l,
                        double(r.gaps)});
  }
  s->extra.push_back({"spectre_cp_attached", "1 while spectre-cp holds the channel.", "gauge", {}, c.attached ? 1.0 : 0.0});
  s->extra.push_back({"spectre_cp_attaches_total", "Successful attaches of this spectre-cp.", "counter", {},
                      double(c.attaches)});
  s->extra.push_back({"spectre_cp_events_total", "Events read from the channel by this spectre-cp.", "counter", {},
                      double(c.events)});
  s->extra.push_back({"spectre_cp_events_invalid_total", "Channel messages that failed verification.", "counter", {},
                      double(c.invalid)});
  s->extra.push_back({"spectre_cp_gaps_session_total", "Event gaps seen since this spectre-cp attached.", "counter",
                      {}, double(c.gaps_session)});
  records_.fill_metrics(*s);
  sinks_.metrics->publish(std::move(s));
}

// --------------------------------------------------------------- sync thread

void ShmDataPlaneLink::sync_loop() {
  std::unique_lock lk(chan_mu_);
  while (!stopping_) {
    bool fresh = chan_cv_.wait_for(lk, std::chrono::seconds(2), [&] {
      return stopping_ || (attached_ && attach_gen_ != synced_gen_);
    });
    if (stopping_) break;
    uint64_t gen = attach_gen_;
    if (fresh) synced_gen_ = gen;
    bool up = attached_;
    lk.unlock();
    if (up) info();  // refreshes the cached identity (model, ruleset) for /health and status
    if (fresh && on_attach_) on_attach_();
    lk.lock();
  }
}

// ------------------------------------------------------------ command side

bool ShmDataPlaneLink::exchange(uint8_t kind, const std::vector<std::string>& args, uint32_t count, Pending& out,
                                std::chrono::milliseconds timeout, std::string& err) {
  flatbuffers::FlatBufferBuilder fbb(512);
  std::vector<flatbuffers::Offset<flatbuffers::String>> a;
  for (const auto& s : args) a.push_back(fbb.CreateString(s));
  auto av = fbb.CreateVector(a);
  auto user = fbb.CreateString("spectre-cp");
  std::unique_lock lk(chan_mu_);
  if (!attached_ || !ch_ || !cmd_.valid()) {
    err = "not attached to data plane '" + opt_.instance + "'" + (last_error_.empty() ? "" : ": " + last_error_);
    return false;
  }
  const uint64_t id = ++next_id_;
  fbb.Finish(fbc::CreateCommand(fbb, id, fbc::CommandKind(kind), av, count, user, uint32_t(geteuid())));
  if (!cmd_.try_push(uint16_t(fbc::MsgType::Command), fbb.GetBufferPointer(), fbb.GetSize())) {
    err = "command ring full: the data plane is not taking commands";
    return false;
  }
  waiting_[id] = &out;
  bool got = chan_cv_.wait_for(lk, timeout, [&] { return out.done; });
  waiting_.erase(id);
  if (!got) {
    err = fmt::format("no response within {} ms", timeout.count());
    return false;
  }
  if (out.transport_fail) {
    err = out.message;
    return false;
  }
  return true;
}

bool ShmDataPlaneLink::status_json(std::string& json, std::string& err, std::chrono::milliseconds timeout) {
  Pending p;
  if (!exchange(uint8_t(fbc::CommandKind::Status), {}, 0, p, timeout, err)) return false;
  if (!p.ok) {
    err = p.message;
    return false;
  }
  json = std::move(p.json);
  js::Doc d;
  if (!d.parse(json, err)) {
    err = "status from the data plane is not JSON: " + err;
    return false;
  }
  const uint32_t r = d.root();
  if (d.type(r) != js::Type::Object) {
    err = "status from the data plane is not a JSON object";
    return false;
  }
  std::lock_guard g(state_mu_);
  info_.instance = opt_.instance;
  info_.pid = jget_int(d, r, "pid", info_.pid);
  info_.workers = uint32_t(jget_int(d, r, "workers", info_.workers));
  info_.uptime_s = jnum(d, d.find(r, "uptime_s"));
  info_.schema_hash = jget_str(d, r, "feature_schema_hash");
  uint32_t m = d.find(r, "model");
  info_.model_name = info_.model_version = info_.model_sha256 = info_.model_path = "";
  if (m != js::kNone && d.type(m) == js::Type::Object) {
    info_.model_name = jget_str(d, m, "name");
    info_.model_version = jget_str(d, m, "version");
    info_.model_sha256 = jget_str(d, m, "sha256");
    info_.model_path = jget_str(d, m, "path");
  }
  uint32_t sh = d.find(r, "shadow");
  info_.shadow_sha256 = sh != js::kNone && d.type(sh) == js::Type::Object ? jget_str(d, sh, "sha256") : "";
  uint32_t gen = jpath(d, r, {"rules", "generation"});
  info_.ruleset_version = gen != js::kNone ? std::to_string(jnum(d, gen)) : "";
  rules_loaded_ = jnum(d, jpath(d, r, {"rules", "loaded"}));
  return true;
}

void ShmDataPlaneLink::fill_stats(const std::string& line, Response& resp) {
  js::Doc d;
  std::string err;
  std::vector<uint64_t> pkts;
  uint32_t st = js::kNone;
  if (d.parse(line, err) && d.type(d.root()) == js::Type::Object) st = d.find(d.root(), "stats");
  if (st != js::kNone && d.type(st) == js::Type::Object) {
    uint32_t w = d.find(st, "workers");
    if (w != js::kNone && d.type(w) == js::Type::Array)
      for (uint32_t i = d.first(w); i != js::kNone; i = d.next(i)) pkts.push_back(jnum(d, i));
    const uint32_t sh = jpath(d, st, {"ml", "shadow"});
    resp.shadow_stats = sh != js::kNone && d.type(sh) == js::Type::Object;
    if (resp.shadow_stats) {
      resp.shadow_scored = jnum(d, d.find(sh, "scored"));
      resp.shadow_alerts = jnum(d, d.find(sh, "alerts"));
      resp.shadow_agree = jnum(d, d.find(sh, "agree"));
    }
  }
  std::lock_guard g(state_mu_);
  size_t nw = std::max(pkts.size(), last_stats_.size());
  for (size_t w = 0; w < nw; w++) {
    WorkerStats x;
    if (w < last_stats_.size() && last_stats_[w].have) x = last_stats_[w].s;
    x.worker = uint32_t(w);
    if (w < pkts.size()) x.packets = pkts[w];
    // One worker: every counter comes fresh from the data plane's stats line
    // (with more workers only packets are per worker there; the rest is the
    // worker's last WorkerStats message, one per stats interval).
    if (nw == 1 && st != js::kNone) {
      x.packets = jnum(d, jpath(d, st, {"decoder", "pkts"}));
      x.bytes = jnum(d, jpath(d, st, {"decoder", "bytes"}));
      x.flows_active = jnum(d, jpath(d, st, {"flow", "active"}));
      x.alerts = jnum(d, jpath(d, st, {"detect", "alerts"})) + jnum(d, jpath(d, st, {"ml", "alerts"}));
      x.drops = jnum(d, jpath(d, st, {"capture", "kernel_drops"})) + jnum(d, jpath(d, st, {"capture", "rx_nombuf"})) +
                jnum(d, jpath(d, st, {"capture", "dist_ring_full"}));
      x.events_dropped = jnum(d, jpath(d, st, {"events", "dropped"})) +
                         jnum(d, jpath(d, st, {"detect", "alerts_dropped"}));
    }
    resp.workers.push_back(x);
  }
}

bool ShmDataPlaneLink::send(const Command& cmd, Response& resp, std::chrono::milliseconds timeout) {
  resp = Response{};
  resp.seq = cmd.seq;
  fbc::CommandKind kind = fbc::CommandKind::Status;
  std::vector<std::string> args;
  switch (cmd.type) {
    case CommandType::Ping: kind = fbc::CommandKind::Status; break;
    case CommandType::ModelLoad: kind = fbc::CommandKind::ModelLoad; args.push_back(cmd.path); break;
    case CommandType::ModelShadow:  // no file: clear the shadow model
      kind = fbc::CommandKind::ModelShadow;
      if (!cmd.path.empty()) args.push_back(cmd.path);
      break;
    case CommandType::RulesReload:  // files: the data plane loads these from now on
      kind = fbc::CommandKind::RulesReload;
      args = cmd.files;
      break;
    case CommandType::ConfigReload: kind = fbc::CommandKind::ConfigReload; break;
    case CommandType::Stats: kind = fbc::CommandKind::Stats; break;
    case CommandType::FlowsTop:
      // Answered here from the flow records the data plane sends when flows end.
      if (!attached_) {
        resp.error = "not attached to data plane '" + opt_.instance + "'";
        return false;
      }
      resp.ok = true;
      resp.flows = top_flows(cmd.top_n);
      resp.message = flows_scope();
      return true;
  }
  Pending p;
  std::string err;
  if (!exchange(uint8_t(kind), args, cmd.top_n, p, timeout, err)) {
    resp.error = err;
    return false;
  }
  resp.ok = p.ok;
  if (!p.ok) {
    resp.error = p.message.empty() ? "refused" : p.message;
    return true;
  }
  resp.message = p.message;
  if (cmd.type == CommandType::Stats) fill_stats(p.json, resp);
  if (cmd.type == CommandType::RulesReload) {
    // "rules reloaded: rules: L loaded, S skipped, E errors, R rejected at compile; ..."
    unsigned long long l = 0, sk = 0, e = 0, r = 0;
    size_t at = p.message.find("rules: ");
    if (at != std::string::npos &&
        std::sscanf(p.message.c_str() + at, "rules: %llu loaded, %llu skipped, %llu errors, %llu rejected", &l, &sk,
                    &e, &r) == 4)
      resp.rules_failed = e + r;
  }
  if (cmd.type == CommandType::RulesReload || cmd.type == CommandType::ModelLoad ||
      cmd.type == CommandType::ModelShadow || cmd.type == CommandType::ConfigReload) {
    std::string j, serr;
    if (status_json(j, serr, opt_.status_timeout)) {
      std::lock_guard g(state_mu_);
      resp.ruleset_version = info_.ruleset_version;
      resp.rules_loaded = rules_loaded_;
    }
  }
  return true;
}

bool ShmDataPlaneLink::alive() {
  std::lock_guard g(chan_mu_);
  if (!attached_ || !ch_) return false;
  ctrl::Liveness l = ch_->liveness();
  return l.creator_alive && l.heartbeat_mono_ns &&
         l.age_ns <= uint64_t(std::chrono::nanoseconds(opt_.heartbeat_max_age).count());
}

DataPlaneInfo ShmDataPlaneLink::info() {
  if (attached_) {
    std::string j, err;
    status_json(j, err, opt_.status_timeout);  // on failure the last known state is returned
  }
  std::lock_guard g(state_mu_);
  return info_;
}

// ---------------------------------------------------------------- counters

}  // namespace spectre::cp
