#include "dataplane/intel/stage.h"

#include <cstring>
#include <iterator>

#include <fmt/format.h>

#include "dataplane/core/fixed_str.h"
#include "dataplane/core/inspect.h"
#include "dataplane/core/snapshot.h"
#include "dataplane/core/worker.h"

namespace spectre {

namespace intel {

Ctx::Ctx(uint32_t slots) : seen(new Seen[slots]()), mask(slots - 1) {}

bool Ctx::first_time(uint64_t flow, uint64_t ident) {
  uint64_t h = (flow ^ (ident * 0x9e3779b97f4a7c15ull)) * 0xc4ceb9fe1a85ec53ull;
  Seen* s = &seen[(h >> 32) & mask & ~1u];
  if ((s[0].flow == flow && s[0].ident == ident) || (s[1].flow == flow && s[1].ident == ident)) return false;
  s[1] = s[0];
  s[0] = {flow, ident};
  return true;
}

}  // namespace intel

namespace {

using intel::Hits;
using intel::Indicator;

// ATT&CK per kind, in ET Open's metadata convention.
const char* mitre_json(intel::Kind k) {
  switch (k) {
    case intel::Kind::kC2:
      return "{\"mitre_tactic_id\":[\"TA0011\"],\"mitre_tactic_name\":[\"Command_And_Control\"],"
             "\"mitre_technique_id\":[\"T1071\"],\"mitre_technique_name\":[\"Application_Layer_Protocol\"]}";
    case intel::Kind::kMalwareDownload:
      return "{\"mitre_tactic_id\":[\"TA0011\"],\"mitre_tactic_name\":[\"Command_And_Control\"],"
             "\"mitre_technique_id\":[\"T1105\"],\"mitre_technique_name\":[\"Ingress_Tool_Transfer\"]}";
    case intel::Kind::kPhishing:
      return "{\"mitre_tactic_id\":[\"TA0001\"],\"mitre_tactic_name\":[\"Initial_Access\"],"
             "\"mitre_technique_id\":[\"T1566\"],\"mitre_technique_name\":[\"Phishing\"]}";
    case intel::Kind::kScanner:
      return "{\"mitre_tactic_id\":[\"TA0043\"],\"mitre_tactic_name\":[\"Reconnaissance\"],"
             "\"mitre_technique_id\":[\"T1595\"],\"mitre_technique_name\":[\"Active_Scanning\"]}";
    default: return "";
  }
}

// The tags as a JSON array, cut at a tag boundary to fit `cap`.
void tags_json(const Indicator& i, char* out, size_t cap) {
  fmt::memory_buffer b;
  b.push_back('[');
  for (const auto& t : i.tags) {
    fmt::memory_buffer one;
    if (b.size() > 1) one.push_back(',');
    one.push_back('"');
    for (char c : t) {
      if (c == '"' || c == '\\') one.push_back('\\');
      if (static_cast<unsigned char>(c) >= 0x20) one.push_back(c);
    }
    one.push_back('"');
    if (b.size() + one.size() + 2 > cap) break;
    b.append(one);
  }
  b.push_back(']');
  copy_str(out, cap, b.data(), b.size());
}

// One alert for indicator `k` on flow `f` (skipped if the flow had one for it).
void emit(WorkerCtx& w, const intel::IntelSet& set, uint32_t k, Flow& f, uint64_t ts, const char* where,
          const AppMeta* app) {
  intel::Ctx& c = *w.intel;
  const Indicator& i = set.at(k);
  if (!c.first_time(flow_id_of(f), i.ident)) {
    c.ctr.repeats++;
    return;
  }
  f.flags |= kFlowAlerted;
  AlertRecord* a = claim_alert_slot(w);
  if (!a) return;
  c.ctr.hits[size_t(i.type)]++;
  fill_flow_alert(*a, f, true, uint8_t(w.id), ts);
  a->has_app = app != nullptr;
  if (app) a->app = *app;
  a->action = uint8_t(rules::Action::kAlert);
  a->severity = i.confidence >= 80 ? 1 : i.confidence >= 50 ? 2 : 3;
  a->gid = intel::kGid;
  a->sid = 1 + uint32_t(i.type);
  a->rev = 1;
  auto r = fmt::format_to_n(a->msg, sizeof a->msg - 1, "intel: {} {} {}", i.threat.empty() ? "listed" : i.threat,
                            intel::type_name(i.type), i.value);
  *r.out = 0;
  copy_str(a->category, "Threat intelligence");
  copy_str(a->metadata, mitre_json(i.kind));
  a->has_intel = true;
  IntelAlertMeta& m = a->intel;
  copy_str(m.feed, i.feed);
  copy_str(m.indicator, i.value);
  copy_str(m.type, intel::type_name(i.type));
  copy_str(m.threat, i.threat);
  copy_str(m.match, where);
  tags_json(i, m.tags, sizeof m.tags);
  m.confidence = i.confidence;
  m.first_seen = i.first_seen;
  m.last_seen = i.last_seen;
  m.valid_until = i.valid_until ? i.valid_until : i.expires;
  w.insp.alerts.commit();
}

void report(WorkerCtx& w, const intel::IntelSet& set, const Hits& h, Flow& f, uint64_t ts, const char* where,
            const AppMeta* app) {
  w.intel->ctr.expired += h.expired;
  for (uint32_t k = 0; k < h.n; k++) emit(w, set, h.idx[k], f, ts, where, app);
}

}  // namespace

void intel_flow_start(WorkerCtx& w, const Snapshot& s, Flow& f, uint64_t ts) {
  const intel::IntelSet* set = s.intel.get();
  if (!set || !set->count(intel::Type::kIp)) return;
  FlowEnds e = flow_ends(f);
  Hits hs, hd;
  set->match_ip(e.src, f.key.ip_ver, ts, hs);
  set->match_ip(e.dst, f.key.ip_ver, ts, hd);
  w.intel->ctr.lookups += 2;
  if (hs.n | hs.expired) report(w, *set, hs, f, ts, "src_ip", nullptr);
  if (hd.n | hd.expired) report(w, *set, hd, f, ts, "dest_ip", nullptr);
}

void intel_app(WorkerCtx& w, Flow& f, bool to_server, const AppMeta& m, uint64_t ts) {
  const intel::IntelSet* set = w.snap ? w.snap->intel.get() : nullptr;
  if (!set) return;
  intel::Ctx& c = *w.intel;
  Hits h;
  switch (m.proto) {
    case rules::AppProto::kDns:
      if (!m.dns_rrname[0]) return;
      set->match_domain(m.dns_rrname, ts, h);
      c.ctr.lookups++;
      report(w, *set, h, f, ts, "dns.query", &m);
      return;
    case rules::AppProto::kTls: {
      if (!to_server) {  // the server's transaction: its certificate's SHA-1 (TLS <= 1.2)
        if (!m.tls_fingerprint[0]) return;
        set->match_cert_sha1(m.tls_fingerprint, ts, h);
        c.ctr.lookups++;
        report(w, *set, h, f, ts, "tls.fingerprint", &m);
        return;
      }
      if (m.tls_sni[0]) {
        set->match_domain(m.tls_sni, ts, h);
        report(w, *set, h, f, ts, "tls.sni", &m);
      }
      Hits j;
      if (m.ja3_hash[0]) set->match_ja3(m.ja3_hash, ts, j);
      c.ctr.lookups += 2;
      report(w, *set, j, f, ts, "tls.ja3", &m);
      return;
    }
    case rules::AppProto::kHttp2:  // a stream's request as HTTP's; frames alone carry no new host
      if (m.h2_ctrl) return;
      [[fallthrough]];
    case rules::AppProto::kHttp: {
      if (!to_server || !m.http_hostname[0]) return;
      std::string_view host(m.http_hostname);
      if (size_t p = host.rfind(':'); p != std::string_view::npos && host.find(']') == std::string_view::npos)
        host = host.substr(0, p);
      set->match_domain(host, ts, h);
      report(w, *set, h, f, ts, "http.hostname", &m);
      Hits u;
      set->match_http_url(m.http_hostname, m.http_url, ts, u);
      c.ctr.lookups += 2;
      report(w, *set, u, f, ts, "http.url", &m);
      return;
    }
    default: return;
  }
}

}  // namespace spectre
