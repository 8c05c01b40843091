// TLS: record layer framing, reassembly of handshake messages (across
// records and segments, bounded by the transaction buffer: header_limit +
// the larger body limit, 16 KiB by default), ClientHello -> SNI + JA3,
// ServerHello -> JA3S + negotiated version, and up to TLS 1.2 the server's
// Certificate message -> leaf subject, issuer, serial, SHA-1, validity and
// every certificate of the chain (tls.certs). A chain longer than the buffer
// is inspected up to the last certificate that fits (counted). After that a
// direction is ignored (the rest is encrypted or of no interest here).
//
// JA3 = "SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats",
// decimal values joined by '-', GREASE values (0x?a?a with equal bytes)
// removed from ciphers, extensions and groups; JA3S = "SSLVersion,Cipher,
// Extensions". Hashes are MD5 hex. AppMeta keeps the first 511 / 255
// characters of the strings; the buffers and hashes use the whole string.
#include <cstring>
#include <algorithm>

#include "dataplane/app/app_internal.h"
#include "dataplane/app/app_x509.h"

namespace spectre {
namespace app {

using rules::AppProto;

namespace {

uint16_t rd16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }
bool grease(uint16_t v) { return (v & 0x0F0F) == 0x0A0A && (v >> 8) == (v & 0xFF); }

struct Out {  // string builder over scratch memory of known capacity
  char* p;
  uint32_t n = 0, cap;
  void ch(char c) {
    if (n < cap) p[n++] = c;
  }
  void num(uint32_t v) {
    char t[12];
    int k = 0;
    do t[k++] = char('0' + v % 10), v /= 10; while (v);
    while (k) ch(t[--k]);
  }
};

// Reader over [p, p+n) with a sticky failure flag.
struct Rd {
  const uint8_t* p;
  uint32_t n, i = 0;
  bool bad = false;
  bool need(uint32_t k) {
    if (bad || n - i < k) bad = true;
    return !bad;
  }
  uint8_t u8() { return need(1) ? p[i++] : 0; }
  uint16_t u16() {
    if (!need(2)) return 0;
    i += 2;
    return rd16(p + i - 2);
  }
  uint32_t u24() {
    if (!need(3)) return 0;
    i += 3;
    return uint32_t((p[i - 3] << 16) | (p[i - 2] << 8) | p[i - 1]);
  }
  void skip(uint32_t k) {
    if (need(k)) i += k;
  }
};

void version_name(uint16_t v, char (&out)[16]) {
  const char* s = nullptr;
  switch (v) {
    case 0x0002: s = "SSLv2"; break;
    case 0x0300: s = "SSLv3"; break;
    case 0x0301: s = "TLSv1"; break;
    case 0x0302: s = "TLS 1.1"; break;
    case 0x0303: s = "TLS 1.2"; break;
    case 0x0304: s = "TLS 1.3"; break;
    default: break;
  }
  if (s) {
    copy_str(out, s, strlen(s));
    return;
  }
  static const char hx[] = "0123456789abcdef";
  char t[7] = {'0', 'x', hx[v >> 12], hx[(v >> 8) & 15], hx[(v >> 4) & 15], hx[v & 15], 0};
  copy_str(out, t, 6);
}

// Parses a ClientHello body; false when malformed.
// The optional extensions block of a hello at r: appends the non-GREASE
// extension types to the JA3 text `j` ('-' separated) and hands each
// extension to on_ext(type, data, len). False when malformed.
template <typename F>
bool extensions(Rd& r, const uint8_t* b, uint32_t n, Out& j, F&& on_ext) {
  if (r.i >= n) return true;
  uint32_t ext_len = r.u16();
  if (r.bad || ext_len > n - r.i) return false;
  Rd e{b + r.i, ext_len};
  bool first = true;
  while (e.i < e.n) {
    uint16_t type = e.u16();
    uint32_t len = e.u16();
    if (!e.need(len)) return false;
    const uint8_t* d = e.p + e.i;
    e.i += len;
    if (!grease(type)) {
      if (!first) j.ch('-');
      j.num(type);
      first = false;
    }
    on_ext(type, d, len);
  }
  return true;
}

// The non-GREASE 16-bit values of a list, '-' joined (a JA3 field).
void join_u16(Out& j, const uint8_t* p, uint32_t len) {
  bool first = true;
  for (uint32_t k = 0; k + 1 < len; k += 2) {
    uint16_t v = rd16(p + k);
    if (grease(v)) continue;
    if (!first) j.ch('-');
    j.num(v);
    first = false;
  }
}

// Both hellos: version, random and session id read from r; the JA3/JA3S
// text started ("version,") in scratch. False when out of scratch.
bool hello_start(AppCtx::Impl& m, Rd& r, uint32_t n, uint16_t& ver, Out& j) {
  m.scratch_used = 0;
  ver = r.u16();
  r.skip(32);
  r.skip(r.u8());
  // A value takes >= 2 bytes of hello and <= 6 characters: 3 per byte.
  uint32_t cap = 32 + 3 * n;
  j = Out{reinterpret_cast<char*>(m.alloc(cap)), 0, cap};
  if (!j.p) return false;
  j.num(ver);
  j.ch(',');
  return true;
}

}  // namespace

// Parses a ClientHello body; false when malformed.
bool client_hello_fields(AppCtx::Impl& m, AppMeta& meta, const uint8_t* b, uint32_t n, char kind, HelloView& h) {
  Rd r{b, n};
  uint16_t ver;
  Out j{};
  if (!hello_start(m, r, n, ver, j)) return false;
  uint32_t cs_len = r.u16();
  if (r.bad || cs_len > n - r.i) return false;
  const uint8_t* cs = b + r.i;
  join_u16(j, cs, cs_len);
  r.skip(cs_len);
  r.skip(r.u8());  // compression methods
  if (r.bad) return false;
  j.ch(',');
  const uint32_t ext_at = r.i;  // the extensions block (length, then the list), if any
  const uint8_t* sni = nullptr;
  uint32_t sni_len = 0;
  const uint8_t* groups = nullptr;
  uint32_t groups_len = 0;
  const uint8_t* pf = nullptr;
  uint32_t pf_len = 0;
  bool ok = extensions(r, b, n, j, [&](uint16_t type, const uint8_t* d, uint32_t len) {
    if (type == 0 && len >= 5) {  // server_name: list of (type, name)
      Rd x{d, len};
      uint32_t list = x.u16();
      if (list <= len - 2) {
        while (x.i < 2 + list && !x.bad) {
          uint8_t nt = x.u8();
          uint32_t nl = x.u16();
          if (!x.need(nl)) break;
          if (nt == 0 && !sni) {
            sni = x.p + x.i;
            sni_len = nl;
          }
          x.i += nl;
        }
      }
    } else if (type == 10 && len >= 2) {
      uint32_t l = rd16(d);
      if (l <= len - 2) groups = d + 2, groups_len = l;
    } else if (type == 11 && len >= 1) {
      uint32_t l = d[0];
      if (l <= len - 1) pf = d + 1, pf_len = l;
    } else if (type == 57) {  // quic_transport_parameters
      quic_transport_params(d, len, h);
    }
  });
  if (!ok) return false;
  j.ch(',');
  join_u16(j, groups, groups_len);
  j.ch(',');
  for (uint32_t k = 0; k < pf_len; k++) {
    if (k) j.ch('-');
    j.num(pf[k]);
  }
  const uint32_t ext_n = ext_at + 2 <= n ? rd16(b + ext_at) : 0;  // validated by extensions()
  ja4_string(m, ver, cs, cs_len, b + ext_at + 2, ext_n, meta.ja4, kind);
  md5_hex(j.p, j.n, meta.ja3_hash);
  copy_str(meta.ja3_string, j.p, j.n);
  meta.tls_sni[0] = 0;
  if (sni) copy_str(meta.tls_sni, sni, sni_len);
  h.ver = ver;
  h.sni = sni;
  h.sni_len = sni_len;
  h.ja3 = j.p;
  h.ja3_len = j.n;
  return true;
}

namespace {

// ssl_version bit of a version (tls_opts.cc): sslv2 1 .. tls1.3 32.
uint8_t ver_bit(uint16_t v) {
  if (v == 0x0002 || v == 0x0200) return 1;
  return v >= 0x0300 && v <= 0x0304 ? uint8_t(2 << (v - 0x0300)) : 0;
}

// (tls.state) of a hello's tx: [0] the handshake message (1 client_hello,
// 2 server_hello), [1] the versions of its record and of the hello.
void state_buf(AppCtx& c, const TlsDir& t, uint8_t msg, uint16_t hello_ver, BufferSet& bs) {
  if (uint8_t* v = c.impl->alloc(2)) {
    v[0] = msg;
    v[1] = uint8_t(ver_bit(uint16_t(t.hdr[1] << 8 | t.hdr[2])) | ver_bit(hello_ver));
    bs.set(rules::kTlsState, v, 2);
  }
}

bool client_hello(AppCtx& c, AppState* s, int d, const uint8_t* b, uint32_t n, AppSink& sink) {
  AppCtx::Impl& m = *c.impl;
  AppMeta& meta = s->meta;
  HelloView h;
  if (!client_hello_fields(m, meta, b, n, 't', h)) return false;
  meta.proto = AppProto::kTls;
  BufferSet bs;
  uint8_t dot[258];  // "." + SNI for dotprefix (SNI host names are at most 255 bytes)
  if (h.sni) {
    bs.set(rules::kTlsSni, h.sni, h.sni_len);
    if (h.sni_len < sizeof dot) {
      dot[0] = '.';
      std::memcpy(dot + 1, h.sni, h.sni_len);
      bs.set(rules::kTlsSniDot, dot, h.sni_len + 1);
    }
  }
  if (!meta.tls_version[0]) copy_str(meta.tls_version, "UNDETERMINED", 12);
  bs.set(rules::kJa3Hash, reinterpret_cast<const uint8_t*>(meta.ja3_hash), 32);
  bs.set(rules::kJa3String, reinterpret_cast<const uint8_t*>(h.ja3), h.ja3_len);
  if (meta.ja4[0]) bs.set(rules::kJa4Hash, reinterpret_cast<const uint8_t*>(meta.ja4), 36);
  if (uint8_t* v = m.alloc(2)) {  // tls.version to the server: the hello's version
    v[0] = uint8_t(h.ver >> 8), v[1] = uint8_t(h.ver);
    bs.set(rules::kTlsVersionNum, v, 2);
  }
  state_buf(c, s->dir[d].u.tls, 1, h.ver, bs);
  c.ctr.tls_client_hellos++;
  sink.on_tx(true, bs, meta);
  return true;
}

// Buffers of the server's transaction from meta (JA3S, tls.version).
void server_bufs(AppCtx& c, AppState* s, const TlsDir& t, BufferSet& bs) {
  AppMeta& meta = s->meta;
  bs.set(rules::kJa3sHash, reinterpret_cast<const uint8_t*>(meta.ja3s_hash), 32);
  bs.set(rules::kJa3sString, reinterpret_cast<const uint8_t*>(meta.ja3s_string), strlen(meta.ja3s_string));
  if (uint8_t* v = c.impl->alloc(2)) {
    v[0] = uint8_t(t.ver >> 8), v[1] = uint8_t(t.ver);
    bs.set(rules::kTlsVersionNum, v, 2);
  }
  state_buf(c, t, 2, t.ver, bs);
}

// A ServerHello. Up to TLS 1.2 its transaction waits for the Certificate
// (t.hello), so the tls event and the rules see both, as in Suricata; TLS 1.3
// certificates are encrypted, so it is handed on at once.
bool server_hello(AppCtx& c, AppState* s, int d, const uint8_t* b, uint32_t n, AppSink& sink) {
  AppCtx::Impl& m = *c.impl;
  TlsDir& t = s->dir[d].u.tls;
  Rd r{b, n};
  uint16_t ver;
  Out j{};
  if (!hello_start(m, r, n, ver, j)) return false;
  uint16_t cipher = r.u16();
  r.u8();  // compression
  if (r.bad) return false;
  j.num(cipher);
  j.ch(',');
  uint16_t negotiated = ver;
  bool ok = extensions(r, b, n, j, [&](uint16_t type, const uint8_t* d, uint32_t len) {
    if (type == 43 && len == 2) negotiated = rd16(d);  // supported_versions
  });
  if (!ok) return false;
  AppMeta& meta = s->meta;
  meta.proto = AppProto::kTls;
  md5_hex(j.p, j.n, meta.ja3s_hash);
  copy_str(meta.ja3s_string, j.p, j.n);
  version_name(negotiated, meta.tls_version);
  t.ver = negotiated;
  c.ctr.tls_server_hellos++;
  if (negotiated <= 0x0303 && j.n < sizeof meta.ja3s_string) {
    t.hello = 1;
    return true;
  }
  BufferSet bs;
  server_bufs(c, s, t, bs);
  bs.set(rules::kJa3sString, reinterpret_cast<const uint8_t*>(j.p), j.n);  // whole string
  sink.on_tx(false, bs, meta);
  return true;
}

// Leaf certificate -> meta and buffers (strings in scratch). False when its
// DER is not readable.
bool leaf_cert(AppCtx& c, AppState* s, const uint8_t* der, uint32_t n, BufferSet& bs) {
  X509Info x;
  if (!x509_parse(der, n, x)) return false;
  AppCtx::Impl& m = *c.impl;
  AppMeta& meta = s->meta;
  // A Name of k bytes prints in at most 4k + 16 characters (hex values: 2 per
  // byte; "OID(...)" under 4 per OID byte); capped at the scratch we take.
  auto dn = [&](const uint8_t* p, uint32_t k, rules::Buf b, char* out, size_t cap) {
    uint32_t room = 4 * k + 16;
    char* w = reinterpret_cast<char*>(m.alloc(room));
    int32_t len = w ? x509_dn_string(p, k, w, room) : -1;
    if (len < 0) return false;
    copy_str(out, cap, w, uint32_t(len));
    bs.set(b, reinterpret_cast<const uint8_t*>(w), uint32_t(len));
    return true;
  };
  if (!dn(x.subject, x.subject_len, rules::kTlsCertSubject, meta.tls_subject, sizeof meta.tls_subject) ||
      !dn(x.issuer, x.issuer_len, rules::kTlsCertIssuer, meta.tls_issuerdn, sizeof meta.tls_issuerdn))
    return false;
  uint32_t room = 3 * x.serial_len;
  if (char* w = reinterpret_cast<char*>(m.alloc(room))) {
    uint32_t len = hex_colon(x.serial, x.serial_len, true, w, room);
    copy_str(meta.tls_serial, w, len);
    bs.set(rules::kTlsCertSerial, reinterpret_cast<const uint8_t*>(w), len);
  }
  uint8_t h[20];
  sha1(der, n, h);
  uint32_t fl = hex_colon(h, 20, false, meta.tls_fingerprint, sizeof meta.tls_fingerprint - 1);
  meta.tls_fingerprint[fl] = 0;
  bs.set(rules::kTlsCertFingerprint, reinterpret_cast<const uint8_t*>(meta.tls_fingerprint), fl);
  x509_time_iso(x.not_before, meta.tls_notbefore);
  x509_time_iso(x.not_after, meta.tls_notafter);
  if (char* w = reinterpret_cast<char*>(m.alloc(30))) {  // 'V'/'E' + 2 x 14 digits (+ NUL)
    w[0] = x.not_after < int64_t(m.now_ns / 1000000000ull) ? 'E' : 'V';
    x509_time_digits(x.not_before, w + 1);
    x509_time_digits(x.not_after, w + 15);
    bs.set(rules::kTlsCertTimes, reinterpret_cast<const uint8_t*>(w), 29);
  }
  return true;
}

// The server's Certificate message body (n bytes stored; `trunc`: the message
// was longer than the transaction buffer). Every certificate that is whole
// in the stored bytes goes to tls.certs; the first (the server's own) to the
// cert_* buffers and the meta. Emits the waiting ServerHello's transaction.
void certificate(AppCtx& c, AppState* s, int d, const uint8_t* b, uint32_t n, bool trunc, AppSink& sink) {
  constexpr uint32_t kMaxCerts = 16;  // chains are 2-4 long; more are not inspected
  TlsDir& t = s->dir[d].u.tls;
  AppMeta& meta = s->meta;
  meta.tls_subject[0] = meta.tls_issuerdn[0] = meta.tls_serial[0] = meta.tls_fingerprint[0] = 0;
  meta.tls_notbefore[0] = meta.tls_notafter[0] = 0;
  BufferSet::Part parts[kMaxCerts];
  uint32_t np = 0;
  Rd r{b, n};
  uint32_t list = r.u24();
  uint32_t end = r.bad ? 0 : std::min(n, 3 + list);
  bool cut = trunc;
  while (!r.bad && r.i + 3 <= end && np < kMaxCerts) {
    uint32_t len = r.u24();
    if (len > end - r.i) {
      cut = true;
      break;
    }
    parts[np++] = {b + r.i, len};
    r.i += len;
  }
  c.ctr.tls_certificates++;
  if (cut) c.ctr.tls_cert_truncated++;
  BufferSet bs;
  server_bufs(c, s, t, bs);
  if (np) {
    if (!leaf_cert(c, s, parts[0].data, parts[0].len, bs)) c.ctr.tls_cert_errors++;
    bs.set_multi(rules::kTlsCerts, parts, np);
  } else if (!cut) {
    c.ctr.tls_cert_errors++;
  }
  t.hello = 0;
  sink.on_tx(false, bs, meta);
}

// A complete handshake message (type, 3-byte length, body) in st.
void handshake(AppCtx& c, AppState* s, int d, const uint8_t* st, uint32_t n, bool trunc,
               AppSink& sink) {
  TlsDir& t = s->dir[d].u.tls;
  uint8_t type = st[0];
  if (type == 0) return;  // HelloRequest: wait for the next message
  t.done = 1;
  if (t.hello) {  // the message after a ServerHello: the Certificate, if any
    if (type == 11) certificate(c, s, d, st + 4, n - 4, trunc, sink);
    else tls_flush(c, s, d, sink);
    return;
  }
  if (type != 1 && type != 2) return;
  if (trunc) {
    c.ctr.truncated++;
    return;
  }
  bool ok = type == 1 ? client_hello(c, s, d, st + 4, n - 4, sink) : server_hello(c, s, d, st + 4, n - 4, sink);
  if (!ok) c.ctr.parse_errors++;
  if (ok && t.hello) t.done = 0;  // read on to the Certificate
}

}  // namespace

void tls_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  Dir& dr = s->dir[d];
  TlsDir& t = dr.u.tls;
  while (n > 0 && !t.done) {
    if (t.hdr_n < 5) {
      t.hdr[t.hdr_n++] = *p++;
      n--;
      if (t.hdr_n < 5) continue;
      t.rec_type = t.hdr[0];
      t.rec_left = rd16(t.hdr + 3);
      if (t.rec_type < 20 || t.rec_type > 24 || t.hdr[1] != 3 || t.hdr[2] > 4) {
        c.ctr.parse_errors++;
        release(c, s, d);
        t.done = 1;
        return;
      }
      if (t.rec_left == 0) t.hdr_n = 0;
      continue;
    }
    if (t.hello && t.rec_type != 22) {  // ChangeCipherSpec, alert, data: no Certificate follows
      tls_flush(c, s, d, sink);
      t.done = 1;
      break;
    }
    uint32_t k = std::min<uint32_t>(n, t.rec_left);
    if (t.rec_type == 22) {
      // Handshake bytes: accumulate the first message.
      const uint8_t* q = p;
      uint32_t left = k;
      while (left && !t.done) {
        if (t.hs_seen == 0) acquire(c, s, d);
        uint32_t cap = 0;
        uint8_t* st = storage(c, s, d, &cap);
        if (st == s->fallback[d]) cap = 0;  // a hello or certificate does not fit 256 bytes: meta lost
        uint32_t want = t.hs_need ? t.hs_need - t.hs_seen : 4 - t.hs_seen;
        uint32_t w = std::min(left, want);
        if (t.hs_stored < cap) {
          uint32_t x = std::min(w, cap - t.hs_stored);
          memcpy(st + t.hs_stored, q, x);
          t.hs_stored += x;
        }
        t.hs_seen += w;
        q += w;
        left -= w;
        if (!t.hs_need) {
          if (t.hs_seen < 4) continue;
          if (t.hs_stored < 4) {  // no storage: cannot read the type
            tls_flush(c, s, d, sink);
            release(c, s, d);
            t.done = 1;
            break;
          }
          t.hs_need = 4 + ((uint32_t(st[1]) << 16) | (st[2] << 8) | st[3]);
          if (t.hs_need > 4) continue;
        }
        if (t.hs_seen < t.hs_need) continue;
        handshake(c, s, d, st, t.hs_stored, t.hs_stored < t.hs_need, sink);
        release(c, s, d);
        t.hs_seen = t.hs_stored = t.hs_need = 0;
      }
    }
    p += k;
    n -= k;
    t.rec_left = uint16_t(t.rec_left - k);
    if (!t.rec_left) t.hdr_n = 0;
  }
  if (t.done) release(c, s, d);
}

void tls_flush(AppCtx& c, AppState* s, int d, AppSink& sink) {
  TlsDir& t = s->dir[d].u.tls;
  if (!t.hello) return;
  t.hello = 0;
  BufferSet bs;
  server_bufs(c, s, t, bs);
  sink.on_tx(false, bs, s->meta);
}

}  // namespace app
}  // namespace spectre
