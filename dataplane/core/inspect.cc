// rte_ipv{4,6}_udptcp_cksum_verify are still marked experimental in DPDK 22.11.
#define ALLOW_EXPERIMENTAL_API 1
#include "dataplane/core/inspect.h"

#include <algorithm>
#include <cstring>

#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_udp.h>
#include <rte_pause.h>

#include "dataplane/core/fixed_str.h"
#include "dataplane/core/snapshot.h"
#include "dataplane/core/worker.h"
#include "dataplane/stream/tcp_track.h"

namespace spectre {

InspectCtx::InspectCtx(uint16_t worker_id, const InspectConfig& c)
    : sessions(c.sessions), segs(c.segment_chunks), app(c.app), det(worker_id), alerts(c.alert_ring),
      window(new uint8_t[kStreamWindow + kWindowChunk]), outer(new OuterFlow[kOuterFlows]),
      yara(new yara::Ctx) {}

AlertRecord* claim_alert_slot(WorkerCtx& w) {
  InspectCtx& ic = w.insp;
  AlertRecord* a;
  while (!(a = ic.alerts.claim())) {
    if (!w.block_on_full) {
      ic.ctr.alerts_dropped++;
      return nullptr;
    }
    ic.ctr.alerts_waited++;
    rte_pause();
  }
  a->has_ml = false;
  a->has_behave = false;
  a->has_intel = false;
  a->has_yara = false;
  a->pcap_cnt = w.cur_pcap_cnt;
  a->payload_len = a->packet_len = 0;
  a->has_hassh = false;
  a->h2_headers_len = 0;
  a->pkt_src = w.cur_pkt_src;
  return a;
}

namespace {
// The rule's part of a signature alert (every signature alert path).
void fill_rule(AlertRecord& a, const RuleMeta& r) {
  a.action = uint8_t(r.action);
  a.severity = r.severity;
  a.gid = r.gid;
  a.sid = r.sid;
  a.rev = r.rev;
  copy_str(a.msg, r.msg);
  copy_str(a.category, r.category);
  copy_str(a.metadata, r.metadata_json);
}
}  // namespace

namespace {

// One inspection call's context; also the sink for alerts and app transactions.
struct Cursor final : AlertSink, AppSink {
  Cursor(WorkerCtx& w_, const CompiledRuleset* rs_, Flow& f_, uint64_t ts) : w(w_), rs(rs_), f(f_) {
    FlowEnds e = flow_ends(f);
    const uint8_t* ia = e.src;
    const uint8_t* ra = e.dst;
    uint16_t ip = e.sport;
    uint16_t rp = e.dport;
    // Other protocols are established once both sides were seen; TCP only by
    // the stream: a session whose handshake was not seen and that was not
    // picked up (stream.midstream off) never is, as in Suricata 7 (checked
    // against suricata -r: flow:established does not match, not_established does).
    const bool both = (f.flags & kFlowSeenToServer) && (f.flags & kFlowSeenToClient);
    bool est = f.key.proto == 6 ? bool(f.flags & kFlowEstablished) : both;
    for (int d = 0; d < 2; d++) {
      DetectPacket& p = dp[d];
      p.src = d ? ra : ia;
      p.dst = d ? ia : ra;
      p.sport = d ? rp : ip;
      p.dport = d ? ip : rp;
      p.ip_ver = f.key.ip_ver;
      p.proto = f.key.proto;
      p.to_server = d == 0;
      p.established = est;
      p.ts_ns = ts;
      p.app_proto = rules::AppProto(f.app_proto);
      p.first_in_dir = false;
    }
  }

  void attach(uint32_t sid) {
    sess = sid;
    SessionHdr& h = w.insp.sessions.hdr(sid);
    dp[0].flow = dp[1].flow = &h.det;
    app = w.insp.sessions.app(sid);
  }
  bool passed() const { return dp[0].flow && dp[0].flow->passed; }

  void sync_app() {
    f.app_proto = uint8_t(app_proto(app));
    dp[0].app_proto = dp[1].app_proto = rules::AppProto(f.app_proto);
  }

  // stream_size: both sides' session bytes by sequence numbers as of now
  // (delivered + 1 for the SYN, as Suricata's next_seq - ISN). Two loads.
  void stream_sizes(DetectPacket& p) {
    if (!sess || f.key.proto != 6) return;
    const SessionHdr& h = w.insp.sessions.hdr(sess);
    for (int d = 0; d < 2; d++)
      p.stream_size[d] = (h.sd[d].state & kStreamInit) ? h.sd[d].delivered + 1 : 0;
    p.has_stream = true;
  }

  void detect(int dir, PayloadMode m, const uint8_t* d, uint32_t n) {
    if (!rs || passed()) return;
    uint64_t t = rte_rdtsc();
    stream_sizes(dp[dir]);
    cur_d = d;
    cur_n = n;
    cur_stream = m == PayloadMode::kStreamChunk;
    detect_payload(w.insp.det, *rs, dp[dir], m, d, n, *this);
    cur_n = 0;
    w.insp.ctr.cyc_detect += rte_rdtsc() - t;
  }

  // A stream chunk is inspected behind the direction's tail (the last
  // kStreamWindow bytes before it), so a match split between chunks is found;
  // the engine only reports matches that need the new bytes. Cost: one copy of
  // tail + chunk (~0.1 cycle/byte) per chunk.
  void detect_stream(int dir, const uint8_t* d, uint32_t n, uint32_t gap) {
    if (!rs || passed()) return;
    SessionHdr& h = w.insp.sessions.hdr(sess);
    if (gap) {
      h.stream_off[dir] += gap;
      h.tail_len[dir] = 0;
    }
    while (n) {
      uint32_t k = n < kWindowChunk ? n : kWindowChunk;
      uint32_t tl = h.tail_len[dir];
      {
        uint8_t* win = w.insp.window.get();
        if (tl) {  // the first chunk (or the first after a gap) is inspected in place
          std::memcpy(win, h.tail[dir], tl);
          std::memcpy(win + tl, d, k);
        } else {
          win = const_cast<uint8_t*>(d);
        }
        DetectPacket& p = dp[dir];
        p.stream_base = h.stream_off[dir] - tl;
        p.stream_new_from = tl;
        p.pending = &h.pend[dir];
        detect(dir, PayloadMode::kStreamChunk, win, tl + k);
        p.stream_base = 0;
        p.stream_new_from = 0;
        p.pending = nullptr;
      }
      // New tail: the last kStreamWindow bytes of tail + chunk.
      if (k >= kStreamWindow) {
        std::memcpy(h.tail[dir], d + k - kStreamWindow, kStreamWindow);
        h.tail_len[dir] = uint16_t(kStreamWindow);
      } else {
        uint32_t keep = tl + k > kStreamWindow ? kStreamWindow - k : tl;
        std::memmove(h.tail[dir], h.tail[dir] + tl - keep, keep);
        std::memcpy(h.tail[dir] + keep, d, k);
        h.tail_len[dir] = uint16_t(keep + k);
      }
      h.stream_off[dir] += k;
      d += k;
      n -= k;
    }
  }

  void on_tx(bool to_server, const BufferSet& b, const AppMeta& meta) override {
    sync_app();
    w.bus.app_tx.publish({f, to_server, meta, dp[0].ts_ns});  // ML, behaviour, intel (core/worker.cc wire_bus)
    const bool http =
        meta.proto == rules::AppProto::kHttp || (meta.proto == rules::AppProto::kHttp2 && !meta.h2_ctrl);
    // Like Suricata: DNS queries and answers; HTTP and TLS once, when the
    // response / ServerHello completes the transaction.
    // Files (SMTP attachments, ftp-data): a `fileinfo` event (format_app_event).
    // QUIC: each direction's one transaction (the client's carries the hello).
    // SSH: once per flow, with both sides (meta.ssh_log). HTTP bodies that
    // are files: the http event and a fileinfo event; a file's record alone
    // (no buffers but its digests: inspected earlier) only the fileinfo.
    rules::BufMask rest = b.mask;
    for (int k : {rules::kFileMd5, rules::kFileSha1, rules::kFileSha256}) rest.w[k >> 6] &= ~(uint64_t(1) << (k & 63));
    const bool file_only = meta.file_tx && rest.empty();
    // An SMB file's early part (meta.file_part) is inspected, not logged.
    const bool tx_event = (!to_server || meta.proto == rules::AppProto::kDns || meta.proto == rules::AppProto::kQuic ||
                           meta.proto == rules::AppProto::kSip || meta.proto == rules::AppProto::kMqtt ||
                           (meta.proto == rules::AppProto::kKrb5 && meta.krb5.msg_type) ||
                           (meta.proto == rules::AppProto::kDcerpc && meta.smb.d_udp)) &&
                          meta.proto != rules::AppProto::kFtpData && meta.proto != rules::AppProto::kSsh &&
                          !meta.file_part;
    cur_tx = &b;
    // YARA over the tx's files (dataplane/yaramatch/scan.h): its alerts now, the
    // matches for the fileinfo record log_tx writes.
    if (snap && snap->yara) cur_yara = yara::scan_tx(w, *snap, f, to_server, b, meta, dp[to_server ? 0 : 1].ts_ns);
    if (app_events) {
      if (meta.proto == rules::AppProto::kHttp2 && meta.h2_ctrl) {
        // HTTP/2 frames alone (stream 0...): inspected, not logged
      } else if (http) {
        if (tx_event && !file_only) log_tx(to_server, meta, false);
        if (meta.file_tx) log_tx(to_server, meta, true);
      } else if (meta.file_tx || meta.ssh_log || tx_event) {
        log_tx(to_server, meta, meta.file_tx);
      }
    }
    if (rs && !passed() && !(meta.file_tx && b.mask.empty())) {  // a file's digests are inspected at its end
      uint64_t t = rte_rdtsc();
      stream_sizes(dp[to_server ? 0 : 1]);
      detect_app(w.insp.det, *rs, dp[to_server ? 0 : 1], b, *this);
      w.insp.ctr.cyc_detect += rte_rdtsc() - t;
    }
    cur_tx = nullptr;
    cur_yara = nullptr;
  }

  // The HASSH strings of the tx being handed on (its buffers: the one
  // carrying the flow's EVE ssh event) into the record's payload area.
  void copy_hassh(AlertRecord* a) {
    if (!cur_tx || a->payload_len || a->packet_len) return;
    const rules::Buf k[2] = {rules::kSshHasshClient, rules::kSshHasshServer};
    for (int d = 0; d < 2; d++) {
      char* o = a->x.hassh_string[d];
      uint32_t n = cur_tx->has(k[d]) ? std::min<uint32_t>(cur_tx->len[k[d]], sizeof a->x.hassh_string[d] - 1) : 0;
      if (n) std::memcpy(o, cur_tx->data[k[d]], n);
      o[n] = 0;
      a->has_hassh |= n != 0;
    }
  }

  // A slot of the alert ring, or null (live mode, ring full: counted).
  // A slot of the alert ring filled with what every record shares (time,
  // flow, addresses of `p`), or null (live mode, ring full: counted).
  AlertRecord* claim_record(AlertRecord::Kind kind, const DetectPacket& p, uint64_t ts) {
    AlertRecord* a = claim_slot();
    if (!a) return nullptr;
    a->kind = kind;
    a->ts_ns = ts;
    a->flow_id = flow_id_of(f);
    std::memcpy(a->src, p.src, 16);
    std::memcpy(a->dst, p.dst, 16);
    a->sport = p.sport;
    a->dport = p.dport;
    a->ip_ver = p.ip_ver;
    a->proto = p.proto;
    a->has_flow = true;
    a->worker = uint8_t(w.id);
    a->flow_pkts[0] = f.pkts[0];
    a->flow_pkts[1] = f.pkts[1];
    a->flow_bytes[0] = f.bytes[0];
    a->flow_bytes[1] = f.bytes[1];
    a->flow_start = f.first_ts;
    return a;
  }
  AlertRecord* claim_slot() { return claim_alert_slot(w); }

  // One transaction log line (event_type http/dns/tls): the request's or
  // response's meta, addressed like Suricata (client first).
  void log_tx(bool to_server, const AppMeta& meta, bool as_file) {
    AlertRecord* a = claim_record(AlertRecord::kAppTx, dp[0], dp[to_server ? 0 : 1].ts_ns);
    if (!a) return;
    a->app_proto = uint8_t(meta.proto);
    a->to_server = to_server;
    a->has_app = true;
    a->app = meta;
    a->app.file_tx = as_file;  // the writer makes a fileinfo event of it
    if (as_file && cur_yara) yara::attach_fileinfo(*cur_yara, *a);
    if (meta.ssh_log) copy_hassh(a);
    if (meta.proto == rules::AppProto::kHttp2 && !as_file && cur_tx && cur_tx->has(rules::kHttp2Headers)) {
      a->h2_headers_len = uint16_t(std::min<uint32_t>(cur_tx->len[rules::kHttp2Headers], sizeof a->x.h2_headers));
      std::memcpy(a->x.h2_headers, cur_tx->data[rules::kHttp2Headers], a->h2_headers_len);
    }
    w.insp.alerts.commit();
    w.insp.ctr.app_events++;
  }

  void alert(const RuleMeta& r, const DetectPacket& p) override {
    f.flags |= kFlowAlerted;
    AlertRecord* a = claim_record(AlertRecord::kAlert, p, p.ts_ns);
    if (!a) return;
    a->app_proto = f.app_proto;
    a->to_server = p.to_server;
    fill_rule(*a, r);
    auto ap = rules::AppProto(f.app_proto);
    a->has_app = app && (ap == rules::AppProto::kHttp || ap == rules::AppProto::kDns ||
                         ap == rules::AppProto::kTls || ap == rules::AppProto::kSmtp ||
                         ap == rules::AppProto::kFtp || ap == rules::AppProto::kFtpData ||
                         ap == rules::AppProto::kQuic || ap == rules::AppProto::kSip ||
                         ap == rules::AppProto::kSsh || ap == rules::AppProto::kMqtt ||
                         ap == rules::AppProto::kKrb5 || ap == rules::AppProto::kSmb ||
                         ap == rules::AppProto::kDcerpc || ap == rules::AppProto::kHttp2);
    if (a->has_app) a->app = app_meta(app);
    if (want_payload && cur_n) {  // off by default: up to ~2.5 KB copied per alert
      a->payload_len = uint16_t(std::min<uint32_t>(cur_n, sizeof a->x.raw.payload));
      std::memcpy(a->x.raw.payload, cur_d, a->payload_len);
      a->payload_stream = cur_stream;
    }
    if (want_packet && pkt) {
      a->packet_len = uint16_t(std::min<uint32_t>(pkt->l3_len, sizeof a->x.raw.packet));
      std::memcpy(a->x.raw.packet, pkt->l3, a->packet_len);
    }
    if (a->has_app && ap == rules::AppProto::kSsh) copy_hassh(a);  // payload/packet off: the area is free
    w.insp.alerts.commit();
  }

  WorkerCtx& w;
  const CompiledRuleset* rs;
  Flow& f;
  uint32_t sess = 0;
  AppState* app = nullptr;
  bool app_on = false, app_events = false;
  bool want_payload = false, want_packet = false;  // eve.alert payload / packet
  const PacketInfo* pkt = nullptr;  // the packet being inspected; null at flow end
  const uint8_t* cur_d = nullptr;   // the buffer under packet/stream detection
  uint32_t cur_n = 0;
  const BufferSet* cur_tx = nullptr;  // the app tx under on_tx (HASSH strings for records)
  const Snapshot* snap = nullptr;     // YARA rules and settings (null: none)
  const YaraEventMeta* cur_yara = nullptr;  // the YARA matches of the tx's file (its fileinfo record)
  bool cur_stream = false;
  DetectPacket dp[2];
};

struct StreamCb {
  Cursor* c;
  int dir;
};

// In-order stream data of one direction: app parser first (it may detect the
// protocol), then payload rules on the chunk.
void on_stream(void* u, const uint8_t* d, uint32_t n, uint32_t gap) {
  auto* cb = static_cast<StreamCb*>(u);
  Cursor& c = *cb->c;
  if (c.app_on) {
    const DetectPacket& p = c.dp[cb->dir];
    c.w.insp.app.flow_src = c.dp[0].src;
    app_stream(c.w.insp.app, c.app, cb->dir == 0, p.sport, p.dport, d, n, gap, p.ts_ns, c);
    c.sync_app();
  }
  c.detect_stream(cb->dir, d, n, gap);
}

uint32_t open_session(InspectCtx& ic, Flow& f) {
  uint32_t sid = ic.sessions.alloc();
  if (!sid) ic.ctr.sessions_full++;
  f.session = sid;
  return sid;
}

// Checksum validation (checksum: all). Reassembled datagrams are not checked:
// their headers were rebuilt.
bool checksums_ok(const PacketInfo& p) {
  if (p.reassembled) return true;
  const uint8_t* l4 = p.l3 + p.l4_off;
  if (p.ip_ver == 4) {
    auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(p.l3);
    // rte_ipv4_cksum() sums the stored field too: a valid header gives 0.
    if (rte_ipv4_cksum(ip) != 0) return false;
    if (p.proto == 17 && reinterpret_cast<const rte_udp_hdr*>(l4)->dgram_cksum == 0) return true;
    if (p.proto == 6 || p.proto == 17) return rte_ipv4_udptcp_cksum_verify(ip, l4) == 0;
    return true;
  }
  if (p.proto == 6 || p.proto == 17)
    return rte_ipv6_udptcp_cksum_verify(reinterpret_cast<const rte_ipv6_hdr*>(p.l3), l4) == 0;
  return true;
}

// itype/icode/icmp_id/icmp_seq. The decoder checked the 8-byte header.
void set_icmp(DetectPacket& d, const PacketInfo& p) {
  const uint8_t* h = p.l3 + p.l4_off;
  d.icmp_type = p.icmp_type;
  d.icmp_code = p.icmp_code;
  const uint8_t t = p.icmp_type;
  // Echo, timestamp, information and address mask requests/replies (v4); echo (v6).
  d.icmp_echo = p.proto == 1 ? (t == 0 || t == 8 || (t >= 13 && t <= 18)) : (t == 128 || t == 129);
  d.icmp_id = uint16_t(h[4] << 8 | h[5]);
  d.icmp_seq = uint16_t(h[6] << 8 | h[7]);
}

}  // namespace

// stream-event bits a TCP packet raises by its flags alone (a few cycles).
// The no-session events need the flow's state before the packet: Suricata
// raises them while it has no session (state none), i.e. before a SYN or a
// midstream pickup; a FIN with data is picked up when midstream is on.
static uint64_t tcp_flag_events(const PacketInfo& p, TcpState before, bool midstream) {
  const uint8_t fl = p.tcp_flags;
  uint64_t ev = 0;
  if ((fl & (kFin | kSyn)) == (kFin | kSyn)) ev |= sev_bit(kSevFinSyn);
  if (!(fl & kAck) && p.tcp_ack) ev |= sev_bit(kSevBrokenAck);
  if (before == TcpState::kNone) {
    if (fl & kRst) ev |= sev_bit(kSevRstNoSession);
    else if ((fl & kFin) && (!midstream || p.payload_len == 0)) ev |= sev_bit(kSevFinNoSession);
  }
  return ev;
}

// The reassembly counters that are stream events; their change over one
// segment says which it raised.
struct ReasmMark {
  uint64_t retransmits, before_base, overlap_diff, gaps, depth;
  explicit ReasmMark(const StreamCounters& c)
      : retransmits(c.retransmits), before_base(c.before_base), overlap_diff(c.overlap_diff), gaps(c.gaps),
        depth(c.depth_reached) {}
  uint64_t events(const StreamCounters& c) const {
    return (c.retransmits != retransmits ? sev_bit(kSevRetransmission) : 0) |
           (c.before_base != before_base ? sev_bit(kSevBeforeBaseSeq) : 0) |
           (c.overlap_diff != overlap_diff ? sev_bit(kSevOverlapDiff) : 0) |
           (c.gaps != gaps ? sev_bit(kSevSeqGap) : 0) | (c.depth_reached != depth ? sev_bit(kSevDepthReached) : 0);
  }
};

void inspect_packet(WorkerCtx& w, const Snapshot& s, const PacketInfo& p, Flow& f, int dir) {
  const CompiledRuleset* rs = s.rules.get();
  if (!rs && !s.app_layer) return;
  uint64_t t0 = rte_rdtsc();
  InspectCtx& ic = w.insp;
  if (s.checksum_validate && !checksums_ok(p)) {
    ic.ctr.checksum_invalid++;
    return;
  }
  {  // per file, only what a loaded rule (or EVE fileinfo's md5) needs: one call for the mask
    static const rules::BufMask kNone{};
    const rules::BufMask& used = rs ? ruleset_buffers(*rs) : kNone;
    ic.app.want_magic = used.has(rules::kFileMagic);
    ic.app.want_h2_log = s.app_events;
    ic.app.want_hash = uint8_t((s.app_events || used.has(rules::kFileMd5) ? AppCtx::kHashMd5 : 0) |
                               (used.has(rules::kFileSha1) ? AppCtx::kHashSha1 : 0) |
                               (used.has(rules::kFileSha256) ? AppCtx::kHashSha256 : 0));
  }
  Cursor c(w, rs, f, p.ts_ns);
  c.app_on = s.app_layer;
  c.app_events = s.app_events;
  c.want_payload = s.alert_payload;
  c.want_packet = s.alert_packet;
  c.snap = &s;
  c.pkt = &p;
  const uint8_t* pl = p.l3 + p.payload_off;
  uint32_t plen = p.payload_len;
  c.dp[dir].dsize = uint16_t(plen);
  c.dp[dir].tcp_flags = p.tcp_flags;
  c.dp[dir].l3 = p.l3;  // header buffers (ipv4.hdr, tcp.hdr, ...): packet rules only
  c.dp[dir].l4_off = p.l4_off;
  c.dp[dir].l4_hlen = uint16_t(p.payload_off - p.l4_off);
  if (p.proto == 1 || p.proto == 58) set_icmp(c.dp[dir], p);
  // GRE has no flow in Suricata: its IP-only rules see every packet.
  c.dp[dir].first_in_dir = f.pkts[dir] == 1 || p.proto == 47;
  uint32_t sid = f.session;
  if (p.proto == 6) {
    if (!sid && (plen || (p.tcp_flags & kSyn))) sid = open_session(ic, f);
    c.dp[dir].stream_events = tcp_flag_events(p, w.cur_tcp_before, s.stream.midstream);
    if (sid) {
      c.attach(sid);
      if (!c.passed()) {
        const TcpOpts& o = p.tcp_opts;
        const TcpTrackPkt tp{p.tcp_seq, p.tcp_ack, p.tcp_win, uint16_t(plen), p.tcp_flags, o.wscale, o.has_ts, o.sig,
                             o.tsval, o.tsecr};
        const uint64_t trk = tcp_track(ic.sessions.hdr(sid).trk, tp, dir, {s.stream.midstream, s.stream.async_oneside});
        c.dp[dir].stream_events |= trk;
        StreamCb cb{&c, dir};
        const ReasmMark mark(ic.stream_ctr);
        const StreamDir& sd = ic.sessions.hdr(sid).sd[dir];
        // Which of the data the stream takes (a few loads of one cache line):
        // where the depth falls in sequence space, whether it was reached.
        // A direction this segment starts (midstream pickup) has no next byte
        // yet: its data is new, wherever it lies in sequence space.
        const bool init_before = sd.state & kStreamInit;
        const uint32_t next_before = init_before ? sd.next_seq : p.tcp_seq;
        const uint32_t depth_seq = next_before + (sd.depth - sd.delivered);
        const bool depth_before = stream_depth_reached(sd);
        // No TCP session yet (state none: midstream off, and no SYN seen; a
        // SYN-ACK starts none): its SYN-ACK starts no stream either (Suricata 7).
        const uint8_t sflags = f.tcp_state == TcpState::kNone ? uint8_t(p.tcp_flags & ~kSyn) : p.tcp_flags;
        stream_segment(ic.sessions.hdr(sid).sd[dir], ic.segs, s.stream, p.tcp_seq, sflags, pl, plen,
                       ic.stream_ctr, &on_stream, &cb);
        // Data the tracker rejected below last_ack never reaches Suricata's reassembly.
        constexpr uint64_t kRejectedOld = sev_bit(kSevEstPktBeforeLastAck) | sev_bit(kSevCloseWaitPktBeforeLastAck);
        c.dp[dir].stream_events |= mark.events(ic.stream_ctr) & ~(trk & kRejectedOld ? sev_bit(kSevBeforeBaseSeq) : 0);
        // Data the stream did not take (no SYN, midstream off: Suricata has no
        // session; past the reassembly depth: Suricata stops reassembling) is
        // inspected as a packet with every payload rule, as Suricata does.
        const bool in_stream = (sd.state & kStreamInit) && !depth_before;
        // Data held behind a hole, cut by the depth or retransmitted (nothing
        // new: seq + len at or before the next expected byte) is not inspected
        // by the stream as this packet; Suricata inspects the packet with its
        // offset/depth rules (DetectPacket::held).
        const uint32_t end = p.tcp_seq + plen;
        const bool cut = stream_depth_reached(sd) && int32_t(end - depth_seq) > 0;
        c.dp[dir].held = in_stream && plen && !(p.tcp_flags & kSyn) &&
                         (cut || int32_t(end - sd.next_seq) > 0 || (init_before && int32_t(end - next_before) <= 0));
        c.detect(dir, in_stream && !c.dp[dir].held ? PayloadMode::kTcpPacket : PayloadMode::kPacket, pl, plen);
        c.dp[dir].held = false;
      }
    } else {
      c.detect(dir, PayloadMode::kPacket, pl, plen);
    }
  } else {
    // UDP: a session only for what may be DNS, or when rules keep flowbits
    // (touching a slot costs a cache and TLB miss per packet).
    if (p.proto == 17 && plen && !sid &&
        ((s.app_layer && app_datagram_candidate(p.sport, p.dport, pl, plen)) ||
         (rs && ruleset_uses_flowbits(*rs))))
      sid = open_session(ic, f);
    if (sid) {
      c.attach(sid);
      if (p.proto == 17 && plen && s.app_layer && !c.passed()) {
        const DetectPacket& d = c.dp[dir];
        app_datagram(ic.app, c.app, dir == 0, d.sport, d.dport, pl, plen, p.ts_ns, c);
        c.sync_app();
      }
    }
    c.detect(dir, PayloadMode::kPacket, pl, plen);
  }
  ic.ctr.cyc_inspect += rte_rdtsc() - t0;
}

void inspect_flow_end(WorkerCtx& w, const Snapshot* s, Flow& f) {
  uint32_t sid = f.session;
  if (!sid) return;
  InspectCtx& ic = w.insp;
  Cursor c(w, s ? s->rules.get() : nullptr, f, f.last_ts);
  c.app_on = s && s->app_layer;
  c.app_events = s && s->app_events;
  c.snap = s;
  c.attach(sid);
  SessionHdr& h = ic.sessions.hdr(sid);
  if (f.key.proto == 6) {
    for (int d = 0; d < 2; d++) {
      StreamCb cb{&c, d};
      if (c.passed()) stream_release(h.sd[d], ic.segs);
      else stream_finish(h.sd[d], ic.segs, ic.stream_ctr, &on_stream, &cb);
    }
  }
  app_finish(ic.app, c.app, c);
  c.sync_app();
  ic.sessions.free(sid);
  f.session = 0;
}

namespace {
// Alerts of decode-event, fragment and tunnel-outer rules: a packet with no
// flow record (ports and direction as the DetectPacket says).
struct MalformedSink final : AlertSink {
  MalformedSink(WorkerCtx& w, const PacketInfo& p) : w(w), p(p) {}
  void alert(const RuleMeta& r, const DetectPacket& d) override {
    AlertRecord* a = claim_alert_slot(w);
    if (!a) return;
    a->kind = AlertRecord::kAlert;
    a->ts_ns = p.ts_ns;
    a->flow_id = 0;
    std::memcpy(a->src, d.src, 16);
    std::memcpy(a->dst, d.dst, 16);
    a->sport = d.sport;
    a->dport = d.dport;
    a->ip_ver = d.ip_ver;
    a->proto = d.proto;
    a->app_proto = 0;
    a->to_server = d.to_server;
    a->has_flow = false;
    a->has_app = false;
    a->worker = uint8_t(w.id);
    a->flow_pkts[0] = a->flow_pkts[1] = 0;
    a->flow_bytes[0] = a->flow_bytes[1] = 0;
    a->flow_start = 0;
    fill_rule(*a, r);
    w.insp.alerts.commit();
  }
  WorkerCtx& w;
  const PacketInfo& p;
};
}  // namespace

void inspect_malformed(WorkerCtx& w, const Snapshot& s, const PacketInfo& p, const uint8_t* frame, uint32_t len) {
  const CompiledRuleset* rs = s.rules.get();
  if (!rs || p.malformed >= kMalformedCount) return;
  static const uint8_t kZero[16] = {};
  DetectPacket d;
  d.src = d.dst = kZero;
  d.ip_ver = 0;  // not read
  d.has_flow = false;
  d.ts_ns = p.ts_ns;
  // The addresses when the decoder got as far as a whole IP header.
  const uint8_t* end = frame + len;
  if (p.l3 && p.ip_ver == 4 && p.l3 >= frame && p.l3 + 20 <= end) {
    d.ip_ver = 4;
    d.proto = p.l3[9];
    d.src = p.l3 + 12;
    d.dst = p.l3 + 16;
  } else if (p.l3 && p.ip_ver == 6 && p.l3 >= frame && p.l3 + 40 <= end) {
    d.ip_ver = 6;
    d.proto = p.l3[6];
    d.src = p.l3 + 8;
    d.dst = p.l3 + 24;
  }
  MalformedSink sink(w, p);
  uint64_t t = rte_rdtsc();
  detect_decode_event(w.insp.det, *rs, uint8_t(p.malformed), d, sink);
  w.insp.ctr.cyc_detect += rte_rdtsc() - t;
}

void inspect_fragment(WorkerCtx& w, const Snapshot& s, const PacketInfo& p) {
  const CompiledRuleset* rs = s.rules.get();
  if (!rs || !p.l3 || !detect_has_fragment_rules(*rs)) return;  // most rule sets: no rdtsc per fragment
  DetectPacket d;
  d.ip_ver = p.ip_ver;
  d.src = p.l3 + (p.ip_ver == 4 ? 12 : 8);
  d.dst = p.l3 + (p.ip_ver == 4 ? 16 : 24);
  d.proto = p.frag.next_proto;
  d.has_flow = false;
  d.ts_ns = p.ts_ns;
  d.l3 = p.l3;
  d.l4_off = p.frag.data_off;  // IPv4: the header with options (ipopts reads them)
  d.l4_hlen = 0;               // no L4 header: tcp/udp keywords do not match
  MalformedSink sink(w, p);
  uint64_t t = rte_rdtsc();
  detect_fragment(w.insp.det, *rs, d, sink);
  w.insp.ctr.cyc_detect += rte_rdtsc() - t;
}

namespace {
uint64_t fnv(uint64_t h, const uint8_t* p, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}
}  // namespace

// Suricata 7 (checked with suricata -r): a UDP outer packet (VXLAN, Geneve,
// Teredo) has a UDP flow, IP-only rules on the first packet of each
// direction; IPv4 carrying IPv6 (6in4) a flow whose packets are all to_server,
// IP-only rules on its first packet only; IP-in-IP, 4in6, 6in6 and GRE no
// flow, IP-only rules on every packet. Packet rules see every outer packet;
// nothing inspects its payload (the inner packet is inspected by itself).
void inspect_tunnel_outer(WorkerCtx& w, const Snapshot& s, const PacketInfo& p) {
  const CompiledRuleset* rs = s.rules.get();
  if (!rs || !p.outer_l3) return;
  const uint32_t alen = p.outer_ip_ver == 4 ? 4 : 16;
  DetectPacket d;
  d.ip_ver = p.outer_ip_ver;
  d.src = p.outer_l3 + (alen == 4 ? 12 : 8);
  d.dst = d.src + alen;
  d.proto = p.tunnel_proto;
  d.sport = p.outer_sport;
  d.dport = p.outer_dport;
  d.ts_ns = p.ts_ns;
  d.dsize = p.outer_dsize;
  d.l3 = p.outer_l3;
  d.l4_off = p.outer_l4_off;
  d.l4_hlen = d.proto == 17 ? 8 : 0;
  d.has_flow = d.proto == 17 || (d.ip_ver == 4 && d.proto == 41);
  if (d.has_flow) {
    const int c = std::memcmp(d.src, d.dst, alen);
    const bool src_lo = c < 0 || (c == 0 && d.sport <= d.dport);
    const uint8_t* lo = src_lo ? d.src : d.dst;
    const uint8_t* hi = src_lo ? d.dst : d.src;
    const uint8_t ports[5] = {uint8_t((src_lo ? d.sport : d.dport) >> 8), uint8_t(src_lo ? d.sport : d.dport),
                              uint8_t((src_lo ? d.dport : d.sport) >> 8), uint8_t(src_lo ? d.dport : d.sport), d.proto};
    const uint64_t h = fnv(fnv(fnv(0xcbf29ce484222325ull, lo, alen), hi, alen), ports, 5) | 1;
    OuterFlow& o = w.insp.outer[(h >> 32) & (kOuterFlows - 1)];
    const uint64_t tmo = s.tmo_ns[d.proto == 17 ? kTmoUdp : kTmoOther];
    if (o.tag != h || p.ts_ns > o.last_ns + tmo) o = OuterFlow{h, p.ts_ns, 0, uint8_t(src_lo)};
    if (p.ts_ns > o.last_ns) o.last_ns = p.ts_ns;
    const int dir = d.proto == 17 && src_lo != bool(o.init_lo) ? 1 : 0;
    d.first_in_dir = !(o.seen & (1 << dir));
    o.seen |= uint8_t(1 << dir);
    d.to_server = dir == 0;
    d.established = o.seen == 3;
  }
  MalformedSink sink(w, p);
  uint64_t t = rte_rdtsc();
  detect_payload(w.insp.det, *rs, d, PayloadMode::kPacket, nullptr, 0, sink);
  w.insp.ctr.cyc_detect += rte_rdtsc() - t;
}

}  // namespace spectre
