#include "dataplane/core/stats.h"

#include <algorithm>
#include <iterator>
#include <string_view>

#include "dataplane/events/eve.h"

namespace spectre {

void add_totals(Totals& t, const Totals& v) {
#define SPECTRE_ADD_ONE(f, path, kind, help) \
  acc.f = CounterKind::kind == CounterKind::kMax ? std::max(acc.f, src.f) : acc.f + src.f;
#define SPECTRE_ADD_GROUP(list, member) \
  {                                     \
    auto& acc = t.member;               \
    const auto& src = v.member;         \
    list(SPECTRE_ADD_ONE)               \
  }
  SPECTRE_WORKER_COUNTER_GROUPS(SPECTRE_ADD_GROUP)
#undef SPECTRE_ADD_GROUP
#undef SPECTRE_ADD_ONE
  auto add_array = [](auto& a, const auto& b) {
    for (size_t i = 0; i < std::size(a); i++) a[i] += b[i];
  };
  add_array(t.w.dec.malformed, v.w.dec.malformed);
  add_array(t.w.loop_hist, v.w.loop_hist);
  add_array(t.app.detected, v.app.detected);
  add_array(t.ml.model_lat_hist, v.ml.model_lat_hist);
  add_array(t.intel.hits, v.intel.hits);
  t.ml_host_evictions += v.ml_host_evictions;
}

namespace {

// One value of the stats event: `key` in the object at dotted `obj` (keys
// may hold dots, e.g. decoder events).
struct StatItem {
  std::string_view obj, key;
  enum Kind : uint8_t { kU64, kUs, kArray, kRaw } kind = kU64;
  uint64_t v = 0;                  // kU64; kUs: ns written as us
  const uint64_t* arr = nullptr;   // kArray
  size_t n = 0;
  std::string_view raw;            // kRaw: JSON as it is
};

// Writes the members of the object at `obj`, in order of first appearance.
void write_object(fmt::memory_buffer& out, const std::vector<StatItem>& items, std::string_view obj) {
  auto o = std::back_inserter(out);
  std::vector<std::string_view> done;  // child objects written
  for (const StatItem& it : items) {
    std::string_view rest = it.obj;  // it.obj below obj: the part after "obj."
    if (!obj.empty()) {
      if (rest.substr(0, obj.size()) != obj || (rest.size() > obj.size() && rest[obj.size()] != '.')) continue;
      rest.remove_prefix(std::min(rest.size(), obj.size() + 1));
    }
    std::string_view child = rest.substr(0, rest.find('.'));
    if (!rest.empty() && std::find(done.begin(), done.end(), child) != done.end()) continue;
    out.append(std::string_view(out[out.size() - 1] == '{' ? "\"" : ",\""));  // the first member follows '{'
    if (!rest.empty()) {
      done.push_back(child);
      out.append(child);
      out.append(std::string_view("\":{"));
      write_object(out, items, it.obj.substr(0, it.obj.size() - rest.size() + child.size()));
      out.push_back('}');
      continue;
    }
    out.append(it.key);
    out.append(std::string_view("\":"));
    switch (it.kind) {
      case StatItem::kU64: fmt::format_to(o, "{}", it.v); break;
      case StatItem::kUs: fmt::format_to(o, "{:.1f}", double(it.v) / 1e3); break;
      case StatItem::kRaw: out.append(it.raw); break;
      case StatItem::kArray:
        out.push_back('[');
        for (size_t i = 0; i < it.n; i++) fmt::format_to(o, "{}{}", i ? "," : "", it.arr[i]);
        out.push_back(']');
        break;
    }
  }
}

// Flows by protocol (AppCounters::detected[]): where Suricata's layout puts them.
struct DetectedPath {
  rules::AppProto proto;
  std::string_view obj, key;
};
constexpr DetectedPath kDetectedPaths[] = {
    {rules::AppProto::kHttp, "app_layer.flow", "http"},
    {rules::AppProto::kDns, "app_layer.flow", "dns"},
    {rules::AppProto::kTls, "app_layer.flow", "tls"},
    {rules::AppProto::kFailed, "app_layer.flow", "failed"},
    {rules::AppProto::kSmtp, "app_layer.mail_ftp", "smtp_flows"},
    {rules::AppProto::kFtp, "app_layer.mail_ftp", "ftp_flows"},
    {rules::AppProto::kFtpData, "app_layer.mail_ftp", "ftp_data_flows"},
    {rules::AppProto::kSmb, "app_layer.mail_ftp", "smb_flows"},
    {rules::AppProto::kQuic, "app_layer.quic", "flows"},
    {rules::AppProto::kSip, "app_layer.sip", "flows"},
    {rules::AppProto::kSsh, "app_layer.ssh", "flows"},
    {rules::AppProto::kMqtt, "app_layer.mqtt", "flows"},
    {rules::AppProto::kKrb5, "app_layer.krb5", "flows"},
    {rules::AppProto::kSmb, "app_layer.smb", "flows"},
    {rules::AppProto::kDcerpc, "app_layer.dcerpc", "flows"},
    {rules::AppProto::kHttp2, "app_layer.http2", "flows"},
};

// "a.b.c" as object "a.b", key "c".
StatItem list_item(const char* path, uint64_t v) {
  std::string_view p(path);
  size_t dot = p.rfind('.');
  StatItem it;
  it.obj = dot == std::string_view::npos ? std::string_view() : p.substr(0, dot);
  it.key = dot == std::string_view::npos ? p : p.substr(dot + 1);
  it.v = v;
  return it;
}

}  // namespace

Totals snapshot(const WorkerCtx& w) {
  Totals t;
  t.w = relaxed_copy(w.ctr);
  t.frag = relaxed_copy(w.defrag.counters);
  t.insp = relaxed_copy(w.insp.ctr);
  t.stream = relaxed_copy(w.insp.stream_ctr);
  t.app = relaxed_copy(w.insp.app.ctr);
  t.det = relaxed_copy(w.insp.det.ctr);
  t.ml = relaxed_copy(w.ml->ctr);
  t.ml_host_evictions = w.ml->hosts.evictions();
  if (w.behave) t.behave = relaxed_copy(w.behave->eng.ctr);
  if (w.intel) t.intel = relaxed_copy(w.intel->ctr);
  t.yara = relaxed_copy(w.insp.yara->sc.ctr);
  t.worker_pkts.push_back(t.w.dec.pkts);
  return t;
}

Totals collect(const std::vector<WorkerCtx*>& workers) {
  Totals t;
  for (const WorkerCtx* w : workers) {
    Totals s = snapshot(*w);
    add_totals(t, s);
    t.worker_pkts.push_back(s.w.dec.pkts);
  }
  return t;
}

void worker_counter_values(const Totals& t, uint64_t* out) {
  size_t n = 0;
#define SPECTRE_VALUE_ONE(f, path, kind, help) out[n++] = src.f;
#define SPECTRE_VALUE_GROUP(list, member) \
  {                                       \
    const auto& src = t.member;           \
    list(SPECTRE_VALUE_ONE)               \
  }
  SPECTRE_WORKER_COUNTER_GROUPS(SPECTRE_VALUE_GROUP)
#undef SPECTRE_VALUE_GROUP
#undef SPECTRE_VALUE_ONE
}

void io_counter_values(const IoCounters& io, uint64_t* out) {
  size_t n = 0;
#define SPECTRE_IO_VALUE(f, path, kind, help) out[n++] = io.f.load(std::memory_order_relaxed);
  SPECTRE_IO_COUNTERS(SPECTRE_IO_VALUE)
#undef SPECTRE_IO_VALUE
}

// Every listed counter at its path (Suricata's layout: stats.decoder.*,
// stats.flow.*, ...), plus the arrays and derived values written here. Keys
// come in order of first appearance: the main thread's, the lists', the rest.
void format_stats_event(fmt::memory_buffer& out, const Totals& t, const IoCounters& io,
                        uint64_t ts_ns, double uptime_s) {
  uint64_t wv[kWorkerCounterCount], iov[kIoCounterCount];
  worker_counter_values(t, wv);
  io_counter_values(io, iov);
  std::vector<StatItem> items;
  items.reserve(kWorkerCounterCount + kIoCounterCount + kMalformedCount + 64);
  auto add_u64 = [&](std::string_view obj, std::string_view key, uint64_t v) {
    StatItem it;
    it.obj = obj, it.key = key, it.v = v;
    items.push_back(it);
  };
  add_u64("", "uptime", uint64_t(uptime_s));
  for (size_t i = 0; i < kIoCounterCount; i++) items.push_back(list_item(kIoCounters[i].path, iov[i]));
  for (size_t i = 0; i < kWorkerCounterCount; i++) items.push_back(list_item(kWorkerCounters[i].path, wv[i]));
  for (const DetectedPath& d : kDetectedPaths) add_u64(d.obj, d.key, t.app.detected[int(d.proto)]);
  for (int i = 0; i < kMalformedCount; i++) add_u64("decoder.event", malformed_name(Malformed(i)), t.w.dec.malformed[i]);
  const FlowTableCounters& f = t.w.flow;
  add_u64("flow", "ended", f.ended_timeout + f.ended_forced + f.ended_shutdown);
  StatItem workers;
  workers.obj = "", workers.key = "workers", workers.kind = StatItem::kArray;
  workers.arr = t.worker_pkts.data(), workers.n = t.worker_pkts.size();
  items.push_back(workers);
  StatItem max_us = list_item("loop.max_us", t.w.loop_max_ns);
  max_us.kind = StatItem::kUs;
  items.push_back(max_us);
  StatItem hist = list_item("loop.hist_log2_us", 0);
  hist.kind = StatItem::kArray, hist.arr = t.w.loop_hist, hist.n = kLoopBuckets;
  items.push_back(hist);
  add_u64("ml", "host_evictions", t.ml_host_evictions);
  for (size_t i = 0; i < size_t(intel::Type::kCount); i++)
    add_u64("intel.hits", intel::type_name(intel::Type(i)), t.intel.hits[i]);
  std::string feeds = io.get_intel_feeds();
  StatItem fi = list_item("intel.feeds", 0);
  fi.kind = StatItem::kRaw, fi.raw = feeds;
  items.push_back(fi);

  out.append(std::string_view("{\"timestamp\":\""));
  format_ts(out, ts_ns);
  out.append(std::string_view("\",\"event_type\":\"stats\",\"stats\":{"));
  write_object(out, items, "");
  out.append(std::string_view("}}\n"));
}

void print_summary(FILE* f, const Totals& t, const IoCounters& io, double wall_s) {
  const DecodeCounters& d = t.w.dec;
  double pps = wall_s > 0 ? double(d.pkts) / wall_s : 0;
  fmt::print(f, "spectre-dp: {} packets, {} bytes in {:.3f} s ({:.3f} Mpps, {:.3f} Gbit/s)\n",
             d.pkts, d.bytes, wall_s, pps / 1e6, wall_s > 0 ? double(d.bytes) * 8 / wall_s / 1e9 : 0);
  fmt::print(f, "  workers:");
  for (size_t i = 0; i < t.worker_pkts.size(); i++)
    fmt::print(f, " [{}] {} ({:.1f}%)", i, t.worker_pkts[i],
               d.pkts ? 100.0 * double(t.worker_pkts[i]) / double(d.pkts) : 0.0);
  fmt::print(f, "\n  decoded: ipv4 {} ipv6 {} tcp {} udp {} icmp {} other-ip {} non-ip {} fragments {} reassembled {}\n",
             d.ipv4, d.ipv6, d.tcp, d.udp, d.icmpv4 + d.icmpv6, d.other_ip, d.not_ip,
             d.ipv4_frags + d.ipv6_frags, t.frag.reassembled);
  fmt::print(f, "  drops: port imissed {} ierrors {} rx_nombuf {}, distributor ring full {}, "
                "events dropped {}, flow insert failed {}, defrag timeouts {} evicted {} max-frags {}\n",
             io.port_imissed.load(), io.port_ierrors.load(), io.port_rx_nombuf.load(),
             io.dist_ring_full.load(), t.w.events_dropped, t.w.flow_insert_failed, t.frag.timeouts,
             t.frag.evicted, t.frag.too_many_frags);
  if (d.gre + d.vxlan + d.geneve + d.teredo + d.ipv4_in_ipv4 + d.ipv6_in_ipv4 + d.ipv4_in_ipv6 + d.ipv6_in_ipv6 +
      d.pppoe + d.ppp + d.chdlc + d.sctp)
    fmt::print(f, "  encapsulated: gre {} (erspan {}) vxlan {} geneve {} teredo {} ip-in-ip {} pppoe {} ppp {} "
                  "chdlc {}; sctp {}\n", d.gre, d.erspan, d.vxlan, d.geneve, d.teredo,
               d.ipv4_in_ipv4 + d.ipv6_in_ipv4 + d.ipv4_in_ipv6 + d.ipv6_in_ipv6, d.pppoe, d.ppp, d.chdlc, d.sctp);
  fmt::print(f, "  malformed: {}", d.malformed_total);
  for (int i = 0; i < kMalformedCount; i++)
    if (d.malformed[i]) fmt::print(f, " {}={}", malformed_name(Malformed(i)), d.malformed[i]);
  const FlowTableCounters& fl = t.w.flow;
  fmt::print(f, "\n  flows: created {} ended {} (timeout {} forced {} shutdown {}) evicted {}\n",
             fl.created, fl.ended_timeout + fl.ended_forced + fl.ended_shutdown, fl.ended_timeout,
             fl.ended_forced, fl.ended_shutdown, fl.evicted);
  if (io.input_errors.load() || io.oversize.load())
    fmt::print(f, "  input: {} capture read errors, {} oversize frames\n", io.input_errors.load(),
               io.oversize.load());
  if (t.stream.segments || t.app.detected[1] + t.app.detected[2] + t.app.detected[3])
    fmt::print(f, "  stream: {} segments, {} bytes, {} out of order, {} gaps, {} overlaps with other data; "
                  "app: http {} dns {} tls {} flows\n",
               t.stream.segments, t.stream.bytes_delivered, t.stream.ooo_segments, t.stream.gaps,
               t.stream.overlap_diff, t.app.detected[1], t.app.detected[2], t.app.detected[3]);
  if (t.app.detected[int(rules::AppProto::kSmtp)] + t.app.detected[int(rules::AppProto::kFtp)] +
      t.app.detected[int(rules::AppProto::kSmb)])
    fmt::print(f, "  app: smtp {} ftp {} ftp-data {} smb {} flows; {} mails, {} attachments, {} ftp commands\n",
               t.app.detected[int(rules::AppProto::kSmtp)], t.app.detected[int(rules::AppProto::kFtp)],
               t.app.detected[int(rules::AppProto::kFtpData)], t.app.detected[int(rules::AppProto::kSmb)],
               t.app.smtp_mails, t.app.smtp_attachments, t.app.ftp_commands);
  if (t.app.detected[int(rules::AppProto::kQuic)])
    fmt::print(f, "  app: quic {} flows; {} Initial packets decrypted, {} not (bad tag, unknown frame), {} hellos\n",
               t.app.detected[int(rules::AppProto::kQuic)], t.app.quic_initials, t.app.quic_decrypt_errors,
               t.app.quic_hellos);
  if (t.app.detected[int(rules::AppProto::kSip)])
    fmt::print(f, "  app: sip {} flows; {} requests, {} responses\n", t.app.detected[int(rules::AppProto::kSip)],
               t.app.sip_requests, t.app.sip_responses);
  if (t.app.detected[int(rules::AppProto::kMqtt)])
    fmt::print(f, "  app: mqtt {} flows; {} messages, {} malformed, {} cut at the buffer\n",
               t.app.detected[int(rules::AppProto::kMqtt)], t.app.mqtt_messages, t.app.mqtt_malformed,
               t.app.mqtt_truncated);
  if (t.app.detected[int(rules::AppProto::kKrb5)])
    fmt::print(f, "  app: krb5 {} flows; {} messages, {} malformed, {} records over the buffer\n",
               t.app.detected[int(rules::AppProto::kKrb5)], t.app.krb5_messages, t.app.krb5_malformed,
               t.app.krb5_too_large);
  if (t.app.detected[int(rules::AppProto::kSmb)] + t.app.detected[int(rules::AppProto::kDcerpc)])
    fmt::print(f, "  app: smb {} flows, dcerpc {} flows; {} smb messages ({} malformed, {} encrypted), {} dcerpc PDUs "
                  "({} malformed, {} stubs cut)\n",
               t.app.detected[int(rules::AppProto::kSmb)], t.app.detected[int(rules::AppProto::kDcerpc)],
               t.app.smb_messages, t.app.smb_malformed, t.app.smb_encrypted, t.app.dcerpc_pdus, t.app.dcerpc_malformed,
               t.app.dcerpc_stub_cut);
  if (t.app.detected[int(rules::AppProto::kHttp2)])
    fmt::print(f, "  app: http2 {} flows; {} frames, {} streams ({} finished early, {} not tracked), "
                  "{} malformed frames, "
                  "{} header blocks not decoded, {} flows without a context, {} contexts taken from idle flows\n",
               t.app.detected[int(rules::AppProto::kHttp2)], t.app.http2_frames, t.app.http2_streams,
               t.app.http2_streams_evicted, t.app.http2_streams_refused, t.app.http2_malformed, t.app.http2_hpack_errors, t.app.http2_no_ctx,
               t.app.http2_reclaimed);
  if (t.det.alerts || t.det.inspected)
    fmt::print(f, "  alerts: {} ({} dropped, {} suppressed by thresholds)\n", t.det.alerts,
               t.insp.alerts_dropped, t.det.suppressed_threshold);
  if (t.ml.rows || t.ml.below_min_payload)
    fmt::print(f, "  ml: {} rows at scoring points, {} scored, {} alerts, {} dumped, guard scored {} vetoed {}, "
                  "{} points below the model's min payload\n",
               t.ml.rows, t.ml.scored, t.ml.alerts, t.ml.dumped, t.ml.guarded, t.ml.guard_vetoed,
               t.ml.below_min_payload);
  if (t.behave.summaries)
    fmt::print(f, "  behaviour: {} summaries, {} alerts, {} episodes, {} evictions, {} mailbox drops\n",
               t.behave.summaries, t.behave.alerts, t.behave.episodes, t.behave.evictions, t.behave.mailbox_drops);
  uint64_t ih = 0;
  for (uint64_t h : t.intel.hits) ih += h;
  if (ih || t.intel.expired)
    fmt::print(f, "  intel: {} alerts (ip {} domain {} url {} ja3 {} x509 {}), {} expired indicators matched, {} lookups\n",
               ih, t.intel.hits[0], t.intel.hits[1], t.intel.hits[2], t.intel.hits[3], t.intel.hits[4],
               t.intel.expired, t.intel.lookups);
  if (t.yara.files || t.yara.errors)
    fmt::print(f, "  yara: {} files scanned ({} bytes, {} cut at max_file_size), {} matching rules, {} errors, "
                  "{} timeouts\n",
               t.yara.files, t.yara.bytes, t.yara.cut, t.yara.hits, t.yara.errors, t.yara.timeouts);
  if (d.pkts)
    fmt::print(f, "  cycles/packet: decode {:.1f} flow {:.1f} inspect {:.1f} (detect {:.1f}) ml {:.1f} behaviour {:.1f} "
                  "output {:.1f}\n",
               double(t.w.cyc_decode) / double(d.pkts), double(t.w.cyc_flow) / double(d.pkts),
               double(t.insp.cyc_inspect) / double(d.pkts), double(t.insp.cyc_detect) / double(d.pkts),
               double(t.ml.cyc_ml) / double(d.pkts), double(t.behave.cyc_behave) / double(d.pkts),
               double(t.w.cyc_output) / double(d.pkts));
}

}  // namespace spectre
