#include "dataplane/core/stats.h"

#include <iterator>

#include "dataplane/events/eve.h"

namespace spectre {

namespace {
template <typename T>
void add(T& acc, const T& v) {
  uint64_t* a = reinterpret_cast<uint64_t*>(&acc);
  const uint64_t* b = reinterpret_cast<const uint64_t*>(&v);
  for (size_t i = 0; i < sizeof(T) / 8; i++) a[i] += b[i];
}
}  // namespace

Totals collect(const std::vector<WorkerCtx*>& workers) {
  Totals t;
  uint64_t loop_max = 0;
  for (const WorkerCtx* w : workers) {
    WorkerCounters c = relaxed_copy(w->ctr);
    add(t.w, c);
    if (c.loop_max_ns > loop_max) loop_max = c.loop_max_ns;
    add(t.frag, relaxed_copy(w->defrag.counters));
    add(t.insp, relaxed_copy(w->insp.ctr));
    add(t.stream, relaxed_copy(w->insp.stream_ctr));
    add(t.app, relaxed_copy(w->insp.app.ctr));
    add(t.det, relaxed_copy(w->insp.det.ctr));
    add(t.ml, relaxed_copy(w->ml->ctr));
    t.ml_host_evictions += w->ml->hosts.evictions();
    if (w->behave) add(t.behave, relaxed_copy(w->behave->eng.ctr));
    if (w->intel) add(t.intel, relaxed_copy(w->intel->ctr));
    t.worker_pkts.push_back(c.dec.pkts);
    add(t.yara, relaxed_copy(w->insp.yara->sc.ctr));
  }
  t.w.loop_max_ns = loop_max;  // a maximum, not a sum
  return t;
}

void format_stats_event(fmt::memory_buffer& out, const Totals& t, const IoCounters& io,
                        uint64_t ts_ns, double uptime_s) {
  auto o = std::back_inserter(out);
  const DecodeCounters& d = t.w.dec;
  out.append(std::string_view("{\"timestamp\":\""));
  format_ts(out, ts_ns);
  fmt::format_to(o, "\",\"event_type\":\"stats\",\"stats\":{{\"uptime\":{}", uint64_t(uptime_s));
  fmt::format_to(o, ",\"capture\":{{\"kernel_packets\":{},\"kernel_drops\":{},\"errors\":{},"
                    "\"rx_nombuf\":{},\"dist_ring_full\":{},\"input_errors\":{},\"oversize\":{}}}",
                 io.port_ipackets.load(), io.port_imissed.load(), io.port_ierrors.load(),
                 io.port_rx_nombuf.load(), io.dist_ring_full.load(), io.input_errors.load(),
                 io.oversize.load());
  fmt::format_to(o, ",\"decoder\":{{\"pkts\":{},\"bytes\":{},\"invalid\":{},\"ethernet\":{},"
                    "\"vlan\":{},\"vlan_qinq\":{},\"ipv4\":{},\"ipv6\":{},\"tcp\":{},\"udp\":{},"
                    "\"icmpv4\":{},\"icmpv6\":{},\"other_ip\":{},\"not_ip\":{},"
                    "\"ipv4_frags\":{},\"ipv6_frags\":{}",
                 d.pkts, d.bytes, d.malformed_total, d.ethernet, d.vlan, d.vlan_qinq, d.ipv4,
                 d.ipv6, d.tcp, d.udp, d.icmpv4, d.icmpv6, d.other_ip, d.not_ip, d.ipv4_frags,
                 d.ipv6_frags);
  fmt::format_to(o, ",\"sctp\":{},\"arp\":{},\"ppp\":{},\"pppoe\":{},\"chdlc\":{},\"gre\":{},\"erspan\":{},"
                    "\"vxlan\":{},\"geneve\":{},\"teredo\":{},\"ipv4_in_ipv4\":{},\"ipv6_in_ipv4\":{},"
                    "\"ipv4_in_ipv6\":{},\"ipv6_in_ipv6\":{},\"event\":{{",
                 d.sctp, d.arp, d.ppp, d.pppoe, d.chdlc, d.gre, d.erspan, d.vxlan, d.geneve, d.teredo,
                 d.ipv4_in_ipv4, d.ipv6_in_ipv4, d.ipv4_in_ipv6, d.ipv6_in_ipv6);
  for (int i = 0; i < kMalformedCount; i++)
    fmt::format_to(o, "{}\"{}\":{}", i ? "," : "", malformed_name(Malformed(i)), d.malformed[i]);
  fmt::format_to(o, "}}}},\"defrag\":{{\"fragments\":{},\"reassembled\":{},\"timeouts\":{},"
                    "\"evicted\":{},\"max_frags_hit\":{},\"conflicts\":{}}}",
                 t.frag.fragments, t.frag.reassembled, t.frag.timeouts, t.frag.evicted,
                 t.frag.too_many_frags, t.frag.conflicts);
  const FlowTableCounters& f = t.w.flow;
  fmt::format_to(o, ",\"flow\":{{\"created\":{},\"ended\":{},\"active\":{},\"timeout\":{},"
                    "\"forced\":{},\"shutdown\":{},\"evicted\":{},\"insert_failed\":{}}}",
                 f.created, f.ended_timeout + f.ended_forced + f.ended_shutdown, f.active,
                 f.ended_timeout, f.ended_forced, f.ended_shutdown, f.evicted,
                 t.w.flow_insert_failed);
  fmt::format_to(o, ",\"events\":{{\"dropped\":{},\"waited\":{}}},\"workers\":[", t.w.events_dropped,
                 t.w.events_waited);
  for (size_t i = 0; i < t.worker_pkts.size(); i++)
    fmt::format_to(o, "{}{}", i ? "," : "", t.worker_pkts[i]);
  fmt::format_to(o, "],\"reloads\":{},\"reload_errors\":{},\"rule_reloads\":{}", io.reloads.load(),
                 io.reload_errors.load(), io.rule_reloads.load());
  fmt::format_to(o, ",\"loop\":{{\"max_us\":{:.1f},\"hist_log2_us\":[", double(t.w.loop_max_ns) / 1e3);
  for (int i = 0; i < kLoopBuckets; i++) fmt::format_to(o, "{}{}", i ? "," : "", t.w.loop_hist[i]);
  out.append(std::string_view("]}"));
  const StreamCounters& st = t.stream;
  fmt::format_to(o, ",\"stream\":{{\"segments\":{},\"bytes\":{},\"ooo_segments\":{},\"retransmits\":{},"
                    "\"overlap_diff\":{},\"gaps\":{},\"gap_bytes\":{},\"ooo_limit_gaps\":{},"
                    "\"depth_reached\":{},\"pool_empty\":{},\"sessions_full\":{}}}",
                 st.segments, st.bytes_delivered, st.ooo_segments, st.retransmits, st.overlap_diff, st.gaps,
                 st.gap_bytes, st.ooo_limit_gaps, st.depth_reached, st.pool_empty, t.insp.sessions_full);
  const AppCounters& a = t.app;
  fmt::format_to(o, ",\"app_layer\":{{\"flow\":{{\"http\":{},\"dns\":{},\"tls\":{},\"failed\":{}}},"
                    "\"tx\":{{\"http_requests\":{},\"http_responses\":{},\"dns_queries\":{},"
                    "\"dns_answers\":{},\"tls_client_hellos\":{},\"tls_server_hellos\":{}}},"
                    "\"parse_errors\":{},\"tx_pool_empty\":{},\"truncated\":{},\"eve_events\":{},"
                    "\"http_decompressed\":{},\"http_decompress_cut\":{},\"http_decompress_errors\":{},"
                    "\"http_decompress_pool_empty\":{},\"tls_certificates\":{},\"tls_cert_truncated\":{},"
                    "\"tls_cert_errors\":{},\"file_hash_pool_empty\":{}",
                 a.detected[1], a.detected[2], a.detected[3], a.detected[4], a.http_requests,
                 a.http_responses, a.dns_queries, a.dns_answers, a.tls_client_hellos, a.tls_server_hellos,
                 a.parse_errors, a.tx_pool_empty, a.truncated, t.insp.app_events, a.http_decompressed,
                 a.http_decompress_cut, a.http_decompress_errors, a.http_decompress_pool_empty,
                 a.tls_certificates, a.tls_cert_truncated, a.tls_cert_errors, a.file_hash_pool_empty);
  fmt::format_to(o, ",\"mail_ftp\":{{\"smtp_flows\":{},\"ftp_flows\":{},\"ftp_data_flows\":{},\"smb_flows\":{},"
                    "\"smtp_mails\":{},\"smtp_attachments\":{},\"ftp_commands\":{},\"ftp_expect_full\":{},"
                    "\"ftp_bounces\":{}}}",
                 a.detected[int(rules::AppProto::kSmtp)], a.detected[int(rules::AppProto::kFtp)],
                 a.detected[int(rules::AppProto::kFtpData)], a.detected[int(rules::AppProto::kSmb)], a.smtp_mails,
                 a.smtp_attachments, a.ftp_commands, a.ftp_expect_full, a.ftp_bounces);
  fmt::format_to(o, ",\"quic\":{{\"flows\":{},\"initials_decrypted\":{},\"decrypt_errors\":{},\"hellos\":{}}}"
                    ",\"sip\":{{\"flows\":{},\"requests\":{},\"responses\":{}}}",
                 a.detected[int(rules::AppProto::kQuic)], a.quic_initials, a.quic_decrypt_errors, a.quic_hellos,
                 a.detected[int(rules::AppProto::kSip)], a.sip_requests, a.sip_responses);
  fmt::format_to(o, ",\"ssh\":{{\"flows\":{},\"banners\":{},\"kexinits\":{},\"kex_skipped\":{}}}",
                 a.detected[int(rules::AppProto::kSsh)], a.ssh_banners, a.ssh_kexinits, a.ssh_kex_skipped);
  fmt::format_to(o, ",\"mqtt\":{{\"flows\":{},\"messages\":{},\"malformed\":{},\"truncated\":{}}}",
                 a.detected[int(rules::AppProto::kMqtt)], a.mqtt_messages, a.mqtt_malformed, a.mqtt_truncated);
  fmt::format_to(o, ",\"krb5\":{{\"flows\":{},\"messages\":{},\"malformed\":{},\"too_large\":{},"
                    "\"malformed_data_events\":{}}}",
                 a.detected[int(rules::AppProto::kKrb5)], a.krb5_messages, a.krb5_malformed, a.krb5_too_large,
                 a.krb5_malformed_events);
  fmt::format_to(o, ",\"smb\":{{\"flows\":{},\"messages\":{},\"malformed\":{},\"encrypted\":{},"
                    "\"unpaired\":{},\"pair_full\":{},\"files\":{},\"files_truncated\":{},\"no_context\":{},"
                    "\"file_table_full\":{},\"file_reads_full\":{},\"file_busy\":{}}}"
                    ",\"dcerpc\":{{\"flows\":{},\"pdus\":{},\"malformed\":{},\"stub_cut\":{},\"pend_full\":{},"
                    "\"calls_dropped\":{}}}",
                 a.detected[int(rules::AppProto::kSmb)], a.smb_messages, a.smb_malformed, a.smb_encrypted,
                 a.smb_unpaired, a.smb_pair_full, a.smb_files, a.smb_file_truncated, a.smb_no_ctx,
                 a.smb_file_table_full, a.smb_file_reads_full, a.smb_file_busy,
                 a.detected[int(rules::AppProto::kDcerpc)], a.dcerpc_pdus, a.dcerpc_malformed, a.dcerpc_stub_cut,
                 a.dcerpc_pend_full, a.dcerpc_calls_dropped);
  fmt::format_to(o, ",\"http2\":{{\"flows\":{},\"frames\":{},\"streams\":{},\"streams_evicted\":{},"
                    "\"streams_refused\":{},\"malformed\":{},\"hpack_errors\":{},\"no_context\":{},\"reclaimed\":{}}}}}",
                 a.detected[int(rules::AppProto::kHttp2)], a.http2_frames, a.http2_streams, a.http2_streams_evicted,
                 a.http2_streams_refused, a.http2_malformed, a.http2_hpack_errors, a.http2_no_ctx, a.http2_reclaimed);
  const DetectCounters& dc = t.det;
  fmt::format_to(o, ",\"detect\":{{\"alerts\":{},\"alerts_dropped\":{},\"inspected\":{},"
                    "\"prefilter_hits\":{},\"rules_evaluated\":{},\"suppressed_threshold\":{},"
                    "\"suppressed_pass\":{},\"checksum_invalid\":{},\"suppressed_config\":{},"
                    "\"rate_filtered\":{},\"threshold_evicted\":{},\"xbits_full\":{},\"flowint_full\":{},"
                    "\"dataset_full\":{}}}",
                 t.det.alerts, t.insp.alerts_dropped, dc.inspected, dc.prefilter_hits, dc.rules_evaluated,
                 dc.suppressed_threshold, dc.suppressed_pass, t.insp.checksum_invalid, dc.suppressed_config,
                 dc.rate_filtered, dc.threshold_table_full, dc.xbits_full, dc.flowint_full, dc.dataset_full);
  fmt::format_to(o, ",\"ml\":{{\"rows\":{},\"scored\":{},\"alerts\":{},\"dumped\":{},"
                    "\"host_evictions\":{},\"guard\":{{\"scored\":{},\"vetoed\":{}}},"
                    "\"below_min_payload\":{},\"shadow\":{{\"scored\":{},\"alerts\":{},\"agree\":{}}}}}",
                 t.ml.rows, t.ml.scored, t.ml.alerts, t.ml.dumped, t.ml_host_evictions, t.ml.guarded,
                 t.ml.guard_vetoed, t.ml.below_min_payload, t.ml.shadow_scored, t.ml.shadow_alerts,
                 t.ml.shadow_agree);
  const behave::Counters& b = t.behave;
  fmt::format_to(o, ",\"behaviour\":{{\"summaries\":{},\"alerts\":{},\"episodes\":{},\"evictions\":{},"
                    "\"mailbox_drops\":{}}}",
                 b.summaries, b.alerts, b.episodes, b.evictions, b.mailbox_drops);
  const yara::Counters& yc = t.yara;
  fmt::format_to(o, ",\"yara\":{{\"files\":{},\"bytes\":{},\"cut\":{},\"hits\":{},\"errors\":{},\"timeouts\":{},"
                    "\"scanners\":{}}}",
                 yc.files, yc.bytes, yc.cut, yc.hits, yc.errors, yc.timeouts, yc.scanners);
  const intel::Counters& ic = t.intel;
  out.append(std::string_view(",\"intel\":{\"hits\":{"));
  for (size_t i = 0; i < size_t(intel::Type::kCount); i++)
    fmt::format_to(o, "{}\"{}\":{}", i ? "," : "", intel::type_name(intel::Type(i)), ic.hits[i]);
  fmt::format_to(o, "}},\"expired\":{},\"repeats\":{},\"lookups\":{},\"feeds\":{}}}}}}}\n", ic.expired, ic.repeats,
                 ic.lookups, io.get_intel_feeds());
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
