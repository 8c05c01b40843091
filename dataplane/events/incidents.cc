#include "dataplane/events/incidents.h"

#include <cstring>

#include "dataplane/behave/config.h"
#include "dataplane/decode/packet.h"

namespace spectre {

void to_detection(const AlertRecord& a, cortex::Detection& d, std::string& tech, std::string& tactic) {
  using cortex::Kind;
  d = cortex::Detection{};
  d.ts_ns = a.ts_ns;
  d.flow_id = a.flow_id;
  d.kind = a.has_behave ? Kind::kBehaviour : a.has_ml ? Kind::kMl : a.has_intel ? Kind::kIntel : Kind::kSignature;
  d.ip_ver = a.ip_ver;
  d.proto = a.proto;
  d.severity = a.severity;
  std::memcpy(d.src, a.src, 16);
  std::memcpy(d.dst, a.dst, 16);
  d.sport = a.sport;
  d.dport = a.dport;
  d.gid = a.gid;
  d.sid = a.sid;
  d.msg = a.msg;
  d.category = a.category;
  tech.clear();
  tactic.clear();
  cortex::mitre_from_metadata(a.metadata, tech, tactic);
  d.technique_id = tech;
  d.tactic_id = tactic;
  // The shared normalisation (ctrlplane/cortex/detection.h): EVE input gives the same.
  d.confidence = cortex::signature_confidence(d.severity);
  if (a.has_ml) {
    d.ml_class = a.ml.cls;
    d.confidence = cortex::ml_confidence(a.ml.score, a.ml.anomaly);
  }
  if (a.has_behave) {
    d.detector = behave::detector_name(a.behave.detector);
    d.confidence = cortex::kBehaviourConfidence;
  }
  if (a.has_intel) {  // the feed's confidence; the indicator as evidence
    d.confidence = cortex::intel_confidence(a.intel.confidence);
    d.evidence = a.intel.indicator;
    d.feed = a.intel.feed;
    d.threat = a.intel.threat;
    d.attacker_side = cortex::intel_side(a.intel.match);
  }
  if (a.has_app) {
    d.dns = a.app.dns_rrname;
    d.sni = a.app.tls_sni;
    d.http_host = a.app.http_hostname;
    d.ja3 = a.app.ja3_hash;
  }
}

void to_detection(const FlowRecord& r, cortex::Detection& d) {
  d = cortex::Detection{};
  d.kind = cortex::Kind::kFlow;
  d.ts_ns = r.last_ts;
  d.flow_id = r.flow_id;
  d.ip_ver = r.ip_ver;
  d.proto = r.proto;
  std::memcpy(d.src, r.src, 16);
  std::memcpy(d.dst, r.dst, 16);
  d.sport = r.sport;
  d.dport = r.dport;
  d.duration_ns = r.last_ts - r.first_ts;
  d.bytes_out = r.bytes[0];
  d.bytes_in = r.bytes[1];
  // TCP: the server answered the SYN; other protocols: both directions seen.
  d.established = r.proto == 6 ? ((r.tcp_flags_tc & (kSyn | kAck)) == (kSyn | kAck))
                               : (r.flags & kFlowSeenToServer) && (r.flags & kFlowSeenToClient);
}

std::unique_ptr<IncidentHook> IncidentHook::create(const cortex::Config& c, std::string& err) {
  std::unique_ptr<IncidentHook> h(new IncidentHook);
  h->cx_ = cortex::Cortex::create(c, err);
  if (!h->cx_) return nullptr;
  h->cx_->set_sink([p = h.get()](std::string_view line) {
    p->lines_.append(line);
    p->lines_.push_back('\n');
  });
  return h;
}

void IncidentHook::on_alert(const AlertRecord& a) {
  // A behaviour episode's end alert only summarises its start and grow alerts.
  if (a.has_behave && a.behave.stage == 2) return;
  cortex::Detection d;
  to_detection(a, d, tech_, tactic_);
  cx_->ingest(d);
}

void IncidentHook::on_flow(const FlowRecord& r) {
  if (!cx_->wants_flows()) return;
  cortex::Detection d;
  to_detection(r, d);
  cx_->ingest(d);
}

void IncidentHook::finish() { cx_->finish(); }

bool IncidentHook::take(fmt::memory_buffer& out) {
  if (!lines_.size()) return false;
  out.append(std::string_view(lines_.data(), lines_.size()));
  lines_.clear();
  return true;
}

}  // namespace spectre
