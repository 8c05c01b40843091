#include "ctrlplane/api/ingest.h"

#include <algorithm>
#include <chrono>

#include "ctrlplane/api/service.h"
#include "ctrlplane/store/eve_rows.h"

namespace spectre::api {

namespace {
int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

void Ingest::count(int kind) {
  int64_t s = now_s();
  std::lock_guard g(rmu_);
  auto& b = sec_[size_t(s % 60)];
  if (int64_t(b[2]) != s) b = {0, 0, uint64_t(s)};
  b[size_t(kind)]++;
}

nlohmann::json Ingest::rates() {
  int64_t s = now_s();
  uint64_t a = 0, i = 0;
  {
    std::lock_guard g(rmu_);
    for (auto& b : sec_)
      if (int64_t(b[2]) > s - 60 && int64_t(b[2]) <= s) a += b[0], i += b[1];
  }
  return {{"alerts_per_min", double(a)}, {"incidents_per_min", double(i)}, {"events_per_s", double(a + i) / 60.0}};
}

stream::StreamEvent Ingest::alert_event(const store::AlertRow& a) {
  stream::StreamEvent e;
  e.channel = stream::Channel::kAlerts;
  e.seq = a.id;
  e.severity = a.severity;
  e.key = std::to_string(a.sid) + ":" + a.src_ip + ":" + a.dest_ip;
  e.json = alert_text(a);
  e.signature = a.signature;
  e.src_ip = a.src_ip;
  e.dest_ip = a.dest_ip;
  e.category = a.category;
  return e;
}

stream::StreamEvent Ingest::incident_event(const store::IncidentRow& r, uint64_t seq) {
  stream::StreamEvent e;
  e.channel = stream::Channel::kIncidents;
  e.seq = seq;
  e.severity = store::level_severity(r.level);
  e.key = std::to_string(r.id);
  e.json = incident_json(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  e.src_ip = r.attacker;
  e.dest_ip = r.victim;
  e.level = r.level;
  e.signature = r.signatures.empty() ? std::string() : r.signatures.front();
  return e;
}

stream::StreamEvent Ingest::flow_event(const store::FlowRow& f) {
  stream::StreamEvent e;
  e.channel = stream::Channel::kFlows;
  e.seq = f.id;
  e.severity = f.alerted ? 3 : 4;
  e.json = flow_text(f);
  e.src_ip = f.src_ip;
  e.dest_ip = f.dest_ip;
  e.category = f.app_proto;  // the stream filter's `category` selects flows by app_proto
  return e;
}

store::FlowRow Ingest::flow_row(const exporter::CpFlow& c) {
  store::FlowRow f;
  f.ts_ms = int64_t(c.end_ns / 1000000);
  f.start_ms = int64_t(c.start_ns / 1000000);
  f.flow_id = c.flow_id;
  f.src_ip = c.src_ip;
  f.dest_ip = c.dst_ip;
  f.src_port = c.src_port;
  f.dest_port = c.dst_port;
  f.proto = c.proto;
  f.app_proto = c.app_proto;
  f.bytes = c.bytes_toserver + c.bytes_toclient;
  f.pkts = c.pkts_toserver + c.pkts_toclient;
  f.alerted = c.alerted;
  if (!c.eve_json.empty()) {
    f.eve = c.eve_json;
  } else {
    exporter::format_eve(f.eve, c);
  }
  while (!f.eve.empty() && (f.eve.back() == '\n' || f.eve.back() == '\r')) f.eve.pop_back();
  return f;
}

void Ingest::on_flow(const exporter::CpFlow& c) {
  if (!flows_->pass(c.alerted, c.bytes_toserver + c.bytes_toclient, c.pkts_toserver + c.pkts_toclient)) return;
  store_flow(flow_row(c));
}

void Ingest::on_flow_eve(std::string_view line) {
  store::FlowRow f;
  if (!store::flow_from_eve(line, f)) { bad_++; return; }
  if (!flows_->pass(f.alerted, f.bytes, f.pkts)) return;
  store_flow(std::move(f));
}

void Ingest::store_flow(store::FlowRow f) {
  uint64_t id = st_.enqueue_flow(f);
  if (!id) { flows_dropped_++; return; }
  f.id = id;
  if (publish_) publish_(flow_event(f));
}

std::string Ingest::flow_stats_json() const {
  uint64_t dropped = flows_dropped_.load(), passed = flows_->passed();  // in this order: passed >= dropped
  return nlohmann::json{{"flows", {{"mode", flow_mode_name(flows_->options().mode)}, {"seen", flows_->seen()},
                                   {"kept", passed - dropped}, {"dropped", dropped}}},
                        {"alerts_dropped", dropped_.load()}, {"bad_lines", bad_.load()}}
      .dump();
}

void Ingest::on_alert(std::string_view line) {
  store::AlertRow a;
  std::string err;
  if (!store::alert_from_eve(line, a, err)) { bad_++; return; }
  uint64_t id = st_.enqueue_alert(a);  // copies: the row is published below
  if (!id) { dropped_++; return; }
  a.id = id;
  count(0);
  if (!publish_ && !hooks_) return;
  stream::StreamEvent e = alert_event(a);
  static const char* const kLevel[] = {"high", "high", "medium", "low", "info"};
  if (hooks_) hooks_->dispatch("alert", kLevel[std::clamp(a.severity, 0, 4)], e.json);
  if (publish_) publish_(std::move(e));
}

void Ingest::on_incident(std::string_view line) {
  store::IncidentRow r;
  std::string err;
  if (!store::incident_from_eve(line, r, err)) { bad_++; return; }
  uint64_t seq = st_.enqueue_incident(r);
  if (!seq) { dropped_++; return; }
  count(1);
  if (!publish_ && !hooks_) return;
  stream::StreamEvent e = incident_event(r, seq);
  if (hooks_) hooks_->dispatch("incident", r.level, e.json);
  if (publish_) publish_(std::move(e));
}

bool Ingest::replay(stream::Channel ch, uint64_t after, size_t max, std::vector<stream::StreamEvent>& out) {
  if (ch == stream::Channel::kAlerts) {
    uint64_t lo = st_.min_alert_id();
    if (lo && after + 1 < lo) return false;
    std::vector<store::AlertRow> rows;
    if (!st_.alerts_after(after, max, rows)) return false;
    for (auto& a : rows) out.push_back(alert_event(a));
    return true;
  }
  if (ch == stream::Channel::kIncidents) {
    uint64_t lo = st_.min_update_id();
    if (lo && after + 1 < lo) return false;
    std::vector<store::IncidentUpdate> ups;
    if (!st_.updates_after(after, max, ups)) return false;
    for (auto& u : ups) {
      store::IncidentRow r;
      std::string err;
      if (!store::incident_from_eve(u.record, r, err)) continue;
      out.push_back(incident_event(r, u.id));
    }
    return true;
  }
  if (ch == stream::Channel::kFlows) {
    uint64_t lo = st_.min_flow_id();
    if (lo && after + 1 < lo) return false;
    std::vector<store::FlowRow> rows;
    if (!st_.flows_after(after, max, rows)) return false;
    for (auto& f : rows) out.push_back(flow_event(f));
    return true;
  }
  return false;  // stats are not kept (StreamOptions::resumable: a resume gets a gap notice)
}

}  // namespace spectre::api
