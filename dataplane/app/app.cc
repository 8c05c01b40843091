// App-layer entry points: transaction buffer pool, protocol detection by
// content, dispatch to the HTTP / DNS / TLS parsers.
#include <algorithm>
#include <new>

#include <magic.h>

#include "dataplane/app/app_http2.h"
#include "dataplane/app/app_internal.h"
#include "dataplane/app/app_x509.h"

namespace spectre {

using rules::AppProto;
using namespace app;

AppCtx::AppCtx(const AppConfig& cfg) : impl(std::make_unique<Impl>()) {
  Impl& m = *impl;
  m.cfg = cfg;
  m.cfg.header_limit = std::max<uint32_t>(cfg.header_limit, 512);
  m.buf_size = m.cfg.header_limit + std::max(cfg.request_body_limit, cfg.response_body_limit);
  m.nbufs = cfg.tx_buffers;
  // Default-initialised: a big array is left untouched until buffers are used.
  m.mem.reset(new uint8_t[size_t(m.nbufs) * m.buf_size + 1]);
  m.free_list.reset(new uint32_t[m.nbufs + 1]);
  for (uint32_t i = 0; i < m.nbufs; i++) m.free_list[i] = m.nbufs - 1 - i;  // 0 first
  m.free_n = m.nbufs;
  // Worst case per message: header buffer (2 x head: ": " and CRLF added per
  // line), header names, header values, normalized URI, lowercased host, JA3
  // strings (a handshake of buf_size bytes has at most buf_size/2 values of 6
  // characters).
  m.scratch_size = 8 * m.cfg.header_limit + 3 * m.buf_size + 4096 + 4 * kMaxHeaders;  // 8th: http.start
  m.scratch.reset(new uint8_t[m.scratch_size]);
  decomp_init(m);
  quic_init(m);
  h2_init_pool(m);
  smb_files_init(m);
  fhash_init(m);
}

AppCtx::~AppCtx() {
  if (impl->magic) magic_close(static_cast<magic_t>(impl->magic));
}

uint32_t app_pool_free(const AppCtx& c) { return c.impl->free_n; }
uint32_t app_pool_size(const AppCtx& c) { return c.impl->nbufs; }

size_t app_state_size() { return sizeof(AppState); }

void app_state_init(AppState* s) {
  static_assert(std::is_trivially_destructible_v<AppState>);
  memset(static_cast<void*>(s), 0, sizeof(AppState));
  s->dir[0].buf = s->dir[1].buf = kNoBuf;
}

AppProto app_proto(const AppState* s) { return s->proto; }
const AppMeta& app_meta(const AppState* s) { return s->meta; }

namespace app {

uint8_t* storage(AppCtx& c, AppState* s, int d, uint32_t* cap) {
  Dir& dr = s->dir[d];
  if (dr.buf != kNoBuf) {
    *cap = c.impl->buf_size;
    return c.impl->mem.get() + size_t(dr.buf) * c.impl->buf_size;
  }
  if (dr.fb) {
    *cap = kFallbackSize;
    return s->fallback[d];
  }
  *cap = 0;
  return nullptr;
}

void acquire(AppCtx& c, AppState* s, int d) {
  Dir& dr = s->dir[d];
  if (dr.buf != kNoBuf) return;
  AppCtx::Impl& m = *c.impl;
  if (m.free_n) {
    dr.buf = m.free_list[--m.free_n];
    dr.fb = 0;
  } else {
    dr.fb = 1;
    c.ctr.tx_pool_empty++;
  }
}

void release(AppCtx& c, AppState* s, int d) {
  Dir& dr = s->dir[d];
  if (dr.buf != kNoBuf) {
    c.impl->free_list[c.impl->free_n++] = dr.buf;
    dr.buf = kNoBuf;
  }
  dr.fb = 0;
}

void file_bufs(AppCtx& c, AppState* s, BufferSet& b, const uint8_t* name, uint32_t n, uint64_t size,
               const uint8_t* data, uint32_t data_n) {
  if (n) b.set(rules::kFileName, name, n);
  AppCtx::Impl& m = *c.impl;
  s->meta.file_magic[0] = 0;
  if (c.want_magic && !m.magic && !m.magic_failed) {  // once per worker: libmagic's compiled database
    magic_t mg = magic_open(MAGIC_NONE);
    if (mg && magic_load(mg, nullptr) == 0) {
      m.magic = mg;
    } else {
      if (mg) magic_close(mg);
      m.magic_failed = true;
    }
  }
  if (c.want_magic && m.magic && data_n) {
    const char* d = magic_buffer(static_cast<magic_t>(m.magic), data, std::min(data_n, kMagicBytes));
    if (d) {
      copy_field(s->meta.file_magic, sizeof s->meta.file_magic, reinterpret_cast<const uint8_t*>(d),
                 uint32_t(strlen(d)));
      b.set(rules::kFileMagic, reinterpret_cast<const uint8_t*>(s->meta.file_magic),
            uint32_t(strlen(s->meta.file_magic)));
    }
  }
  uint8_t* o = c.impl->alloc(20);  // 2^64 has 20 digits
  if (!o) return;
  uint8_t tmp[20];
  uint32_t k = 0;
  do tmp[k++] = uint8_t('0' + size % 10); while ((size /= 10) && k < 20);
  for (uint32_t i = 0; i < k; i++) o[i] = tmp[k - 1 - i];
  b.set(rules::kFileSize, o, k);
}

void file_hashes(AppCtx& c, AppMeta& a, BufferSet* b, const uint8_t* data, uint32_t n) {
  clear_file_hashes(a);
  auto hex = [](const uint8_t* h, uint32_t k, char* out) {
    static const char kHex[] = "0123456789abcdef";
    for (uint32_t i = 0; i < k; i++) out[2 * i] = kHex[h[i] >> 4], out[2 * i + 1] = kHex[h[i] & 15];
    out[2 * k] = 0;
  };
  auto unhex = [](const char* s, uint8_t* out, uint32_t k) {
    auto v = [](char ch) { return ch <= '9' ? ch - '0' : ch - 'a' + 10; };
    for (uint32_t i = 0; i < k; i++) out[i] = uint8_t(v(s[2 * i]) << 4 | v(s[2 * i + 1]));
  };
  if (c.want_hash & AppCtx::kHashMd5) {
    md5_hex(data, n, a.file_md5);
    uint8_t* o = b ? c.impl->alloc(16) : nullptr;
    if (o) unhex(a.file_md5, o, 16), b->set(rules::kFileMd5, o, 16);
  }
  if (c.want_hash & AppCtx::kHashSha1) {
    uint8_t h[20];
    sha1(data, n, h);
    hex(h, 20, a.file_sha1);
    uint8_t* o = b ? c.impl->alloc(20) : nullptr;
    if (o) memcpy(o, h, 20), b->set(rules::kFileSha1, o, 20);
  }
  if (c.want_hash & AppCtx::kHashSha256) {
    uint8_t h[32];
    sha256(data, n, h);
    hex(h, 32, a.file_sha256);
    uint8_t* o = b ? c.impl->alloc(32) : nullptr;
    if (o) memcpy(o, h, 32), b->set(rules::kFileSha256, o, 32);
  }
}

void set_proto(AppCtx& c, AppState* s, AppProto p) {
  if (s->proto != AppProto::kUnknown) return;
  s->proto = p;
  s->meta.proto = p;
  c.ctr.detected[static_cast<int>(p)]++;
}

void reject_dir(AppCtx& c, AppState* s, int d) {
  s->dir[d].det = kRejected;
  release(c, s, d);
  if (s->proto == AppProto::kUnknown && s->dir[d ^ 1].det == kRejected)
    set_proto(c, s, AppProto::kFailed);
}

}  // namespace app

namespace {

enum class Guess { kMore, kNo, kHttpReq, kHttpResp, kTls, kDns, kSmtp, kFtp, kSmb, kSsh, kSip, kMqtt, kKrb5, kDcerpc, kHttp2 };

// Suricata's HTTP detection patterns (app-layer-htp.c): RFC 9110's methods,
// WebDAV (RFC 4918) and DeltaV (RFC 3253); BASELINE-CONTROL cut to the probe.
const char* const kMethods[] = {"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "CONNECT ",
                                "TRACE ", "PATCH ", "PROPFIND ", "PROPPATCH ", "MKCOL ", "COPY ",
                                "MOVE ", "LOCK ", "UNLOCK ", "CHECKOUT ", "UNCHECKOUT ", "CHECKIN ",
                                "UPDATE ", "LABEL ", "REPORT ", "MKWORKSPACE ", "MKACTIVITY ",
                                "MERGE ", "VERSION-CONTROL ", "BASELINE-CONTROL"};

// Each test answers kMore until it has the bytes it needs; a prefix that can
// no longer match answers kNo. All decide by kProbeSize bytes.
Guess guess_http(const uint8_t* p, uint32_t n) {
  bool more = false;
  auto test = [&](const char* w, Guess g) {
    uint32_t wl = uint32_t(strlen(w));
    uint32_t k = std::min(n, wl);
    if (memcmp(p, w, k) != 0) return Guess::kNo;
    if (k < wl) { more = true; return Guess::kNo; }
    return g;
  };
  for (const char* m : kMethods)
    if (test(m, Guess::kHttpReq) == Guess::kHttpReq) return Guess::kHttpReq;
  if (test("HTTP/1.", Guess::kHttpResp) == Guess::kHttpResp) return Guess::kHttpResp;
  return more ? Guess::kMore : Guess::kNo;
}

Guess guess_tls(const uint8_t* p, uint32_t n) {
  // Handshake record, version 3.0-3.4, handshake type ClientHello or ServerHello;
  // or an SSLv2 ClientHello.
  if (p[0] & 0x80) {
    int v2 = tls_v2_probe(p, n);
    return v2 == 1 ? Guess::kTls : v2 == 2 ? Guess::kMore : Guess::kNo;
  }
  if (p[0] != 0x16) return Guess::kNo;
  if (n > 1 && p[1] != 3) return Guess::kNo;
  if (n > 2 && p[2] > 4) return Guess::kNo;
  if (n > 4 && ((p[3] << 8) | p[4]) < 4) return Guess::kNo;
  if (n > 5) return (p[5] == 1 || p[5] == 2) ? Guess::kTls : Guess::kNo;
  return Guess::kMore;
}

Guess guess_dns_tcp(const uint8_t* p, uint32_t n, bool hint) {
  if (n < 14) return Guess::kMore;
  uint32_t len = (p[0] << 8) | p[1];
  if (len < 12 + (hint ? 0 : 5)) return Guess::kNo;
  return dns_header_plausible(p + 2, len, hint) ? Guess::kDns : Guess::kNo;
}

// SMTP and FTP (app_smtp.cc, app_ftp.cc): the client's first command, or the
// server's 220 banner on the protocol's port or naming it within the probe.
Guess guess_mail_ftp(const uint8_t* p, uint32_t n, uint16_t sport, uint16_t dport) {
  auto cmd = [&](const char* w) {
    uint32_t wl = uint32_t(strlen(w));
    if (!ieq_prefix(p, std::min(n, wl), w)) return Guess::kNo;
    return n < wl ? Guess::kMore : Guess::kHttpReq;  // kHttpReq: "matched"
  };
  bool more = false;
  for (const char* w : {"EHLO ", "HELO "}) {
    Guess g = cmd(w);
    if (g == Guess::kHttpReq) return Guess::kSmtp;
    more |= g == Guess::kMore;
  }
  auto port = [&](uint16_t x) { return sport == x || dport == x; };
  if (!port(110) && !port(995)) {  // POP3 clients say "USER" too
    for (const char* w : {"USER ", "AUTH TLS", "FEAT\r", "SYST\r"}) {
      Guess g = cmd(w);
      if (g == Guess::kHttpReq) return Guess::kFtp;
      more |= g == Guess::kMore;
    }
  }
  Guess b = cmd("220");
  if (b == Guess::kMore) return Guess::kMore;
  if (b == Guess::kNo) return more ? Guess::kMore : Guess::kNo;
  if (port(21)) return Guess::kFtp;
  if (port(25) || port(587) || port(2525)) return Guess::kSmtp;
  for (uint32_t i = 3; i + 3 <= n; i++) {
    if (i + 4 <= n && ieq_prefix(p + i, n - i, "SMTP")) return Guess::kSmtp;
    if (ieq_prefix(p + i, n - i, "FTP")) return Guess::kFtp;
  }
  return n < kProbeSize ? Guess::kMore : Guess::kNo;
}

// SMB over TCP (NetBIOS session message, then "\xffSMB", "\xfeSMB" or
// "\xfdSMB"): detected only, so `smb` rules run their payload parts on the stream.
Guess guess_smb(const uint8_t* p, uint32_t n, bool port139 = false) {
  // NetBIOS session request / positive response / retarget on port 139.
  if (port139 && (p[0] == 0x81 || p[0] == 0x82 || p[0] == 0x84)) return n < 4 ? Guess::kMore : Guess::kSmb;
  if (p[0] != 0) return Guess::kNo;
  if (n < 8) return Guess::kMore;
  if ((p[4] == 0xff || p[4] == 0xfe || p[4] == 0xfd) && p[5] == 'S' && p[6] == 'M' && p[7] == 'B')
    return Guess::kSmb;
  return Guess::kNo;
}

// SSH: the version banner "SSH-" opens either direction, on any port (as
// Suricata's probing pattern).
Guess guess_ssh(const uint8_t* p, uint32_t n) {
  uint32_t k = std::min<uint32_t>(n, 4);
  if (memcmp(p, "SSH-", k) != 0) return Guess::kNo;
  return k < 4 ? Guess::kMore : Guess::kSsh;
}

// HTTP/2: the client preface, or a server's first SETTINGS frame (length a
// multiple of 6, at most 10 parameters, no flags, stream 0).
Guess guess_h2(const uint8_t* p, uint32_t n) {
  if (int r = h2_probe(p, n)) return r == 1 ? Guess::kHttp2 : Guess::kMore;
  const uint8_t want[9] = {0, 0, 0, 4, 0, 0, 0, 0, 0};
  for (uint32_t i = 0; i < std::min<uint32_t>(n, 9); i++)
    if (i != 2 ? p[i] != want[i] : (p[2] % 6 || p[2] > 60)) return Guess::kNo;
  return n < 9 ? Guess::kMore : Guess::kHttp2;
}

Guess as_guess(int r, Guess yes) { return r == 1 ? yes : r == 2 ? Guess::kMore : Guess::kNo; }

Guess classify(const uint8_t* p, uint32_t n, bool hint, uint16_t sport = 0, uint16_t dport = 0) {
  auto port = [&](uint16_t x) { return sport == x || dport == x; };
  // SIP first: "OPTIONS sip:..." must not be taken for HTTP's OPTIONS, so
  // a probe that may still become SIP waits (app_sip.cc, app_mqtt.cc).
  Guess sip = as_guess(sip_probe(p, n, port(5060)), Guess::kSip);
  if (sip == Guess::kSip || (sip == Guess::kMore && n < kProbeSize)) return sip;
  if (port(88)) {  // Kerberos by its port and a record holding an APPLICATION-tagged KRB message
    Guess k = as_guess(krb5_probe(p, n, true), Guess::kKrb5);
    if (k == Guess::kKrb5 || (k == Guess::kMore && n < kProbeSize)) return k;
    if (k == Guess::kMore) return Guess::kKrb5;  // 16 bytes agree so far (the record marker, tags, pvno)
  }
  Guess g[9] = {guess_http(p, n), guess_tls(p, n), as_guess(mqtt_probe(p, n, port(1883)), Guess::kMqtt),
                guess_dns_tcp(p, n, hint), guess_mail_ftp(p, n, sport, dport), guess_smb(p, n, port(139)), guess_ssh(p, n),
                as_guess(dcerpc_probe(p, n), Guess::kDcerpc), guess_h2(p, n)};
  bool more = false;
  for (Guess x : g) {
    if (x == Guess::kMore) more = true;
    else if (x != Guess::kNo) return x;
  }
  return more && n < kProbeSize ? Guess::kMore : Guess::kNo;
}

bool dns_port(uint16_t sport, uint16_t dport) {
  return sport == 53 || dport == 53 || sport == 5353 || dport == 5353;
}

// Bytes for a direction whose parser is running.
void feed_active(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, bool hint,
                 AppSink& sink) {
  if (!n) return;
  switch (s->proto) {
    case AppProto::kHttp: http_feed(c, s, d, p, n, sink); break;
    case AppProto::kTls: tls_feed(c, s, d, p, n, sink); break;
    case AppProto::kDns: dns_tcp_feed(c, s, d, p, n, hint, sink); break;
    case AppProto::kSmtp: smtp_feed(c, s, d, p, n, sink); break;
    case AppProto::kFtp: ftp_feed(c, s, d, p, n, sink); break;
    case AppProto::kFtpData: ftp_data_feed(c, s, d, p, n, sink); break;
    case AppProto::kSsh: ssh_feed(c, s, d, p, n, sink); break;
    case AppProto::kSip: sip_tcp_feed(c, s, d, p, n, sink); break;
    case AppProto::kMqtt: mqtt_feed(c, s, d, p, n, sink); break;
    case AppProto::kKrb5: krb5_tcp_feed(c, s, d, p, n, sink); break;
    case AppProto::kSmb: smb_feed(c, s, d, p, n, sink); break;
    case AppProto::kDcerpc:
      dce_feed(c, s, d, p, n, sink);
      if (!dce_pending(s, d)) release(c, s, d);
      break;
    case AppProto::kHttp2: h2_feed(c, s, d, p, n, sink); break;
    default: break;
  }
}

// Starts the flow's parser on direction d (when the protocol is known).
void activate(AppState* s, int d) {
  Dir& dr = s->dir[d];
  dr.det = kActive;
  memset(&dr.u, 0, sizeof(dr.u));
}

}  // namespace

void app_stream(AppCtx& c, AppState* s, bool to_server, uint16_t sport, uint16_t dport,
                const uint8_t* d, uint32_t n, uint32_t gap_before, uint64_t ts_ns,
                AppSink& sink) {
  int di = to_server ? 0 : 1;
  Dir& dr = s->dir[di];
  s->is_tcp = 1;
  bool hint = dns_port(sport, dport);
  c.impl->scratch_used = 0;
  c.impl->now_ns = ts_ns;
  // The first bytes of a flow announced on an FTP control channel: ftp-data.
  if (n && s->proto == AppProto::kUnknown && c.impl->expect_n && s->dir[0].det == kProbing &&
      s->dir[1].det == kProbing && !s->dir[0].probe_n && !s->dir[1].probe_n &&
      ftp_data_expected(c, s, to_server ? dport : sport)) {
    ftp_data_feed(c, s, di, d, n, sink);
    return;
  }
  if (gap_before) {
    if (dr.det == kActive && s->proto == AppProto::kHttp) {
      http_gap(c, s, di, sink);
    } else if (dr.det == kActive && s->proto == AppProto::kHttp2) {
      h2_gap(c, s, di, sink);
      dr.det = kDead;
    } else if (dr.det == kActive && (s->proto == AppProto::kSmb || s->proto == AppProto::kDcerpc)) {
      smb_gap(c, s, di);  // stays active: resumes at the next message
    } else if (dr.det == kActive || dr.det == kDnsCand) {
      if (dr.det == kActive && s->proto == AppProto::kTls) tls_flush(c, s, di, sink);
      if (dr.det == kActive && s->proto == AppProto::kSsh) ssh_flush(c, s, di, sink);
      c.ctr.truncated++;
      dr.det = kDead;
      release(c, s, di);
    } else if (dr.det == kProbing && dr.probe_n) {
      reject_dir(c, s, di);  // the probe is not contiguous any more
    }
  }
  if (!n || s->proto == AppProto::kFailed) return;
  if (dr.det == kProbing && s->proto != AppProto::kUnknown) {
    // The other direction decided: this one starts with the same protocol,
    // including the bytes it had collected so far.
    uint8_t probe[kProbeSize];
    uint32_t pn = dr.probe_n;
    memcpy(probe, dr.probe, pn);
    activate(s, di);
    if (s->proto == AppProto::kHttp) http_start(s, di, !s->dir[di ^ 1].u.http.is_req);
    feed_active(c, s, di, probe, pn, hint, sink);
    if (dr.det == kActive) feed_active(c, s, di, d, n, hint, sink);
    return;
  }
  if (dr.det == kProbing) {
    uint32_t k = std::min(n, kProbeSize - dr.probe_n);
    memcpy(dr.probe + dr.probe_n, d, k);
    dr.probe_n += uint8_t(k);
    d += k;
    n -= k;
    Guess g = classify(dr.probe, dr.probe_n, hint, sport, dport);
    if (g == Guess::kMore) return;
    if (g == Guess::kNo) {
      reject_dir(c, s, di);
      return;
    }
    activate(s, di);
    if (g == Guess::kDns) {
      dr.det = kDnsCand;  // protocol set once the first message parses
    } else {
      set_proto(c, s, g == Guess::kTls ? AppProto::kTls : g == Guess::kSmtp ? AppProto::kSmtp
                    : g == Guess::kFtp ? AppProto::kFtp : g == Guess::kSmb ? AppProto::kSmb
                    : g == Guess::kSsh ? AppProto::kSsh : g == Guess::kSip ? AppProto::kSip
                    : g == Guess::kMqtt ? AppProto::kMqtt : g == Guess::kKrb5 ? AppProto::kKrb5
                    : g == Guess::kDcerpc ? AppProto::kDcerpc
                    : g == Guess::kHttp2 ? AppProto::kHttp2
                    : AppProto::kHttp);
      if (s->proto == AppProto::kHttp) {
        http_start(s, di, g == Guess::kHttpReq);
        Dir& other = s->dir[di ^ 1];
        if (other.det == kActive || other.det == kDnsCand) other.det = kDead;
      }
    }
    uint8_t probe[kProbeSize];
    uint32_t pn = dr.probe_n;
    memcpy(probe, dr.probe, pn);
    if (dr.det == kDnsCand) {
      dns_tcp_feed(c, s, di, probe, pn, hint, sink);
      if (dr.det == kDnsCand || dr.det == kActive) dns_tcp_feed(c, s, di, d, n, hint, sink);
      return;
    }
    feed_active(c, s, di, probe, pn, hint, sink);
    if (dr.det == kActive) feed_active(c, s, di, d, n, hint, sink);
    return;
  }
  if (dr.det == kDnsCand) {
    dns_tcp_feed(c, s, di, d, n, hint, sink);
    return;
  }
  if (dr.det == kActive) feed_active(c, s, di, d, n, hint, sink);
}

void app_datagram(AppCtx& c, AppState* s, bool to_server, uint16_t sport, uint16_t dport,
                  const uint8_t* d, uint32_t n, uint64_t /*ts_ns*/, AppSink& sink) {
  int di = to_server ? 0 : 1;
  Dir& dr = s->dir[di];
  c.impl->scratch_used = 0;
  bool hint = dns_port(sport, dport);
  if (s->proto == AppProto::kDns) {
    if (!dns_message(c, s, d, n, false, false, sink)) c.ctr.parse_errors++;
    return;
  }
  if (s->proto == AppProto::kQuic) {
    quic_datagram(c, s, di, d, n, sink);
    return;
  }
  if (s->proto == AppProto::kSip) {
    if (!sip_message(c, s, di, d, n, sink)) c.ctr.parse_errors++;
    return;
  }
  if (s->proto == AppProto::kKrb5) {
    krb5_message(c, s, di, d, n, sink);  // malformed: counted there
    return;
  }
  if (s->proto == AppProto::kDcerpc) {
    dcerpc_udp(c, s, di, d, n, sink);
    return;
  }
  if (s->proto != AppProto::kUnknown || dr.det == kRejected) return;
  // Kerberos on port 88: an APPLICATION-tagged KDC message with pvno 5.
  if ((sport == 88 || dport == 88) && krb5_probe(d, n, false) == 1) {
    set_proto(c, s, AppProto::kKrb5);
    dr.det = s->dir[di ^ 1].det = kActive;
    memset(&s->dir[0].u, 0, sizeof s->dir[0].u);
    krb5_message(c, s, di, d, n, sink);
    return;
  }
  // Connectionless DCERPC by its 80-byte header (version 4, a known type).
  if (!hint && dcerpc_udp_candidate(d, n)) {
    set_proto(c, s, AppProto::kDcerpc);
    dr.det = s->dir[di ^ 1].det = kActive;
    dcerpc_udp(c, s, di, d, n, sink);
    return;
  }
  // QUIC by its long header (a known version, plausible connection IDs).
  if (!hint && quic_candidate(d, n)) {
    set_proto(c, s, AppProto::kQuic);
    dr.det = s->dir[di ^ 1].det = kActive;
    quic_datagram(c, s, di, d, n, sink);
    return;
  }
  // SIP by its start line (a method and a SIP URI, or "SIP/2.0 <code>").
  if (!hint && sip_candidate(d, n)) {
    set_proto(c, s, AppProto::kSip);
    dr.det = s->dir[di ^ 1].det = kActive;
    if (!sip_message(c, s, di, d, n, sink)) c.ctr.parse_errors++;
    return;
  }
  // Content decides: strict validation off the DNS ports, lenient on them.
  // NetBIOS name service (port 137) uses the DNS wire format but is not DNS.
  bool nbns = sport == 137 || dport == 137;
  if (!nbns && dns_message(c, s, d, n, !hint, false, sink)) {
    dr.det = kActive;
    return;
  }
  reject_dir(c, s, di);
}

bool app_datagram_candidate(uint16_t sport, uint16_t dport, const uint8_t* d, uint32_t n) {
  if (dns_port(sport, dport) || sport == 88 || dport == 88) return true;
  if (sport == 137 || dport == 137) return false;
  return dns_header_plausible(d, n, false) || quic_candidate(d, n) || sip_candidate(d, n) ||
         dcerpc_udp_candidate(d, n);
}

void app_finish(AppCtx& c, AppState* s, AppSink& sink) {
  c.impl->scratch_used = 0;
  if (s->h2) h2_finish(c, s, sink);  // also after an h2c upgrade
  if (s->smbf) smb_file_finish(c, s, sink);
  for (int d = 0; d < 2; d++) {
    Dir& dr = s->dir[d];
    if (dr.det == kActive && s->proto == AppProto::kHttp) http_finish(c, s, d, sink);
    if (dr.det == kActive && s->proto == AppProto::kTls) tls_flush(c, s, d, sink);
    if (d == 0 && s->proto == AppProto::kSmtp) smtp_finish(c, s, sink);
    if (d == 0 && s->proto == AppProto::kFtpData) ftp_data_finish(c, s, sink);
    if (d == 0 && s->proto == AppProto::kQuic) quic_finish(c, s, sink);
    if (d == 0 && s->proto == AppProto::kSsh) ssh_finish(c, s, sink);
    release(c, s, d);
    if (dr.det == kProbing && dr.probe_n) {
      // Fewer bytes than a decision needs, and nothing more will come.
      dr.det = kRejected;
    }
  }
  if (s->proto == AppProto::kUnknown &&
      (s->dir[0].det == kRejected || s->dir[1].det == kRejected) &&
      s->dir[0].det != kDnsCand && s->dir[1].det != kDnsCand)
    set_proto(c, s, AppProto::kFailed);
}

}  // namespace spectre
