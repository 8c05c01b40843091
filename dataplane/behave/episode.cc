#include "dataplane/behave/episode.h"

#include <cstring>

#include <fmt/format.h>

#include "dataplane/rules/rule.h"

namespace spectre::behave {

namespace {

struct DetInfo {
  const char* technique;
  const char* tactic;
  uint8_t severity;
};
// ATT&CK technique and tactic per detector; severity 1 = highest (Suricata).
const DetInfo kInfo[kDetectorEnd] = {
    {"", "", 3},
    {"T1046", "TA0007", 3},   // scan: Network Service Discovery / Discovery
    {"T1498", "TA0040", 1},   // synflood: Network Denial of Service / Impact
    {"T1110", "TA0006", 2},   // bruteforce: Brute Force / Credential Access
    {"T1071", "TA0011", 2},   // beacon: Application Layer Protocol / Command and Control
    {"T1499", "TA0040", 1},   // slowdos: Endpoint Denial of Service / Impact
    {"T1041", "TA0010", 1},   // exfil: Exfiltration Over C2 Channel / Exfiltration
    {"T1498", "TA0040", 1},   // flood: Network Denial of Service (reflection, amplification)
};

uint64_t episode_id(const Episode& ep, const Entity& ent) {
  uint64_t h = 0xcbf29ce484222325ull ^ ent.det;
  auto eat = [&](const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  };
  eat(ent.src, 16);
  if (ent.det != kScan) eat(ent.dst, 16);  // a scan's dest_ip is only its newest target
  eat(reinterpret_cast<const uint8_t*>(&ep.first_seen), 8);
  return h & ((1ull << 51) - 1);
}

// The signature's short detail: "behaviour: <detector> <detail>".
void put_msg(char (&msg)[256], uint8_t det, const Evidence& ev, uint32_t flows, Stage st) {
  const char* n = detector_name(det);
  fmt::format_to_n_result<char*> r;
  switch (st == kStageEnd ? 0 : det) {
    case kScan:
      r = fmt::format_to_n(msg, sizeof msg - 1, "behaviour: scan {:.0f} hosts {:.0f} host-ports {:.0f}% failed", ev.distinct_dsts,
                           ev.distinct_ports, ev.failed_ratio * 100);
      break;
    case kSynFlood: case kFlood:
      r = fmt::format_to_n(msg, sizeof msg - 1, "behaviour: {} {:.0f} unanswered flows/s from {} sources", n,
                           det == kSynFlood ? ev.half_open_per_s : ev.flows_per_s, ev.sources);
      break;
    case kBruteForce:
      r = fmt::format_to_n(msg, sizeof msg - 1, "behaviour: bruteforce {} attempts in {} s", ev.attempts, ev.window_s);
      break;
    case kBeacon:
      r = fmt::format_to_n(msg, sizeof msg - 1, "behaviour: beacon every {:.1f} s (cv {:.2f})", ev.mean_interval_s,
                           ev.intervals_cv);
      break;
    case kSlowDos:
      r = fmt::format_to_n(msg, sizeof msg - 1, "behaviour: slowdos {} slow partial connections", ev.attempts);
      break;
    case kExfil:
      r = fmt::format_to_n(msg, sizeof msg - 1, "behaviour: exfil {:.1f} MB out in {} s", double(ev.bytes_out) / 1e6,
                           ev.window_s);
      break;
    default:
      r = fmt::format_to_n(msg, sizeof msg - 1, "behaviour: {} episode ended after {} flows", n, flows);
  }
  *r.out = 0;
}

}  // namespace

void emit_alert(EpisodeCtx& x, const Episode& ep, const Entity& ent, Stage st, const Evidence& ev, uint64_t ts) {
  AlertRecord* a = x.out.claim();
  if (!a) return;
  a->kind = AlertRecord::kAlert;
  a->ts_ns = ts;
  a->flow_id = ep.flow_ids[0];
  std::memcpy(a->src, ent.src, 16);
  std::memcpy(a->dst, ent.dst, 16);
  a->sport = 0;
  a->dport = ent.dport;
  a->ip_ver = ent.ver;
  a->proto = ent.proto;
  a->app_proto = 0;
  a->to_server = true;
  a->has_flow = a->has_app = a->has_ml = false;
  a->has_behave = true;
  a->action = uint8_t(rules::Action::kAlert);
  const DetInfo& di = kInfo[ent.det < kDetectorEnd ? ent.det : 0];
  a->severity = di.severity;
  a->gid = kGid;
  a->sid = ent.det;
  a->rev = 1;
  a->worker = uint8_t(x.worker);
  put_msg(a->msg, ent.det, ev, ep.flows, st);
  std::memcpy(a->category, "behaviour", 10);
  auto r = fmt::format_to_n(a->metadata, sizeof a->metadata - 1,
                            "{{\"mitre_technique_id\":[\"{}\"],\"mitre_tactic_id\":[\"{}\"],\"detector\":[\"{}\"]}}",
                            di.technique, di.tactic, detector_name(ent.det));
  *r.out = 0;
  BehaveAlertMeta& b = a->behave;
  b.episode_id = episode_id(ep, ent);
  b.first_seen = ep.first_seen;
  b.last_seen = ep.last_seen;
  b.nids = ep.nids;
  for (int i = 0; i < 3; i++) b.flow_ids[i] = ep.flow_ids[i];
  b.flow_ids[3] = 0;
  b.bytes_out = ev.bytes_out;
  b.baseline_bytes = ev.baseline_bytes;
  b.distinct_dsts = ev.distinct_dsts;
  b.distinct_ports = ev.distinct_ports;
  b.failed_ratio = ev.failed_ratio;
  b.half_open_per_s = ev.half_open_per_s;
  b.flows_per_s = ev.flows_per_s;
  b.intervals_cv = ev.intervals_cv;
  b.mean_interval_s = ev.mean_interval_s;
  b.size_cv = ev.size_cv;
  b.window_s = ev.window_s;
  b.flows = ep.flows;
  b.attempts = ev.attempts;
  b.sources = ev.sources;
  b.detector = ent.det;
  b.stage = st;
  x.out.commit();
  x.ctr.alerts++;
}

void step_episode(EpisodeCtx& x, Episode& ep, const Entity& ent, bool hit, bool contributes, uint32_t in_window,
                  const Summary& m, const Evidence& ev, uint64_t idle_ns) {
  if (ep.active && m.ts > ep.last_seen + idle_ns) end_episode(x, ep, ent, m.ts, true);
  if (!ep.active) {
    if (!hit) return;
    // A late summary timestamped inside the idle window of the episode that
    // just ended (a peer worker's flow expired after our clock passed the
    // window: its end summary carries the flow's last packet time) belongs to
    // that episode, which has reported its end: do not start another.
    if (ep.last_seen && m.ts <= ep.last_seen + idle_ns) return;
    std::memset(&ep, 0, sizeof ep);
    ep.active = 1;
    ep.first_seen = ep.last_seen = m.ts;
    ep.flows = ep.alerted = in_window ? in_window : 1;
    ep.idle_s = uint32_t(idle_ns / 1000000000ull);
    ep.proto = ent.proto;
    ep.flow_ids[ep.nids++] = m.flow_id;
    x.ctr.episodes++;
    emit_alert(x, ep, ent, kStageStart, ev, m.ts);
    return;
  }
  if (!contributes && !hit) return;
  if (m.ts > ep.last_seen) ep.last_seen = m.ts;
  if (!contributes) return;
  ep.flows++;
  if (ep.nids < 3 && ep.flow_ids[ep.nids - 1] != m.flow_id) ep.flow_ids[ep.nids++] = m.flow_id;
  if (double(ep.flows) >= double(ep.alerted) * x.s.c.grow) {
    ep.alerted = ep.flows;
    emit_alert(x, ep, ent, kStageGrow, ev, m.ts);
  }
}

void end_episode(EpisodeCtx& x, Episode& ep, const Entity& ent, uint64_t now, bool force) {
  if (!ep.active) return;
  if (!force && now <= ep.last_seen + uint64_t(ep.idle_s) * 1000000000ull) return;
  Evidence ev{};
  ev.window_s = ep.idle_s;
  Entity e = ent;
  e.proto = ep.proto;
  emit_alert(x, ep, e, kStageEnd, ev, ep.last_seen);
  ep.active = 0;
}

}  // namespace spectre::behave
